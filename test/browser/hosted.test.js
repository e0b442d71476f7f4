// The Outlook task pane served by the relay (hostedAddin), as new Outlook
// and Outlook on the web load it: the real relay with real Entra token
// checks (test/hosted/server, an in-process Entra-shaped issuer), the
// pages from the relay's origin in Debian's headless Chromium, Office.js
// from office-addin-mock, and a stand-in for Office's Nested App
// Authentication bridge (window.nestedAppAuthBridge) that answers MSAL.js
// with tokens from the test issuer. So the page's one token function runs
// the vendored MSAL.js NAA path for real; only Office's broker is played.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as chromium from './chromium.js';
import { repo, sleep } from './agent.js';

const require = createRequire(import.meta.url);
const shim = path.join(path.dirname(fileURLToPath(import.meta.url)), 'office-shim.js');

let server, info, context, data;

function serverBinary() {
  if (process.env.SENDSIKKERT_HOSTED_SERVER) return process.env.SENDSIKKERT_HOSTED_SERVER;
  const bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-hosted-bin-')), 'server');
  execFileSync('go', ['build', '-o', bin, './test/hosted/server'], { cwd: repo, stdio: 'inherit' });
  return bin;
}

before(async () => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-hosted-data-'));
  server = spawn(serverBinary(), ['--data', data], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: server.stdout }).once('line', resolve);
    server.once('exit', (c) => reject(new Error('hosted server exited: ' + c)));
  });
  info = JSON.parse(line);
  context = await chromium.launch(require, { pins: [info.spki] });
  await context.route(chromium.OFFICE_JS, (route) => route.fulfill({ status: 200, contentType: 'application/javascript', body: chromium.officeShim(require, shim) }));
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
});

// naaBridge plays Office's NAA broker: MSAL.js posts its requests as JSON
// strings; the broker answers GetInitContext, and GetToken/GetTokenPopup
// with a token from the test issuer (GET /test/token on the relay's
// origin, as the page's CSP allows). opts.tokens lists query strings for
// the successive tokens (e.g. "expired=1" first); the rest are plain.
function naaBridge(opts) {
  const listeners = [];
  const queue = (opts && opts.tokens) || [];
  window.__naaCalls = [];
  const answer = (msg) => listeners.forEach((l) => l(JSON.stringify(msg)));
  window.nestedAppAuthBridge = {
    addEventListener: (name, cb) => { if (name === 'message') listeners.push(cb); },
    removeEventListener: (name, cb) => { const i = listeners.indexOf(cb); if (i >= 0) listeners.splice(i, 1); },
    postMessage: async (raw) => {
      const req = JSON.parse(raw);
      window.__naaCalls.push({ method: req.method, scope: req.tokenParams && req.tokenParams.scope, forceRefresh: req.tokenParams && req.tokenParams.forceRefresh });
      const base = { messageType: 'NestedAppAuthResponse', requestId: req.requestId };
      if (req.method === 'GetInitContext') {
        answer({ ...base, success: true, initContext: { sdkName: 'sendsikkert-test-broker', sdkVersion: '1.0.0', capabilities: { queryAccount: false } } });
        return;
      }
      const q = queue.length ? queue.shift() : '';
      const t = await fetch('/test/token?' + q, { cache: 'no-store' }).then((r) => r.json());
      answer({
        ...base, success: true,
        token: { access_token: t.accessToken, expires_in: t.expiresIn, id_token: t.idToken, properties: null, scope: req.tokenParams.scope },
        account: { environment: 'login.microsoftonline.com', tenantId: t.tid, username: t.username, homeAccountId: `${t.oid}.${t.tid}`, localAccountId: t.oid, name: t.name },
      });
    },
  };
}

async function pane(item, bridge, wait = true) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text() + ' ' + ((m.location() && m.location().url) || '')); });
  await page.addInitScript(naaBridge, bridge || {});
  await page.addInitScript((cfg) => { window.__sendsikkertOffice = cfg; }, { item });
  await page.goto(info.url + '/addin/outlook/taskpane.html');
  if (wait) await page.waitForFunction(() => !['loading', undefined].includes(document.body.dataset.state) && document.getElementById('main').getAttribute('aria-busy') === 'false', null, { timeout: 30_000 });
  return page;
}

function memoFiles() {
  const dir = path.join(data, 'digitalpost');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => path.join(dir, f)) : [];
}

test('hosted: signed in through NAA, check, send with an attachment, delivered', async () => {
  const before = new Set(memoFiles());
  const page = await pane({
    to: ['2211771212'], subject: 'Afgørelse fra relæet', bodyHtml: '<p>Se vedhæftede afgørelse.</p>',
    attachments: [{ name: 'afgoerelse.pdf', base64: Buffer.from('%PDF-1.4 hosted afgørelse').toString('base64'), size: 27 }],
  });
  assert.equal(await page.getAttribute('body', 'data-state'), 'checked', await page.textContent('body'));
  assert.equal(await page.textContent('#summary'), 'Alle modtagere kontrolleret. Der kan sendes sikkert til alle modtagere af denne e-mail.');
  const calls = await page.evaluate(() => window.__naaCalls);
  const host = new URL(info.url).host;
  assert.ok(calls.some((c) => c.method === 'GetInitContext'), JSON.stringify(calls));
  assert.ok(calls.some((c) => /GetToken/.test(c.method) && c.scope.includes(`api://${host}/${info.clientId}/access_as_user`)), JSON.stringify(calls));
  await chromium.screenshot(page, 'hosted/checked');

  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.match(await page.textContent('#delivery'), /Sendt som Digital Post/);
  await chromium.screenshot(page, 'hosted/delivered');
  const fresh = memoFiles().filter((f) => !before.has(f));
  assert.equal(fresh.length, 1, 'one MeMo file');
  const xml = fs.readFileSync(fresh[0], 'utf8');
  assert.match(xml, /Afgørelse fra relæet/);
  assert.match(xml, /afgoerelse\.pdf/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('hosted: an expired token is replaced and the send goes through', async () => {
  const page = await pane({ to: ['2211771212'], subject: 'Udløbet token', bodyHtml: '<p>Hej</p>' }, { tokens: ['expired=1'] });
  assert.equal(await page.getAttribute('body', 'data-state'), 'checked', await page.textContent('body'));
  const calls = await page.evaluate(() => window.__naaCalls.filter((c) => /GetToken/.test(c.method)));
  assert.ok(calls.length >= 2 && calls.some((c) => c.forceRefresh), 'a fresh token after the 401: ' + JSON.stringify(calls));
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  // Chromium logs the one refused call; nothing else went wrong.
  assert.deepEqual(page.errors.filter((e) => !/status of 401 .*\/api\/v1\/recipients\/check/.test(e)), []);
  await page.close();
});

test('hosted: a user of an unlisted tenant is told the organisation has not enabled Send sikkert', async () => {
  const stranger = 'tid=99999999-8888-7777-6666-555555555555';
  const page = await pane({ to: ['2211771212'], subject: 'x', bodyHtml: 'x' }, { tokens: [stranger, stranger, stranger, stranger] }, false);
  await page.waitForFunction(() => /organisation har ikke slået Send sikkert til/.test(document.body.textContent), null, { timeout: 30_000 })
    .catch(async (e) => { throw new Error(e.message + '\n' + (await page.textContent('body')).replace(/\s+/g, ' ') + '\nstate ' + (await page.getAttribute('body', 'data-state'))); });
  assert.equal(await page.isDisabled('#send'), true);
  await chromium.screenshot(page, 'hosted/tenant-not-enabled');
  await page.close();
});

// smartAlert runs the OnMessageSend handler of the relay-served commands
// page on a compose item and returns what it told Outlook.
async function smartAlert(item) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript((cfg) => { window.__sendsikkertOffice = cfg; }, { item });
  await page.goto(info.url + '/addin/outlook/commands.html');
  await page.waitForFunction(() => window.__officeActions && window.__officeActions.onMessageSendHandler);
  const opts = await page.evaluate(() => new Promise((resolve) => window.__officeActions.onMessageSendHandler({ completed: resolve })));
  assert.deepEqual(errors, []);
  await page.close();
  return opts;
}

test('hosted: Send alligevel where the organisation allows it — the reason goes to the relay\'s audit log as the signed-in user', async () => {
  const item = { to: ['karen@example.dk'], subject: 'Opfølgning', bodyHtml: '<p>Vedr. 221177-1212</p>' };
  let opts = await smartAlert(item);
  assert.equal(opts.allowEvent, false);
  assert.equal(opts.sendModeOverride, 'promptUser', 'the relay told the Smart Alert that sending anyway is allowed');

  const page = await pane(item);
  assert.equal(await page.isVisible('#override'), true, 'the relay\'s settings offer Send alligevel');
  assert.match(await page.textContent('#override-found'), /221177-xxxx i brødteksten/);
  await page.fill('#override-reason', 'Borgeren 221177-1212 har selv bedt om svar på almindelig mail');
  await page.click('#override-record');
  await page.waitForFunction(() => /Begrundelsen er gemt|kunne ikke|ikke/.test(document.getElementById('override-done').textContent));
  assert.match(await page.textContent('#override-done'), /Begrundelsen er gemt/);
  await chromium.screenshot(page, 'hosted/smart-alert-reason-recorded');
  assert.deepEqual(page.errors, []);
  await page.close();

  const audit = fs.readFileSync(path.join(data, 'audit.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
  const row = audit.find((r) => r.action === 'smart_alert_override');
  assert.ok(row, 'override in the audit log');
  assert.equal(row.user, 'anna@kommune.dk');
  assert.match(row.outcome, /har selv bedt om svar/);
  assert.doesNotMatch(JSON.stringify(audit), /221177-?1212/, 'no full CPR number in the audit log');

  opts = await smartAlert(item);
  assert.equal(opts.allowEvent, true, 'the next send goes through');
});

// readAsRecipient opens the secure-mailbox message to address as its
// recipient: the link in the relay's notification mail, the code from
// its SMS file (the hosted server's demo relay writes both under data).
async function readAsRecipient(address, mobile) {
  const dir = path.join(data, 'mail');
  let link;
  for (const deadline = Date.now() + 30_000; !link; await sleep(100)) {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')) : []) {
      const m = fs.readFileSync(path.join(dir, f), 'utf8');
      const l = /https?:\/\/127\.0\.0\.1:\d+\/m\/[A-Za-z0-9_-]+/.exec(m);
      if (l && m.includes(`To: <${address}>`)) link = l[0];
    }
    if (!link && Date.now() > deadline) throw new Error(`no notification to ${address} in ${dir}`);
  }
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Send kode' }).click();
  await page.getByText('Koden er sendt til din mobil').waitFor();
  const lines = fs.readFileSync(path.join(data, 'sms.txt'), 'utf8').trim().split('\n').filter((l) => l.includes(`\t${mobile}\t`));
  await page.getByLabel('Engangskode (6 cifre)').fill(/\b(\d{6})\b/.exec(lines[lines.length - 1])[1]);
  await page.getByRole('button', { name: 'Åbn beskeden' }).click();
  return page;
}

test('hosted: "Læst" from the relay after the recipient reads; the remembered mobile can be forgotten from the pane', async () => {
  const address = 'laeser-hosted@example.org';
  let page = await pane({ to: [address], subject: 'Læs mig fra relæet', bodyHtml: '<p>Hej</p>' });
  await page.fill('#mobile-0', '+45 31 32 33 35');
  await page.click('li.mobile button');
  await page.waitForFunction(() => document.body.dataset.state === 'checked');
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered', await page.textContent('body'));
  const rp = await readAsRecipient(address, '+4531323335');
  await rp.getByRole('heading', { name: 'Læs mig fra relæet' }).waitFor();
  await rp.close();
  // The pane asks the relay every 20 s, for its own send only.
  await page.waitForFunction(() => /^Læst \d{1,2}\. [a-zæø]+\.? \d{4} kl\. \d{2}\.\d{2}/.test((document.getElementById('facts') || {}).textContent || ''), null, { timeout: 60_000 });
  await chromium.screenshot(page, 'hosted/read-fact');
  assert.deepEqual(page.errors, []);
  await page.close();

  // The relay's address book remembered the number; the pane forgets it
  // there (PUT /api/v1/mobiles), and the next check asks for one again.
  page = await pane({ to: [address], subject: 'Igen', bodyHtml: '<p>Hej</p>' });
  assert.equal(await page.isVisible('#mobile-forget-0'), true, await page.textContent('body'));
  await page.click('#mobile-forget-0');
  await page.waitForSelector('#mobile-0');
  assert.deepEqual(page.errors, []);
  await page.close();
});
