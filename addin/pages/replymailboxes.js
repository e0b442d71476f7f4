// The Digitalpost retursvar choice, shared by the Outlook and Del sikkert
// panes and the Send sikkert command: the agent remembers it, and where
// Office has roamingSettings (Outlook) they mirror it, so the choice
// follows the clerk to another pc.
import { api } from './api.js';

const ROAMING = { citizen: 'sendsikkert.replyCitizen', company: 'sendsikkert.replyCompany' };

export function roamingChoice() {
  try {
    const rs = Office.context.roamingSettings;
    return { citizen: rs.get(ROAMING.citizen) || '', company: rs.get(ROAMING.company) || '' };
  } catch (e) {
    return { citizen: '', company: '' };
  }
}

export function saveRoamingChoice(choice) {
  try {
    const rs = Office.context.roamingSettings;
    if (choice.citizen) rs.set(ROAMING.citizen, choice.citizen);
    if (choice.company) rs.set(ROAMING.company, choice.company);
    rs.saveAsync(() => {});
  } catch (e) {
    // Roaming is a convenience; the agent keeps the choice either way.
  }
}

// replyMailboxes loads the pickers' options and settles the choice: the
// roamed one wins when the agent offers it (and the agent learns it).
export async function replyMailboxes() {
  const mc = await api('GET', '/api/v1/reply-mailboxes');
  const roamed = roamingChoice();
  const pick = {};
  for (const kind of ['citizen', 'company']) {
    const g = mc[kind];
    if (roamed[kind] && g.options.some((o) => o.id === roamed[kind]) && roamed[kind] !== g.selected) {
      pick[kind] = roamed[kind];
      g.selected = roamed[kind];
    }
  }
  if (pick.citizen || pick.company) {
    await api('PUT', '/api/v1/reply-mailboxes', pick).catch(() => {});
  }
  saveRoamingChoice({ citizen: mc.citizen.selected, company: mc.company.selected });
  return mc;
}

export async function setReplyMailbox(kind, id) {
  const mc = await api('PUT', '/api/v1/reply-mailboxes', { [kind]: id });
  saveRoamingChoice({ [kind]: id });
  return mc;
}

