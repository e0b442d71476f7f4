// The demo secure mailbox as its recipient meets it, for the pane suites
// (test/browser and test/office): the agent's demo relay writes the
// notification to DATA/demo/mail and the one-time code to
// DATA/demo/sms.txt, and serves the recipient pages on its loopback
// listener. What the recipient is asked there proves what the relay got.
// The checks on the panes' Sikker mailboks fields live here too, so both
// suites hold the panes to the same rules. Node built-ins only, so the
// other suite can import it as it is.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// notificationLink waits for the notification mail to an address and
// returns the link in it (each test uses its own address).
export async function notificationLink(data, address, timeout = 30_000) {
  const dir = path.join(data, 'demo', 'mail');
  const deadline = Date.now() + timeout;
  for (;;) {
    if (fs.existsSync(dir)) {
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort()) {
        const m = fs.readFileSync(path.join(dir, f), 'utf8');
        const link = /http:\/\/127\.0\.0\.1:\d+\/m\/[A-Za-z0-9_-]+/.exec(m);
        if (link && m.includes(`To: <${address}>`)) return link[0];
      }
    }
    if (Date.now() > deadline) throw new Error(`no secure-mailbox notification to ${address} in ${dir}`);
    await sleep(100);
  }
}

// lastCode is the newest one-time code sent to a number (E.164).
function lastCode(data, mobile) {
  const lines = fs.readFileSync(path.join(data, 'demo', 'sms.txt'), 'utf8').trim().split('\n').filter((l) => l.includes(`\t${mobile}\t`));
  if (!lines.length) throw new Error(`no code to ${mobile}`);
  return /\b(\d{6})\b/.exec(lines[lines.length - 1])[1];
}

// openWithCode opens the message as the recipient: the link, a code by
// SMS, the code entered. It returns the page on what comes next (the
// security question, or the message).
export async function openWithCode(context, data, address, mobile) {
  const link = await notificationLink(data, address);
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Send kode' }).click();
  await page.getByText('Koden er sendt til din mobil').waitFor();
  await page.getByLabel('Engangskode (6 cifre)').fill(lastCode(data, mobile));
  await page.getByRole('button', { name: 'Åbn beskeden' }).click();
  return page;
}

// localDate is a date input's value for today plus days, in local time.
export function localDate(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// sentMessages watches what the page hands to the network for a send
// (POST /api/v1/messages, by XMLHttpRequest or fetch) and returns a
// function giving the "message" parts so far, parsed. It looks in the
// page because Chromium tells the DevTools protocol nothing of a body
// built from Blobs.
export async function sentMessages(page) {
  await page.evaluate(() => {
    window.__sentMessages = [];
    const grab = (method, url, body) => {
      if (String(method).toUpperCase() !== 'POST' || new URL(url, location.href).pathname !== '/api/v1/messages') return;
      // FormData (Del sikkert) or a multipart body built by hand (Outlook,
      // which sends the body's pictures with their Content-ID headers).
      const part = (t) => (t.match(/name="message"[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/) || [])[1] || null;
      if (body instanceof Blob) {
        window.__sentMessages.push(body.text().then(part));
        return;
      }
      const m = body instanceof FormData ? body.get('message') : null;
      window.__sentMessages.push(m === null ? null : typeof m === 'string' ? m : m.text());
    };
    const fetch = window.fetch;
    window.fetch = function (url, opts = {}) {
      grab(opts.method || 'GET', String(url), opts.body);
      return fetch.apply(this, arguments);
    };
    const { open, send } = XMLHttpRequest.prototype;
    XMLHttpRequest.prototype.open = function (method, url) {
      this.__sent = [method, String(url)];
      return open.apply(this, arguments);
    };
    XMLHttpRequest.prototype.send = function (body) {
      grab(...this.__sent, body);
      return send.apply(this, arguments);
    };
  });
  return async () => (await page.evaluate(() => Promise.all(window.__sentMessages))).map((t) => t && JSON.parse(t));
}

// giveMobile types the mobile number the pane asks for its first
// recipient and waits for the check with it.
export async function giveMobile(page, number) {
  await page.fill('#mobile-0', number);
  await page.click('li.mobile button');
  await page.waitForFunction(() => document.body.dataset.state === 'checked');
}

// assertSentFields: the pane handed the agent the mobile number as typed,
// the deadline as the end of the chosen day in local time (RFC 3339), and
// the question with its answer.
export function assertSentFields(msg, { mobiles, day, question }) {
  assert.ok(msg, 'the message part of the send was read');
  assert.deepEqual(msg.mobiles, mobiles);
  assert.match(msg.readDeadline, /^\d{4}-\d\d-\d\dT23:59:59[+-]\d\d:\d\d$/);
  const [y, m, d] = day.split('-').map(Number);
  assert.equal(new Date(msg.readDeadline).getTime(), new Date(y, m - 1, d, 23, 59, 59).getTime());
  assert.deepEqual(msg.securityQuestion, question);
}

// assertAskedOnOpen: the relay kept the question and the answer — after
// the code, the recipient must answer it (case and spacing aside), and
// the answer opens the message.
export async function assertAskedOnOpen(context, data, { address, mobile, question, subject }) {
  const page = await openWithCode(context, data, address, mobile);
  await page.getByRole('heading', { name: 'Kontrolspørgsmål' }).waitFor();
  await page.getByLabel(question.question).fill(` ${question.answer.toUpperCase()} `);
  await page.getByRole('button', { name: 'Fortsæt' }).click();
  await page.getByRole('heading', { name: subject }).waitFor();
  return page;
}

// assertFieldRefusals: in a pane checked with a secure-mailbox recipient,
// a past date and a question without an answer are each named in Danish
// beside the fields and stop Send sikkert; put right, Send is free again.
// shot(name) takes the screenshot and the accessibility check of a state.
export async function assertFieldRefusals(page, shot) {
  const enabled = async () => !(await page.isDisabled('#send'));
  assert.ok(await enabled(), 'no deadline and no question are fine');
  await page.fill('#sm-deadline', localDate(-1));
  assert.equal(await page.textContent('#sm-error'), 'Datoen i »Læst senest« er overskredet. Vælg dags dato eller en senere dato – eller slet datoen.');
  assert.equal(await page.getAttribute('#sm-deadline', 'aria-invalid'), 'true');
  assert.ok(!(await enabled()));
  assert.match(await page.textContent('#send-why'), /Ret oplysningerne under Sikker mailboks/);
  await shot('securemailbox-past-date');
  await page.click('#send', { force: true });
  await page.fill('#sm-deadline', localDate(0)); // today: until the day is over
  assert.ok(await page.isHidden('#sm-error'));
  assert.ok(await enabled());

  await page.fill('#sm-question', 'Hvilken by er du født i?');
  await page.locator('#sm-question').blur();
  assert.equal(await page.textContent('#sm-error'), 'Skriv svaret på kontrolspørgsmålet – eller slet spørgsmålet. Modtageren skal svare rigtigt, før beskeden åbner.');
  assert.equal(await page.getAttribute('#sm-answer', 'aria-invalid'), 'true');
  assert.ok(!(await enabled()));
  await shot('securemailbox-question-only');
  await page.click('#send', { force: true });
  await page.fill('#sm-answer', 'Viborg');
  assert.ok(await page.isHidden('#sm-error'));
  assert.ok(await enabled());
}
