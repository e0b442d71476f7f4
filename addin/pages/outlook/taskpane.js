// The Send sikkert task pane: check recipients, pick the Digitalpost
// retursvar mailboxes, send securely and follow the send to delivery.
// Policy (who is secure, what may be sent) is decided by the agent; the
// pane shows its answers and never sends unless they allow it.
import { NOT_READY } from '../api.js';
import * as mail from './mail.js';
import { follow, outcome, sendNotes, watchFacts } from '../status.js';
import { offerOverride } from './override.js';
import { api } from '../api.js';
import { showAlert, shownAs } from '../lines.js';
import { resultLines, Fields } from '../securemailbox.js';
import {
  $, paneState, setState, greetAgent, showAgentAbsent, checkRecipients, showSummary, notSecure,
  ReplyPickers, notSent, progress, showDelivery, setSendable, sendable, focusResult,
} from '../pane.js';

const state = paneState({
  recipients: [], // from Outlook
  fileProblems: [],
});

let sm; // the Sikker mailboks fieldset, made at start
let reply; // the Digitalpost retursvar pickers, made at start

function agentAbsent(message) {
  showAgentAbsent(state, message);
  updateSend();
}

function pretty(r, res) {
  return r.label + ': ' + shownAs(res);
}

function renderCheck() {
  const list = $('recipients');
  list.replaceChildren();
  const rep = state.report;
  if (!rep) return;
  const who = (res, i) => (state.recipients[i] ? pretty(state.recipients[i], res) : shownAs(res));
  list.append(...resultLines(rep.results, who, state.mobiles, check));
  sm.update(rep.results);
  showSummary(rep, 'mailen', state.sending || state.sent);
}

// blockers lists why Send sikkert is not possible now (empty: it is).
function blockers() {
  const why = [];
  if (!state.agentOK) return [NOT_READY];
  if (!state.report) return ['Modtagerne er ikke kontrolleret endnu.'];
  if (state.recipients.length === 0) why.push('Der er ingen modtagere.');
  const insecure = notSecure(state.report, $('fallback-print').checked);
  if (insecure) why.push(insecure);
  if (state.subjectCPR) why.push('Fjern CPR-nummeret fra emnet.');
  if (sm.read().problem) why.push('Ret oplysningerne under Sikker mailboks.');
  if (state.fileProblems.length) why.push('Ret problemerne med de vedhæftede filer.');
  if (!reply.mailboxes) why.push('Digitalpost retursvar kan ikke vælges endnu.');
  return why;
}

function updateSend() {
  const why = state.sending || state.sent ? [] : blockers();
  const ok = !state.sending && !state.sent && why.length === 0;
  setSendable($('send'), ok);
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

function check() {
  return checkRecipients({
    state,
    inputs: async () => {
      state.recipients = await mail.recipients();
      await Promise.all([readSubject(), readFiles()]);
      return state.recipients.map((r) => r.input);
    },
    checked: renderCheck,
    reply,
    absent: agentAbsent,
    done: () => {
      $('main').setAttribute('aria-busy', 'false');
      updateSend();
    },
  });
}

async function sendSecure() {
  if (!sendable($('send'))) return; // off: #send-why says why
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
    const res = await mail.send({
      inputs: state.recipients.map((r) => r.input),
      reply: reply.chosen(),
      fallback: $('fallback-print').checked ? 'print' : '',
      mobiles: state.mobiles,
      fields,
      idempotencyKey: state.key,
      onProgress: (phase, sent, total) => {
        if (phase === 'read') progress(0, `Henter vedhæftede filer fra Outlook (${sent + 1} af ${total}) …`);
        else progress(total ? Math.round((sent / total) * 100) : 0, 'Overfører til Send sikkert …');
      },
    });
    const notes = sendNotes(res);
    if (!res.id) {
      // The draft had reached every recipient before: nothing new sent.
      state.sending = false;
      state.sent = true;
      progress(100, 'Intet nyt sendt');
      showAlert(notes + ' Der er ikke sendt noget nyt. Du kan lukke kladden.', 'info');
      $('close-draft').hidden = false;
      setState('already-sent');
      return;
    }
    progress(100, 'Overført. Afventer levering …');
    $('progress').scrollIntoView({ block: 'nearest' });
    const st = await follow(res.id, showDelivery);
    state.sending = false;
    const out = outcome(st, 'Mailen');
    if (out.kind === 'success') {
      state.sent = true;
      progress(100, 'Sendt');
      showAlert([out.text, notes, 'Du kan lukke kladden.'].filter(Boolean).join(' '), 'success');
      $('close-draft').hidden = false;
      setState('delivered');
      watchFacts(res.id, $('delivery'));
    } else {
      // Sent again, the draft goes only to those it did not reach.
      state.key = null;
      showAlert([out.text, notes].filter(Boolean).join(' '), 'error');
      setState('failed');
    }
  } catch (e) {
    notSent(e, state, agentAbsent);
  } finally {
    updateSend();
    focusResult($('progress'));
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
  reply = new ReplyPickers();
  try {
    await greetAgent();
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
  if (new URLSearchParams(window.location.search).get('send') === '1' && state.agentOK) {
    // Opened by the Send sikkert button: the recipients are shown before
    // anything is sent, and one press sends.
    showAlert('Se modtagerne og hvordan de nås herunder. Intet er sendt endnu: tryk Send sikkert for at sende.', 'info');
    if (sendable($('send'))) $('send').focus();
  }
  // The Smart Alert's "Åbn Send sikkert" leads here: offer to send anyway
  // with a reason where the organisation allows it (the settings say
  // whether: the agent's on a PC, the relay's for pages it serves).
  await api('GET', '/api/v1/settings').then(offerOverride).catch(() => {});
}

if (typeof Office === 'undefined') {
  showAlert('Send sikkert-ruden skal åbnes fra Outlook. Office-biblioteket kunne ikke hentes.', 'error');
  setState('no-office');
} else {
  Office.onReady(() => start());
}
