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

let current = meta ? meta.content : '';

// token is the CSRF token the agent's API wants in X-Sendsikkert-CSRF;
// exported for the few calls that cannot go through api() (raw slices).
export function token() {
  return current;
}

// renewToken fetches the agent's current CSRF token. The agent makes a
// new one at every start, so a pane left open across a restart holds a
// stale one; the clerk should not have to reload the pane for that.
// True when a new token was found.
async function renewToken() {
  try {
    const resp = await fetch(agentBase() + '/csrf-token', { credentials: 'omit', cache: 'no-store' });
    if (!resp.ok) return false;
    const data = await resp.json();
    if (!data.token || data.token === current) return false;
    current = data.token;
    return true;
  } catch (e) {
    return false;
  }
}

// staleToken: the agent refused the token it gave out before a restart.
const staleToken = (status, data) => status === 403 && data && data.error === 'bad_csrf';

// hasToken reports whether this page was given the agent's key; pages
// served from anywhere but the agent itself are not (yet).
export function hasToken() {
  return token() !== '';
}

export async function api(method, path, body, renewed = false) {
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
  if (staleToken(resp.status, data) && !renewed && await renewToken()) {
    return api(method, path, body, true);
  }
  if (!resp.ok) {
    throw new AgentError(resp.status, data.error || 'error', data.message || `Fejl ${resp.status}`);
  }
  return data;
}

// upload POSTs a FormData with progress (fetch cannot report upload
// progress): onProgress(sent, total) as bytes go out.
export function upload(path, form, onProgress, renewed = false) {
  return new Promise((resolve, reject) => {
    if (!hasToken()) {
      reject(new AgentError(0, 'agent_unreachable', UNREACHABLE));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', agentBase() + path);
    xhr.setRequestHeader('X-Sendsikkert-CSRF', token());
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total); };
    xhr.onerror = () => reject(new AgentError(0, 'agent_unreachable', UNREACHABLE));
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
      } else if (staleToken(xhr.status, data) && !renewed) {
        renewToken().then((ok) => {
          if (ok) upload(path, form, onProgress, true).then(resolve, reject);
          else reject(new AgentError(xhr.status, data.error, data.message));
        });
      } else {
        const err = new AgentError(xhr.status, data.error || 'error', data.message || `Fejl ${xhr.status}`);
        err.recipients = data.recipients;
        reject(err);
      }
    };
    xhr.send(form);
  });
}
