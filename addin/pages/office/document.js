// The open document, read through Office.js (getFileAsync in slices of at
// most 4 MB), and its resumable upload to the agent: each slice is PUT as
// it comes from Office; when the connection drops, the agent says which
// slice it needs next and the upload goes on from there. The Office File
// is always closed, whatever happens (Office allows only two open).
import { AgentError, UNREACHABLE, agentBase, api, authedFetch, hasToken } from '../api.js';

export const MAX_BYTES = 104_333_312; // 99.5 MB, relay.MaxAttachmentBytes
export const SLICE = 4 << 20; // Office's largest slice
const RETRIES = 5;

const TYPES = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  docm: 'application/vnd.ms-word.document.macroEnabled.12',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xlsm: 'application/vnd.ms-excel.sheet.macroEnabled.12',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  pptm: 'application/vnd.ms-powerpoint.presentation.macroEnabled.12',
  pdf: 'application/pdf',
};
const NATIVE = { Word: 'docx', Excel: 'xlsx', PowerPoint: 'pptx' };

// OfficeError is a failure on Office's side, worded for the clerk.
export class OfficeError extends Error {}

export function formatSize(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1).replace('.', ',') + ' MB';
  if (n >= 1024) return Math.round(n / 1024) + ' kB';
  return n + ' byte';
}

export function host(info) {
  const h = (info && info.host) || (Office.context && Office.context.host) || '';
  return { Word: 'Word', Excel: 'Excel', PowerPoint: 'PowerPoint', Document: 'Word', Workbook: 'Excel', Presentation: 'PowerPoint' }[h] || 'Word';
}

// name is the document's file name from its URL or path; '' while a new
// document has never been saved.
export function name() {
  const url = (Office.context.document && Office.context.document.url) || '';
  const base = decodeURIComponent(url.split(/[\\/]/).pop() || '').split(/[?#]/)[0];
  return base;
}

// target is the file name and type the recipient gets.
export function target(docName, format, hostName) {
  const stem = docName.replace(/\.[^.]*$/, '') || 'Dokument';
  const ext = format === 'pdf' ? 'pdf' : ((/\.([^.]+)$/.exec(docName) || [])[1] || NATIVE[hostName] || 'docx').toLowerCase();
  return { filename: stem + '.' + ext, contentType: TYPES[ext] || 'application/octet-stream' };
}

function officeCall(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn(...args, (r) => {
      if (r.status === Office.AsyncResultStatus.Succeeded) resolve(r.value);
      else reject(r.error || new Error('Office svarede ikke.'));
    });
  });
}

async function openFile(format) {
  const type = format === 'pdf' ? Office.FileType.Pdf : Office.FileType.Compressed;
  try {
    return await officeCall(Office.context.document.getFileAsync.bind(Office.context.document), type, { sliceSize: SLICE });
  } catch (e) {
    if (e && (e.code === 11001 || /memory|large|stor/i.test(e.message || ''))) {
      throw new OfficeError('Dokumentet er for stort til, at Office kan aflevere det. Digital Post tillader højst 99,5 MB. Gør dokumentet mindre, fx ved at komprimere billeder, og prøv igen. Der er ikke sendt noget.');
    }
    throw new OfficeError(
      (format === 'pdf' ? 'Office kunne ikke lave en PDF af dokumentet' : 'Office kunne ikke aflevere dokumentet') +
      (e && e.message ? ` (${e.message})` : '') + '. Luk eventuelle dialogbokse i Office, og prøv igen. Der er ikke sendt noget.');
  }
}

async function slice(file, index) {
  try {
    const s = await officeCall(file.getSliceAsync.bind(file), index);
    return s.data instanceof Uint8Array ? s.data : new Uint8Array(s.data);
  } catch (e) {
    throw new OfficeError(`Office kunne ikke læse del ${index + 1} af dokumentet${e && e.message ? ` (${e.message})` : ''}. Prøv igen. Der er ikke sendt noget.`);
  }
}

// putSlice sends one slice as the raw request body.
async function putSlice(id, index, bytes) {
  let resp;
  try {
    // authedFetch: hosted, an expired token gets a fresh one and the
    // same slice again, so the upload resumes where it was.
    resp = await authedFetch(`${agentBase()}/api/v1/uploads/${encodeURIComponent(id)}/${index}`, {
      // A Blob, not the bytes: Chromium sends a typed-array body about ten
      // times slower (measured: 4 MB in 1.5–3 s against 0.15–0.3 s).
      method: 'PUT', body: new Blob([bytes]),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  } catch (e) {
    if (e instanceof AgentError) throw e;
    throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new AgentError(resp.status, data.error || 'error', data.message || `Fejl ${resp.status}`);
  return data;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const DRAFT = 'sendsikkertDraftId';

// draftId is this document's id for Send sikkert, kept in the document's
// own settings so it stays the same across sends: the agent and the relay
// send a document to each recipient once. '' where Office keeps none.
export async function draftId() {
  try {
    const s = Office.context.document.settings;
    let id = s.get(DRAFT);
    if (!id) {
      id = 'draft-' + crypto.randomUUID();
      s.set(DRAFT, id);
      await new Promise((resolve) => s.saveAsync(() => resolve()));
    }
    return id;
  } catch (e) {
    return '';
  }
}

// share reads the document in the chosen format and uploads it in slices.
// onProgress(sent, total) after each slice. Returns the upload's id and
// the file's name and size. Throws OfficeError or AgentError.
export async function share({ format, hostName, onProgress, onResume }) {
  if (!hasToken()) throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  const docName = name();
  if (!docName) {
    throw new OfficeError('Dokumentet er ikke gemt endnu. Gem det med et navn, og klik på Del sikkert igen. Der er ikke sendt noget.');
  }
  const { filename, contentType } = target(docName, format, hostName);
  const file = await openFile(format);
  let ahead = null; // { index, promise } of the slice read ahead
  try {
    if (file.size > MAX_BYTES) {
      throw new OfficeError(`Dokumentet fylder ${formatSize(file.size)}${format === 'pdf' ? ' som PDF' : ''}. Digital Post tillader højst 99,5 MB. Gør dokumentet mindre, fx ved at komprimere billeder, og prøv igen. Der er ikke sendt noget.`);
    }
    const up = await api('POST', '/api/v1/uploads', { filename, contentType, size: file.size });
    let view = up;
    let index = up.next || 0;
    let failures = 0;
    if (onProgress) onProgress(view.received || 0, file.size);
    // One slice is read ahead from Office while the previous one is sent.
    const read = (i) => {
      const p = ahead && ahead.index === i ? ahead.promise : slice(file, i);
      ahead = i + 1 < file.sliceCount ? { index: i + 1, promise: slice(file, i + 1) } : null;
      if (ahead) ahead.promise.catch(() => {}); // surfaces when it is used
      return p;
    };
    while (index < file.sliceCount) {
      const bytes = await read(index);
      try {
        view = await putSlice(up.id, index, bytes);
        failures = 0;
        index = view.next;
        if (onProgress) onProgress(view.received, file.size);
      } catch (e) {
        // A refusal is final; a dropped connection or a slice the agent
        // did not get whole is retried from where the agent says.
        const retry = e.code === 'agent_unreachable' || e.code === 'slice_incomplete' || e.status >= 500;
        if (!retry || ++failures > RETRIES) throw e;
        await sleep(200 * 2 ** (failures - 1));
        try {
          view = await api('GET', '/api/v1/uploads/' + encodeURIComponent(up.id));
        } catch (e2) {
          if (e2.code === 'agent_unreachable') continue; // try the same slice again
          throw e2;
        }
        index = view.next;
        if (onResume) onResume(index);
        if (onProgress) onProgress(view.received, file.size);
      }
    }
    if (!view.complete) {
      throw new AgentError(0, 'upload_incomplete', 'Dokumentet blev ikke modtaget helt. Prøv igen. Der er ikke sendt noget.');
    }
    return { uploadId: up.id, filename, size: file.size };
  } finally {
    if (ahead) await ahead.promise.catch(() => {});
    await officeCall(file.closeAsync.bind(file)).catch(() => {});
  }
}
