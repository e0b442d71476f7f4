// The Outlook manifest as IT gets it: served by the real agent, and written
// by `sendsikkert manifest outlook`. Its structure is tested in Go
// (internal/manifest); here every URL in it must answer 200 from the agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, agentBinary } from './harness.js';

let agent;
before(async () => { agent = await Agent.start(); });
after(async () => { await agent?.stop(); });

test('served manifest: every URL answers 200 from the agent', async () => {
  const r = await agent.get('/addin/outlook.xml');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^application\/xml/);
  assert.match(r.body, /xsi:type="MailApp"/);
  const urls = [...new Set(r.body.match(/https:\/\/[^"<\s]+/g))].filter((u) => u !== agent.base);
  assert.ok(urls.length >= 9, urls.join('\n'));
  for (const u of urls) {
    assert.ok(u.startsWith(agent.base + '/addin/'), u);
    const res = await agent.get(u.slice(agent.base.length));
    assert.equal(res.status, 200, u);
    if (u.endsWith('.png')) assert.equal(res.headers['content-type'], 'image/png', u);
    if (u.endsWith('.html')) assert.match(res.headers['content-type'], /^text\/html/, u);
    if (u.endsWith('.js')) assert.match(res.headers['content-type'], /javascript/, u);
  }
});

test('sendsikkert manifest outlook --origin --out writes the same manifest for another origin', async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sendsikkert-bt-manifest-')), 'outlook.xml');
  execFileSync(agentBinary(), ['manifest', 'outlook', '--origin', 'https://relay.kommune.example:8443', '--out', out]);
  const written = fs.readFileSync(out, 'utf8');
  const served = (await agent.get('/addin/outlook.xml')).body;
  assert.equal(written, served.split(agent.base).join('https://relay.kommune.example:8443'));
  assert.throws(() => execFileSync(agentBinary(), ['manifest', 'outlook', '--origin', 'http://insecure.example', '--out', out], { stdio: 'pipe' }));
});
