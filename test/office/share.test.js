// The Del sikkert pane for Word, Excel and PowerPoint, driven in headless
// Chromium against the real agent in demo mode. office-addin-mock plays
// Office: getFileAsync hands out 4 MB slices of real .docx, .xlsx, .pptx
// and .pdf files made in the set-up (fixtures.js), read from disk as the
// pane asks for them. What arrives at the demo Digital Post channel (the
// MeMo files' AdditionalDocument) must be byte-identical to the source.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, launch, openPage, screenshot, axe, files, memoDocuments, sha256File, sleep } from './harness.js';
import { ooxml, pdf } from './fixtures.js';
// The secure-mailbox checks are the Outlook suite's, so both panes answer to the same rules.
import { assertAskedOnOpen, assertFieldRefusals, assertSentFields, giveMobile, localDate, sentMessages } from '../browser/securemailbox.js';

const MB = 1 << 20;
const SIGNATURE = '<p>Med venlig hilsen<br>Anna Andersen<br>Sagsbehandler, Demo Kommune</p>';
let agent, context, dir;
const src = {};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-ot-files-'));
  const t = Date.now();
  src.docx = ooxml('docx', path.join(dir, 'Afgørelse om boligstøtte.docx'));
  src.xlsx = ooxml('xlsx', path.join(dir, 'Beregning.xlsx'));
  src.pptx = ooxml('pptx', path.join(dir, 'Orientering.pptx'));
  src.pdf = pdf(path.join(dir, 'Afgørelse om boligstøtte.pdf'));
  src.pptx30 = ooxml('pptx', path.join(dir, 'Borgermøde.pptx'), 30 * MB);
  src.docx99 = ooxml('docx', path.join(dir, 'Sagsakter.docx'), 99 * MB);
  for (const [k, p] of Object.entries(src)) files.set(k, p);
  // The packages are real zip files (what Office hands out for Compressed).
  for (const k of ['docx', 'xlsx', 'pptx', 'pptx30']) {
    try {
      execFileSync('unzip', ['-tq', src[k]], { stdio: 'pipe' });
    } catch (e) {
      if (e.code !== 'ENOENT') throw new Error(`${k}: not a valid zip: ${e.stdout}`);
    }
  }
  console.log(`# test files made in ${Date.now() - t} ms: ${Object.values(src).map((p) => `${path.basename(p)} ${fs.statSync(p).size} B`).join(', ')}`);
  agent = await Agent.start();
  const st = await agent.api('PUT', '/api/v1/settings', { signatureHtml: SIGNATURE });
  assert.equal(st.signatureHtml, SIGNATURE);
  context = await launch(agent);
});

after(async () => {
  await context?.close();
  await agent?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const PANE = () => agent.base + '/addin/office/share.html';
const fileSpec = (key) => ({ key, size: fs.statSync(src[key]).size });

async function pane(office) {
  const page = await openPage(context, PANE(), { host: 'Word', url: 'C:\\Users\\anna\\Documents\\Afgørelse om boligstøtte.docx', files: { compressed: fileSpec('docx'), pdf: fileSpec('pdf') }, ...office });
  await page.waitForFunction(() => document.getElementById('main').getAttribute('aria-busy') === 'false');
  return page;
}

async function noA11yIssues(page, state) {
  assert.deepEqual(await axe(page), [], `axe on ${state}`);
}

const lines = (page) => page.$$eval('#recipients li', (ls) => ls.map((l) => l.textContent.replace(/\s+/g, ' ').trim()));

async function checkRecipients(page, list) {
  await page.fill('#recipients-input', list.join(', '));
  await page.click('#check');
  await page.waitForFunction(() => ['checked', 'exempt', 'not-secure'].includes(document.body.dataset.state) && !document.getElementById('check').disabled);
}

const DONE = ['delivered', 'printed', 'failed', 'not-sent', 'office-error', 'agent-absent'];
async function waitDone(page, timeout = 300_000) {
  await page.waitForFunction((done) => done.includes(document.body.dataset.state), DONE, { timeout });
  return page.getAttribute('body', 'data-state');
}

async function share(page, { to = ['2211771212'], subject, cover = 'Hej Karen\n\nHer er dokumentet.', format } = {}) {
  await checkRecipients(page, to);
  if (subject !== undefined) await page.fill('#subject', subject);
  await page.fill('#cover', cover);
  if (format) await page.check(format === 'pdf' ? '#format-pdf' : '#format-native');
  assert.equal(await page.isDisabled('#send'), false, await page.textContent('#send-why'));
  await page.click('#send');
}

// arrived: the newest MeMo documents, checked against the source file.
function arrived(key, filename) {
  const docs = memoDocuments(agent);
  const add = docs.filter((d) => d.kind === 'AdditionalDocument');
  assert.equal(add.length, 1, `one additional document, got ${JSON.stringify(docs.map((d) => [d.kind, d.filename]))}`);
  assert.equal(add[0].filename, filename);
  assert.equal(add[0].size, fs.statSync(src[key]).size);
  assert.equal(add[0].sha256, sha256File(src[key]), `${filename}: bytes differ from the source`);
  return docs.find((d) => d.kind === 'MainDocument' && d.file === add[0].file);
}

async function officeState(page) {
  return page.evaluate(() => ({ open: window.__officeOpenFiles.count, calls: window.__officeCalls }));
}

test('ready: DEMO, the signature shown under the cover text, the document named', async () => {
  const page = await pane();
  assert.equal(await page.getAttribute('body', 'data-state'), 'ready');
  assert.equal(await page.isVisible('#demo'), true);
  assert.match(await page.textContent('#signature'), /Med venlig hilsen\s*Anna Andersen\s*Sagsbehandler, Demo Kommune/);
  assert.equal(await page.textContent('#doc-name'), 'Afgørelse om boligstøtte.docx');
  assert.equal(await page.inputValue('#subject'), 'Afgørelse om boligstøtte');
  assert.equal(await page.isDisabled('#send'), true);
  assert.match(await page.textContent('#send-why'), /Skriv mindst én modtager/);
  assert.equal(await page.isEnabled('#reply-citizen'), true);
  await screenshot(page, 'ready');
  await noA11yIssues(page, 'ready');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Kontrollér modtagere: the same result lines as Outlook; exempt and not-secure block', async () => {
  const page = await pane();
  await checkRecipients(page, ['2211771212', '1010101010', '12345674', '0707614285', '0101011234']);
  const got = await lines(page);
  assert.equal(got.length, 5);
  assert.match(got[0], /^✓Sikker: 2211771212.*CPR-nummer tilhører Karen Testesen/);
  assert.match(got[1], /Navne- og adressebeskyttet/);
  assert.match(got[2], /CVR-nummer tilhører Demo Virksomhed ApS/);
  assert.match(got[3], /^!Ikke sikker: 0707614285.*Jens Fritagesen.*fritaget for Digital Post/);
  assert.match(got[4], /Der findes ingen person med CPR-nummer/);
  assert.match(await page.textContent('#summary'), /^Der kan ikke sendes sikkert til følgende modtager\(e\): /);
  assert.equal(await page.getAttribute('body', 'data-state'), 'exempt');
  assert.equal(await page.isDisabled('#send'), true);
  await screenshot(page, 'not-secure');
  await noA11yIssues(page, 'not-secure');

  await checkRecipients(page, ['221177-1212', '12345674']);
  assert.equal(await page.textContent('#summary'), 'Alle modtagere kontrolleret. Der kan sendes sikkert til alle modtagere af denne e-mail.');
  assert.equal(await page.getAttribute('body', 'data-state'), 'checked');
  assert.equal(await page.isDisabled('#send'), false);
  await screenshot(page, 'checked');
  // Changing the recipients asks for a new check.
  await page.fill('#recipients-input', '2211771212, 0101011234');
  assert.equal(await page.isDisabled('#send'), true);
  assert.match(await page.textContent('#send-why'), /Kontrollér modtagere/);
  // A CPR number in the subject is warned about and blocks.
  await checkRecipients(page, ['2211771212']);
  await page.fill('#subject', 'Afgørelse til 221177-1212');
  assert.equal(await page.isVisible('#subject-warning'), true);
  assert.equal(await page.isDisabled('#send'), true);
  assert.match(await page.textContent('#send-why'), /Fjern CPR-nummeret fra emnet/);
  await screenshot(page, 'subject-cpr');
  await noA11yIssues(page, 'subject-cpr');
  await page.fill('#subject', 'Afgørelse');
  assert.equal(await page.isVisible('#subject-warning'), false);
  assert.equal(await page.isDisabled('#send'), false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('1 KB shares: .docx, .xlsx and .pptx as they are, and a document as PDF, arrive byte-identical with the signature', async () => {
  const cases = [
    { host: 'Word', key: 'docx', url: 'C:\\Users\\anna\\Documents\\Afgørelse om boligstøtte.docx', name: 'Afgørelse om boligstøtte.docx' },
    { host: 'Excel', key: 'xlsx', url: 'https://kommune.sharepoint.com/sites/sag/Delte%20dokumenter/Beregning.xlsx', name: 'Beregning.xlsx' },
    { host: 'PowerPoint', key: 'pptx', url: '/Users/anna/Orientering.pptx', name: 'Orientering.pptx' },
    { host: 'Word', key: 'pdf', url: 'C:\\Users\\anna\\Documents\\Afgørelse om boligstøtte.docx', name: 'Afgørelse om boligstøtte.pdf', format: 'pdf' },
  ];
  for (const c of cases) {
    const page = await pane({ host: c.host, url: c.url, files: { compressed: fileSpec(c.format === 'pdf' ? 'docx' : c.key), pdf: fileSpec('pdf') } });
    assert.match(await page.textContent('#format-native-label'), new RegExp(c.host));
    await share(page, { cover: `Hej Karen\n\nHer er ${c.name}.`, format: c.format });
    assert.equal(await waitDone(page), 'delivered', await page.textContent('#alert'));
    assert.match(await page.textContent('#alert'), /er sendt som Digital Post\./);
    const main = arrived(c.key, c.name);
    assert.match(main.text, new RegExp(`<p>Her er ${c.name.replace('.', '\\.')}\\.</p>`));
    assert.ok(main.text.includes(SIGNATURE), 'signature in the cover text');
    const o = await officeState(page);
    assert.equal(o.open, 0, 'the Office File is closed');
    assert.deepEqual(o.calls.filter((x) => x.call === 'getFileAsync').map((x) => [x.fileType, x.sliceSize]), [[c.format === 'pdf' ? 'pdf' : 'compressed', 4 * MB]]);
    if (c.key === 'docx') {
      await screenshot(page, 'delivered');
      await noA11yIssues(page, 'delivered');
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

// putToAgent forwards a slice the browser sent, so the agent stores it
// while the browser sees the connection drop.
function putToAgent(req) {
  const u = new URL(req.url());
  return agent.request('PUT', u.pathname, req.postDataBuffer(), { 'Content-Type': 'application/octet-stream' });
}

test('30 MB PowerPoint: the connection drops after slice 3; the pane resumes at the agent\'s next slice; byte-identical', async () => {
  const page = await pane({ host: 'PowerPoint', url: 'C:\\Users\\anna\\Borgermøde.pptx', files: { compressed: fileSpec('pptx30'), pdf: fileSpec('pdf') } });
  const puts = [];
  const views = [];
  page.on('request', (r) => {
    const m = /\/api\/v1\/uploads\/[^/]+\/(\d+)$/.exec(r.url());
    if (m && r.method() === 'PUT') puts.push(Number(m[1]));
  });
  page.on('response', async (r) => {
    if (r.request().method() === 'GET' && /\/api\/v1\/uploads\/[^/]+$/.test(r.url())) views.push(await r.json());
  });
  let cut = false;
  await page.route('**/api/v1/uploads/*/3', async (route) => {
    if (cut || route.request().method() !== 'PUT') return route.continue();
    cut = true;
    const r = await putToAgent(route.request()); // slice 3 reaches the agent …
    assert.equal(r.status, 200, r.body.toString());
    await route.abort('connectionreset'); // … but its answer never comes back
  });
  await share(page, { cover: 'Hej Karen\n\nSlides fra borgermødet.' });
  assert.equal(await waitDone(page), 'delivered', await page.textContent('#alert'));
  assert.ok(cut, 'slice 3 was cut');
  assert.equal(views.length, 1, 'the pane asked the agent once where to go on');
  assert.equal(views[0].next, 4, 'the agent had slice 3');
  assert.deepEqual(puts, [0, 1, 2, 3, 4, 5, 6, 7], 'resumed at the next missing slice, none sent twice');
  assert.equal(await page.getAttribute('#progress-bytes', 'data-resumed-at'), '4');
  assert.match(await page.textContent('#progress-bytes'), /30,0 MB af 30,0 MB sendt/);
  arrived('pptx30', 'Borgermøde.pptx');
  assert.equal((await officeState(page)).open, 0);
  assert.deepEqual(page.errors.filter((e) => !/ERR_CONNECTION_RESET|Failed to load resource/.test(e)), []);
  await page.close();
});

test('99 MB Word document in 25 slices arrives byte-identical; the progress bar shows bytes sent', async () => {
  const page = await pane({ host: 'Word', url: 'C:\\Users\\anna\\Sagsakter.docx', files: { compressed: fileSpec('docx99'), pdf: fileSpec('pdf') }, holdSlice: 10 });
  const t = Date.now();
  await share(page, { cover: 'Hej Karen\n\nSagens akter.' });
  // Office holds slice 10 while the test looks at the bar on its way.
  await page.waitForFunction(() => window.__sliceHeld === true, null, { timeout: 120_000 });
  const reached = Date.now();
  await page.waitForFunction(() => document.getElementById('progress-bar').getAttribute('aria-valuenow') === '40');
  assert.equal(await page.textContent('#progress-bytes'), '40,0 MB af 99,0 MB sendt');
  await screenshot(page, 'uploading');
  await noA11yIssues(page, 'uploading');
  const held = Date.now();
  await page.evaluate(() => window.__releaseSlice());
  assert.equal(await waitDone(page), 'delivered', await page.textContent('#alert'));
  const ms = (reached - t) + (Date.now() - held); // without the pause for the screenshot
  arrived('docx99', 'Sagsakter.docx');
  const o = await officeState(page);
  assert.deepEqual([...new Set(o.calls.filter((c) => c.call === 'getSliceAsync').map((c) => c.index))], [...Array(25).keys()]);
  assert.equal(o.open, 0);
  const sl = o.calls.filter((c) => c.call === 'getSliceAsync' || c.call === 'sliceRead');
  let read = 0; for (let i = 1; i < sl.length; i++) if (sl[i].call === 'sliceRead' && sl[i - 1].call === 'getSliceAsync') read += sl[i].t - sl[i - 1].t;
  console.log(`# slices read from disk through the mock: ${Math.round(read)} ms in all; upload phase ${Math.round(sl[sl.length - 1].t - sl[0].t)} ms`);
  console.log(`# 99 MB share: pane to delivered MeMo in ${ms} ms (${(99 * MB / 1e6 / (ms / 1000)).toFixed(1)} MB/s)`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('exempt citizen: Send som brev via OneTooX takes the document as PDF; the clerk confirms; the letter is printed', async () => {
  const page = await pane();
  await checkRecipients(page, ['0707614285']);
  assert.equal(await page.isVisible('#fallback'), true);
  assert.match(await page.textContent('#fallback-who'), /Jens Fritagesen kan ikke modtage Digital Post/);
  await screenshot(page, 'exempt');
  await noA11yIssues(page, 'exempt');
  await page.check('#fallback-print');
  assert.equal(await page.isChecked('#format-pdf'), true, 'a letter is a PDF');
  assert.equal(await page.isDisabled('#format-native'), true);
  await page.fill('#cover', 'Kære Jens\n\nHer er afgørelsen.');
  await page.click('#send');
  assert.equal(await page.getAttribute('body', 'data-state'), 'confirm-letter');
  assert.match(await page.textContent('#confirm-text'), /»Afgørelse om boligstøtte\.pdf« printes og sendes som brev med almindelig post via OneTooX/);
  assert.match(await page.textContent('#confirm-list'), /Jens Fritagesen \(070761-xxxx\)/);
  await screenshot(page, 'confirm-letter');
  await noA11yIssues(page, 'confirm-letter');
  // Fortryd sends nothing.
  await page.click('#confirm-cancel');
  assert.equal(await page.isVisible('#confirm'), false);
  assert.equal((await officeState(page)).calls.filter((c) => c.call === 'getFileAsync').length, 0);
  await page.click('#send');
  await page.click('#confirm-send');
  assert.equal(await waitDone(page), 'printed', await page.textContent('#alert'));
  assert.match(await page.textContent('#alert'), /sendt som brev \(OneTooX\)/);
  assert.match(await page.textContent('#delivery'), /0707614285/);
  await screenshot(page, 'printed');
  await noA11yIssues(page, 'printed');
  const o = await officeState(page);
  assert.deepEqual(o.calls.filter((c) => c.call === 'getFileAsync').map((c) => c.fileType), ['pdf']);
  assert.equal(o.open, 0);
  // The send's record says printed, with the channel; the letter and the
  // document are in the demo print folder.
  const printDir = path.join(agent.data, 'demo', 'print');
  const jsons = fs.readdirSync(printDir).filter((f) => f.endsWith('.json'));
  assert.equal(jsons.length, 1);
  const meta = JSON.parse(fs.readFileSync(path.join(printDir, jsons[0]), 'utf8'));
  assert.match(JSON.stringify(meta), /Jens Fritagesen/);
  const st = await agent.api('GET', '/api/v1/messages/' + encodeURIComponent(meta.messageId || meta.id || meta.message));
  assert.equal(st.recipients[0].status, 'printed', JSON.stringify(st));
  assert.equal(st.recipients[0].channel, 'print', JSON.stringify(st));
  const pdfs = fs.readdirSync(printDir).filter((f) => f.endsWith('.pdf'));
  assert.ok(pdfs.length >= 1, 'a letter PDF');
  const pdfBytes = Buffer.concat(pdfs.map((f) => fs.readFileSync(path.join(printDir, f))));
  assert.ok(pdfBytes.length > fs.statSync(src.pdf).size, 'the document follows the letter');
  try {
    // The letter page, then the document's page.
    const pages = pdfs.reduce((n, f) => n + Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [path.join(printDir, f)], { encoding: 'utf8' }))[1]), 0);
    assert.ok(pages >= 2, `${pages} pages printed`);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e; // no poppler-utils: the size check stands
  }
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('e-mail recipient off the list: the mobile number is asked and checked again; deadline and question refused when wrong, then sent with the document; the recipient must answer', async () => {
  const address = 'borger@example.com';
  const page = await pane();
  const sent = await sentMessages(page);
  await checkRecipients(page, [address]);
  assert.equal(await page.getAttribute('body', 'data-state'), 'not-secure');
  assert.match((await lines(page))[0], /^!Ikke sikker: borger@example\.com.*Skriv modtagerens mobilnummer/);
  assert.equal(await page.isDisabled('#send'), true);
  assert.equal(await page.isVisible('#securemailbox'), false);
  await screenshot(page, 'mobile-asked');
  await noA11yIssues(page, 'mobile-asked');

  await giveMobile(page, '12 34 56 78');
  assert.match((await lines(page))[0], /^✓Sikker: borger@example\.com.*sikker mailboks.*\+45xxxxxx78/);
  assert.equal(await page.isVisible('#securemailbox'), true);
  await assertFieldRefusals(page, async (name) => {
    await screenshot(page, name);
    await noA11yIssues(page, name);
  });
  assert.equal((await sent()).length, 0, 'nothing sent while the fields were wrong');

  const day = localDate(30);
  const question = { question: 'Hvad er dit sagsnummer hos os?', answer: 'B-2024-117' };
  await page.fill('#sm-deadline', day);
  await page.fill('#sm-question', question.question);
  await page.fill('#sm-answer', question.answer);
  await screenshot(page, 'securemailbox-fields');
  await page.fill('#cover', 'Kære borger\n\nHer er afgørelsen.');
  await page.click('#send');
  assert.equal(await waitDone(page), 'delivered', await page.textContent('#alert'));
  assert.match(await page.textContent('#delivery'), /borger@example\.com/);
  await noA11yIssues(page, 'securemailbox-delivered');
  const [msg, ...more] = await sent();
  assert.equal(more.length, 0, 'one send');
  assertSentFields(msg, { mobiles: { [address]: '12 34 56 78' }, day, question });
  assert.ok(msg.uploadId, 'the document went as slices');

  // The relay kept the question, and the document is in the mailbox.
  const rp = await assertAskedOnOpen(context, agent.data, { address, mobile: '+4512345678', question, subject: 'Afgørelse om boligstøtte' });
  await rp.getByRole('link', { name: 'Afgørelse om boligstøtte.docx' }).waitFor();
  await rp.close();
  assert.equal(memoDocuments(agent).length, 0, 'no Digital Post for an e-mail recipient');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Office-side errors in Danish: unsaved document, getFileAsync failing, too large; nothing sent, the File closed', async () => {
  const before = memoDocuments(agent).length;
  // A new document never saved.
  let page = await pane({ url: '' });
  assert.equal(await page.textContent('#doc-name'), 'Nyt dokument (ikke gemt)');
  assert.match(await page.textContent('#alert'), /Dokumentet er ikke gemt endnu/);
  await share(page, { subject: 'Afgørelse' });
  assert.equal(await waitDone(page), 'office-error');
  assert.match(await page.textContent('#alert'), /^Dokumentet er ikke gemt endnu\. Gem det med et navn, og klik på Del sikkert igen\. Der er ikke sendt noget\.$/);
  await screenshot(page, 'unsaved');
  await noA11yIssues(page, 'unsaved');
  assert.deepEqual(page.errors, []);
  await page.close();

  // getFileAsync fails (Office busy, a dialog open, …).
  page = await pane({ failGetFile: { code: 5001, message: 'An internal error has occurred.' } });
  await share(page);
  assert.equal(await waitDone(page), 'office-error');
  assert.match(await page.textContent('#alert'), /^Office kunne ikke aflevere dokumentet \(An internal error has occurred\.\)\. .*Der er ikke sendt noget\.$/);
  await screenshot(page, 'getfile-failed');
  // The clerk can try again once Office answers.
  assert.equal(await page.isDisabled('#send'), false);
  assert.deepEqual(page.errors, []);
  await page.close();

  // Over 99.5 MB: refused before a byte is read; the File is closed.
  page = await pane({ files: { compressed: { key: 'none', size: 104_333_313 }, pdf: fileSpec('pdf') } });
  await share(page);
  assert.equal(await waitDone(page), 'office-error');
  assert.match(await page.textContent('#alert'), /^Dokumentet fylder 99,5 MB\. Digital Post tillader højst 99,5 MB\./);
  const o = await officeState(page);
  assert.equal(o.calls.filter((c) => c.call === 'getSliceAsync').length, 0);
  assert.equal(o.open, 0, 'the File is closed');
  await screenshot(page, 'too-large');
  await noA11yIssues(page, 'too-large');
  assert.deepEqual(page.errors, []);
  await page.close();

  await sleep(300);
  assert.equal(memoDocuments(agent).length, 0, 'nothing sent');
  assert.ok(before >= 0);
});

test('served Office manifest: every URL answers 200; sendsikkert manifest office writes the same for another origin', async () => {
  const r = await agent.request('GET', '/addin/office.xml');
  assert.equal(r.status, 200);
  const body = r.body.toString();
  assert.match(body, /xsi:type="TaskPaneApp"/);
  const urls = [...new Set(body.match(/https:\/\/[^"<\s]+/g))].filter((u) => u !== agent.base);
  assert.ok(urls.length >= 6, urls.join('\n'));
  for (const u of urls) {
    assert.ok(u.startsWith(agent.base + '/addin/'), u);
    assert.equal((await agent.request('GET', u.slice(agent.base.length))).status, 200, u);
  }
  const { agentBinary } = await import('./harness.js');
  const out = path.join(dir, 'office.xml');
  execFileSync(agentBinary(), ['manifest', 'office', '--origin', 'https://relay.kommune.example:8443', '--out', out]);
  assert.equal(fs.readFileSync(out, 'utf8'), body.split(agent.base).join('https://relay.kommune.example:8443'));
});

