// The first load of every screen, measured in the browser: every byte that crossed the network (headers
// and compressed bodies, API calls included) with a cold cache, held to 100 KB. The screens are measured
// without the service worker (with it, a second screen comes from the phone and costs next to nothing);
// a separate test counts a first visit with the service worker installing the app.
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

  const anonymous = await phone(browser, { serviceWorkers: 'block' });
  try {
    for (const [name, path] of [['login', '/login'], ['invitation', '/invitation']]) {
      report[name] = await firstLoad(anonymous.context, path);
    }
  } finally {
    await anonymous.context.close();
  }

  const { context, page } = await phone(browser, { serviceWorkers: 'block' });
  try {
    await logIn(page, server.base, c);
    const screens = [
      ['plan', '/'], ['goal', `/goals/${c.goal.id}`], ['goal-new', '/goals/new'], ['appointments', '/appointments'],
      ['questionnaire', '/questionnaires/who5'], ['progress', '/progress'], ['pause', '/pause'], ['settings', '/settings'], ['job-support', '/job-support'],
      ['network-groups', '/network-groups'],
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

test('a first visit, with the service worker keeping the app, transfers at most 100 KB', async () => {
  const { context, page } = await phone(browser);
  const requests = [];
  // The context sees the page's requests and the service worker's alike.
  context.on('requestfinished', (r) => requests.push(r));
  try {
    await page.goto(`${server.base}/login`);
    await settled(page);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await page.waitForTimeout(300);
    let total = 0;
    let fromWorker = 0;
    for (const r of requests) {
      const sizes = await r.sizes();
      const bytes = sizes.responseHeadersSize + sizes.responseBodySize + sizes.requestHeadersSize + sizes.requestBodySize;
      total += bytes;
      if (r.serviceWorker()) fromWorker += bytes;
    }
    console.log(`first visit with the service worker: ${(total / 1024).toFixed(1)} KB in ${requests.length} requests (the worker's own: ${(fromWorker / 1024).toFixed(1)} KB)`);
    assert.ok(requests.some((r) => r.serviceWorker()), "the worker's requests are counted");
    assert.ok(total <= BUDGET, `${total} bytes > ${BUDGET}`);
  } finally {
    await context.close();
  }
});
