// What the clerk sees (issue 20): identifiers as clerks paste them, a pane
// that outlives an agent restart, keyboard and zoom, true texts. The real
// agent in demo mode, the real pages, Debian's Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Agent, launch, openPage, screenshot, axe } from './harness.js';
import { openWithCode } from './securemailbox.js';

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
  await page.waitForFunction(() => !['loading', undefined].includes(document.body.dataset.state) && document.getElementById('main').getAttribute('aria-busy') === 'false');
  return page;
}

async function noA11yIssues(page, state) {
  const v = await axe(page);
  assert.deepEqual(v, [], `axe on ${state}`);
}

const lines = (page) => page.$$eval('#recipients li', (ls) => ls.map((l) => l.textContent.replace(/\s+/g, ' ').trim()));

test('identifiers as clerks paste them: recognised, named in their canonical form, strict rules kept', async () => {
  const page = await pane({
    to: ['221177\u20131212'], cc: ['DK-12 34 56 74', 'CVR-nr. 12345674'], bcc: ['２２１１７７－１２１２', '310299\u20131234'],
    subject: 'Afgørelse', bodyHtml: '<p>Hej</p>',
  });
  const got = await lines(page);
  assert.match(got[0], /^✓Sikker: Til: 221177-1212 \(skrevet »221177–1212«\)CPR-nummer tilhører Karen Testesen/);
  assert.match(got[1], /^✓Sikker: Cc: 12345674 \(skrevet »DK-12 34 56 74«\)CVR-nummer tilhører Demo Virksomhed ApS/);
  assert.match(got[2], /^✓Sikker: Cc: 12345674 \(skrevet »CVR-nr\. 12345674«\)/);
  assert.match(got[3], /^✓Sikker: Bcc: 221177-1212 \(skrevet »２２１１７７－１２１２«\)/);
  assert.match(got[4], /^!Ikke sikker: .*ikke et gyldigt CPR-nummer: datoen findes ikke/, '31 February stays invalid');
  await screenshot(page, 'clerk/pasted-identifiers');
  await noA11yIssues(page, 'pasted-identifiers');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a stale CSRF token (the agent restarted under an open pane) is renewed without bothering the clerk', async () => {
  const stale = 'ab'.repeat(32);
  await context.route(PANE(), async (route) => {
    // The page as the agent serves it, but with the token of an earlier start.
    const resp = await agent.get('/addin/outlook/taskpane.html');
    const body = resp.body.replace(/(name="sendsikkert-csrf" content=")[0-9a-f]+"/, `$1${stale}"`);
    await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body });
  });
  const renewals = [];
  context.on('request', (r) => { if (r.url().endsWith('/csrf-token')) renewals.push(r.url()); });
  try {
    const page = await pane({ to: ['2211771212'], subject: 'Afgørelse', bodyHtml: '<p>Hej</p>' });
    assert.equal(await page.evaluate(() => document.querySelector('meta[name="sendsikkert-csrf"]').content), stale, 'the page started with the stale token');
    assert.equal(await page.getAttribute('body', 'data-state'), 'checked');
    assert.equal(await page.isVisible('#alert'), false, 'no "Genindlæs siden"');
    assert.ok(renewals.length >= 1, 'the token was fetched anew');
    assert.equal(await page.isEnabled('#send'), true);
    // The errors list holds the console's 403 for the first, refused call.
    assert.ok(page.errors.every((e) => /403/.test(e)), page.errors.join('\n'));
    await page.close();
  } finally {
    await context.unroute(PANE());
  }
});

// overflow is how many CSS pixels the pane is wider than its window.
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

test('keyboard: a disabled Send is reachable by Tab and says why; a click on it sends nothing', async () => {
  const page = await pane({ to: ['0101011234'], subject: 'Afgørelse', bodyHtml: '<p>Hej</p>' });
  assert.equal(await page.getAttribute('#send', 'aria-disabled'), 'true');
  assert.equal(await page.getAttribute('#send', 'disabled'), null, 'not natively disabled, so it stays in the tab order');
  await page.focus('#check');
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'send');
  }
  assert.ok(reached, 'Tab reaches Send sikkert');
  const why = await page.evaluate(() => document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent);
  assert.match(why, /Der kan ikke sendes sikkert til alle modtagere/);
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/messages')) posts.push(r.url()); });
  await page.keyboard.press('Enter');
  await page.keyboard.press('Space');
  await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  assert.deepEqual(posts, [], 'nothing sent');
  assert.notEqual(await page.getAttribute('body', 'data-state'), 'sending');
  await screenshot(page, 'clerk/send-off-focused');
  await noA11yIssues(page, 'send-off-focused');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('keyboard: focus moves to the result after "Brug nummeret" and after Send', async () => {
  const page = await pane({ to: ['kbd@example.com'], subject: 'Svar', bodyHtml: '<p>Hej</p>' });
  await page.fill('#mobile-0', '+45 12 34 56 78');
  await page.focus('li.mobile button');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'checked');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'result-0');
  assert.match(await page.evaluate(() => document.activeElement.textContent), /Sikker:.*sikker mailboks/);
  await screenshot(page, 'clerk/mobile-used-focus');
  await page.focus('#send');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'alert');
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  await screenshot(page, 'clerk/sent-focus');
  await noA11yIssues(page, 'sent-focus');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('zoom: at 200 % in a 320 px pane nothing overflows sideways', async () => {
  // 200 % zoom in a 320 px pane leaves 160 CSS pixels.
  const page = await context.newPage();
  await page.close();
  const item = {
    to: ['2211771212', 'meget.lang.adresse.til.en.borger@eksempel-kommune.example.com'], cc: ['DK-12 34 56 74'], bcc: ['0707614285'],
    subject: 'Afgørelse om boligstøtte og tilskud til medicin for perioden 2026–2027', bodyHtml: '<p>Hej</p>',
    attachments: [{ name: 'afgoerelse-om-boligstoette-og-tilskud-2026.pdf', base64: 'eA==', size: 1 }],
  };
  const zoomed = await openPage(context, PANE(), { item });
  await zoomed.setViewportSize({ width: 160, height: 900 });
  await zoomed.waitForFunction(() => document.getElementById('main').getAttribute('aria-busy') === 'false');
  assert.equal(await overflow(zoomed), 0, 'checked view');
  await screenshot(zoomed, 'clerk/zoom-200-checked');
  await zoomed.fill('#mobile-1', '+45 12 34 56 78');
  await zoomed.click('li.mobile button');
  await zoomed.waitForFunction(() => document.getElementById('mobile-fix-1'));
  assert.equal(await overflow(zoomed), 0, 'after the mobile number');
  await zoomed.check('#fallback-print');
  await zoomed.click('#send');
  await zoomed.waitForFunction(() => ['delivered', 'failed'].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await overflow(zoomed), 0, 'sent view');
  await screenshot(zoomed, 'clerk/zoom-200-sent');
  assert.deepEqual(zoomed.errors, []);
  await zoomed.close();
});

// smartAlert runs the OnMessageSend handler on a compose item (through the
// agent-served commands page) and returns what it told Outlook.
async function smartAlert(item) {
  const page = await openPage(context, agent.base + '/addin/outlook/commands.html', { item });
  await page.waitForFunction(() => window.__officeActions && window.__officeActions.onMessageSendHandler);
  const opts = await page.evaluate(() => new Promise((resolve) => window.__officeActions.onMessageSendHandler({ completed: resolve })));
  assert.deepEqual(page.errors, []);
  await page.close();
  return opts;
}

// withPolicy serves launchevent.js as an agent with another policy would
// (the Go tests prove the agent writes it from ADMX and the relay).
async function withPolicy(policy, fn) {
  const url = agent.base + '/addin/outlook/launchevent.js';
  await context.route(url, async (route) => {
    const js = (await agent.get('/addin/outlook/launchevent.js')).body
      .replace(/var POLICY = \{[^}]*\}; \/\/ sendsikkert:policy/, `var POLICY = ${JSON.stringify(policy)}; // sendsikkert:policy`);
    await route.fulfill({ status: 200, contentType: 'text/javascript', body: js });
  });
  try { await fn(); } finally { await context.unroute(url); }
}

const clearItemProps = async () => {
  const p = await context.newPage();
  await p.goto(agent.base + '/healthz');
  await p.evaluate(() => localStorage.removeItem('__sendsikkertCustomProps'));
  await p.close();
};

test('Smart Alert: Send alligevel where the organisation allows it — the reason goes to the audit log and lets the next send through once', async () => {
  const item = { to: ['karen@example.dk'], subject: 'Opfølgning', bodyHtml: '<p>Vedr. 221177-1212, tlf. 2211771212, J.nr. 2024-123456, kr. 1506264123</p>' };
  try {
    let opts = await smartAlert(item);
    assert.equal(opts.allowEvent, false);
    assert.equal(opts.sendModeOverride, 'promptUser');
    assert.match(opts.errorMessage, /^Mailen ser ud til at indeholde et CPR-nummer: 221177-xxxx i brødteksten\. Brug Send sikkert\. Skal den sendes alligevel/);
    assert.equal(opts.commandId, 'sendsikkertCheckButton', 'the alert opens the pane');

    const page = await pane(item);
    assert.equal(await page.isVisible('#override'), true);
    assert.match(await page.textContent('#override-found'), /221177-xxxx i brødteksten/);
    await screenshot(page, 'clerk/smart-alert-send-anyway');
    await noA11yIssues(page, 'smart-alert-send-anyway');
    await page.click('#override-record');
    assert.match(await page.textContent('#override-done'), /Skriv en begrundelse/, 'no reason, nothing recorded');
    await page.fill('#override-reason', 'Borgeren 221177-1212 har selv bedt om svar på almindelig mail');
    await page.click('#override-record');
    await page.waitForFunction(() => /Begrundelsen er gemt/.test(document.getElementById('override-done').textContent));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'override-done');
    await screenshot(page, 'clerk/smart-alert-reason-recorded');
    await page.close();
    const audit = fs.readFileSync(path.join(agent.data, 'demo', 'audit.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
    const row = audit.find((r) => r.action === 'smart_alert_override');
    assert.ok(row, 'override in the audit log');
    assert.match(row.outcome, /221177-xxxx i brødteksten/);
    assert.match(row.outcome, /har selv bedt om svar/);
    assert.doesNotMatch(JSON.stringify(audit), /221177-?1212/, 'no full CPR number in the audit log');

    opts = await smartAlert(item);
    assert.equal(opts.allowEvent, true, 'the next send goes through');
    opts = await smartAlert(item);
    assert.equal(opts.allowEvent, false, 'once only');
  } finally {
    await clearItemProps();
  }
});

test('Smart Alert: no Send alligevel where the organisation (or ADMX) says no; the ADMX off switch turns it off', async () => {
  const item = { to: ['a@example.dk'], subject: 'Sag 2211771212', bodyHtml: '<p>x</p>' };
  await withPolicy({ smartAlert: true, sendAnyway: false }, async () => {
    const opts = await smartAlert(item);
    assert.equal(opts.allowEvent, false);
    assert.equal(opts.sendModeOverride, undefined);
    assert.equal(opts.errorMessage, 'Mailen ser ud til at indeholde et CPR-nummer: 221177-xxxx i emnet. Brug Send sikkert.');
  });
  await withPolicy({ smartAlert: false, sendAnyway: false }, async () => {
    const opts = await smartAlert(item);
    assert.equal(opts.allowEvent, true, 'off by ADMX');
  });
  // No false alarms on phone, account, journal numbers, amounts and dates.
  const clean = { to: ['a@example.dk'], subject: 'Faktura 2211771212', bodyHtml: '<p>Tlf. +45 2211771212. Reg.nr. 1234 konto 2211771212. J.nr. 2024-2211771212. I alt 2211771212,50 kr. Mødet 22.11.1977.</p>', attachments: [{ name: 'sag 24-2211771212.pdf', base64: 'eA==', size: 1 }] };
  const opts = await smartAlert(clean);
  assert.equal(opts.allowEvent, true, opts.errorMessage);
});

function memoFiles() {
  const dir = path.join(agent.data, 'demo', 'digitalpost');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.xml')) : [];
}

async function sendAndWait(page) {
  await page.click('#send');
  await page.waitForFunction(() => ['delivered', 'failed', 'already-sent'].includes(document.body.dataset.state), null, { timeout: 60_000 });
}

test('one letter per recipient: the same citizen twice is merged; the draft sent again goes only to the rest ("Allerede sendt til")', async () => {
  try {
    const before = memoFiles().length;
    let page = await pane({ to: ['2211771212'], cc: ['221177-1212'], subject: 'Afgørelse om tilskud', bodyHtml: '<p>Hej</p>' });
    await sendAndWait(page);
    assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
    const alert = await page.textContent('#alert');
    assert.match(alert, /Mailen er sendt som Digital Post\./);
    assert.match(alert, /Samme modtager flere gange: 221177-1212 \(som 2211771212\) får kun ét brev/);
    assert.equal(memoFiles().length, before + 1, 'one letter, not two');
    await screenshot(page, 'clerk/merged-duplicates');
    const draft = await page.evaluate(() => JSON.parse(localStorage.getItem('__sendsikkertCustomProps') || '{}').sendsikkertDraftId);
    assert.match(draft || '', /^draft-/, 'the draft id is kept in the item');
    await page.close();

    // The same Outlook item, sent again with one more recipient.
    page = await pane({ to: ['2211771212', '12345674'], subject: 'Afgørelse om tilskud', bodyHtml: '<p>Hej</p>' });
    await sendAndWait(page);
    assert.match(await page.textContent('#alert'), /Allerede sendt til: 221177-1212\. De får ikke brevet igen\./);
    assert.equal(memoFiles().length, before + 2, 'only the company got a letter');
    await screenshot(page, 'clerk/already-sent');
    await noA11yIssues(page, 'already-sent');
    await page.close();

    // And once more: nothing new to send.
    page = await pane({ to: ['2211771212'], subject: 'Afgørelse om tilskud', bodyHtml: '<p>Hej</p>' });
    await sendAndWait(page);
    assert.equal(await page.getAttribute('body', 'data-state'), 'already-sent');
    assert.match(await page.textContent('#alert'), /Der er ikke sendt noget nyt/);
    assert.equal(memoFiles().length, before + 2);
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await clearItemProps();
  }
});

test('true texts: tunnelmail is "sendt krypteret", never Digital Post; events in Danish local time and in order', async () => {
  const page = await pane({ to: ['sagsbehandler@demo-region.dk'], subject: 'Til regionen', bodyHtml: '<p>Hej</p>' });
  await sendAndWait(page);
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.match(await page.textContent('#alert'), /Mailen er sendt krypteret \(tunnelmail\)\./);
  assert.doesNotMatch(await page.textContent('#alert'), /Digital Post/);
  assert.match(await page.textContent('#delivery'), /Sendt krypteret til sagsbehandler@demo-region\.dk/);
  const events = await page.$$eval('#events li', (ls) => ls.map((l) => l.textContent));
  for (const e of events) assert.match(e, /^\d{1,2}\. (jan\.|feb\.|mar\.|apr\.|maj|jun\.|jul\.|aug\.|sep\.|okt\.|nov\.|dec\.) \d{4} kl\. \d{2}\.\d{2} /, e);
  const order = events.map((e) => e.replace(/^.*? kl\. \d{2}\.\d{2} /, ''));
  assert.ok(order.indexOf('Afleveret til relæet') < order.findIndex((e) => /^Sendt krypteret/.test(e)), order.join(' | '));
  assert.equal(await page.$$eval('.message-bar.error:not([hidden]), .message-bar.success:not([hidden])', (b) => b.length), 1, 'never an error and a success at once');
  await screenshot(page, 'clerk/tunnelmail-true-text');
  await noA11yIssues(page, 'tunnelmail-true-text');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a remembered mobile number can be corrected and removed in the pane', async () => {
  const address = 'husket@example.com';
  await agent.api('PUT', '/api/v1/mobiles', { email: address, mobile: '+45 11 22 33 44' });
  let page = await pane({ to: [address], subject: 'Svar', bodyHtml: '<p>Hej</p>' });
  assert.match((await lines(page))[0], /^✓Sikker: .*\+45xxxxxx44/);
  await screenshot(page, 'clerk/mobile-remembered');
  await noA11yIssues(page, 'mobile-remembered');
  await page.click('#mobile-fix-0');
  await page.fill('#mobile-0', '22 33 44 55');
  await page.click('li.mobile button');
  await page.waitForFunction(() => /\+45xxxxxx55/.test(document.getElementById('recipients').textContent));
  await page.close();
  page = await pane({ to: [address], subject: 'Svar', bodyHtml: '<p>Hej</p>' });
  assert.match((await lines(page))[0], /\+45xxxxxx55/, 'the correction is remembered');
  await page.click('#mobile-forget-0');
  await page.waitForFunction(() => document.body.dataset.state === 'not-secure');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'result-0');
  assert.match((await lines(page))[0], /mobilnummer/);
  await screenshot(page, 'clerk/mobile-forgotten');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('"Læst" after delivery: the pane shows it with its Danish local time once the recipient reads the message', async () => {
  const address = 'laeser@example.org';
  const page = await pane({ to: [address], subject: 'Læs mig', bodyHtml: '<p>Hej</p>' });
  await page.fill('#mobile-0', '+45 31 32 33 34');
  await page.click('li.mobile button');
  await page.waitForFunction(() => document.body.dataset.state === 'checked');
  await sendAndWait(page);
  assert.equal(await page.getAttribute('body', 'data-state'), 'delivered');
  assert.match(await page.textContent('#alert'), /sendt som link til sikker mailboks — koden kommer på SMS/);
  assert.match(await page.textContent('#delivery'), /Link sendt — koden kommer på SMS/);
  const rp = await openWithCode(context, agent.data, address, '+4531323334');
  await rp.getByRole('heading', { name: 'Læs mig' }).waitFor();
  await rp.close();
  // The pane asks the agent every 20 s; the agent asks the relay one
  // batched question at most every 20 s.
  await page.waitForFunction(() => /^Læst \d{1,2}\. [a-zæø]+\.? \d{4} kl\. \d{2}\.\d{2}/.test((document.getElementById('facts') || {}).textContent || ''), null, { timeout: 90_000 });
  await screenshot(page, 'clerk/read-fact');
  await noA11yIssues(page, 'read-fact');
  assert.deepEqual(page.errors, []);
  await page.close();
});
