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

