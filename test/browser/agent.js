// The real agent for the pane suites (test/browser, test/office): built
// (or taken from SENDSIKKERT_AGENT_BIN), started in demo mode on a free
// loopback port with a throwaway data folder, and talked to as a client
// that trusts its CA only. Node built-ins only, so the other suite can
// import it as it is.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

export class Agent {
  static async start() {
    const a = new Agent();
    a.data = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-bt-data-'));
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
    a.token = /sendsikkert-csrf" content="([0-9a-f]+)"/.exec((await a.get('/')).body)[1];
    return a;
  }

  // request talks to the agent as a client trusting its CA only, with the
  // CSRF token once it is known; the body comes back as a Buffer.
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

  // get fetches a path; the body comes back as text.
  async get(p) {
    const r = await this.request('GET', p);
    return { ...r, body: r.body.toString('utf8') };
  }

  // api calls the local API, with json (if any) as the request body.
  async api(method, p, json) {
    const r = await this.request(method, p, json === undefined ? undefined : JSON.stringify(json), json === undefined ? {} : { 'Content-Type': 'application/json' });
    return JSON.parse(r.body.toString() || '{}');
  }

  // leafSPKI is base64(sha256(SubjectPublicKeyInfo)) of the serving leaf,
  // as Chromium's --ignore-certificate-errors-spki-list wants it.
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
