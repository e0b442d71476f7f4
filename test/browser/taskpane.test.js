// The Outlook task pane, driven in headless Chromium against the real
// agent in demo mode, with Office.js from office-addin-mock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Agent, launch, openPage, screenshot, axe, repo } from './harness.js';
import { assertAskedOnOpen, assertFieldRefusals, assertSentFields, giveMobile, localDate, sentMessages } from './securemailbox.js';

let agent, context;
const PANE = () => agent.base + '/addin/outlook/taskpane.html';

before(async () => {
  agent = await Agent.start();
  context = await launch(agent);
});

after(async () => {
  await context?.close();
  await agent?.stop();
});

async function pane(item, opts = {}) {
  const page = await openPage(context, opts.url || PANE(), { item, mailbox: opts.mailbox });
  if (opts.wait !== false) {
    await page.waitForFunction(() => !['loading', undefined].includes(document.body.dataset.state) && document.getElementById('main').getAttribute('aria-busy') === 'false');
  }
  return page;
}

async function noA11yIssues(page, state) {
  const v = await axe(page);
  assert.deepEqual(v, [], `axe on ${state}`);
}

const lines = (page) => page.$$eval('#recipients li', (ls) => ls.map((l) => l.textContent.replace(/\s+/g, ' ').trim()));

test('check: a line in the clerks\' words for every demo fixture', async () => {
  const page = await pane({
    to: ['2211771212', '1010101010'], cc: ['12345674'], bcc: ['0707614285', '0101011234', '3102991234'],
    subject: 'Afgørelse', bodyHtml: '<p>Hej</p>',
  });
  const got = await lines(page);
  assert.equal(got.length, 6);
  assert.match(got[0], /Til: 2211771212.*CPR-nummer tilhører Karen Testesen/);
  assert.match(got[0], /^✓Sikker:/);
  assert.match(got[1], /Til: 1010101010.*Navne- og adressebeskyttet/);
  assert.match(got[2], /Cc: 12345674.*CVR-nummer tilhører Demo Virksomhed ApS/);
  assert.match(got[3], /Bcc: 0707614285.*CPR-nummer tilhører Jens Fritagesen.*fritaget for Digital Post/);
  assert.match(got[3], /^!Ikke sikker:/);
  assert.match(got[4], /Der findes ingen person med CPR-nummer/);
  assert.match(got[5], /ikke et gyldigt CPR-nummer/);
  const summary = await page.textContent('#summary');
  assert.match(summary, /^Der kan ikke sendes sikkert til følgende modtager\(e\): /);
  assert.equal(await page.isDisabled('#send'), true);
  assert.equal(await page.getAttribute('body', 'data-state'), 'exempt');
  assert.equal(await page.isVisible('#demo'), true, 'DEMO marked');
  await screenshot(page, 'all-fixtures');
  await noA11yIssues(page, 'all-fixtures');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('not secure: unknown and invalid recipients named, Send sikkert disabled', async () => {
  const page = await pane({ to: ['2211771212', '0101011234'], cc: ['12345679'], subject: 'Afgørelse', bodyHtml: '<p>Hej</p>' });
  assert.equal(await page.getAttribute('body', 'data-state'), 'not-secure');
  assert.equal(await page.textContent('#summary'), 'Der kan ikke sendes sikkert til følgende modtager(e): 0101011234, 12345679');
  assert.equal(await page.isVisible('#fallback'), false);
  assert.equal(await page.isDisabled('#send'), true);
  assert.match(await page.textContent('#send-why'), /Der kan ikke sendes sikkert til alle modtagere/);
  await screenshot(page, 'not-secure');
  await noA11yIssues(page, 'not-secure');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('checked: all secure, Send sikkert enabled', async () => {
  const page = await pane({ to: ['221177-1212'], cc: ['12345674'], subject: 'Afgørelse om boligstøtte', bodyHtml: '<p>Hej Karen</p>' });
  assert.equal(await page.textContent('#summary'), 'Alle modtagere kontrolleret. Der kan sendes sikkert til alle modtagere af denne e-mail.');
  assert.equal(await page.getAttribute('body', 'data-state'), 'checked');
  assert.equal(await page.isEnabled('#send'), true);
  await screenshot(page, 'checked');
  await noA11yIssues(page, 'checked');
  // Keyboard: Tab reaches the button, Enter works on it (focus order sane).
  await page.focus('#check');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('summary').textContent.startsWith('Alle'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('recipients changed in Outlook: checked again at once', async () => {
  const page = await pane({ to: ['2211771212'], subject: 'Afgørelse', bodyHtml: '<p>Hej</p>' });
  assert.equal(await page.getAttribute('body', 'data-state'), 'checked');
  await page.evaluate(() => {
    Office.context.mailbox.item.to.value.push({ emailAddress: '0707614285', displayName: '0707614285' });
    window.__officeFire('olkRecipientsChanged', { changedRecipientFields: { to: true } });
  });
  await page.waitForFunction(() => document.body.dataset.state === 'exempt');
  assert.equal((await lines(page)).length, 2);
  assert.equal(await page.isDisabled('#send'), true);
  assert.deepEqual(page.errors, []);
  await page.close();
});

function memoFiles() {
  const dir = path.join(agent.data, 'demo', 'digitalpost');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => path.join(dir, f)) : [];
}

test('send with a 5 MB attachment: progress, delivered, MeMo file present', async () => {
  const before = new Set(memoFiles());
  const size = 5 * 1024 * 1024;
  const page = await pane({
    to: ['2211771212'], subject: 'Afgørelse 5 MB', bodyHtml: '<p>Se vedhæftede <b>afgørelse</b>.</p>',
    attachments: [{ name: 'afgoerelse.pdf', size }, { name: 'bilag.txt', base64: Buffer.from('Bilag 1').toString('base64'), size: 7 }],
  });
  // Hold the first status answer back a moment, so the sending state can be seen.
  let held = false;
  await page.route(/\/api\/v1\/messages\/[^/]+$/, async (route) => {
    if (!held) { held = true; await new Promise((r) => setTimeout(r, 1500)); }
    await route.continue();
  });
  await page.click('#send');
  await page.waitForFunction(() => document.body.dataset.state === 'sending' && document.getElementById('progress-bar').getAttribute('aria-valuenow') === '100');
  assert.equal(await page.isVisible('#progress'), true);
  await screenshot(page, 'sending');
  await noA11yIssues(page, 'sending');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.match(await page.textContent('#delivery'), /Sendt som Digital Post/);
  assert.equal(await page.isVisible('#close-draft'), true);
  await screenshot(page, 'delivered');
  await noA11yIssues(page, 'delivered');

  const fresh = memoFiles().filter((f) => !before.has(f));
  assert.equal(fresh.length, 1, 'one MeMo file for the one recipient');
  const xml = fs.readFileSync(fresh[0], 'utf8');
  assert.match(xml, /Afgørelse 5 MB/);
  assert.match(xml, /afgoerelse\.pdf/);
  assert.match(xml, /bilag\.txt/);
  // The 5 MB file arrived whole: its bytes (base64) sit in the MeMo file.
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255;
  const b64 = bytes.toString('base64');
  assert.ok(xml.replace(/\s+/g, '').includes(b64.slice(0, 4096)) && xml.replace(/\s+/g, '').includes(b64.slice(-4096)), '5 MB attachment content in MeMo');

  await page.click('#close-draft');
  const calls = await page.evaluate(() => window.__officeCalls);
  assert.ok(calls.some((c) => c.call === 'closeAsync' && c.opts.discardItem === true), 'draft closed with discardItem');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('e-mail recipient off the list: the pane asks for a mobile number, then sends to a secure mailbox', async () => {
  const page = await pane({ to: ['borger@example.com'], subject: 'Svar på din henvendelse', bodyHtml: '<p>Hej</p>' });
  let got = await lines(page);
  assert.match(got[0], /borger@example\.com.*mobil/i);
  assert.equal(await page.isDisabled('#send'), true);
  assert.equal(await page.isVisible('#mobile-0'), true);
  await screenshot(page, 'mobile-asked');
  await noA11yIssues(page, 'mobile-asked');
  await giveMobile(page, '+45 12 34 56 78');
  got = await lines(page);
  assert.match(got[0], /^✓Sikker:/);
  assert.equal(await page.isDisabled('#send'), false);
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('secure mailbox: a mobile number, a read deadline and a security question reach the relay; the recipient must answer', async () => {
  const address = 'klient@example.org'; // not in the address book yet: the pane asks for the number
  const page = await pane({ to: [address], subject: 'Afgørelse om tilskud', bodyHtml: '<p>Hej</p>' });
  const sent = await sentMessages(page);
  assert.equal(await page.isVisible('#securemailbox'), false, 'no recipient on the secure mailbox yet');
  await giveMobile(page, '87 65 43 21');
  assert.equal(await page.isVisible('#securemailbox'), true);
  assert.match(await page.textContent('#sm-who'), /klient@example\.org/);
  const day = localDate(7);
  const question = { question: 'Hvad hed din første hund?', answer: 'Fido' };
  await page.fill('#sm-deadline', day);
  await page.fill('#sm-question', question.question);
  await page.fill('#sm-answer', question.answer);
  assert.equal(await page.isEnabled('#send'), true, await page.textContent('#send-why'));
  await screenshot(page, 'securemailbox-fields');
  await noA11yIssues(page, 'securemailbox-fields');
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered', await page.textContent('#alert'));
  assert.equal(await page.isDisabled('#sm-deadline'), true, 'fields fixed once sent');
  const [msg, ...more] = await sent();
  assert.equal(more.length, 0, 'one send');
  assertSentFields(msg, { mobiles: { [address]: '87 65 43 21' }, day, question });
  const rp = await assertAskedOnOpen(context, agent.data, { address, mobile: '+4587654321', question, subject: 'Afgørelse om tilskud' });
  await rp.close();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('secure mailbox fields: a past date, a question without an answer — told in Danish, nothing sent', async () => {
  const before = (await agent.api('GET', '/api/v1/messages')).messages.length;
  const page = await pane({ to: ['raadgiver@example.net'], subject: 'Referat', bodyHtml: '<p>Hej</p>' });
  const sent = await sentMessages(page);
  await giveMobile(page, '+45 20 30 40 50');
  await assertFieldRefusals(page, async (name) => {
    await screenshot(page, name);
    await noA11yIssues(page, name);
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await sent()).length, 0, 'nothing posted to the agent');
  assert.equal((await agent.api('GET', '/api/v1/messages')).messages.length, before, 'nothing in the outbox');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('exempt citizen: OneTooX letter offered, then printed', async () => {
  const printDir = path.join(agent.data, 'demo', 'print');
  const before = new Set(fs.existsSync(printDir) ? fs.readdirSync(printDir) : []);
  const page = await pane({ to: ['0707614285'], subject: 'Brev til Jens', bodyHtml: '<p>Kære Jens</p>' });
  assert.equal(await page.getAttribute('body', 'data-state'), 'exempt');
  assert.equal(await page.isVisible('#fallback'), true);
  assert.match(await page.textContent('#fallback-who'), /Jens Fritagesen kan ikke modtage Digital Post/);
  assert.equal(await page.isDisabled('#send'), true);
  assert.match(await page.textContent('#send-why'), /Send som brev via OneTooX/);
  await screenshot(page, 'exempt');
  await noA11yIssues(page, 'exempt');
  await page.check('#fallback-print');
  assert.equal(await page.isEnabled('#send'), true);
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.match(await page.textContent('#delivery'), /OneTooX/);
  await screenshot(page, 'exempt-printed');
  const fresh = fs.readdirSync(printDir).filter((f) => !before.has(f));
  assert.ok(fresh.some((f) => f.endsWith('.pdf')), 'letter PDF written: ' + fresh);
  const info = fresh.filter((f) => f.endsWith('.json')).map((f) => fs.readFileSync(path.join(printDir, f), 'utf8')).join();
  assert.match(info, /Jens Fritagesen/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('CPR in the subject: warned, must be changed before sending', async () => {
  const page = await pane({ to: ['2211771212'], subject: 'Sag vedr. 221177-1212', bodyHtml: '<p>Hej</p>' });
  assert.equal(await page.isVisible('#subject-warning'), true);
  assert.equal(await page.isDisabled('#send'), true);
  await screenshot(page, 'subject-cpr');
  await noA11yIssues(page, 'subject-cpr');
  await page.evaluate(() => { Office.context.mailbox.item.subject.value = 'Sag vedr. boligstøtte'; });
  await page.click('#recheck-subject');
  await page.waitForFunction(() => document.getElementById('subject-warning').hidden);
  assert.equal(await page.isEnabled('#send'), true);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('attachments: cloud link, too many files, too large — told before anything is sent', async () => {
  const cases = [
    [[{ name: 'Budget.xlsx', size: 2000, attachmentType: 'cloud' }], /Budget\.xlsx« er et link til en fil i skyen/],
    [Array.from({ length: 11 }, (_, i) => ({ name: `fil${i}.txt`, base64: 'eA==', size: 1 })), /Der er 11 vedhæftede filer\. Digital Post tillader højst 10/],
    [[{ name: 'stor.zip', size: 110_000_000 }], /fylder 104,9 MB\. Digital Post tillader højst 99,5 MB/],
  ];
  for (const [attachments, want] of cases) {
    const page = await pane({ to: ['2211771212'], subject: 'Filer', bodyHtml: '<p>x</p>', attachments });
    assert.match(await page.textContent('#file-problems'), want);
    assert.equal(await page.isDisabled('#send'), true);
    if (want.source.includes('skyen')) {
      await screenshot(page, 'attachment-problem');
      await noA11yIssues(page, 'attachment-problem');
    }
    await page.close();
  }
});

test('Digitalpost retursvar: choices survive a reload (agent and roamingSettings)', async () => {
  const item = { to: ['2211771212'], subject: 'Svar', bodyHtml: '<p>x</p>' };
  let page = await pane(item);
  const opts = await page.$$eval('#reply-citizen option', (os) => os.map((o) => o.textContent));
  assert.deepEqual(opts, ['Demo Kommune', 'Jobcenter', 'Borgerservice']);
  await page.selectOption('#reply-citizen', 'jobcenter');
  await page.selectOption('#reply-company', 'borgerservice');
  await page.waitForFunction(() => (window.__officeCalls || []).filter((c) => c.call === 'roamingSave' && c.value['sendsikkert.replyCompany'] === 'borgerservice').length > 0);
  await page.waitForFunction(() => true);
  // The agent holds the choice…
  let mc = await agent.api('GET', '/api/v1/reply-mailboxes');
  for (let i = 0; i < 50 && mc.company.selected !== 'borgerservice'; i++) { await new Promise((r) => setTimeout(r, 100)); mc = await agent.api('GET', '/api/v1/reply-mailboxes'); }
  assert.equal(mc.citizen.selected, 'jobcenter');
  assert.equal(mc.company.selected, 'borgerservice');
  await page.reload();
  await page.waitForFunction(() => !document.getElementById('reply-citizen').disabled);
  assert.equal(await page.inputValue('#reply-citizen'), 'jobcenter');
  assert.equal(await page.inputValue('#reply-company'), 'borgerservice');

  // …without the roamed copy (another pc, same agent data) it still stands…
  await page.evaluate(() => localStorage.removeItem('__sendsikkertRoaming'));
  await page.reload();
  await page.waitForFunction(() => !document.getElementById('reply-citizen').disabled);
  assert.equal(await page.inputValue('#reply-citizen'), 'jobcenter');

  // …and a roamed choice (made on another pc) wins and is given to the agent.
  await page.evaluate(() => localStorage.setItem('__sendsikkertRoaming', JSON.stringify({ 'sendsikkert.replyCitizen': 'borgerservice' })));
  await page.reload();
  await page.waitForFunction(() => !document.getElementById('reply-citizen').disabled);
  assert.equal(await page.inputValue('#reply-citizen'), 'borgerservice');
  mc = await agent.api('GET', '/api/v1/reply-mailboxes');
  assert.equal(mc.citizen.selected, 'borgerservice');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Send sikkert button: opens the pane with every recipient\'s name and channel; nothing is sent until the clerk presses Send', async () => {
  const before = (await agent.api('GET', '/api/v1/messages')).messages.length;
  const page = await pane({ to: ['2211771212'], cc: ['12345674'], subject: 'Hurtig afsendelse', bodyHtml: '<p>Hej</p>' }, { url: PANE() + '?send=1' });
  const got = await lines(page);
  assert.match(got[0], /Karen Testesen/);
  assert.match(got[1], /Demo Virksomhed ApS/);
  assert.match(await page.textContent('#alert'), /Intet er sendt endnu/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'send', 'focus on Send sikkert');
  await screenshot(page, 'send-button-pane');
  await noA11yIssues(page, 'send-button-pane');
  assert.equal((await agent.api('GET', '/api/v1/messages')).messages.length, before, 'nothing sent by opening');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.match(await page.textContent('#alert'), /Mailen er sendt som Digital Post\./);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('pages hosted on another origin with no agent there: says so, sends nothing', async () => {
  // The same files, served from a foreign HTTPS origin (as the relay will),
  // configured with an agent base URL where nothing answers.
  const foreign = 'https://addin.kommune.example';
  const pages = path.join(repo, 'addin', 'pages');
  const deadAgent = 'https://localhost:1';
  await context.route(foreign + '/**', (route) => {
    const rel = new URL(route.request().url()).pathname.replace(/^\/addin\//, '');
    const file = path.join(pages, rel);
    if (!file.startsWith(pages) || !fs.existsSync(file)) return route.fulfill({ status: 404, body: '' });
    let body = fs.readFileSync(file);
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' }[path.extname(file)];
    if (type === 'text/html') body = body.toString().replace('<meta name="sendsikkert-csrf" content="">', `<meta name="sendsikkert-csrf" content=""><meta name="sendsikkert-agent" content="${deadAgent}">`);
    return route.fulfill({ status: 200, contentType: type, body });
  });
  const page = await openPage(context, foreign + '/addin/outlook/taskpane.html', { item: { to: ['2211771212'], subject: 'x', bodyHtml: 'x' } });
  await page.waitForFunction(() => document.body.dataset.state === 'agent-absent');
  assert.match(await page.textContent('#alert'), /Send sikkert-programmet på din pc kan ikke nås/);
  assert.equal(await page.isDisabled('#send'), true);
  await screenshot(page, 'agent-absent-other-origin');
  await noA11yIssues(page, 'agent-absent-other-origin');
  await page.close();
});

// Last: it stops the agent.
test('agent stopped: the pane says so plainly and sends nothing', async () => {
  const page = await pane({ to: ['2211771212'], subject: 'Afgørelse', bodyHtml: '<p>Hej</p>' });
  assert.equal(await page.getAttribute('body', 'data-state'), 'checked');
  await agent.stop();
  await page.click('#check');
  await page.waitForFunction(() => document.body.dataset.state === 'agent-absent');
  const alert = await page.textContent('#alert');
  assert.match(alert, /Send sikkert-programmet på din pc kan ikke nås\. Det kører måske ikke, eller pc’en stoler ikke på dets certifikat/);
  assert.match(alert, /Der er ikke sendt noget/);
  assert.equal(await page.isDisabled('#send'), true);
  await screenshot(page, 'agent-absent');
  await noA11yIssues(page, 'agent-absent');
  await page.close();
});
