// The pages' one way to their API. Served by the agent (classic Outlook,
// Word, Excel, PowerPoint on a PC with Send sikkert) they carry the agent's
// CSRF token and call its local API. Served by the relay (hostedAddin: new
// Outlook, Outlook on the web, Mac) the relay marks them with
// <meta name="sendsikkert-auth" content="entra">; they then sign the clerk
// in with Entra ID through Nested App Authentication and call the relay's
// page API with a bearer token — same paths, same JSON.
const meta = document.querySelector('meta[name="sendsikkert-csrf"]');
const authMeta = document.querySelector('meta[name="sendsikkert-auth"]');

// hosted reports whether the relay served this page.
export function hosted() {
  return !!authMeta && authMeta.content === 'entra';
}

// What the clerk reads when the agent (or, hosted, the relay) cannot be
// reached. A browser cannot tell "not running" from "certificate not
// trusted", so the agent's message names both.
export const UNREACHABLE = hosted()
  ? 'Send sikkert-serveren kan ikke nås lige nu. Prøv igen om lidt, eller kontakt IT. Der er ikke sendt noget.'
  : 'Send sikkert-programmet på din pc kan ikke nås. Det kører måske ikke, eller pc’en stoler ikke på dets certifikat. ' +
    'Start Send sikkert, eller kontakt IT, og prøv igen. Der er ikke sendt noget.';

// NOT_READY is why Send sikkert cannot be clicked while the API has not
// answered: from the agent, that it does not answer; hosted, that the
// message at the top says why.
export const NOT_READY = hosted() ? 'Send sikkert er ikke klar – se beskeden øverst.' : 'Send sikkert-programmet svarer ikke.';

const SIGN_IN_FAILED = 'Du kunne ikke logges ind på Send sikkert med din Microsoft-konto. Luk ruden, og prøv igen. Der er ikke sendt noget.';

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

function token() {
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
const staleToken = (status, code) => !hosted() && status === 403 && code === 'bad_csrf';

// hasToken reports whether this page has a way to authenticate: the
// agent's key, or (hosted) the Entra sign-in.
export function hasToken() {
  return hosted() || token() !== '';
}

// --- Entra sign-in (hosted pages only) ---

let configPromise = null;
let pcaPromise = null;

// addinConfig is the relay's {clientId, tenants, scope}: public on the
// relay; from the agent (which asks its policy relay) behind its CSRF token.
function addinConfig() {
  const url = hosted() ? agentBase() + '/v1/addin-config' : agentBase() + '/api/v1/addin-config';
  const headers = hosted() ? {} : { 'X-Sendsikkert-CSRF': token() };
  configPromise ??= fetch(url, { headers, credentials: 'omit', cache: 'no-store' })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`addin-config ${r.status}`))))
    .catch((e) => { configPromise = null; throw new AgentError(0, 'agent_unreachable', UNREACHABLE); });
  return configPromise;
}

// msalApp loads MSAL.js (vendored: no bundler, no third-party script host;
// see vendor/README.md) and makes the nestable client: inside Office it
// asks the host for tokens (NAA); elsewhere MSAL falls back to a popup.
function msalApp(cfg) {
  pcaPromise ??= (async () => {
    await import('./vendor/msal-browser.min.js'); // UMD: sets globalThis.msal
    const authority = 'https://login.microsoftonline.com/' + (cfg.tenants.length === 1 ? cfg.tenants[0] : 'organizations');
    return globalThis.msal.createNestablePublicClientApplication({
      auth: { clientId: cfg.clientId, authority },
      cache: { cacheLocation: 'sessionStorage' },
    });
  })().catch((e) => { pcaPromise = null; throw e; });
  return pcaPromise;
}

// tokenSource, when set, replaces MSAL: tests (and only tests) hand the
// page a function that gets a token from their own issuer.
let tokenSource = null;
export function setTokenSource(f) {
  tokenSource = f;
}

// accessToken is the pages' one token function: an Entra access token for
// the relay's page API, fresh (not from MSAL's cache) when asked.
export async function accessToken({ fresh = false } = {}) {
  const cfg = await addinConfig();
  // Hosted, the Application ID URI is api://<the pages' host>/<clientId>;
  // from the agent (localhost) the application is named by its client id.
  const scope = hosted() ? `api://${window.location.host}/${cfg.clientId}/${cfg.scope}` : `${cfg.clientId}/${cfg.scope}`;
  if (tokenSource) return tokenSource({ scope, fresh, config: cfg });
  let app;
  try {
    app = await msalApp(cfg);
  } catch (e) {
    throw new AgentError(0, 'sign_in_failed', SIGN_IN_FAILED);
  }
  const request = { scopes: [scope], forceRefresh: fresh };
  const account = app.getActiveAccount() || app.getAllAccounts()[0];
  try {
    if (account) return (await app.acquireTokenSilent({ ...request, account })).accessToken;
    return (await app.ssoSilent(request)).accessToken;
  } catch (e) {
    try {
      const r = await app.acquireTokenPopup(request);
      app.setActiveAccount(r.account);
      return r.accessToken;
    } catch (e2) {
      throw new AgentError(0, 'sign_in_failed', SIGN_IN_FAILED);
    }
  }
}

// authHeaders are the headers that say who is asking.
export async function authHeaders({ fresh = false } = {}) {
  if (hosted()) return { Authorization: 'Bearer ' + (await accessToken({ fresh })) };
  return { 'X-Sendsikkert-CSRF': token() };
}

// authedFetch is fetch with authHeaders; hosted, a 401 (an expired or
// revoked token) gets one fresh token and one retry, so an upload or a
// send in progress is not lost to a token that ran out.
export async function authedFetch(url, init = {}) {
  const go = async (fresh) => fetch(url, { ...init, credentials: 'omit', cache: 'no-store', headers: { ...(init.headers || {}), ...(await authHeaders({ fresh })) } });
  let resp = await go(false);
  if (resp.status === 403 && !hosted()) {
    const data = await resp.clone().json().catch(() => ({}));
    if (staleToken(resp.status, data.error) && await renewToken()) resp = await go(false);
  }
  if (hosted() && resp.status === 401) {
    const data = await resp.clone().json().catch(() => ({}));
    if (data.error !== 'tenant_not_enabled') resp = await go(true);
  }
  return resp;
}

// --- Zero-touch enrolment (pages served by a not yet enrolled agent) ---

export const ENROLLING = 'Send sikkert tilmelder din pc til organisationens relæ med din Microsoft-konto. Det tager et øjeblik; ruden genindlæses bagefter. Der er ikke sendt noget.';

let enrolling = null;

// enrolAgent is the classic pages' first use on a PC whose agent waits for
// enrolment: the clerk's Entra token goes to the agent, which enrols to
// the relay IT chose and goes on enrolled in the same process (same port,
// same CSRF token); the pane then reloads to leave the waiting view. Once
// per page.
function enrolAgent() {
  enrolling ??= (async () => {
    const tok = await accessToken();
    const resp = await fetch(agentBase() + '/api/v1/enroll', {
      method: 'POST', credentials: 'omit', cache: 'no-store',
      headers: { 'Content-Type': 'application/json', 'X-Sendsikkert-CSRF': token() },
      body: JSON.stringify({ accessToken: tok }),
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok && data.error !== 'already_enrolled') {
      throw new AgentError(resp.status, data.error || 'enroll_failed', data.message || `Fejl ${resp.status}`);
    }
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const h = await fetch(agentBase() + '/healthz', { cache: 'no-store', credentials: 'omit' }).then((r) => r.json()).catch(() => ({}));
      if (h.status === 'ok') {
        window.location.reload();
        return;
      }
    }
  })().catch((e) => { enrolling = null; throw e; });
  return enrolling;
}

export async function api(method, path, body) {
  if (path.startsWith('/api/') && !hasToken()) {
    throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  }
  const headers = {};
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await authedFetch(agentBase() + path, { method, headers, body: payload });
  } catch (e) {
    if (e instanceof AgentError) throw e;
    throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  }
  const data = await resp.json().catch(() => ({}));
  if (!hosted() && resp.status === 503 && data.error === 'not_enrolled') {
    // Enrols and reloads the pane; a refusal reaches the clerk in the
    // agent's or the relay's words.
    await enrolAgent();
    throw new AgentError(503, 'not_enrolled', ENROLLING);
  }
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
// total) as bytes go out. Hosted, a 401 gets one fresh token and one retry.
export async function upload(path, form, onProgress, contentType) {
  if (!hasToken()) throw new AgentError(0, 'agent_unreachable', UNREACHABLE);
  try {
    return await uploadOnce(path, form, onProgress, await authHeaders(), contentType);
  } catch (e) {
    if (e instanceof AgentError && staleToken(e.status, e.code) && await renewToken()) {
      return uploadOnce(path, form, onProgress, await authHeaders());
    }
    if (!(hosted() && e instanceof AgentError && e.status === 401 && e.code !== 'tenant_not_enabled')) throw e;
    return uploadOnce(path, form, onProgress, await authHeaders({ fresh: true }), contentType);
  }
}

function uploadOnce(path, form, onProgress, headers, contentType) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', agentBase() + path);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
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
