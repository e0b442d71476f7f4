// The window's pages. Every call goes through the bound Go methods in app/
// (window.go.app.App), which talk to the agent's local API; the page holds
// no secrets and decides no policy.
const App = () => window.go.app.App;
const $ = (id) => document.getElementById(id);

const words = {
  da: {},
  en: {
    skip: 'Skip to content', 'nav.status': 'Status', 'nav.portal': 'Secure Mail Portal', 'nav.log': 'Log',
    'nav.settings': 'Settings', 'nav.firstrun': 'Get started', 'portal.domains': 'Direct addressing',
    'portal.book': 'Address book', search: 'Search', 'log.csv': 'Export CSV', 'log.when': 'Time',
    'log.subject': 'Subject', 'log.to': 'Recipients', 'log.status': 'Status', 'log.action': 'Action', 'set.relay': 'Relay address',
    'set.citizen': 'Digital Post reply mailbox – citizens', 'set.company': 'Digital Post reply mailbox – companies',
    'set.signature': 'Signature (HTML)', 'set.imap': 'Mailbox (IMAP)', 'set.language': 'Language', save: 'Save',
    'set.mobiles': 'Remembered mobile number (secure mailbox)', 'set.mobileEmail': 'Recipient e-mail address', 'set.mobileNumber': 'New mobile number (empty: forget the number)', 'set.mobileSave': 'Correct the number', 'set.mobileForget': 'Forget the number',
    'fr.trust': "Trust Send sikkert's certificate", 'fr.enrol': "Enrol this PC with the organisation's relay",
    'fr.enrolhelp': 'Or run in a terminal:', 'fr.relay': 'Relay address', 'fr.code': 'Enrolment code from IT', 'fr.enrolbtn': 'Enrol',
    'fr.demo': 'Until then Send sikkert runs in demo mode: nothing reaches real recipients.',
    'fr.outlook': 'Use the buttons in Outlook',
    'fr.outlookhelp': "Check recipients and Send securely are on Outlook's Send sikkert tab.",
  },
};
let lang = 'da';
function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-t]')) {
    const w = words[lang][el.dataset.t];
    if (!el.dataset.da) el.dataset.da = el.textContent;
    el.textContent = w || el.dataset.da;
  }
}

function problem(e) {
  const p = $('problem');
  if (!e) { p.hidden = true; return; }
  p.textContent = (e && e.message) || String(e);
  p.hidden = false;
}

// report tells the Go side what a view drew (the GUI test reads it).
function report(view, summary) {
  try { App().Rendered(view, summary); } catch (_) { /* older app */ }
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c ?? '';
    tr.appendChild(td);
  }
  return tr;
}

// ---- Status ----------------------------------------------------------------
async function showStatus() {
  const dl = $('status-list');
  dl.replaceChildren();
  const add = (k, v, cls) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    if (cls) dd.className = cls;
    dl.append(dt, dd);
  };
  try {
    const o = await App().Overview();
    const s = o.settings || {};
    $('demo').hidden = !o.agent.demo;
    add('Send sikkert', `kører (version ${o.agent.version})`, 'ok');
    for (const p of o.agent.problems || []) add('Problem', p.message, 'bad');
    add('Relæ', o.agent.demo ? 'Indbygget demo-relæ (DEMO – intet sendes til rigtige modtagere)' : (s.relayUrl || 'organisationens relæ'));
    add('Udbakke', s.outbox != null ? `${s.outbox} forsendelser` : 'se ikonet i meddelelsesområdet');
    add('Konto', s.account || (o.agent.demo ? 'Demo Kommune' : 'tilmeldt'));
    add('Postkasse (IMAP)', s.mailbox && s.mailbox.server ? `${s.mailbox.user} @ ${s.mailbox.server}` : 'ikke opsat');
    add('Adresse', o.agentUrl);
    showTrust($('trust'), o.trust);
    report('status', `agent ok demo=${o.agent.demo} trusted=${o.trust.trusted}`);
  } catch (e) {
    add('Send sikkert', e.message || String(e), 'bad');
    report('status', 'agent unreachable');
  }
}

function showTrust(box, t) {
  box.replaceChildren();
  const h = document.createElement('h2'); h.textContent = 'Certifikat';
  const p = document.createElement('p'); p.textContent = t.message;
  p.className = t.trusted ? 'ok' : 'bad';
  box.append(h, p);
  for (const s of t.stores || []) {
    const q = document.createElement('p');
    q.className = 'help';
    q.textContent = `${s.store}: ${s.error ? 'fejl – ' + s.error : s.trusted ? 'betroet' : 'ikke betroet'}`;
    box.append(q);
  }
  if (!t.trusted && t.fingerprint) {
    const b = document.createElement('button');
    b.className = 'primary';
    b.textContent = 'Betro certifikatet';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try { showTrust(box, await App().InstallTrust()); problem(null); } catch (e) { problem(e); b.disabled = false; }
    });
    box.append(b);
  }
}

// ---- Sikker Mail Portal ----------------------------------------------------
const portal = { tab: 'domains', q: '', letter: '' };
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ'.split('');

function buildLetters() {
  const box = $('letters');
  for (const l of ['Alle', ...LETTERS]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = l;
    b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', () => {
      portal.letter = l === 'Alle' ? '' : l.toLowerCase();
      portal.q = '';
      $('portal-q').value = '';
      searchPortal();
    });
    box.appendChild(b);
  }
}

function selectTab(tab) {
  portal.tab = tab;
  for (const [id, t] of [['tab-domains', 'domains'], ['tab-book', 'book']]) {
    const b = $(id);
    b.setAttribute('aria-selected', String(t === tab));
    b.tabIndex = t === tab ? 0 : -1;
  }
  $('portal-help').textContent = tab === 'domains'
    ? 'Domæner, der tager imod sikker mail (tvunget TLS). Søg på domæne eller organisation, eller vælg første bogstav.'
    : 'Kendte sikre adresser; listen opdateres ved hver afsendelse og modtagelse. Søg på navn, e-mail eller beskrivelse.';
  searchPortal();
}

let portalSeq = 0;
async function searchPortal() {
  const seq = ++portalSeq;
  for (const b of $('letters').children) {
    b.setAttribute('aria-pressed', String((b.textContent === 'Alle' && !portal.letter) || b.textContent.toLowerCase() === portal.letter));
  }
  const head = $('portal-table').tHead, body = $('portal-table').tBodies[0];
  body.replaceChildren();
  try {
    let rows;
    if (portal.tab === 'domains') {
      const r = await App().Domains(portal.q, portal.letter);
      rows = (r.domains || []).map((d) => [d.domain, d.organisation]);
      head.replaceChildren(row(['Domæne', 'Organisation']));
    } else {
      const r = await App().AddressBook(portal.q, portal.letter);
      rows = (r.entries || []).map((e) => [e.name, e.email, e.description]);
      head.replaceChildren(row(['Navn', 'E-mail', 'Beskrivelse']));
    }
    if (seq !== portalSeq) return; // a newer search is under way
    for (const th of head.querySelectorAll('td')) th.outerHTML = `<th scope="col">${th.textContent}</th>`;
    body.replaceChildren(...rows.map(row));
    $('portal-count').textContent = rows.length === 1 ? '1 resultat' : `${rows.length} resultater`;
    problem(null);
    report('portal', `${portal.tab} q=${portal.q} letter=${portal.letter} rows=${rows.map((r) => r[0] + '|' + r[1]).join(';')} dom=${body.rows.length}`);
  } catch (e) {
    if (seq !== portalSeq) return;
    problem(e);
    $('portal-count').textContent = '';
    report('portal', 'error ' + (e.message || e));
  }
}

// ---- Log -------------------------------------------------------------------
// The relay's status codes in the clerk's words (as in the add-in panes).
const statusWords = {
  da: { queued: 'I kø', sending: 'Sendes', delivered: 'Leveret', printed: 'Sendt som brev', 'needs-fallback': 'Kræver et valg', failed: 'Mislykkedes', revoked: 'trukket tilbage', replied: 'Besvaret' },
  en: { queued: 'Queued', sending: 'Sending', delivered: 'Delivered', printed: 'Sent as a letter', 'needs-fallback': 'Needs a choice', failed: 'Failed', revoked: 'taken back', replied: 'Replied' },
};
// danishTime writes a time as clerks read it, in Danish local time:
// "3. dec. 2026 kl. 14.05" (as the add-in panes do).
const MONTHS = ['jan.', 'feb.', 'mar.', 'apr.', 'maj', 'jun.', 'jul.', 'aug.', 'sep.', 'okt.', 'nov.', 'dec.'];
function danishTime(at) {
  const d = new Date(at);
  if (!at || Number.isNaN(d.getTime())) return '';
  const p = {};
  for (const x of new Intl.DateTimeFormat('da-DK', { timeZone: 'Europe/Copenhagen', year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(d)) p[x.type] = x.value;
  return `${Number(p.day)}. ${MONTHS[Number(p.month) - 1]} ${p.year} kl. ${p.hour}.${p.minute}`;
}

// statusText is the send's status, then the later facts: "Læst" and
// "Besvaret" with their times (a delivered status is final for delivery).
function statusText(m) {
  const w = statusWords[lang];
  let s = (w[m.status] || m.status || '') + (m.revoked ? ' – ' + w.revoked : '');
  if (m.read) s += ` · ${lang === 'en' ? 'Read' : 'Læst'} ${danishTime(m.read)}`;
  if (m.repliedAt) s += ` · ${statusWords[lang].replied} ${danishTime(m.repliedAt)}`;
  return s;
}

let logRows = [];
let logSeq = 0;
let factsTimer = null;
async function showLog() {
  const seq = ++logSeq;
  // While the Log is open, "Læst" and "Besvaret" are fetched in one batched
  // question (the agent asks the relay at most every 20 seconds).
  if (!factsTimer) {
    factsTimer = setInterval(async () => {
      if ($('view-log').hidden) { clearInterval(factsTimer); factsTimer = null; return; }
      try { await App().Facts(); showLog(); } catch (e) { /* the Log still shows what it has */ }
    }, 20_000);
    App().Facts().then(() => { if (!$('view-log').hidden) showLog(); }).catch(() => {});
  }
  const body = $('log-table').tBodies[0];
  body.replaceChildren();
  try {
    const r = await App().Messages($('log-q').value);
    if (seq !== logSeq) return;
    const msgs = r.messages || [];
    logRows = msgs.map((m) => [danishTime(m.created), m.subject || '', (m.recipients || []).join(', '),
      statusText(m)]);
    msgs.forEach((m, i) => {
      const tr = row(logRows[i]);
      tr.appendChild(revokeCell(m));
      body.appendChild(tr);
    });
    $('log-count').textContent = `${logRows.length} forsendelser`;
    problem(null);
    report('log', `rows=${logRows.length} revocable=${msgs.filter((m) => m.revocable).length}`);
  } catch (e) {
    if (seq !== logSeq) return;
    logRows = [];
    $('log-count').textContent = e.message || String(e);
    report('log', 'error ' + (e.message || e));
  }
}

// revokeCell offers "Træk tilbage" where the agent marks a send revocable:
// handed to the relay, with a recipient reached by the secure mailbox
// (channel securemailbox, status delivered) whose copy no event says was
// read, taken back or expired (internal/outbox/revoke.go). The page only
// shows it; the relay decides, and its refusal is shown in the row. The
// question is asked in the row, not by confirm(): WebViews do not all show
// JavaScript dialogs.
function revokeCell(m) {
  const td = document.createElement('td');
  if (!m.revocable) return td;
  const start = document.createElement('button');
  start.type = 'button';
  start.textContent = 'Træk tilbage';
  start.setAttribute('aria-label', `Træk »${m.subject || ''}« tilbage`);
  const ask = document.createElement('div');
  ask.hidden = true;
  const q = document.createElement('p');
  q.textContent = 'Vil du trække forsendelsen tilbage? Modtageren kan derefter ikke åbne den.';
  const yes = document.createElement('button');
  yes.type = 'button';
  yes.className = 'primary';
  yes.textContent = 'Ja, træk tilbage';
  const no = document.createElement('button');
  no.type = 'button';
  no.textContent = 'Fortryd';
  ask.append(q, yes, ' ', no);
  const out = document.createElement('p');
  out.setAttribute('role', 'status');
  start.addEventListener('click', () => { start.hidden = true; ask.hidden = false; out.textContent = ''; yes.focus(); });
  no.addEventListener('click', () => { ask.hidden = true; start.hidden = false; start.focus(); });
  yes.addEventListener('click', async () => {
    yes.disabled = no.disabled = true;
    out.textContent = 'Trækker tilbage …';
    try {
      await App().Revoke(m.id);
      ask.remove();
      start.remove();
      out.textContent = 'Trukket tilbage. Modtageren kan ikke længere åbne forsendelsen.';
      report('log', `revoked ${m.id}`);
    } catch (e) {
      // The relay away or a refusal: say it here; the button stays for
      // another try.
      ask.hidden = true;
      start.hidden = false;
      yes.disabled = no.disabled = false;
      out.textContent = (e && e.message) || String(e);
      report('log', `revoke refused ${m.id}`);
    }
  });
  td.append(start, ask, out);
  return td;
}

function csv() {
  const q = (s) => '"' + String(s).replaceAll('"', '""') + '"';
  return ['Tidspunkt;Emne;Modtagere;Status', ...logRows.map((r) => r.map(q).join(';'))].join('\r\n');
}

// ---- Indstillinger ---------------------------------------------------------
async function showSettings() {
  try {
    const [s, m, o] = await Promise.all([App().Settings(), App().ReplyMailboxes(), App().Overview()]);
    $('s-relay').value = o.agent.demo ? 'Indbygget demo-relæ (DEMO)' : (s.relayUrl || '');
    $('s-signature').value = s.signatureHtml || '';
    $('s-language').value = s.language || 'da';
    $('s-imap').value = s.mailbox && s.mailbox.server ? `${s.mailbox.user} @ ${s.mailbox.server}:${s.mailbox.port}` : 'Ikke opsat';
    for (const [sel, g] of [['s-citizen', m.citizen], ['s-company', m.company]]) {
      const el = $(sel);
      el.replaceChildren();
      for (const opt of (g && g.options) || []) {
        const x = document.createElement('option');
        x.value = opt.id; x.textContent = opt.label || opt.id;
        el.appendChild(x);
      }
      if (g) el.value = g.selected;
    }
    for (const f of s.locked || []) {
      const el = { signatureHtml: 's-signature', language: 's-language', replyCitizen: 's-citizen', replyCompany: 's-company' }[f];
      if (el) $(el).disabled = true;
    }
    problem(null);
    report('settings', `language=${s.language} citizen=${$('s-citizen').value}`);
  } catch (e) {
    problem(e);
    report('settings', 'error ' + (e.message || e));
  }
}

async function saveSettings(ev) {
  ev.preventDefault();
  try {
    const s = await App().SaveSettings({ signatureHtml: $('s-signature').value, language: $('s-language').value });
    await App().SaveReplyMailboxes($('s-citizen').value, $('s-company').value);
    lang = s.language || 'da';
    translate();
    $('s-saved').textContent = lang === 'en' ? 'Saved.' : 'Gemt.';
    problem(null);
  } catch (e) { problem(e); }
}

// A mobile number remembered for the secure mailbox can be corrected and
// removed here as well as in the pane.
async function saveMobile(ev, forget) {
  if (ev) ev.preventDefault();
  const out = $('m-saved');
  try {
    const r = await App().SetMobile($('m-email').value.trim(), forget ? '' : $('m-number').value.trim());
    out.textContent = r.mobile ? `Gemt: ${r.mobile}` : 'Nummeret er glemt.';
    problem(null);
    report('settings', `mobile ${r.mobile ? 'changed' : 'removed'}`);
  } catch (e) { out.textContent = ''; problem(e); }
}
$('mobile-form').addEventListener('submit', (ev) => saveMobile(ev, false));
$('m-forget').addEventListener('click', () => saveMobile(null, true));

// ---- Kom i gang ------------------------------------------------------------
async function showFirstRun() {
  try {
    const o = await App().Overview();
    showTrust($('fr-trust'), o.trust);
    $('fr-demo').hidden = !o.agent.demo;
    // The relay IT set (policy, the installer's RELAY): filled in, so the
    // clerk only types the code.
    const relay = o.settings && o.settings.policyRelay;
    if (relay && !$('fr-relay').value) $('fr-relay').value = relay;
    report('firstrun', `trusted=${o.trust.trusted}`);
  } catch (e) { problem(e); report('firstrun', 'error'); }
}

async function enrol(ev) {
  ev.preventDefault();
  const out = $('fr-enrolled');
  out.textContent = lang === 'en' ? 'Enrolling…' : 'Tilmelder …';
  try {
    const r = await App().Enroll($('fr-relay').value, $('fr-code').value);
    out.textContent = r.message;
    problem(null);
  } catch (e) { out.textContent = ''; problem(e); }
}
$('fr-enrol').addEventListener('submit', enrol);

// ---- Navigation ------------------------------------------------------------
const views = { status: showStatus, portal: () => selectTab(portal.tab), log: showLog, settings: showSettings, firstrun: showFirstRun };

function go(hash) {
  // A view may carry a search: portal?q=region&tab=book&letter=d
  const [name, qs] = (hash || 'status').replace(/^#/, '').split('?');
  const view = views[name] ? name : 'status';
  const params = new URLSearchParams(qs || '');
  if (view === 'portal') {
    portal.tab = params.get('tab') === 'book' ? 'book' : portal.tab;
    portal.q = params.get('q') || '';
    portal.letter = params.get('letter') || '';
    $('portal-q').value = portal.q;
  }
  for (const v of Object.keys(views)) $('view-' + v).hidden = v !== view;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  problem(null);
  views[view]();
}

function init() {
  buildLetters();
  $('tab-domains').addEventListener('click', () => selectTab('domains'));
  $('tab-book').addEventListener('click', () => selectTab('book'));
  document.querySelector('[role=tablist]').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = portal.tab === 'domains' ? 'book' : 'domains';
      selectTab(next);
      $(next === 'domains' ? 'tab-domains' : 'tab-book').focus();
    }
  });
  $('portal-form').addEventListener('submit', (e) => { e.preventDefault(); portal.q = $('portal-q').value; portal.letter = ''; searchPortal(); });
  $('log-form').addEventListener('submit', (e) => { e.preventDefault(); showLog(); });
  $('log-csv').addEventListener('click', async () => {
    try { await App().ExportCSV(csv()); } catch (e) { problem(e); }
  });
  $('settings-form').addEventListener('submit', saveSettings);
  window.addEventListener('hashchange', () => go(location.hash));
  // A second start of the window hands its view over.
  if (window.runtime && window.runtime.EventsOn) window.runtime.EventsOn('view', (v) => {
    if (location.hash === '#' + v) go(v); else location.hash = v; // hashchange calls go
  });
}

async function start() {
  init();
  try {
    const s = await App().Settings();
    lang = s.language === 'en' ? 'en' : 'da';
    $('demo').hidden = !s.demo;
  } catch (_) { /* the views say what is wrong */ }
  translate();
  const first = location.hash || '#' + (await App().InitialView());
  go(first);
}
start();
