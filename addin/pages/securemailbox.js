// Shared by the Outlook and Del sikkert panes: what the clerk adds for
// recipients reached through the secure mailbox — the mobile number for
// the one-time code, a read deadline and a security question. The relay
// decides who goes there (channel "securemailbox" in the check); the panes
// only ask for these details and hand them on.
import { line } from './lines.js';
import { api } from './api.js';

export const CHANNEL = 'securemailbox';

// The relay's limits (relay.Validate): a question of at most 200
// characters, an answer of at most 100, a deadline within a year.
const MAX_QUESTION = 200;
const MAX_ANSWER = 100;

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

// mobileForm asks for the mobile number of an e-mail recipient off the
// direct-addressing list: with it, the message goes to a secure mailbox
// and the one-time code to that number. mobiles is the pane's map
// (lower-cased address → number); recheck runs the check again with it.
function mobileForm(address, i, mobiles, recheck, remember = false) {
  const key = address.toLowerCase();
  const input = el('input', { id: `mobile-${i}`, type: 'tel', autocomplete: 'off', placeholder: '+45 12 34 56 78', value: mobiles[key] || '' });
  const label = el('label', { htmlFor: input.id, textContent: `Mobilnummer til ${address} (til engangskoden)` });
  const btn = el('button', { type: 'button', textContent: 'Brug nummeret' });
  btn.addEventListener('click', async () => {
    const v = input.value.trim();
    if (v) mobiles[key] = v;
    else delete mobiles[key];
    if (remember && v) {
      // A correction is remembered at once, not only at the next send.
      try {
        await api('PUT', '/api/v1/mobiles', { email: address, mobile: v });
      } catch (e) {
        // The number still goes with this send; the relay refuses a bad
        // one at the check, in its own words.
      }
    }
    await recheck();
    // The line was drawn anew: focus goes to its verdict, not to the top.
    const again = document.getElementById(`result-${i}`);
    if (again) again.focus();
  });
  return el('li', { className: 'result mobile' }, label, input, btn);
}

// rememberedMobile offers, under a recipient reached through a remembered
// mobile number, to correct it (the number form, prefilled with nothing:
// only the masked number is known here) or to remove it from the
// organisation's address book. Both check again.
function rememberedMobile(address, i, mobiles, recheck) {
  const key = address.toLowerCase();
  const fix = el('button', { type: 'button', textContent: 'Ret nummer', id: `mobile-fix-${i}` });
  const forget = el('button', { type: 'button', textContent: 'Glem nummeret', id: `mobile-forget-${i}` });
  const out = el('p', { className: 'hint', id: `mobile-note-${i}` });
  out.setAttribute('role', 'status');
  const li = el('li', { className: 'result mobile' }, fix, ' ', forget, out);
  fix.setAttribute('aria-label', `Ret nummer til ${address}`);
  forget.setAttribute('aria-label', `Glem nummeret til ${address}`);
  fix.addEventListener('click', () => {
    const form = mobileForm(address, i, mobiles, recheck, true);
    li.replaceWith(form);
    form.querySelector('input').focus();
  });
  forget.addEventListener('click', async () => {
    forget.disabled = true;
    try {
      await api('PUT', '/api/v1/mobiles', { email: address, mobile: '' });
      delete mobiles[key];
      await recheck();
      const again = document.getElementById(`result-${i}`);
      if (again) again.focus();
    } catch (e) {
      forget.disabled = false;
      out.textContent = e.message || 'Nummeret kunne ikke glemmes.';
    }
  });
  return li;
}

// resultLines is the check as lines in the clerks' words; an e-mail
// recipient that cannot be reached yet is followed by a form for its
// mobile number. who(result, i) names the recipient on its line.
export function resultLines(results, who, mobiles, recheck) {
  const out = [];
  results.forEach((res, i) => {
    const li = line(res.secure, res.message, who(res, i));
    li.id = `result-${i}`;
    li.tabIndex = -1; // focus target after "Brug nummeret"
    out.push(li);
    if (res.kind === 'email' && !res.secure) out.push(mobileForm(res.input, i, mobiles, recheck));
    if (res.kind === 'email' && res.secure && res.channel === CHANNEL) out.push(rememberedMobile(res.input, i, mobiles, recheck));
  });
  return out;
}

const pad = (n) => String(n).padStart(2, '0');
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

// rfc3339 writes a time with the PC's own UTC offset, as the clerk meant it.
export function rfc3339(t) {
  const off = -t.getTimezoneOffset();
  const a = Math.abs(off);
  return `${ymd(t)}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// endOfDay is the last second of a date input's day (YYYY-MM-DD), local time.
export function endOfDay(value) {
  const [y, m, d] = value.split('-').map(Number);
  const t = new Date(y, m - 1, d, 23, 59, 59);
  t.setFullYear(y); // years below 100 are not 19xx
  return t;
}

// Fields is the "Sikker mailboks" fieldset: an optional read deadline and
// an optional security question with its answer. It is built here, into
// the pane's empty <fieldset>, so both panes show the same one.
export class Fields {
  constructor(fieldset, onChange) {
    this.box = fieldset;
    this.shown = false;
    this.deadline = el('input', { type: 'date', id: 'sm-deadline' });
    this.question = el('input', { type: 'text', id: 'sm-question', maxLength: MAX_QUESTION, autocomplete: 'off' });
    this.answer = el('input', { type: 'text', id: 'sm-answer', maxLength: MAX_ANSWER, autocomplete: 'off', spellcheck: false });
    this.who = el('p', { id: 'sm-who', className: 'hint' });
    this.error = el('p', { id: 'sm-error', className: 'field-error', hidden: true });
    this.error.setAttribute('aria-live', 'polite');
    const hint = (id, text) => el('p', { id, className: 'hint', textContent: text });
    fieldset.replaceChildren(
      el('legend', { textContent: 'Sikker mailboks' }),
      this.who,
      el('div', { className: 'field' },
        el('label', { htmlFor: 'sm-deadline', textContent: 'Læst senest (valgfri)' }), this.deadline,
        hint('sm-deadline-hint', 'Du får besked, hvis modtageren ikke har åbnet beskeden, når dagen er omme.')),
      el('div', { className: 'field' },
        el('label', { htmlFor: 'sm-question', textContent: 'Kontrolspørgsmål (valgfrit)' }), this.question,
        hint('sm-question-hint', 'Modtageren skal svare rigtigt, før beskeden åbner. Spørg om noget, kun modtageren ved – ikke om CPR-nummeret.'),
        el('label', { htmlFor: 'sm-answer', textContent: 'Svar' }), this.answer),
      this.error);
    this.describe(this.deadline, 'sm-deadline-hint');
    this.describe(this.question, 'sm-question-hint');
    this.describe(this.answer, '');
    for (const f of [this.deadline, this.question, this.answer]) {
      // The error shows once the clerk leaves a field, and goes as soon as
      // it is put right; Send waits for it either way (onChange).
      f.addEventListener('change', () => { this.showProblem(); onChange(); });
      f.addEventListener('input', () => { if (!this.error.hidden) this.showProblem(); onChange(); });
    }
  }

  describe(input, hintId) {
    input.setAttribute('aria-describedby', (hintId ? hintId + ' ' : '') + 'sm-error');
  }

  // update shows the fieldset when a checked recipient goes to the secure
  // mailbox, and hides it (its values then unused) otherwise.
  update(results) {
    const names = (results || []).filter((r) => r.channel === CHANNEL).map((r) => r.input);
    this.shown = names.length > 0;
    this.box.hidden = !this.shown;
    this.who.textContent = `Gælder modtagere, der får beskeden i en sikker mailboks: ${names.join(', ')}.`;
    const now = new Date();
    this.deadline.min = ymd(now);
    this.deadline.max = ymd(new Date(now.getFullYear() + 1, now.getMonth(), now.getDate() - 1));
    if (!this.shown) this.showProblem(null);
  }

  set disabled(v) {
    this.box.disabled = v;
  }

  // read returns the message's fields and what is wrong with them, if
  // anything (then the fields must not be sent). Hidden: nothing to send.
  read(now = new Date()) {
    if (!this.shown) return { fields: {}, problem: null };
    const fields = {};
    const bad = (text, input) => ({ fields: {}, problem: { text, input } });
    if (this.deadline.validity.badInput) return bad('Skriv en hel dato i »Læst senest« – eller slet datoen.', this.deadline);
    if (this.deadline.value) {
      const t = endOfDay(this.deadline.value);
      const limit = new Date(now);
      limit.setFullYear(limit.getFullYear() + 1);
      if (t <= now) return bad('Datoen i »Læst senest« er overskredet. Vælg dags dato eller en senere dato – eller slet datoen.', this.deadline);
      if (t > limit) return bad('»Læst senest« kan højst ligge et år frem. Vælg en tidligere dato.', this.deadline);
      fields.readDeadline = rfc3339(t);
    }
    const q = this.question.value.trim();
    const a = this.answer.value.trim();
    if (q && !a) return bad('Skriv svaret på kontrolspørgsmålet – eller slet spørgsmålet. Modtageren skal svare rigtigt, før beskeden åbner.', this.answer);
    if (a && !q) return bad('Skriv kontrolspørgsmålet, som svaret hører til – eller slet svaret.', this.question);
    if (q && typeof SendsikkertCPR !== 'undefined' && SendsikkertCPR.containsCPR(q, now)) {
      return bad('Kontrolspørgsmålet ser ud til at indeholde et CPR-nummer. Spørg om noget andet.', this.question);
    }
    if (q) fields.securityQuestion = { question: q, answer: a };
    return { fields, problem: null };
  }

  // showProblem shows what read finds wrong (or the given problem) beside
  // the fields, and marks the field to put right.
  showProblem(problem = this.read().problem) {
    this.error.textContent = problem ? problem.text : '';
    this.error.hidden = !problem;
    for (const f of [this.deadline, this.question, this.answer]) {
      if (problem && problem.input === f) f.setAttribute('aria-invalid', 'true');
      else f.removeAttribute('aria-invalid');
    }
    return problem;
  }
}
