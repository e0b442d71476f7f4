// Test harness: builds and starts the real agent in demo mode, launches
// Debian's Chromium through playwright-core trusting only the agent's leaf
// key (SPKI pin), and serves Office.js from office-addin-mock in place of
// Microsoft's CDN.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.SENDSIKKERT_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = path.join(repo, 'test-output', 'screenshots');
export const OFFICE_JS = 'https://appsforoffice.microsoft.com/lib/1/hosted/office.js';

let builtAgent;
// agentBinary: SENDSIKKERT_AGENT_BIN, or a fresh build of ./cmd/sendsikkert.
export function agentBinary() {
  if (process.env.SENDSIKKERT_AGENT_BIN) return process.env.SENDSIKKERT_AGENT_BIN;
  if (!builtAgent) {
    builtAgent = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-bt-bin-')), 'sendsikkert');
    execFileSync('go', ['build', '-o', builtAgent, './cmd/sendsikkert'], { cwd: repo, stdio: 'inherit' });
  }
  return builtAgent;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Agent {
  static async start({ data, port } = {}) {
    const a = new Agent();
    a.data = data || fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-bt-data-'));
    a.port = port || await freePort();
    a.base = `https://localhost:${a.port}`;
    a.logFile = path.join(a.data, 'agent-test.log');
    const log = fs.openSync(a.logFile, 'a');
    a.proc = spawn(agentBinary(), ['--headless', '--demo', '--data', a.data, '--port', String(a.port)], { stdio: ['ignore', log, log] });
    a.exited = new Promise((r) => a.proc.on('exit', r));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (a.proc.exitCode !== null) throw new Error('agent exited at start:\n' + fs.readFileSync(a.logFile, 'utf8'));
      try {
        a.ca = fs.readFileSync(path.join(a.data, 'tls', 'ca.crt'));
        const h = await a.get('/healthz');
        if (h.status === 200) break;
      } catch (e) { /* not yet */ }
      if (Date.now() > deadline) throw new Error('agent did not start:\n' + fs.readFileSync(a.logFile, 'utf8'));
      await sleep(100);
    }
    a.spki = await a.leafSPKI();
    const page = await a.get('/');
    a.token = /sendsikkert-csrf" content="([0-9a-f]+)"/.exec(page.body)[1];
    return a;
  }

  // get fetches a path from the agent, trusting its CA only.
  get(p, headers = {}) {
    return new Promise((resolve, reject) => {
      const req = https.get(this.base + p, { ca: this.ca, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    });
  }

  async api(p) {
    const r = await this.get(p, { 'X-Sendsikkert-CSRF': this.token });
    return JSON.parse(r.body);
  }

  // leafSPKI is base64(sha256(SubjectPublicKeyInfo)) of the serving leaf,
  // as Chromium's --ignore-certificate-errors-spki-list wants it.
  leafSPKI() {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca }, () => {
        const cert = s.getPeerX509Certificate();
        s.end();
        const der = cert.publicKey.export({ type: 'spki', format: 'der' });
        resolve(crypto.createHash('sha256').update(der).digest('base64'));
      });
      s.on('error', reject);
    });
  }

  async stop() {
    if (this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await Promise.race([this.exited, sleep(10_000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
  }
}

// officeShim: office-addin-mock's CommonJS files in a tiny module loader,
// then office-shim.js, which builds window.Office on OfficeMockObject.
let shimSource;
export function officeShim() {
  if (shimSource) return shimSource;
  const lib = path.join(path.dirname(require.resolve('office-addin-mock/package.json')), 'lib');
  const { OfficeApp } = require('office-addin-manifest');
  const mods = ['main', 'officeMockObject', 'host', 'possibleErrors'].map((n) =>
    `'./${n}': function (module, exports, require) {\n${fs.readFileSync(path.join(lib, n + '.js'), 'utf8').replace(/\/\/# sourceMappingURL=.*/g, '')}\n}`);
  mods.push(`'office-addin-manifest': function (module, exports) { exports.OfficeApp = ${JSON.stringify(OfficeApp)}; }`);
  shimSource = `(function () {
  var defs = {${mods.join(',\n')}};
  var cache = {};
  function req(name) {
    if (cache[name]) return cache[name].exports;
    var m = cache[name] = { exports: {} };
    defs[name](m, m.exports, req);
    return m.exports;
  }
  window.__officeAddinMock = req('./main');
})();
` + fs.readFileSync(path.join(here, 'office-shim.js'), 'utf8');
  return shimSource;
}

export async function launch(agent) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-bt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 360, height: 900 }, // an Outlook task pane
    locale: 'da-DK',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${agent.spki}`],
  });
  await context.route(OFFICE_JS, (route) => route.fulfill({ status: 200, contentType: 'application/javascript', body: officeShim() }));
  const origClose = context.close.bind(context);
  context.close = async () => { await origClose(); fs.rmSync(profile, { recursive: true, force: true }); };
  return context;
}

// openPage opens an add-in page with a compose item; it fails the test on
// any page error, console error or CSP violation.
export async function openPage(context, url, office) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  await page.addInitScript((cfg) => { window.__sendsikkertOffice = cfg; }, office || {});
  await page.goto(url);
  return page;
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, name + '.png'), fullPage: true });
}

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// axe runs axe-core in the page (evaluated over CDP, so the page's CSP
// stays as strict as in production) and returns serious/critical issues.
export async function axe(page) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
