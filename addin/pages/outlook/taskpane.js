// The Send sikkert task pane: check recipients, pick the Digitalpost
// retursvar mailboxes, send securely and follow the send to delivery.
// Policy (who is secure, what may be sent) is decided by the agent; the
// pane shows its answers and never sends unless they allow it.
import { api, agentBase, AgentError, UNREACHABLE } from '../api.js';
import * as mail from './mail.js';
import { line, showAlert, fillPicker as fill } from '../lines.js';
import { resultLines, Fields } from '../securemailbox.js';

const $ = (id) => document.getElementById(id);

const state = {
  agentOK: false,
  recipients: [], // from Outlook
  report: null, // the agent's check
  subjectCPR: false,
  fileProblems: [],
  mailboxes: null,
  sending: false,
  sent: false,
  key: null, // idempotency key of the send in progress
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


function pretty(r) {
  return r.label + ': ' + r.input;
}

function renderCheck() {
  const list = $('recipients');
  list.replaceChildren();
  const rep = state.report;
  if (!rep) return;
  const who = (res, i) => (state.recipients[i] ? pretty(state.recipients[i]) : res.input);
  list.append(...resultLines(rep.results, who, state.mobiles, check));
  sm.update(rep.results);
  $('summary').textContent = rep.message;
  $('summary').className = 'summary ' + (rep.allSecure ? 'ok' : 'bad');
  const exempt = rep.results.filter((r) => r.channel === 'print');
  $('fallback').hidden = exempt.length === 0;
  if (exempt.length) {
    const names = exempt.map((r) => r.name || r.input).join(', ');
    $('fallback-who').textContent = `${names} kan ikke modtage Digital Post. Du kan sende mailen som et brev med almindelig post via OneTooX. Brevet printes og sendes af KMD.`;
  }
  if (!state.sending && !state.sent) {
    setState(rep.allSecure ? 'checked' : exempt.length ? 'exempt' : 'not-secure');
  }
}

// blockers lists why Send sikkert is not possible now (empty: it is).
function blockers() {
  const why = [];
  if (!state.agentOK) return ['Send sikkert-programmet svarer ikke.'];
  if (!state.report) return ['Modtagerne er ikke kontrolleret endnu.'];
  if (state.recipients.length === 0) why.push('Der er ingen modtagere.');
  const fallback = $('fallback-print').checked;
  for (const r of state.report.results) {
    if (r.secure) continue;
    if (r.channel === 'print' && fallback) continue;
    why.push(r.channel === 'print' ? 'Vælg Send som brev via OneTooX, eller fjern modtageren.' : 'Der kan ikke sendes sikkert til alle modtagere.');
    break;
  }
  if (state.subjectCPR) why.push('Fjern CPR-nummeret fra emnet.');
  if (sm.read().problem) why.push('Ret oplysningerne under Sikker mailboks.');
  if (state.fileProblems.length) why.push('Ret problemerne med de vedhæftede filer.');
  if (!state.mailboxes) why.push('Digitalpost retursvar kan ikke vælges endnu.');
  return why;
}

function updateSend() {
  const why = state.sending || state.sent ? [] : blockers();
  const ok = !state.sending && !state.sent && why.length === 0;
  $('send').disabled = !ok;
  $('send-why').textContent = why.join(' ');
  sm.disabled = state.sending || state.sent;
}

async function readSubject() {
  const s = await mail.subject();
  $('subject').textContent = s || '(intet emne)';
  state.subjectCPR = SendsikkertCPR.containsCPR(s, new Date());
  $('subject-warning').hidden = !state.subjectCPR;
}

async function readFiles() {
  const { files, problems } = await mail.attachments();
  state.fileProblems = problems;
  const list = $('files');
  list.replaceChildren();
  if (files.length === 0) {
    const li = document.createElement('li');
    li.className = 'hint';
    li.textContent = 'Ingen';
    list.append(li);
  }
  for (const f of files) {
    const li = document.createElement('li');
    li.textContent = `${f.name} (${mail.formatSize(f.size || 0)})`;
    list.append(li);
  }
  const p = $('file-problems');
  p.replaceChildren(...problems.map((t) => Object.assign(document.createElement('p'), { textContent: t })));
  p.hidden = problems.length === 0;
}

async function check() {
  $('check').disabled = true;
  $('summary').textContent = 'Kontrollerer modtagere …';
  $('summary').className = 'summary';
  try {
    state.recipients = await mail.recipients();
    await Promise.all([readSubject(), readFiles()]);
    const body = { recipients: state.recipients.map((r) => r.input) };
    if (Object.keys(state.mobiles).length) body.mobiles = state.mobiles;
    state.report = await api('POST', '/api/v1/recipients/check', body);
    state.agentOK = true;
    showAlert('');
    renderCheck();
    if (!state.mailboxes) await loadMailboxes();
  } catch (e) {
    if (e instanceof AgentError && e.code === 'agent_unreachable') {
      agentAbsent(e.message);
    } else {
      showAlert(e.message || 'Kontrollen mislykkedes.', 'error');
    }
  } finally {
    $('check').disabled = false;
    $('main').setAttribute('aria-busy', 'false');
    updateSend();
  }
}


async function loadMailboxes() {
  try {
    state.mailboxes = await mail.replyMailboxes();
    fill($('reply-citizen'), state.mailboxes.citizen);
    fill($('reply-company'), state.mailboxes.company);
  } catch (e) {
    if (e instanceof AgentError && e.code === 'agent_unreachable') throw e;
    showAlert(e.message, 'warning');
  }
}

async function pick(kind, select) {
  try {
    state.mailboxes = await mail.setReplyMailbox(kind, select.value);
    showAlert('');
  } catch (e) {
    showAlert(e.message, 'error');
  }
}

function progress(pct, text) {
  $('progress-text').textContent = text;
  $('progress-pct').textContent = pct === null ? '' : pct + ' %';
  const bar = $('progress-bar');
  bar.setAttribute('aria-valuenow', String(pct || 0));
  bar.querySelector('.progress-fill').style.width = (pct || 0) + '%';
}

const STATUS_TEXT = {
  queued: 'I kø', sending: 'Sendes', delivered: 'Leveret', printed: 'Sendt som brev', 'needs-fallback': 'Kræver et valg', failed: 'Mislykkedes',
};

function renderStatus(st) {
  const list = $('delivery');
  list.replaceChildren(...st.recipients.map((r) => {
    const done = r.status === 'delivered' || r.status === 'printed';
    const bad = r.status === 'failed' || r.status === 'needs-fallback';
    const text = r.message || STATUS_TEXT[r.status] || r.status;
    return line(done ? true : bad ? false : null, text, r.input);
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

async function sendSecure() {
  // A deadline of today can pass while the pane stands open.
  if (sm.showProblem() || blockers().length) {
    updateSend();
    return;
  }
  const { fields } = sm.read();
  state.sending = true;
  state.key = state.key || mail.newKey();
  updateSend();
  setState('sending');
  $('progress').hidden = false;
  progress(0, 'Henter mailen fra Outlook …');
  try {
    const id = await mail.send({
      inputs: state.recipients.map((r) => r.input),
      reply: { citizen: $('reply-citizen').value, company: $('reply-company').value },
      fallback: $('fallback-print').checked ? 'print' : '',
      mobiles: state.mobiles,
      fields,
      idempotencyKey: state.key,
      onProgress: (phase, sent, total) => {
        if (phase === 'read') progress(0, `Henter vedhæftede filer fra Outlook (${sent + 1} af ${total}) …`);
        else progress(total ? Math.round((sent / total) * 100) : 0, 'Overfører til Send sikkert …');
      },
    });
    progress(100, 'Overført. Afventer levering …');
    $('progress').scrollIntoView({ block: 'nearest' });
    const st = await mail.follow(id, renderStatus);
    state.sending = false;
    if (st.status === 'delivered') {
      state.sent = true;
      progress(100, 'Leveret');
      const printed = st.recipients.some((r) => r.status === 'printed');
      showAlert(printed
        ? 'Mailen er sendt. Modtagere, der er fritaget for Digital Post, får den som brev via OneTooX. Du kan lukke kladden.'
        : 'Mailen er sendt sikkert og leveret som Digital Post. Du kan lukke kladden.', 'success');
      $('close-draft').hidden = false;
      setState('delivered');
    } else {
      state.key = null;
      showAlert('Forsendelsen blev ikke leveret til alle modtagere. Se status herunder.', 'error');
      setState('failed');
    }
  } catch (e) {
    state.sending = false;
    if (!(e instanceof AgentError) || e.status >= 400) state.key = null; // refused: a new attempt is a new send
    progress(null, 'Ikke sendt');
    if (e instanceof AgentError && e.code === 'agent_unreachable') {
      agentAbsent(e.message);
    } else {
      showAlert(e.message + ' Der er ikke sendt noget.', 'error');
      setState('not-sent');
    }
  } finally {
    updateSend();
  }
}

function wire() {
  $('check').addEventListener('click', check);
  $('recheck-subject').addEventListener('click', async () => {
    await readSubject().catch(() => {});
    updateSend();
    if (!state.subjectCPR) $('send').focus();
  });
  $('fallback-print').addEventListener('change', updateSend);
  $('reply-citizen').addEventListener('change', (e) => pick('citizen', e.target));
  $('reply-company').addEventListener('change', (e) => pick('company', e.target));
  $('send').addEventListener('click', sendSecure);
  $('close-draft').addEventListener('click', () => mail.closeDraft().catch((e) => showAlert(e.message, 'error')));
  const it = mail.item();
  if (it.addHandlerAsync && Office.EventType && Office.EventType.RecipientsChanged && mail.supported('1.7')) {
    it.addHandlerAsync(Office.EventType.RecipientsChanged, () => {
      if (!state.sending && !state.sent) {
        state.report = null;
        check();
      }
    });
  }
}

async function start() {
  setState('loading');
  sm = new Fields($('securemailbox'), updateSend);
  try {
    const h = await fetch(agentBase() + '/healthz', { cache: 'no-store', credentials: 'omit' }).then((r) => r.json());
    $('demo').hidden = !h.demo;
    $('demo-note').hidden = !h.demo;
  } catch (e) {
    agentAbsent();
    // Still show what Outlook knows, so the clerk sees what was not sent.
    await Promise.all([readSubject(), readFiles()]).catch(() => {});
    $('main').setAttribute('aria-busy', 'false');
    wire();
    return;
  }
  wire();
  await check();
}

if (typeof Office === 'undefined') {
  showAlert('Send sikkert-ruden skal åbnes fra Outlook. Office-biblioteket kunne ikke hentes.', 'error');
  setState('no-office');
} else {
  Office.onReady(() => start());
}
