// "Send alligevel" after a Smart Alert, where the organisation allows it.
// Outlook's own Send alligevel button tells the add-in nothing, so the
// alert's "Åbn Send sikkert" button opens the pane, and this section takes
// the clerk's reason: the agent (through the relay), or the relay itself
// for pages it serves, records it in the organisation's audit log, and the
// item gets a custom property that lets the next ordinary send through
// (launchevent.js reads and removes it). The agent or the relay decides
// whether this is allowed; the pane only offers it.
import { api } from '../api.js';
import * as mail from './mail.js';

const $ = (id) => document.getElementById(id);

// findingsNow scans the mail as the Smart Alert does.
async function findingsNow() {
  const [subject, body, att] = await Promise.all([mail.subject(), mail.bodyText(), mail.attachmentNames()]);
  return SendsikkertCPR.findings(subject, body, att, new Date());
}

// offerOverride shows the section when the mail holds what the Smart
// Alert stops and this PC may send anyway (settings.smartAlertSendAnyway).
export async function offerOverride(settings) {
  if (!settings || !settings.smartAlertSendAnyway || !settings.smartAlert) return;
  const found = await findingsNow();
  if (found.length === 0) return;
  $('override-found').textContent = SendsikkertCPR.alertText(found, false).replace(/ Brug Send sikkert\.$/, '.');
  $('override').hidden = false;
  $('override-record').addEventListener('click', () => record().catch((e) => say(e.message || 'Begrundelsen kunne ikke gemmes.', true)));
}

function say(text, bad) {
  const p = $('override-done');
  p.textContent = text;
  p.className = bad ? 'field-error' : 'ok';
  p.focus();
}

async function record() {
  const reason = $('override-reason').value.trim();
  if (!reason) {
    say('Skriv en begrundelse først.', true);
    $('override-reason').focus();
    return;
  }
  const found = await findingsNow();
  if (found.length === 0) {
    say('Mailen indeholder ikke længere et CPR-nummer. Du kan sende den som almindelig mail.', false);
    return;
  }
  $('override-record').disabled = true;
  try {
    const res = await api('POST', '/api/v1/smart-alert/override', {
      reason, subject: await mail.subject(), findings: found.map((f) => ({ masked: f.masked, where: f.where })),
    });
    const props = await mail.customProperties();
    if (!props) throw new Error('Outlook kan ikke gemme tilladelsen på mailen. Brug Send sikkert.');
    props.set(SendsikkertCPR.OVERRIDE, res.at);
    await props.save();
    say('Begrundelsen er gemt i organisationens log. Tryk Send i Outlook igen inden for 30 minutter; mailen sendes da som almindelig mail.', false);
  } catch (e) {
    $('override-record').disabled = false;
    throw e;
  }
}
