// The Send sikkert button (a function command, no UI of its own). When
// every recipient is checked and secure it sends at once: a notification
// in the mail, then the draft is closed. Otherwise it points to the pane.
import { api, AgentError } from '../api.js';
import * as mail from './mail.js';
import { replyMailboxes } from '../replymailboxes.js';

const NOTE = 'sendsikkert';
const PANE_COMMAND = 'sendsikkertCheckButton';

function notify(type, message, openPane) {
  return new Promise((resolve) => {
    const it = mail.item();
    const T = Office.MailboxEnums.ItemNotificationMessageType;
    const opts = { type: T[type], message: message.slice(0, 150) };
    if (type === 'InformationalMessage') opts.persistent = false;
    if (openPane && mail.supported('1.10')) {
      // An insight message carries a button that opens the task pane.
      opts.type = T.InsightMessage;
      opts.actions = [{ actionType: Office.MailboxEnums.ActionType.ShowTaskPane, actionText: 'Åbn Send sikkert', commandId: PANE_COMMAND, contextData: '{}' }];
      delete opts.persistent;
    }
    it.notificationMessages.replaceAsync(NOTE, opts, () => resolve());
  });
}

async function sendSecure(event) {
  try {
    await notify('ProgressIndicator', 'Send sikkert kontrollerer modtagerne …');
    const recipients = await mail.recipients();
    if (recipients.length === 0) {
      await notify('ErrorMessage', 'Der er ingen modtagere. Skriv et CPR- eller CVR-nummer i Til.');
      return;
    }
    const subject = await mail.subject();
    if (SendsikkertCPR.containsCPR(subject, new Date())) {
      await notify('ErrorMessage', 'Emnet ser ud til at indeholde et CPR-nummer. Fjern det fra emnet, og send igen.', true);
      return;
    }
    const rep = await api('POST', '/api/v1/recipients/check', { recipients: recipients.map((r) => r.input) });
    if (!rep.allSecure) {
      await notify('ErrorMessage', 'Ikke alle modtagere kan nås sikkert. Åbn Send sikkert for at se hvorfor.', true);
      return;
    }
    const att = await mail.attachments();
    if (att.problems.length) {
      await notify('ErrorMessage', att.problems[0], true);
      return;
    }
    const mc = await replyMailboxes();
    await notify('ProgressIndicator', 'Sender sikkert …');
    const { id } = await mail.send({
      inputs: recipients.map((r) => r.input),
      reply: { citizen: mc.citizen.selected, company: mc.company.selected },
      idempotencyKey: mail.newKey(),
    });
    await notify('InformationalMessage', 'Mailen er lagt i Send sikkert og sendes som Digital Post. Kladden lukkes.');
    window.sendsikkertLastSend = id; // for the browser tests
    await mail.closeDraft();
  } catch (e) {
    const msg = e instanceof AgentError ? e.message : 'Mailen kunne ikke sendes sikkert: ' + (e.message || 'ukendt fejl') + ' Der er ikke sendt noget.';
    await notify('ErrorMessage', msg, !(e instanceof AgentError && e.code === 'agent_unreachable'));
  } finally {
    event.completed();
  }
}

Office.onReady(() => {
  Office.actions.associate('sendSecure', sendSecure);
});
