// Test harness for the Del sikkert pane: the real agent in demo mode
// (../browser/agent.js), Debian's Chromium trusting only the agent's leaf
// key (SPKI pin) and a stand-in for Microsoft's CDN that serves Office.js
// built on office-addin-mock (../browser/chromium.js, with this suite's
// packages from test/office/node_modules) and feeds getFileAsync slices
// from files on disk.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as chromium from '../browser/chromium.js';

export { Agent, agentBinary, sleep } from '../browser/agent.js';
export { openPage } from '../browser/chromium.js';

const require = createRequire(import.meta.url);
const shim = path.join(path.dirname(fileURLToPath(import.meta.url)), 'office-shim.js');
const officeShim = () => chromium.officeShim(require, shim);

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
    if (u.pathname === new URL(chromium.OFFICE_JS).pathname) {
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
  const cdn = await Cdn.start();
  const context = await chromium.launch(require, { pins: [agent.spki, cdn.spki],
    args: [`--host-resolver-rules=MAP appsforoffice.microsoft.com:443 127.0.0.1:${cdn.port}, EXCLUDE localhost`] });
  const close = context.close;
  context.close = async () => { await close(); await cdn.stop(); };
  return context;
}

export const screenshot = (page, name) => chromium.screenshot(page, 'office-' + name);
export const axe = (page) => chromium.axe(require, page);

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
