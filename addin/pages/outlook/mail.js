// The compose item, read through Office.js, and the secure send built on
// the agent's API. Shared by the task pane and the Send sikkert command.
import { upload } from '../api.js';

export const LIMITS = { files: 10, bytes: 104_333_312 }; // relay.MaxAttachments, MaxAttachmentBytes

const FIELDS = [['to', 'Til'], ['cc', 'Cc'], ['bcc', 'Bcc']];

export function item() {
  return Office.context.mailbox.item;
}

export function supported(version) {
  try {
    return Office.context.requirements.isSetSupported('Mailbox', version);
  } catch (e) {
    return false;
  }
}

// call wraps an Office.js callback API in a promise.
function call(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn(...args, (r) => {
      if (r.status === Office.AsyncResultStatus.Succeeded) {
        resolve(r.value);
      } else {
        reject(new Error((r.error && r.error.message) || 'Outlook svarede ikke.'));
      }
    });
  });
}

// recipients: every address in To, Cc and Bcc, with the field it sits in.
// A CPR or CVR number typed in a field arrives as an unresolved address.
export async function recipients() {
  const out = [];
  for (const [field, label] of FIELDS) {
    const f = item()[field];
    if (!f) continue;
    const list = await call(f.getAsync.bind(f));
    for (const r of list) {
      const input = (r.emailAddress || r.displayName || '').trim();
      if (input) out.push({ field, label, input, displayName: r.displayName || input });
    }
  }
  return out;
}

export function subject() {
  return call(item().subject.getAsync.bind(item().subject));
}

export function bodyText() {
  return call(item().body.getAsync.bind(item().body), Office.CoercionType.Text);
}

// customProperties loads the item's custom properties (they stay with the
// draft: the Smart Alert's permission to send anyway, the draft's id);
// null where Outlook has none.
export async function customProperties() {
  const it = item();
  if (!it.loadCustomPropertiesAsync) return null;
  const props = await call(it.loadCustomPropertiesAsync.bind(it));
  return {
    get: (k) => props.get(k),
    set: (k, v) => props.set(k, v),
    remove: (k) => props.remove(k),
    save: () => call(props.saveAsync.bind(props)),
  };
}

export function bodyHtml() {
  return call(item().body.getAsync.bind(item().body), Office.CoercionType.Html);
}

export function closeDraft() {
  const it = item();
  if (supported('1.15') && it.closeAsync) {
    return call(it.closeAsync.bind(it), { discardItem: true });
  }
  if (it.close) it.close();
  return Promise.resolve();
}

const TYPES = {
  pdf: 'application/pdf', txt: 'text/plain', html: 'text/html', htm: 'text/html', xml: 'application/xml',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', tif: 'image/tiff', tiff: 'image/tiff',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  csv: 'text/csv', zip: 'application/zip', eml: 'message/rfc822', ics: 'text/calendar', msg: 'application/vnd.ms-outlook',
};

function contentType(name) {
  const ext = (name.split('.').pop() || '').toLowerCase();
  return TYPES[ext] || 'application/octet-stream';
}

export function formatSize(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1).replace('.', ',') + ' MB';
  if (n >= 1024) return Math.round(n / 1024) + ' kB';
  return n + ' byte';
}

// attachmentNames lists the names of all the draft's attachments, as the
// Smart Alert sees them.
export async function attachmentNames() {
  if (!supported('1.8') || !item().getAttachmentsAsync) return [];
  const list = await call(item().getAttachmentsAsync.bind(item()));
  return list.map((a) => a.name || '');
}

// attachments lists the draft's files with the problems that stop a send.
export async function attachments() {
  if (!supported('1.8') || !item().getAttachmentsAsync) {
    return { files: [], problems: [] };
  }
  const list = await call(item().getAttachmentsAsync.bind(item()));
  const files = list.filter((a) => !a.isInline);
  const problems = [];
  let total = 0;
  for (const a of files) {
    total += a.size || 0;
    if (a.attachmentType === 'cloud') {
      problems.push(`»${a.name}« er et link til en fil i skyen, ikke selve filen. Digital Post kan kun sende filer. Vedhæft filen som en kopi, og prøv igen.`);
    }
  }
  if (files.length > LIMITS.files) {
    problems.push(`Der er ${files.length} vedhæftede filer. Digital Post tillader højst ${LIMITS.files}. Fjern nogle, eller saml dem i én PDF.`);
  }
  if (total > LIMITS.bytes) {
    problems.push(`De vedhæftede filer fylder ${formatSize(total)}. Digital Post tillader højst 99,5 MB i alt.`);
  }
  return { files, problems };
}

function base64Bytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// fileBlob fetches one attachment's bytes from Outlook.
async function fileBlob(a) {
  const it = item();
  const c = await call(it.getAttachmentContentAsync.bind(it), a.id);
  switch (c.format) {
    case 'base64':
      return { name: a.name, blob: new Blob([base64Bytes(c.content)], { type: contentType(a.name) }) };
    case 'eml':
      return { name: /\.eml$/i.test(a.name) ? a.name : a.name + '.eml', blob: new Blob([c.content], { type: 'message/rfc822' }) };
    case 'iCalendar':
      return { name: /\.ics$/i.test(a.name) ? a.name : a.name + '.ics', blob: new Blob([c.content], { type: 'text/calendar' }) };
    default: // url: a cloud file with no bytes
      throw new Error(`»${a.name}« er et link til en fil i skyen, ikke selve filen. Vedhæft filen som en kopi, og prøv igen.`);
  }
}

const DRAFT = 'sendsikkertDraftId';

// draftId is this Outlook item's id for Send sikkert, kept in its custom
// properties so it stays the same across sends, panes and restarts: the
// agent and the relay use it to send a draft to each recipient once.
// '' where Outlook keeps no custom properties.
export async function draftId() {
  try {
    const props = await customProperties();
    if (!props) return '';
    let id = props.get(DRAFT);
    if (!id) {
      id = newKey().replace(/^outlook-/, 'draft-');
      props.set(DRAFT, id);
      await props.save();
    }
    return id;
  } catch (e) {
    return '';
  }
}

// send uploads the draft as one secure message and returns the agent's
// answer: the message id (none when the draft had reached every recipient
// before), alreadySent and merged.
// fields are the message's further fields (the secure mailbox's
// readDeadline and securityQuestion). onProgress(phase, sent, total):
// phase "read" while files come from Outlook, "upload" while bytes go to
// the agent.
export async function send({ inputs, reply, fallback, mobiles, fields, idempotencyKey, onProgress }) {
  const [subj, html, att, draft] = await Promise.all([subject(), bodyHtml(), attachments(), draftId()]);
  if (att.problems.length) throw new Error(att.problems.join(' '));
  const files = [];
  for (let i = 0; i < att.files.length; i++) {
    if (onProgress) onProgress('read', i, att.files.length);
    files.push(await fileBlob(att.files[i]));
  }
  const message = { recipients: inputs, subject: subj, bodyHtml: html, replyMailbox: reply, idempotencyKey };
  if (fallback) message.fallback = fallback;
  if (draft) message.draftId = draft;
  if (mobiles && Object.keys(mobiles).length) message.mobiles = mobiles;
  Object.assign(message, fields);
  const form = new FormData();
  form.append('message', new Blob([JSON.stringify(message)], { type: 'application/json' }));
  for (const f of files) form.append('attachment', f.blob, f.name);
  return upload('/api/v1/messages', form, (sent, total) => onProgress && onProgress('upload', sent, total));
}

export function newKey() {
  if (crypto.randomUUID) return 'outlook-' + crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'outlook-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
