// Shared by the Outlook and Del sikkert panes: what a pane does the same
// whatever it sends — its state on <body>, the agent's health and demo
// badge, the view when the agent does not answer, the recipient check and
// its summary, the Digitalpost retursvar pickers, and the send's progress
// bar, delivery status and failure. Each pane keeps what is its own: where the
// recipients and the content come from, what blocks a send, the send.
import { api, agentBase, AgentError, UNREACHABLE } from './api.js';
import { line, showAlert, fillPicker } from './lines.js';
import { replyMailboxes, setReplyMailbox } from './replymailboxes.js';
import { danishTime } from './status.js';

export const $ = (id) => document.getElementById(id);

// paneState is the state both panes keep, with the pane's own fields
// added: whether the agent answers, its last check, whether the subject
// holds a CPR number, the send in progress or done and its idempotency
// key, and the mobile numbers the clerk gave for the secure mailbox
// (e-mail address → number). The functions here that take the state read
// and write these fields.
export function paneState(own) {
  return { agentOK: false, report: null, subjectCPR: false, sending: false, sent: false, key: null, mobiles: {}, ...own };
}

// setSendable turns the Send button on or off. Off is aria-disabled, not
// disabled: the button stays in the tab order, so a keyboard or screen
// reader user reaches it and hears why (#send-why is its description).
// A click on it while off does nothing.
export function setSendable(button, ok) {
  button.disabled = false;
  button.setAttribute('aria-disabled', String(!ok));
}

// sendable reports whether the Send button is on.
export function sendable(button) {
  return button.getAttribute('aria-disabled') !== 'true';
}

// focusResult moves focus to what a finished action led to: the message
// bar when it shows something, else the element given.
export function focusResult(fallback) {
  const a = $('alert');
  const target = a && !a.hidden ? a : fallback;
  if (!target) return;
  if (!target.hasAttribute('tabindex')) target.tabIndex = -1;
  target.focus();
}

export function setState(name) {
  document.body.dataset.state = name;
}

// unreachable: the agent could not be asked at all (as opposed to an answer
// that refuses).
function unreachable(e) {
  return e instanceof AgentError && e.code === 'agent_unreachable';
}

// greetAgent asks the agent whether it runs and shows the DEMO badge and
// note when it runs in demo mode; it throws when the agent cannot be reached.
export async function greetAgent() {
  const h = await fetch(agentBase() + '/healthz', { cache: 'no-store', credentials: 'omit' }).then((r) => r.json());
  $('demo').hidden = !h.demo;
  $('demo-note').hidden = !h.demo;
}

// showAgentAbsent is the pane when the agent does not answer
// (state.agentOK goes false): the message, no check results, the
// retursvar pickers off.
export function showAgentAbsent(state, message = UNREACHABLE) {
  state.agentOK = false;
  showAlert(message, 'error');
  $('summary').textContent = 'Modtagerne kan ikke kontrolleres, fordi Send sikkert-programmet ikke svarer.';
  $('recipients').replaceChildren();
  for (const s of ['reply-citizen', 'reply-company']) $(s).disabled = true;
  setState('agent-absent');
}

// checkRecipients runs the check as both panes do: the button off and the
// summary saying so while the agent answers. inputs() gives the recipients
// (the pane may read more from Office on the way); state.mobiles goes with
// them. The answer goes to state.report (and state.agentOK is then true),
// checked(list) shows it, and the retursvar pickers (reply) load the first
// time. absent(message) shows that the agent cannot be reached; done() runs
// last, however it went.
export async function checkRecipients({ state, inputs, checked, reply, absent, done }) {
  $('check').disabled = true;
  $('summary').textContent = 'Kontrollerer modtagere …';
  $('summary').className = 'summary';
  try {
    const list = await inputs();
    const body = { recipients: list };
    if (Object.keys(state.mobiles).length) body.mobiles = state.mobiles;
    state.report = await api('POST', '/api/v1/recipients/check', body);
    state.agentOK = true;
    showAlert('');
    checked(list);
    if (!reply.mailboxes) await reply.load();
  } catch (e) {
    if (unreachable(e)) absent(e.message);
    else {
      showAlert(e.message || 'Kontrollen mislykkedes.', 'error');
      $('summary').textContent = 'Modtagerne er ikke kontrolleret.';
    }
  } finally {
    $('check').disabled = false;
    done();
  }
}

// exemptOf lists the recipients exempt from Digital Post in a check: they
// can only get a letter via OneTooX.
export function exemptOf(report) {
  return report ? report.results.filter((r) => r.channel === 'print') : [];
}

// showSummary shows the check's summary and, when someone is exempt, the
// letter offer; what is what the letter carries ("mailen", "dokumentet").
// Unless busy (sending or sent), the pane's state follows the check.
export function showSummary(report, what, busy) {
  $('summary').textContent = report.message;
  $('summary').className = 'summary ' + (report.allSecure ? 'ok' : 'bad');
  const exempt = exemptOf(report);
  $('fallback').hidden = exempt.length === 0;
  if (exempt.length) {
    const names = exempt.map((r) => r.name || r.input).join(', ');
    $('fallback-who').textContent = `${names} kan ikke modtage Digital Post. Du kan sende ${what} som et brev med almindelig post via OneTooX. Brevet printes og sendes af KMD.`;
  }
  if (!busy) setState(report.allSecure ? 'checked' : exempt.length ? 'exempt' : 'not-secure');
}

// notSecure says why the checked recipients cannot all be sent to securely
// ('' when they can); an exempt one may get a letter when the clerk chose it.
export function notSecure(report, letter) {
  for (const r of report.results) {
    if (r.secure) continue;
    if (r.channel === 'print' && letter) continue;
    return r.channel === 'print' ? 'Vælg Send som brev via OneTooX, eller fjern modtageren.' : 'Der kan ikke sendes sikkert til alle modtagere.';
  }
  return '';
}

// ReplyPickers are the Digitalpost retursvar pickers: mailboxes is the
// agent's answer once loaded (null until then); a pick goes to the agent
// (and Outlook's roaming settings) at once.
export class ReplyPickers {
  constructor() {
    this.mailboxes = null;
    for (const kind of ['citizen', 'company']) {
      $('reply-' + kind).addEventListener('change', (e) => this.pick(kind, e.target.value));
    }
  }

  // load fills the pickers; when the agent cannot be reached it throws.
  async load() {
    try {
      this.mailboxes = await replyMailboxes();
      fillPicker($('reply-citizen'), this.mailboxes.citizen);
      fillPicker($('reply-company'), this.mailboxes.company);
    } catch (e) {
      if (unreachable(e)) throw e;
      showAlert(e.message, 'warning');
    }
  }

  async pick(kind, id) {
    try {
      this.mailboxes = await setReplyMailbox(kind, id);
      showAlert('');
    } catch (e) {
      showAlert(e.message, 'error');
    }
  }

  // chosen is the message's replyMailbox.
  chosen() {
    return { citizen: $('reply-citizen').value, company: $('reply-company').value };
  }
}

// notSent shows a send that stopped with the error e. One the agent turned
// down, or that failed before it reached the agent, is over: a new attempt
// is a new send (state.key goes). When the agent cannot be reached,
// absent(message) shows it; otherwise the message bar says that nothing
// was sent and the pane goes to stateName (default "not-sent").
export function notSent(e, state, absent, stateName = 'not-sent') {
  state.sending = false;
  if (!(e instanceof AgentError) || e.status >= 400) state.key = null;
  progress(null, 'Ikke sendt');
  if (unreachable(e)) {
    absent(e.message);
    return;
  }
  showAlert(/Der er ikke sendt noget/.test(e.message) ? e.message : e.message + ' Der er ikke sendt noget.', 'error');
  setState(stateName);
}

export function progress(pct, text) {
  $('progress-text').textContent = text;
  $('progress-pct').textContent = pct === null ? '' : pct + ' %';
  const bar = $('progress-bar');
  bar.setAttribute('aria-valuenow', String(pct || 0));
  bar.querySelector('.progress-fill').style.width = (pct || 0) + '%';
}

export const STATUS_TEXT = {
  queued: 'I kø', sending: 'Sendes', delivered: 'Leveret', printed: 'Sendt som brev', 'needs-fallback': 'Kræver et valg', failed: 'Mislykkedes',
};

// showDelivery shows a message's status: a line for each recipient (the
// agent's words, else texts[status]) and the events with their times.
export function showDelivery(st, texts = STATUS_TEXT) {
  $('delivery').replaceChildren(...st.recipients.map((r) => {
    const done = r.status === 'delivered' || r.status === 'printed';
    const bad = r.status === 'failed' || r.status === 'needs-fallback';
    return line(done ? true : bad ? false : null, r.message || texts[r.status] || r.status, r.input);
  }));
  $('events').replaceChildren(...(st.events || []).map((e) => {
    const li = document.createElement('li');
    const t = document.createElement('time');
    t.dateTime = e.at;
    t.textContent = danishTime(e.at);
    li.append(t, ' ', e.what);
    return li;
  }));
}
