// A message's way to its recipients as the agent reports it, shared by
// the Outlook and Del sikkert panes.
import { api } from './api.js';

export const FINAL = ['delivered', 'printed', 'failed', 'needs-fallback'];

// follow polls a message's status until it is final; onStatus sees each.
export async function follow(id, onStatus, intervalMs = 700) {
  for (;;) {
    const st = await api('GET', '/api/v1/messages/' + encodeURIComponent(id));
    onStatus(st);
    if (FINAL.includes(st.status)) return st;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}


const MONTHS = ['jan.', 'feb.', 'mar.', 'apr.', 'maj', 'jun.', 'jul.', 'aug.', 'sep.', 'okt.', 'nov.', 'dec.'];

// danishTime writes a time as clerks read it, in Danish local time:
// "3. dec. 2026 kl. 14.05". '' for no time.
export function danishTime(at) {
  const d = new Date(at);
  if (!at || Number.isNaN(d.getTime())) return '';
  const parts = {};
  for (const p of new Intl.DateTimeFormat('da-DK', {
    timeZone: 'Europe/Copenhagen', year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(d)) parts[p.type] = p.value;
  return `${Number(parts.day)}. ${MONTHS[Number(parts.month) - 1]} ${parts.year} kl. ${parts.hour}.${parts.minute}`;
}

// CHANNEL_SENT is what a reached copy is, by its channel: never Digital
// Post's words for a mail that went another way.
const CHANNEL_SENT = {
  digitalpost: 'sendt som Digital Post',
  print: 'sendt som brev (OneTooX)',
  tunnelmail: 'sendt krypteret (tunnelmail)',
  securemailbox: 'sendt som link til sikker mailboks — koden kommer på SMS',
};

// outcome words a final status for the message bar: what is the thing
// sent ("Mailen", "»Afgørelse.pdf«"). kind is 'success' only when every
// recipient was reached, so an error and a success are never shown for
// the same send.
export function outcome(st, what) {
  const reached = st.recipients.filter((r) => r.status === 'delivered' || r.status === 'printed');
  if (reached.length !== st.recipients.length) {
    return { kind: 'error', text: `${what} nåede ikke alle modtagere. Årsagen står ved hver modtager herunder.` };
  }
  const how = [...new Set(reached.map((r) => (r.status === 'printed' ? 'print' : r.channel)))];
  const text = how.length === 1 && CHANNEL_SENT[how[0]]
    ? `${what} er ${CHANNEL_SENT[how[0]]}.`
    : `${what} er sendt sikkert: ${how.map((c) => CHANNEL_SENT[c] || c).join(', ')}.`;
  return { kind: 'success', text };
}

// sendNotes says what the agent did besides sending: recipients the draft
// had reached before ("Allerede sendt til: …") and entries merged because
// they named the same recipient. '' when none.
export function sendNotes(res) {
  const notes = [];
  if (res.alreadySent && res.alreadySent.length) notes.push(`Allerede sendt til: ${res.alreadySent.join(', ')}. De får ikke brevet igen.`);
  if (res.merged && res.merged.length) notes.push(`Samme modtager flere gange: ${res.merged.map((m) => `${m.input} (som ${m.sameAs})`).join(', ')} får kun ét brev.`);
  return notes.join(' ');
}

// watchFacts shows "Læst" and "Besvaret" under a delivered send while the
// pane is open: the agent answers from one batched question to the relay
// (at most every 20 seconds), never one per message; pages the relay
// serves ask it directly for their own sends. after is the element the
// line goes below.
export function watchFacts(id, after, everyMs = 20_000) {
  const p = document.createElement('p');
  p.id = 'facts';
  p.className = 'hint';
  p.setAttribute('role', 'status');
  after.after(p);
  const look = async () => {
    try {
      const { facts } = await api('GET', '/api/v1/messages/facts?ids=' + encodeURIComponent(id));
      const f = facts.find((x) => x.id === id);
      if (!f) return;
      const parts = [];
      if (f.read) parts.push(`Læst ${danishTime(f.read)}`);
      if (f.replied) parts.push(`Besvaret ${danishTime(f.replied)}`);
      p.textContent = parts.join(' · ');
    } catch (e) {
      // Facts are extra; the delivery stands as shown.
    }
  };
  look();
  return setInterval(look, everyMs);
}
