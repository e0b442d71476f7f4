// The Del sikkert pane for Word, Excel and PowerPoint: recipients typed
// by the clerk and checked by the agent, subject, cover text with the
// user's signature, the Digitalpost retursvar pickers, and the document
// itself — as it is or as PDF — uploaded in slices. An exempt citizen can
// get the document as a letter via OneTooX after the clerk confirms it.
// An e-mail address off the direct-addressing list goes to the secure
// mailbox once the clerk gives its mobile number; the clerk may add a read
// deadline and a security question for it.
// What is secure is decided by the agent; the pane only shows its answers.
import { api, AgentError, hosted, NOT_READY, UNREACHABLE } from '../api.js';
import { follow, outcome, sendNotes, watchFacts } from '../status.js';
import * as doc from './document.js';
import { showAlert, shownAs } from '../lines.js';
import { resultLines, Fields } from '../securemailbox.js';
import {
  $, paneState, setState, greetAgent, showAgentAbsent, checkRecipients, exemptOf, showSummary, notSecure,
  ReplyPickers, notSent, progress, STATUS_TEXT, showDelivery, setSendable, sendable, focusResult,
} from '../pane.js';

const state = paneState({
  host: 'Word',
  inputs: [], // what the report is for
  signatureHtml: '',
  confirming: false, // the clerk is asked to confirm a letter
});

let sm; // the Sikker mailboks fieldset, made at start
let reply; // the Digitalpost retursvar pickers, made at start

function agentAbsent(message) {
  showAgentAbsent(state, message);
  updateSend();
}

function inputs() {
  return $('recipients-input').value.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
}

function exempt() {
  return exemptOf(state.report);
}

function letter() {
  return exempt().length > 0 && $('fallback-print').checked;
}

function renderCheck() {
  const rep = state.report;
  $('recipients').replaceChildren(...resultLines(rep.results, shownAs, state.mobiles, check));
  sm.update(rep.results);
  showSummary(rep, 'dokumentet', state.sending || state.sent);
}

function blockers() {
  if (!state.agentOK) return [NOT_READY];
  const why = [];
  const now = inputs();
  if (now.length === 0) return ['Skriv mindst én modtager.'];
  if (!state.report || now.join('\n') !== state.inputs.join('\n')) return ['Klik på Kontrollér modtagere.'];
  const insecure = notSecure(state.report, $('fallback-print').checked);
  if (insecure) why.push(insecure);
  if (!$('subject').value.trim()) why.push('Skriv et emne.');
  if (state.subjectCPR) why.push('Fjern CPR-nummeret fra emnet.');
  if (sm.read().problem) why.push('Ret oplysningerne under Sikker mailboks.');
  if (!reply.mailboxes) why.push('Digitalpost retursvar kan ikke vælges endnu.');
  return why;
}

function updateSend() {
  const busy = state.sending || state.sent || state.confirming;
  const why = busy ? [] : blockers();
  setSendable($('send'), !busy && why.length === 0);
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

function check() {
  if (inputs().length === 0) {
    showAlert('Skriv mindst én modtager: et CPR-nummer, et CVR-nummer eller en e-mailadresse.', 'warning');
    updateSend();
    return;
  }
  return checkRecipients({
    state,
    inputs,
    checked: (list) => {
      state.inputs = list;
      renderCheck();
    },
    reply,
    absent: agentAbsent,
    done: updateSend,
  });
}

// loadSignature shows the signature as text; it goes into the message as
// the HTML the user saved in Send sikkert's settings.
async function loadSignature() {
  if (hosted()) {
    // The signature lives in the agent's settings on a PC; the relay
    // keeps none, so pages it serves add none.
    state.signatureHtml = '';
    $('signature').textContent = '(ingen signatur – den tilføjes kun af Send sikkert-programmet på en pc)';
    return;
  }
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

// A printed recipient's line names OneTooX.
const DELIVERY_TEXT = { ...STATUS_TEXT, printed: 'Sendt som brev via OneTooX' };

function format() {
  return $('format-pdf').checked ? 'pdf' : 'compressed';
}

// start: a letter needs the clerk's confirmation first; a Digital Post
// share goes at once.
function start() {
  if (!sendable($('send'))) return; // off: #send-why says why
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
      replyMailbox: reply.chosen(),
      idempotencyKey: state.key, uploadId: up.uploadId,
    };
    if (letter()) message.fallback = 'print';
    const draft = await doc.draftId();
    if (draft) message.draftId = draft;
    if (Object.keys(state.mobiles).length) message.mobiles = state.mobiles;
    Object.assign(message, fields);
    const form = new FormData();
    form.append('message', new Blob([JSON.stringify(message)], { type: 'application/json' }));
    const res = await api('POST', '/api/v1/messages', form);
    const notes = sendNotes(res);
    if (!res.id) {
      // The document had reached every recipient before: nothing new sent.
      state.sending = false;
      state.sent = true;
      progress(100, 'Intet nyt sendt');
      showAlert(notes + ' Der er ikke sendt noget nyt.', 'info');
      setState('already-sent');
      return;
    }
    progress(100, 'Overført. Afventer levering …');
    setState('sent');
    const st = await follow(res.id, (s) => showDelivery(s, DELIVERY_TEXT));
    state.sending = false;
    const printed = st.recipients.filter((r) => r.status === 'printed');
    const out = outcome(st, `»${up.filename}«`);
    if (out.kind === 'success') {
      state.sent = true;
      progress(100, 'Sendt');
      showAlert([out.text, notes].filter(Boolean).join(' '), 'success');
      setState(printed.length ? 'printed' : 'delivered');
      watchFacts(res.id, $('delivery'));
    } else {
      state.key = null;
      showAlert([out.text, notes].filter(Boolean).join(' '), 'error');
      setState('failed');
    }
  } catch (e) {
    notSent(e, state, agentAbsent, e instanceof doc.OfficeError ? 'office-error' : 'not-sent');
  } finally {
    updateSend();
    focusResult($('progress'));
  }
}

function wire() {
  $('check').addEventListener('click', check);
  $('recipients-input').addEventListener('input', updateSend);
  $('subject').addEventListener('input', () => { readSubject(); updateSend(); });
  $('fallback-print').addEventListener('change', updateSend);
  $('send').addEventListener('click', start);
  $('confirm-send').addEventListener('click', share);
  $('confirm-cancel').addEventListener('click', cancelLetter);
}

async function begin(info) {
  state.host = doc.host(info);
  setState('loading');
  sm = new Fields($('securemailbox'), updateSend);
  reply = new ReplyPickers();
  const name = doc.name();
  $('doc-name').textContent = name || 'Nyt dokument (ikke gemt)';
  $('format-native-label').textContent = `Som det er (${state.host})`;
  const stem = name.replace(/\.[^.]*$/, '');
  if (stem && !$('subject').value) $('subject').value = stem;
  readSubject();
  wire();
  try {
    await greetAgent();
    state.agentOK = true;
    await Promise.all([loadSignature(), reply.load()]);
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
