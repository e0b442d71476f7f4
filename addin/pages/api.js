// The pages' one way to the agent's local API. The CSRF token comes from
// the page the agent served; the base URL is the page's own origin unless
// configuration says otherwise (pages hosted by the relay name the agent).
const meta = document.querySelector('meta[name="sendsikkert-csrf"]');

export class AgentError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function agentBase() {
  const configured = document.querySelector('meta[name="sendsikkert-agent"]');
  return configured ? configured.content.replace(/\/$/, '') : window.location.origin;
}

export async function api(method, path, body) {
  const headers = { 'X-Sendsikkert-CSRF': meta ? meta.content : '' };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(agentBase() + path, { method, headers, body: payload, credentials: 'omit' });
  } catch (e) {
    throw new AgentError(0, 'agent_unreachable',
      'Send sikkert-programmet på din pc svarer ikke. Start Send sikkert, og prøv igen. Der er ikke sendt noget.');
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    throw new AgentError(resp.status, data.error || 'error', data.message || `Fejl ${resp.status}`);
  }
  return data;
}
