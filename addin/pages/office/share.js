// The Del sikkert pane for Word, Excel and PowerPoint: recipients typed
// by the clerk and checked by the agent, subject, cover text with the
// user's signature, the Digitalpost retursvar pickers, and the document
// itself — as it is or as PDF — uploaded in slices. An exempt citizen can
// get the document as a letter via OneTooX after the clerk confirms it.
// An e-mail address off the direct-addressing list goes to the secure
// mailbox once the clerk gives its mobile number; the clerk may add a read
// deadline and a security question for it.
// What is secure is decided by the agent; the pane only shows its answers.
import { api, agentBase, AgentError, UNREACHABLE } from '../api.js';
import { replyMailboxes, setReplyMailbox, follow } from '../outlook/mail.js';
import * as doc from './document.js';
import { line, showAlert, fillPicker as fill } from '../lines.js';
import { resultLines, Fields } from '../securemailbox.js';

const $ = (id) => document.getElementById(id);

const state = {
  host: 'Word',
  agentOK: false,
  inputs: [], // what the report is for
  report: null,
  subjectCPR: false,
  mailboxes: null,
  signatureHtml: '',
  sending: false,
  sent: false,
  confirming: false,
  key: null,
  mobiles: {}, // e-mail address → mobile number, for the secure mailbox
};

let sm; // the Sikker mailboks fieldset, made at start

function setState(name) {
  document.body.dataset.state = name;
}


function agentAbsent(message = UNREACHABLE) {
  state.agentOK = false;
  showAlert(message, 'error');
  $('summary').textContent = 'Modtagerne kan ikke kontrolleres, fordi Send sikkert-programmet ikke svarer.';
  $('recipients').replaceChildren();
  for (const s of ['reply-citizen', 'reply-company']) $(s).disabled = true;
  setState('agent-absent');
  updateSend();
}


function inputs() {
  return $('recipients-input').value.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
}

function exempt() {
  return state.report ? state.report.results.filter((r) => r.channel === 'print') : [];
}

function letter() {
  return exempt().length > 0 && $('fallback-print').checked;
}

function renderCheck() {
  const rep = state.report;
  $('recipients').replaceChildren(...resultLines(rep.results, (r) => r.input, state.mobiles, check));
  sm.update(rep.results);
  $('summary').textContent = rep.message;
  $('summary').className = 'summary ' + (rep.allSecure ? 'ok' : 'bad');
  const ex = exempt();
  $('fallback').hidden = ex.length === 0;
  if (ex.length) {
    const names = ex.map((r) => r.name || r.input).join(', ');
    $('fallback-who').textContent = `${names} kan ikke modtage Digital Post. Du kan sende dokumentet som et brev med almindelig post via OneTooX. Brevet printes og sendes af KMD.`;
  }
  if (!state.sending && !state.sent) setState(rep.allSecure ? 'checked' : ex.length ? 'exempt' : 'not-secure');
}

function blockers() {
  if (!state.agentOK) return ['Send sikkert-programmet svarer ikke.'];
  const why = [];
  const now = inputs();
  if (now.length === 0) return ['Skriv mindst én modtager.'];
  if (!state.report || now.join('\n') !== state.inputs.join('\n')) return ['Klik på Kontrollér modtagere.'];
  for (const r of state.report.results) {
    if (r.secure) continue;
    if (r.channel === 'print' && $('fallback-print').checked) continue;
    why.push(r.channel === 'print' ? 'Vælg Send som brev via OneTooX, eller fjern modtageren.' : 'Der kan ikke sendes sikkert til alle modtagere.');
    break;
  }
  if (!$('subject').value.trim()) why.push('Skriv et emne.');
  if (state.subjectCPR) why.push('Fjern CPR-nummeret fra emnet.');
  if (sm.read().problem) why.push('Ret oplysningerne under Sikker mailboks.');
  if (!state.mailboxes) why.push('Digitalpost retursvar kan ikke vælges endnu.');
  return why;
}

function updateSend() {
  const busy = state.sending || state.sent || state.confirming;
  const why = busy ? [] : blockers();
  $('send').disabled = busy || why.length > 0;
  $('send-why').textContent = why.join(' ');
  sm.disabled = busy;
  // A letter is always a PDF: only PDF can be printed and posted.
  const pdfOnly = letter();
  $('format-native').disabled = pdfOnly || busy;
  $('format-pdf').disabled = busy;
  if (pdfOnly) $('format-pdf').checked = true;
  $('send').textContent = pdfOnly ? 'Del sikkert og send brev' : 'Del sikkert';
}

function readSubject() {
  state.subjectCPR = SendsikkertCPR.containsCPR($('subject').value, new Date());
  $('subject-warning').hidden = !state.subjectCPR;
}

async function check() {
  const list = inputs();
  if (list.length === 0) {
    showAlert('Skriv mindst én modtager: et CPR-nummer, et CVR-nummer eller en e-mailadresse.', 'warning');
    updateSend();
    return;
  }
  $('check').disabled = true;
  $('summary').textContent = 'Kontrollerer modtagere …';
  $('summary').className = 'summary';
  try {
    const body = { recipients: list };
    if (Object.keys(state.mobiles).length) body.mobiles = state.mobiles;
    state.report = await api('POST', '/api/v1/recipients/check', body);
    state.inputs = list;
    state.agentOK = true;
    showAlert('');
    renderCheck();
    if (!state.mailboxes) await loadMailboxes();
  } catch (e) {
    if (e instanceof AgentError && e.code === 'agent_unreachable') agentAbsent(e.message);
    else showAlert(e.message || 'Kontrollen mislykkedes.', 'error');
  } finally {
    $('check').disabled = false;
    updateSend();
  }
}


async function loadMailboxes() {
  try {
    state.mailboxes = await replyMailboxes();
    fill($('reply-citizen'), state.mailboxes.citizen);
    fill($('reply-company'), state.mailboxes.company);
  } catch (e) {
    if (e instanceof AgentError && e.code === 'agent_unreachable') throw e;
    showAlert(e.message, 'warning');
  }
}

async function pick(kind, select) {
  try {
    state.mailboxes = await setReplyMailbox(kind, select.value);
    showAlert('');
  } catch (e) {
    showAlert(e.message, 'error');
  }
}

// loadSignature shows the signature as text; it goes into the message as
// the HTML the user saved in Send sikkert's settings.
async function loadSignature() {
  const st = await api('GET', '/api/v1/settings');
  state.signatureHtml = st.signatureHtml || '';
  const text = new DOMParser().parseFromString(state.signatureHtml.replace(/<br\s*\/?>/gi, '\n').replace(/<\/p>/gi, '</p>\n'), 'text/html').body.textContent.trim();
  $('signature').textContent = text || '(ingen signatur – den vælges i Send sikkert-programmets indstillinger)';
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// coverHtml: the clerk's text as paragraphs, then the signature.
function coverHtml() {
  const paras = $('cover').value.split(/\n{2,}/).map((p) => p.trim()).filter(Boolean)
    .map((p) => '<p>' + escapeHtml(p).replace(/\n/g, '<br>') + '</p>');
  if (state.signatureHtml) paras.push('<div class="signatur">' + state.signatureHtml + '</div>');
  return paras.join('\n') || '<p></p>';
}

function progress(pct, text) {
  $('progress-text').textContent = text;
  $('progress-pct').textContent = pct === null ? '' : pct + ' %';
  const bar = $('progress-bar');
  bar.setAttribute('aria-valuenow', String(pct || 0));
  bar.querySelector('.progress-fill').style.width = (pct || 0) + '%';
}

const STATUS_TEXT = {
  queued: 'I kø', sending: 'Sendes', delivered: 'Leveret', printed: 'Sendt som brev via OneTooX', 'needs-fallback': 'Kræver et valg', failed: 'Mislykkedes',
};

function renderStatus(st) {
  $('delivery').replaceChildren(...st.recipients.map((r) => {
    const done = r.status === 'delivered' || r.status === 'printed';
    const bad = r.status === 'failed' || r.status === 'needs-fallback';
    return line(done ? true : bad ? false : null, r.message || STATUS_TEXT[r.status] || r.status, r.input);
  }));
  $('events').replaceChildren(...(st.events || []).map((e) => {
    const li = document.createElement('li');
    const t = document.createElement('time');
    t.dateTime = e.at;
    t.textContent = new Date(e.at).toLocaleTimeString('da-DK', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    li.append(t, ' ', e.what);
    return li;
  }));
}

function format() {
  return $('format-pdf').checked ? 'pdf' : 'compressed';
}

// start: a letter needs the clerk's confirmation first; a Digital Post
// share goes at once.
function start() {
  // A deadline of today can pass while the pane stands open.
  if (sm.showProblem() || blockers().length) {
    updateSend();
    return;
  }
  if (!letter()) {
    share();
    return;
  }
  state.confirming = true;
  const ex = exempt();
  const t = doc.target(doc.name() || 'Dokument', 'pdf', state.host);
  $('confirm-text').textContent = `Dokumentet »${t.filename}« printes og sendes som brev med almindelig post via OneTooX til:`;
  $('confirm-list').replaceChildren(...ex.map((r) => Object.assign(document.createElement('li'), { textContent: (r.name || 'Navne- og adressebeskyttet') + ' (' + r.input.replace(/^(\d{6})-?\d{4}$/, '$1-xxxx') + ')' })));
  $('confirm').hidden = false;
  setState('confirm-letter');
  updateSend();
  $('confirm-send').focus();
}

function cancelLetter() {
  state.confirming = false;
  $('confirm').hidden = true;
  renderCheck();
  updateSend();
  $('send').focus();
}

async function share() {
  const { fields, problem } = sm.read();
  if (sm.showProblem(problem)) {
    cancelLetter();
    return;
  }
  state.confirming = false;
  $('confirm').hidden = true;
  state.sending = true;
  state.key = state.key || 'office-' + crypto.randomUUID();
  updateSend();
  setState('uploading');
  showAlert('');
  $('progress').hidden = false;
  progress(0, format() === 'pdf' ? 'Office laver en PDF af dokumentet …' : 'Henter dokumentet fra Office …');
  try {
    const up = await doc.share({
      format: format(), hostName: state.host,
      onProgress: (sent, total) => {
        const pct = total ? Math.floor((sent / total) * 100) : 100;
        progress(pct, 'Overfører dokumentet …');
        $('progress-bytes').textContent = `${doc.formatSize(sent)} af ${doc.formatSize(total)} sendt`;
      },
      onResume: (next) => { $('progress-bytes').dataset.resumedAt = String(next); },
    });
    const message = {
      recipients: state.inputs, subject: $('subject').value.trim(), bodyHtml: coverHtml(),
      replyMailbox: { citizen: $('reply-citizen').value, company: $('reply-company').value },
      idempotencyKey: state.key, uploadId: up.uploadId,
    };
    if (letter()) message.fallback = 'print';
    if (Object.keys(state.mobiles).length) message.mobiles = state.mobiles;
    Object.assign(message, fields);
    const form = new FormData();
    form.append('message', new Blob([JSON.stringify(message)], { type: 'application/json' }));
    const res = await api('POST', '/api/v1/messages', form);
    progress(100, 'Overført. Afventer levering …');
    setState('sent');
    const st = await follow(res.id, renderStatus);
    state.sending = false;
    const printed = st.recipients.filter((r) => r.status === 'printed');
    if (st.status === 'delivered' || st.status === 'printed') {
      state.sent = true;
      progress(100, printed.length ? 'Sendt' : 'Leveret');
      showAlert(printed.length === st.recipients.length
        ? `»${up.filename}« er sendt som brev via OneTooX.`
        : printed.length
          ? `»${up.filename}« er delt sikkert som Digital Post. Modtagere, der er fritaget for Digital Post, får det som brev via OneTooX.`
          : `»${up.filename}« er delt sikkert og leveret som Digital Post.`, 'success');
      setState(printed.length ? 'printed' : 'delivered');
    } else {
      state.key = null;
      showAlert('Dokumentet blev ikke leveret til alle modtagere. Se status herunder.', 'error');
      setState('failed');
    }
  } catch (e) {
    state.sending = false;
    if (!(e instanceof AgentError) || e.status >= 400) state.key = null;
    progress(null, 'Ikke sendt');
    if (e instanceof AgentError && e.code === 'agent_unreachable') {
      agentAbsent(e.message);
    } else {
      showAlert(/Der er ikke sendt noget/.test(e.message) ? e.message : e.message + ' Der er ikke sendt noget.', 'error');
      setState(e instanceof doc.OfficeError ? 'office-error' : 'not-sent');
    }
  } finally {
    updateSend();
  }
}

function wire() {
  $('check').addEventListener('click', check);
  $('recipients-input').addEventListener('input', updateSend);
  $('subject').addEventListener('input', () => { readSubject(); updateSend(); });
  $('fallback-print').addEventListener('change', updateSend);
  $('reply-citizen').addEventListener('change', (e) => pick('citizen', e.target));
  $('reply-company').addEventListener('change', (e) => pick('company', e.target));
  $('send').addEventListener('click', start);
  $('confirm-send').addEventListener('click', share);
  $('confirm-cancel').addEventListener('click', cancelLetter);
}

async function begin(info) {
  state.host = doc.host(info);
  setState('loading');
  sm = new Fields($('securemailbox'), updateSend);
  const name = doc.name();
  $('doc-name').textContent = name || 'Nyt dokument (ikke gemt)';
  $('format-native-label').textContent = `Som det er (${state.host})`;
  const stem = name.replace(/\.[^.]*$/, '');
  if (stem && !$('subject').value) $('subject').value = stem;
  readSubject();
  wire();
  try {
    const h = await fetch(agentBase() + '/healthz', { cache: 'no-store', credentials: 'omit' }).then((r) => r.json());
    $('demo').hidden = !h.demo;
    $('demo-note').hidden = !h.demo;
    state.agentOK = true;
    await Promise.all([loadSignature(), loadMailboxes()]);
    if (!name) showAlert('Dokumentet er ikke gemt endnu. Gem det med et navn, før du deler det.', 'warning');
    setState('ready');
  } catch (e) {
    agentAbsent(e instanceof AgentError ? e.message : UNREACHABLE);
  } finally {
    $('main').setAttribute('aria-busy', 'false');
    updateSend();
  }
}

if (typeof Office === 'undefined') {
  showAlert('Del sikkert-ruden skal åbnes fra Word, Excel eller PowerPoint. Office-biblioteket kunne ikke hentes.', 'error');
  setState('no-office');
} else {
  Office.onReady((info) => begin(info));
}
