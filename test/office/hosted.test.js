// The Del sikkert pane served by the relay (hostedAddin), as Word, Excel
// and PowerPoint on the web and on a Mac load it: the real relay with real
// Entra token checks (test/hosted/server), Office.js from office-addin-mock
// handing out 4 MB slices of a real .docx, and a stand-in for Office's NAA
// bridge answering the vendored MSAL.js with the test issuer's tokens. A
// token refused in the middle of the upload is replaced and the same slice
// sent again: the document arrives byte-identical.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { launch, openPage, screenshot, files, memoDocuments, sha256File } from './harness.js';
import { repo } from '../browser/agent.js';
import { ooxml } from './fixtures.js';

const MB = 1 << 20;
let server, info, context, dir, relayData;
const src = {};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-oh-'));
  src.docx = ooxml('docx', path.join(dir, 'Afgørelse fra relæet.docx'), 10 * MB);
  files.set('hosted-docx', src.docx);
  relayData = path.join(dir, 'relay');
  let bin = process.env.SENDSIKKERT_HOSTED_SERVER;
  if (!bin) {
    bin = path.join(dir, 'server');
    execFileSync('go', ['build', '-o', bin, './test/hosted/server'], { cwd: repo, stdio: 'inherit' });
  }
  server = spawn(bin, ['--data', path.join(relayData, 'demo')], { stdio: ['ignore', 'pipe', 'inherit'] });
  info = JSON.parse(await new Promise((resolve, reject) => {
    readline.createInterface({ input: server.stdout }).once('line', resolve);
    server.once('exit', (c) => reject(new Error('hosted server exited: ' + c)));
  }));
  context = await launch({ spki: info.spki });
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// naaBridge plays Office's NAA broker for MSAL.js (as in
// test/browser/hosted.test.js): GetInitContext, and tokens from the test
// issuer on the relay's origin.
function naaBridge() {
  const listeners = [];
  window.__naaCalls = [];
  const answer = (msg) => listeners.forEach((l) => l(JSON.stringify(msg)));
  window.nestedAppAuthBridge = {
    addEventListener: (name, cb) => { if (name === 'message') listeners.push(cb); },
    removeEventListener: (name, cb) => { const i = listeners.indexOf(cb); if (i >= 0) listeners.splice(i, 1); },
    postMessage: async (raw) => {
      const req = JSON.parse(raw);
      window.__naaCalls.push({ method: req.method, forceRefresh: req.tokenParams && req.tokenParams.forceRefresh });
      const base = { messageType: 'NestedAppAuthResponse', requestId: req.requestId };
      if (req.method === 'GetInitContext') {
        answer({ ...base, success: true, initContext: { sdkName: 'sendsikkert-test-broker', sdkVersion: '1.0.0', capabilities: { queryAccount: false } } });
        return;
      }
      const t = await fetch('/test/token', { cache: 'no-store' }).then((r) => r.json());
      answer({
        ...base, success: true,
        token: { access_token: t.accessToken, expires_in: t.expiresIn, id_token: t.idToken, properties: null, scope: req.tokenParams.scope },
        account: { environment: 'login.microsoftonline.com', tenantId: t.tid, username: t.username, homeAccountId: `${t.oid}.${t.tid}`, localAccountId: t.oid, name: t.name },
      });
    },
  };
}

test('hosted Del sikkert: a 10 MB document in slices, a token refused mid-upload, byte-identical at Digital Post', async () => {
  const size = fs.statSync(src.docx).size;
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.addInitScript(naaBridge);
  await page.addInitScript((cfg) => { window.__sendsikkertOffice = cfg; }, {
    host: 'Word', url: 'https://kommune.sharepoint.com/sites/sag/Afgørelse fra relæet.docx',
    files: { compressed: { key: 'hosted-docx', size } },
  });
  // The second slice's first try is refused as an expired token would be.
  let refused = 0;
  await page.route(/\/api\/v1\/uploads\/[^/]+\/1$/, async (route) => {
    if (refused++ === 0) {
      return route.fulfill({ status: 401, contentType: 'application/json', headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
        body: JSON.stringify({ error: 'invalid_token', message: 'Dit login blev ikke godkendt.' }) });
    }
    return route.continue();
  });
  await page.goto(info.url + '/addin/office/share.html');
  await page.waitForFunction(() => document.getElementById('main').getAttribute('aria-busy') === 'false', null, { timeout: 30_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'ready', await page.textContent('body'));
  await page.fill('#recipients-input', '2211771212');
  await page.click('#check');
  await page.waitForFunction(() => document.body.dataset.state === 'checked' && !document.getElementById('check').disabled);
  await page.fill('#cover', 'Hej Karen\n\nHer er afgørelsen.');
  assert.equal(await page.isDisabled('#send'), false, await page.textContent('#send-why'));
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed', 'not-sent', 'office-error', 'agent-absent'].includes(document.body.dataset.state), null, { timeout: 120_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered', await page.textContent('#alert'));
  await screenshot(page, 'hosted-delivered');
  assert.equal(refused, 2, 'the refused slice was sent again');
  const calls = await page.evaluate(() => window.__naaCalls);
  assert.ok(calls.some((c) => c.forceRefresh), 'a fresh token was asked for: ' + JSON.stringify(calls));

  const add = memoDocuments({ data: relayData }).filter((d) => d.kind === 'AdditionalDocument');
  assert.equal(add.length, 1);
  assert.equal(add[0].filename, 'Afgørelse fra relæet.docx');
  assert.equal(add[0].size, size);
  assert.equal(add[0].sha256, sha256File(src.docx), 'bytes differ from the source');
  assert.deepEqual(page.errors, []);
  await page.close();
});
