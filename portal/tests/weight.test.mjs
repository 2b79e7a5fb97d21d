// The first load of every screen, measured in the browser: every byte that crossed the network (headers
// and compressed bodies, API calls included) with a cold cache, held to 100 KB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, apiClient, launch, phone, logIn, settled, richCandidate, SCREENSHOTS } from './helpers.mjs';

const BUDGET = 100 * 1024;
let server; let api; let browser;

before(async () => {
  server = await startServer();
  api = apiClient(server.base);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens `path` in a new tab with the cache off and answers the bytes transferred, per resource too. */
async function firstLoad(context, path) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  const sizes = new Map();
  const encodings = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.responseReceived', (e) => encodings.set(e.requestId, e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || ''));
  cdp.on('Network.loadingFinished', (e) => sizes.set(e.requestId, e.encodedDataLength));
  await page.goto(`${server.base}${path}`);
  await settled(page);
  await page.waitForTimeout(200);
  const resources = [...sizes].map(([id, bytes]) => ({ url: urls.get(id).replace(server.base, ''), bytes, encoding: encodings.get(id) }));
  const total = resources.reduce((sum, r) => sum + r.bytes, 0);
  await page.close();
  return { total, resources };
}

test('the first load of every screen transfers at most 100 KB', async () => {
  const c = await richCandidate(api, 'Lea');
  const report = {};

  const anonymous = await phone(browser);
  try {
    for (const [name, path] of [['login', '/login'], ['invitation', '/invitation']]) {
      report[name] = await firstLoad(anonymous.context, path);
    }
  } finally {
    await anonymous.context.close();
  }

  const { context, page } = await phone(browser);
  try {
    await logIn(page, server.base, c);
    const screens = [
      ['plan', '/'], ['goal', `/goals/${c.goal.id}`], ['goal-new', '/goals/new'], ['appointments', '/appointments'],
      ['questionnaire', '/questionnaires/who5'], ['progress', '/progress'], ['pause', '/pause'], ['settings', '/settings'],
    ];
    for (const [name, path] of screens) report[name] = await firstLoad(context, path);
  } finally {
    await context.close();
  }

  const lines = Object.entries(report).map(([name, r]) => `${name.padEnd(14)} ${(r.total / 1024).toFixed(1).padStart(6)} KB in ${r.resources.length} requests`);
  console.log(`first load per screen (budget ${BUDGET / 1024} KB):\n${lines.join('\n')}`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(join(SCREENSHOTS, 'weight.json'), JSON.stringify(report, null, 2));

  for (const [name, r] of Object.entries(report)) {
    assert.ok(r.total <= BUDGET, `${name}: ${r.total} bytes > ${BUDGET}`);
    // The server compresses: every script and the stylesheet arrive compressed.
    for (const res of r.resources.filter((x) => /\.(js|css)$/.test(x.url))) {
      assert.ok(res.encoding, `${res.url} arrived uncompressed`);
    }
  }
});
