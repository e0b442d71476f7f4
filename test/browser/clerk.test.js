// What the clerk sees (issue 20): identifiers as clerks paste them, a pane
// that outlives an agent restart, keyboard and zoom, true texts. The real
// agent in demo mode, the real pages, Debian's Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, launch, openPage, screenshot, axe } from './harness.js';

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
    const resp = await route.fetch();
    const body = (await resp.text()).replace(/(name="sendsikkert-csrf" content=")[0-9a-f]+"/, `$1${stale}"`);
    await route.fulfill({ response: resp, body });
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
