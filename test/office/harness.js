// Test harness for the Del sikkert pane: starts the real agent in demo
// mode, launches Debian's Chromium through playwright-core trusting only
// the agent's leaf key (SPKI pin), serves Office.js from a shim built on
// office-addin-mock, and feeds getFileAsync slices from files on disk.
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
export function agentBinary() {
  if (process.env.SENDSIKKERT_AGENT_BIN) return process.env.SENDSIKKERT_AGENT_BIN;
  if (!builtAgent) {
    builtAgent = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-ot-bin-')), 'sendsikkert');
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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Agent {
  static async start() {
    const a = new Agent();
    a.data = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-ot-data-'));
    a.port = await freePort();
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
        if ((await a.request('GET', '/healthz')).status === 200) break;
      } catch (e) { /* not yet */ }
      if (Date.now() > deadline) throw new Error('agent did not start:\n' + fs.readFileSync(a.logFile, 'utf8'));
      await sleep(100);
    }
    a.spki = await a.leafSPKI();
    a.token = /sendsikkert-csrf" content="([0-9a-f]+)"/.exec((await a.request('GET', '/')).body.toString())[1];
    return a;
  }

  // request talks to the agent as a client trusting its CA only.
  request(method, p, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const req = https.request(this.base + p, { method, ca: this.ca, headers: { 'X-Sendsikkert-CSRF': this.token || '', ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
      req.end(body);
    });
  }

  async api(method, p, json) {
    const r = await this.request(method, p, json === undefined ? undefined : JSON.stringify(json), json === undefined ? {} : { 'Content-Type': 'application/json' });
    return JSON.parse(r.body.toString() || '{}');
  }

  leafSPKI() {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca }, () => {
        const der = s.getPeerX509Certificate().publicKey.export({ type: 'spki', format: 'der' });
        s.end();
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

// files maps a key the shim names to a file on disk; slices are read
// from it at the offset asked for, so a 99 MB document never sits in the
// test's memory whole.
export const files = new Map();

// Cdn plays Microsoft's CDN on loopback: Chromium resolves
// appsforoffice.microsoft.com to it (--host-resolver-rules) and trusts its
// throwaway key only (SPKI pin), so office.js and the test files' slices
// come over the browser's own network stack. No Playwright route is needed
// for them: routing would pass every request, the 4 MB slice PUTs to the
// agent included, through the DevTools protocol as base64.
export class Cdn {
  static async start() {
    const c = new Cdn();
    c.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-ot-cdn-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=appsforoffice.microsoft.com', '-addext', 'subjectAltName=DNS:appsforoffice.microsoft.com',
      '-keyout', path.join(c.dir, 'key.pem'), '-out', path.join(c.dir, 'cert.pem')], { stdio: 'pipe' });
    const cert = fs.readFileSync(path.join(c.dir, 'cert.pem'));
    const der = new crypto.X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    c.spki = crypto.createHash('sha256').update(der).digest('base64');
    c.server = https.createServer({ key: fs.readFileSync(path.join(c.dir, 'key.pem')), cert }, (req, res) => c.serve(req, res));
    await new Promise((r) => c.server.listen(0, '127.0.0.1', r));
    c.port = c.server.address().port;
    return c;
  }

  serve(req, res) {
    const u = new URL(req.url, 'https://appsforoffice.microsoft.com');
    if (u.pathname === new URL(OFFICE_JS).pathname) {
      res.writeHead(200, { 'Content-Type': 'application/javascript' });
      return res.end(officeShim());
    }
    if (u.pathname === '/__sendsikkert-test/slice') {
      const p = files.get(u.searchParams.get('key'));
      if (!p) { res.writeHead(404); return res.end('no such test file'); }
      const start = Number(u.searchParams.get('start')), len = Number(u.searchParams.get('len'));
      const buf = Buffer.alloc(len);
      const fd = fs.openSync(p, 'r');
      try { fs.readSync(fd, buf, 0, len, start); } finally { fs.closeSync(fd); }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Access-Control-Allow-Origin': '*', 'Content-Length': len });
      return res.end(buf);
    }
    res.writeHead(404);
    res.end();
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launch(agent) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  const cdn = await Cdn.start();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-ot-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 360, height: 900 }, // a Word task pane
    locale: 'da-DK',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${agent.spki},${cdn.spki}`,
      `--host-resolver-rules=MAP appsforoffice.microsoft.com:443 127.0.0.1:${cdn.port}, EXCLUDE localhost`],
  });
  const origClose = context.close.bind(context);
  context.close = async () => { await origClose(); await cdn.stop(); fs.rmSync(profile, { recursive: true, force: true }); };
  return context;
}

export async function openPage(context, url, office) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/\/favicon\.ico$/.test((m.location() && m.location().url) || '')) page.errors.push(m.text() + ' ' + ((m.location() && m.location().url) || '')); });
  await page.addInitScript((cfg) => { window.__sendsikkertOffice = cfg; }, office || {});
  await page.goto(url);
  return page;
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'office-' + name + '.png'), fullPage: true });
}

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export async function axe(page) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export function sha256File(p) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(p, 'r');
  const buf = Buffer.alloc(4 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
  return h.digest('hex');
}

// memoDocuments reads the demo Digital Post channel's MeMo files and
// returns every document in them: main or additional, filename, sha256 of
// the decoded content, and the message file it sits in.
// Files read once are skipped on later calls (agent.memoSeen).
export function memoDocuments(agent) {
  const dir = path.join(agent.data, 'demo', 'digitalpost');
  const out = [];
  if (!fs.existsSync(dir)) return out;
  agent.memoSeen = agent.memoSeen || new Set();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.xml') && !agent.memoSeen.has(n))) {
    agent.memoSeen.add(f);
    const xml = fs.readFileSync(path.join(dir, f), 'latin1'); // base64 and tags are ASCII
    const re = /<memo:(MainDocument|AdditionalDocument)>([\s\S]*?)<\/memo:\1>/g;
    for (let m; (m = re.exec(xml));) {
      const body = m[2];
      const name = (/<memo:filename>([^<]*)<\/memo:filename>/.exec(body) || [])[1] || '';
      const b64 = (/<memo:content>([\s\S]*?)<\/memo:content>/.exec(body) || [])[1] || '';
      const bytes = Buffer.from(b64.replace(/\s+/g, ''), 'base64');
      out.push({ file: f, kind: m[1], filename: Buffer.from(name, 'latin1').toString('utf8'), size: bytes.length,
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'), text: m[1] === 'MainDocument' ? bytes.toString('utf8') : undefined });
    }
  }
  return out;
}
