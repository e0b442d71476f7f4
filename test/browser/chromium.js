// Debian's Chromium for the browser suites (test/browser, test/office,
// test/securemailbox), driven through playwright-core (never a downloaded
// browser): launch with a throwaway profile, pages that record every error,
// screenshots, axe-core, and Office.js built on office-addin-mock.
//
// Node built-ins only. Each suite installs its own node_modules (npm ci in
// its folder), and Node resolves a bare import from the importing file's
// folder, so this file imports no package: the functions that need one
// take the suite's `require` (createRequire(import.meta.url) in the suite's
// own file), and the suite's package.json names what they load:
// playwright-core (launch), axe-core (axe), office-addin-mock (officeShim).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { repo } from './agent.js';

export const CHROMIUM = process.env.SENDSIKKERT_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = path.join(repo, 'test-output', 'screenshots');
export const OFFICE_JS = 'https://appsforoffice.microsoft.com/lib/1/hosted/office.js';

// launch starts Chromium headless in Danish with a profile that goes on
// close. pins are base64 SPKI hashes of the keys it trusts besides its
// own store (the agent's leaf, a stand-in CDN's); args are added to the
// command line; options go to launchPersistentContext (the default
// viewport is a task pane's).
export async function launch(require, { pins = [], args = [], ...options } = {}) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 360, height: 900 }, // an Office task pane
    locale: 'da-DK',
    ...options,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(pins.length ? [`--ignore-certificate-errors-spki-list=${pins.join(',')}`] : []), ...args],
  });
  const close = context.close.bind(context);
  context.close = async () => { await close(); fs.rmSync(profile, { recursive: true, force: true }); };
  return context;
}

// openPage opens a page that records in page.errors every page error and
// console error (with the URL it came from); the tests expect none (the
// pages name their icon, so Chromium asks for no /favicon.ico). office, if
// given, is the Office.js shim's configuration
// (window.__sendsikkertOffice).
export async function openPage(context, url, office) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    const from = (m.location() && m.location().url) || '';
    if (m.type() === 'error') page.errors.push(m.text() + ' ' + from);
  });
  if (office) await page.addInitScript((cfg) => { window.__sendsikkertOffice = cfg; }, office);
  await page.goto(url);
  return page;
}

// screenshot writes SCREENSHOTS/name.png (name may hold a folder).
export async function screenshot(page, name) {
  const file = path.join(SCREENSHOTS, name + '.png');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
}

const axeSources = new Map();

// axe runs axe-core in the page (evaluated over CDP, so the page's CSP
// stays as strict as in production) and returns serious/critical issues.
export async function axe(require, page) {
  const file = require.resolve('axe-core/axe.min.js');
  if (!axeSources.has(file)) axeSources.set(file, fs.readFileSync(file, 'utf8'));
  await page.evaluate(axeSources.get(file));
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

// officeShim is what Chromium gets in place of Office.js: office-addin-mock's
// CommonJS files in a tiny module loader (as window.__officeAddinMock), then
// the suite's shim file, which builds window.Office on OfficeMockObject.
// Built once per shim file.
const shims = new Map();
export function officeShim(require, shimFile) {
  if (shims.has(shimFile)) return shims.get(shimFile);
  const lib = path.join(path.dirname(require.resolve('office-addin-mock/package.json')), 'lib');
  // office-addin-manifest comes with office-addin-mock; resolve it from there.
  const { OfficeApp } = createRequire(path.join(lib, 'main.js'))('office-addin-manifest');
  const mods = ['main', 'officeMockObject', 'host', 'possibleErrors'].map((n) =>
    `'./${n}': function (module, exports, require) {\n${fs.readFileSync(path.join(lib, n + '.js'), 'utf8').replace(/\/\/# sourceMappingURL=.*/g, '')}\n}`);
  mods.push(`'office-addin-manifest': function (module, exports) { exports.OfficeApp = ${JSON.stringify(OfficeApp)}; }`);
  shims.set(shimFile, `(function () {
  var defs = {${mods.join(',\n')}};
  var cache = {};
  function req(name) {
    if (cache[name]) return cache[name].exports;
    var m = cache[name] = { exports: {} };
    defs[name](m, m.exports, req);
    return m.exports;
  }
  window.__officeAddinMock = req('./main');
})();
` + fs.readFileSync(shimFile, 'utf8'));
  return shims.get(shimFile);
}
