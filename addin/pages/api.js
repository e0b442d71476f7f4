// The pages' one way to the agent's local API. The CSRF token comes from
// the page the agent served; the base URL is the page's own origin unless
// configuration says otherwise (pages hosted by the relay name the agent).
const meta = document.querySelector('meta[name="sendsikkert-csrf"]');

// What the clerk reads when the agent cannot be reached. A browser cannot
// tell "not running" from "certificate not trusted", so it names both.
export const UNREACHABLE =
  'Send sikkert-programmet på din pc kan ikke nås. Det kører måske ikke, eller pc’en stoler ikke på dets certifikat. ' +
  'Start Send sikkert, eller kontakt IT, og prøv igen. Der er ikke sendt noget.';

export class AgentError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function agentBase() {
  const configured = document.querySelector('meta[name="sendsikkert-agent"]');
  return configured && configured.content ? configured.content.replace(/\/$/, '') : window.location.origin;
}

function token() {
  return meta ? meta.content : '';
}

// hasToken reports whether this page was given the agent's key; pages
// served from anywhere but the agent itself are not (yet).
export function hasToken() {
  return token() !== '';
}

export async function api(method, path, body) {
  if (path.startsWith('/api/') && !hasToken()) {
    throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  }
  const headers = { 'X-Sendsikkert-CSRF': token() };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(agentBase() + path, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    throw new AgentError(resp.status, data.error || 'error', data.message || `Fejl ${resp.status}`);
  }
  return data;
}

// multipart builds a multipart/form-data body by hand, because FormData
// cannot give a part its own headers: the pictures of the body go as
// parts named "inline" with the Content-ID the body's cid: names.
// parts: [{ name, filename?, type?, contentId?, blob }].
export function multipart(parts) {
  const rnd = crypto.getRandomValues(new Uint8Array(12));
  const boundary = '----sendsikkert' + Array.from(rnd, (x) => x.toString(16).padStart(2, '0')).join('');
  const quote = (v) => String(v).replace(/"/g, '%22').replace(/[\r\n]/g, ' ');
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(p.name)}"`;
    if (p.filename !== undefined) head += `; filename="${quote(p.filename)}"`;
    head += `\r\nContent-Type: ${p.type || 'application/octet-stream'}\r\n`;
    if (p.contentId) head += `Content-ID: <${quote(p.contentId).replace(/[<>]/g, '')}>\r\n`;
    chunks.push(head + '\r\n', p.blob, '\r\n');
  }
  chunks.push(`--${boundary}--\r\n`);
  return { body: new Blob(chunks), contentType: 'multipart/form-data; boundary=' + boundary };
}

// upload POSTs a FormData (or a body from multipart with its contentType)
// with progress (fetch cannot report upload progress): onProgress(sent,
// total) as bytes go out.
export function upload(path, form, onProgress, contentType) {
  return new Promise((resolve, reject) => {
    if (!hasToken()) {
      reject(new AgentError(0, 'agent_unreachable', UNREACHABLE));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', agentBase() + path);
    xhr.setRequestHeader('X-Sendsikkert-CSRF', token());
    if (contentType) xhr.setRequestHeader('Content-Type', contentType);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total); };
    xhr.onerror = () => reject(new AgentError(0, 'agent_unreachable', UNREACHABLE));
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
      } else {
        const err = new AgentError(xhr.status, data.error || 'error', data.message || `Fejl ${xhr.status}`);
        err.recipients = data.recipients;
        reject(err);
      }
    };
    xhr.send(form);
  });
}
