// Test harness of the Outlook suite: the real agent in demo mode
// (agent.js), Debian's Chromium trusting only the agent's leaf key (SPKI
// pin), and Office.js served from office-addin-mock (chromium.js, with this
// suite's packages) in place of Microsoft's CDN.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as chromium from './chromium.js';

export { Agent, agentBinary, repo } from './agent.js';
export { openPage, screenshot } from './chromium.js';

const require = createRequire(import.meta.url);
const shim = path.join(path.dirname(fileURLToPath(import.meta.url)), 'office-shim.js');

export async function launch(agent) {
  const context = await chromium.launch(require, { pins: [agent.spki] });
  await context.route(chromium.OFFICE_JS, (route) => route.fulfill({ status: 200, contentType: 'application/javascript', body: chromium.officeShim(require, shim) }));
  return context;
}

export const axe = (page) => chromium.axe(require, page);
