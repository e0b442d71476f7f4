// Browser tests of the secure mailbox's recipient pages: the demo relay
// with the demo secure mailbox (test/securemailbox/server) on loopback,
// Debian's Chromium through playwright-core (never a downloaded browser).
// Mails land as .eml files in DATA/mail, one-time codes in DATA/sms.txt.
// Screenshots go to test-output/screenshots/securemailbox/. Chromium
// comes from ../browser/chromium.js, with this suite's packages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { repo, sleep } from '../browser/agent.js';
import * as chromium from '../browser/chromium.js';

const require = createRequire(import.meta.url);
const SENDER = 'sagsbehandler@demo-kommune.dk';
const REPLY_MAILBOX = 'post@demo-kommune.dk';

let server, data, relay, context, bin;

before(async () => {
  bin = process.env.SENDSIKKERT_SM_SERVER;
  if (!bin) {
    bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bin-')), 'server');
    execFileSync('go', ['build', '-o', bin, './test/securemailbox/server'], { cwd: repo, stdio: 'inherit' });
  }
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-data-'));
  server = spawn(bin, ['--data', data], { stdio: ['ignore', 'pipe', fs.openSync(path.join(data, 'server.log'), 'a')] });
  relay = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: server.stdout });
    rl.once('line', (l) => resolve(JSON.parse(l)));
    server.once('exit', (c) => {
      let log = '';
      try { log = fs.readFileSync(path.join(data, 'server.log'), 'utf8'); } catch { /* cleaned up */ }
      reject(new Error('server exited: ' + c + '\n' + log));
    });
  });
  context = await chromium.launch(require, { acceptDownloads: true, viewport: { width: 800, height: 900 } });
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
  if (!process.env.SENDSIKKERT_SM_SERVER && bin) fs.rmSync(path.dirname(bin), { recursive: true, force: true });
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

// submit sends a message through the relay's API, as the agent does.
async function submit({ key, to = 'borger@gmail.com', readDeadline, question, files = [] }) {
  const msg = {
    recipients: [to], subject: 'Afgørelse om boligstøtte', bodyHtml: '<p>Kære borger, du får <b>medhold</b> i din klage.</p>',
    idempotencyKey: key, mobiles: { [to]: '+45 20 30 40 50' }, replyMailbox: { citizen: 'kommune', company: 'kommune' },
  };
  if (readDeadline) msg.readDeadline = readDeadline;
  if (question) msg.securityQuestion = question;
  const fd = new FormData();
  fd.append('message', new Blob([JSON.stringify(msg)], { type: 'application/json' }));
  for (const f of files) fd.append('attachment', new Blob([f.content], { type: f.type }), f.name);
  const res = await fetch(relay.url + '/v1/messages', { method: 'POST', body: fd, headers: { Authorization: 'Bearer ' + relay.token } });
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

async function status(id) {
  const res = await fetch(relay.url + '/v1/messages/' + id, { headers: { Authorization: 'Bearer ' + relay.token } });
  return res.json();
}

// waitEvent waits for an event on the message matching re: the mailbox
// records some (the deadline alert) only after the mail has gone.
async function waitEvent(id, re) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const what = (await status(id)).events.map((e) => e.what).join(' | ');
    if (re.test(what)) return what;
    if (Date.now() > deadline) assert.fail(`no event ${re} on ${id}: ${what}`);
    await sleep(100);
  }
}

// waitMail waits for a mail in DATA/mail to `to` that contains every string.
async function waitMail(to, ...contains) {
  const dir = path.join(data, 'mail');
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (fs.existsSync(dir)) {
      for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.eml') && !f.startsWith('.'))) {
        const m = fs.readFileSync(path.join(dir, f), 'utf8');
        if (m.includes('To: <' + to + '>') && contains.every((c) => m.includes(c))) return m;
      }
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with ${contains.join(', ')}`);
    await sleep(100);
  }
}


// notification finds the newest notification to the recipient not yet used.
const used = new Set();
async function notification() {
  const dir = path.join(data, 'mail');
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (fs.existsSync(dir)) {
      for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).sort()) {
        const m = fs.readFileSync(path.join(dir, f), 'utf8');
        const link = /http:\/\/127\.0\.0\.1:\d+\/m\/[A-Za-z0-9_-]+/.exec(m);
        if (link && m.includes('To: <borger@gmail.com>') && !used.has(link[0])) {
          used.add(link[0]);
          return { mail: m, link: link[0] };
        }
      }
    }
    if (Date.now() > deadline) throw new Error('no notification mail');
    await sleep(100);
  }
}

function lastCode() {
  const lines = fs.readFileSync(path.join(data, 'sms.txt'), 'utf8').trim().split('\n');
  const last = lines[lines.length - 1];
  assert.match(last, /\t\+4520304050\t/);
  return /\b(\d{6})\b/.exec(last)[1];
}

const open = (link) => chromium.openPage(context, link);

async function axe(page) {
  assert.deepEqual(await chromium.axe(require, page), [], 'accessibility');
}

test('code from the SMS → read → download attachment → reply reaches the reply mailbox; read receipt reaches the sender', async () => {
  const pdf = '%PDF-1.4 afgørelse ' + 'x'.repeat(2000);
  const id = await submit({ key: 'bt-read', files: [{ name: 'afgørelse.pdf', type: 'application/pdf', content: pdf }] });
  const { mail, link } = await notification();
  assert.ok(!mail.includes('medhold') && !mail.includes('boligstøtte'), 'the notification holds no content');
  const page = await open(link);
  await page.getByRole('heading', { name: 'Du har fået en sikker besked' }).waitFor();
  assert.ok(!(await page.content()).includes('medhold'));
  await axe(page);
  await chromium.screenshot(page, 'securemailbox/01-kode');

  await page.getByRole('button', { name: 'Send kode' }).click();
  await page.getByText('Koden er sendt til din mobil').waitFor();
  await page.getByLabel('Engangskode (6 cifre)').fill(lastCode());
  await chromium.screenshot(page, 'securemailbox/02-kode-indtastet');
  await page.getByRole('button', { name: 'Åbn beskeden' }).click();
  await page.getByRole('heading', { name: 'Afgørelse om boligstøtte' }).waitFor();
  const body = page.frameLocator('iframe[title="Beskedens tekst"]');
  await body.getByText('medhold').waitFor();
  await axe(page);
  await chromium.screenshot(page, 'securemailbox/03-besked');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'afgørelse.pdf' }).click()]);
  assert.equal(download.suggestedFilename(), 'afgørelse.pdf');
  assert.equal(fs.readFileSync(await download.path(), 'utf8'), pdf);

  await page.getByLabel('Dit svar').fill('Tak for svaret. Jeg har læst afgørelsen.');
  await page.getByRole('button', { name: 'Send svar' }).click();
  await page.getByText('Dit svar er sendt sikkert til Demo Kommune.').waitFor();
  await chromium.screenshot(page, 'securemailbox/04-svar-sendt');
  const reply = await waitMail(REPLY_MAILBOX, 'Tak for svaret. Jeg har læst afgørelsen.');
  assert.match(reply, new RegExp('X-Sendsikkert-Id: ' + id));

  const receipt = await waitMail(SENDER, 'X-Sendsikkert-Status: read', 'X-Sendsikkert-Id: ' + id);
  assert.match(receipt, /blev åbnet/);
  await waitEvent(id, /Læst i sikker mailboks af borger@gmail.com/);
  await waitEvent(id, /Svar modtaget via sikker mailboks/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a wrong code five times locks the message', async () => {
  await submit({ key: 'bt-lock' });
  const { link } = await notification();
  const page = await open(link);
  await page.getByRole('button', { name: 'Send kode' }).click();
  await page.getByText('Koden er sendt til din mobil').waitFor();
  const right = lastCode();
  const wrong = right === '000000' ? '111111' : '000000';
  for (let i = 1; i <= 4; i++) {
    await page.getByLabel('Engangskode (6 cifre)').fill(wrong);
    await page.getByRole('button', { name: 'Åbn beskeden' }).click();
    await page.getByText(`Du har ${5 - i} forsøg tilbage.`).waitFor();
  }
  await chromium.screenshot(page, 'securemailbox/05-forkert-kode');
  await page.getByLabel('Engangskode (6 cifre)').fill(wrong);
  await page.getByRole('button', { name: 'Åbn beskeden' }).click();
  await page.getByRole('heading', { name: 'Beskeden er låst' }).waitFor();
  await chromium.screenshot(page, 'securemailbox/06-laast');
  // Even the right code does not open it now.
  const res = await page.goto(link);
  assert.equal(res.status(), 423);
  await page.close();
});

test('a revoked message is gone', async () => {
  const id = await submit({ key: 'bt-revoke' });
  const { link } = await notification();
  const page = await open(link);
  await page.getByRole('button', { name: 'Send kode' }).click();
  await page.getByLabel('Engangskode (6 cifre)').fill(lastCode());
  await page.getByRole('button', { name: 'Åbn beskeden' }).click();
  await page.getByRole('heading', { name: 'Afgørelse om boligstøtte' }).waitFor();
  const res = await fetch(relay.url + '/v1/messages/' + id + '/revoke', { method: 'POST', headers: { Authorization: 'Bearer ' + relay.token } });
  assert.equal(res.status, 200);
  const again = await page.reload();
  assert.equal(again.status(), 410);
  await page.getByRole('heading', { name: 'Beskeden er trukket tilbage' }).waitFor();
  assert.ok(!(await page.content()).includes('boligstøtte'));
  await chromium.screenshot(page, 'securemailbox/07-trukket-tilbage');
  const st = await status(id);
  assert.match(st.events.map((e) => e.what).join(' | '), /Trukket tilbage fra sikker mailboks/);
  await page.close();
});

test('unread by the deadline: the sender is alerted', async () => {
  const id = await submit({ key: 'bt-deadline', readDeadline: new Date(Date.now() + 2500).toISOString() });
  await notification();
  const alert = await waitMail(SENDER, 'X-Sendsikkert-Status: unread-deadline', 'X-Sendsikkert-Id: ' + id);
  assert.match(alert, /ikke åbnet inden fristen/);
  await waitEvent(id, /Ikke læst inden fristen/);
});

test('with a security question, the code alone does not open the message', async () => {
  await submit({ key: 'bt-question', question: { question: 'Hvad hed din første hund?', answer: 'Fido' } });
  const { link } = await notification();
  const page = await open(link);
  await page.getByRole('button', { name: 'Send kode' }).click();
  await page.getByLabel('Engangskode (6 cifre)').fill(lastCode());
  await page.getByRole('button', { name: 'Åbn beskeden' }).click();
  await page.getByRole('heading', { name: 'Kontrolspørgsmål' }).waitFor();
  await axe(page);
  await page.getByLabel('Hvad hed din første hund?').fill('Rex');
  await page.getByRole('button', { name: 'Fortsæt' }).click();
  await page.getByText('Svaret er forkert. Du har 4 forsøg tilbage.').waitFor();
  await chromium.screenshot(page, 'securemailbox/08-kontrolspoergsmaal');
  await page.getByLabel('Hvad hed din første hund?').fill(' fido ');
  await page.getByRole('button', { name: 'Fortsæt' }).click();
  await page.getByRole('heading', { name: 'Afgørelse om boligstøtte' }).waitFor();
  // The wrong answer's page came with 401; nothing else went wrong.
  assert.deepEqual(page.errors.filter((p) => !p.includes('status of 401')), []);
  await page.close();
});

test('an unknown link says so', async () => {
  const page = await open(relay.url + '/m/' + 'A'.repeat(43));
  await page.getByRole('heading', { name: 'Beskeden findes ikke' }).waitFor();
  await page.close();
});
