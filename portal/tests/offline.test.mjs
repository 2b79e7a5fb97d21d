// Installable and readable offline (SPEC §5), in a real headless Chromium at 360×640: the manifest and
// the service worker, "Min plan" and the next appointment without a network, writes that say they need
// one, nothing kept after a logout or for the next person on the phone, nothing at all with "Gem ikke
// noget på denne telefon", a start without a session that sends no failing request, and real files or
// 404 for every path that is not a screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import {
  startServer, apiClient, launch, phone, phoneOptions, logIn, settled, axe, richCandidate, CHROMIUM,
} from './helpers.mjs';

const portal = resolve(dirname(fileURLToPath(import.meta.url)), '..');
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

/** Everything the portal keeps in this browser: Cache Storage (name → paths), web storage, cookies. */
function stored(page) {
  return page.evaluate(async () => {
    const caches_ = {};
    for (const name of await caches.keys()) {
      caches_[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
    }
    const records = {};
    const data = await caches.open('ips-data');
    for (const r of await data.keys()) records[new URL(r.url).pathname] = await (await data.match(r)).json();
    if (!caches_['ips-data']) await caches.delete('ips-data');
    const workers = (await navigator.serviceWorker.getRegistrations()).length;
    return {
      caches: caches_, records, workers,
      local: Object.fromEntries(Object.entries(localStorage)),
      session: Object.fromEntries(Object.entries(sessionStorage)),
      cookies: document.cookie,
    };
  });
}

/** Waits until the service worker controls the page (it takes over on its first visit). */
async function controlled(page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/** The width and height of a PNG, from its IHDR chunk. */
function pngSize(bytes) {
  assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
  return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
}

/** "HH.MM" in Copenhagen, as the portal writes a time in Danish. */
function copenhagenTime(iso) {
  return new Intl.DateTimeFormat('da-DK', { timeZone: 'Europe/Copenhagen', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

test('the service worker keeps every file the portal needs to start, and index.html preloads every module', () => {
  const sw = readFileSync(join(portal, 'sw.js'), 'utf8');
  const list = sw.slice(sw.indexOf('const SHELL = ['), sw.indexOf('];', sw.indexOf('const SHELL = [')));
  const shell = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
  const modules = [
    ...readdirSync(portal).filter((f) => f.endsWith('.js') && f !== 'sw.js').map((f) => `/${f}`),
    ...readdirSync(join(portal, 'views')).filter((f) => f.endsWith('.js')).map((f) => `/views/${f}`),
  ].sort();
  assert.deepEqual(shell, [...modules, '/icon.svg', '/index.html', '/manifest.webmanifest', '/style.css'].sort());
  const html = readFileSync(join(portal, 'index.html'), 'utf8');
  const preloaded = [...html.matchAll(/rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(preloaded, modules);
});

test('the portal can be installed: a valid manifest with icons, and a service worker that controls the page', async () => {
  // Chromium never offers to install from a private window, so this one has a profile of its own.
  const dir = mkdtempSync(join(tmpdir(), 'ips-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    ...phoneOptions(),
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    await page.goto(`${server.base}/login`);
    await settled(page);
    await controlled(page);
    await page.reload();
    await settled(page);
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller.scriptURL), `${server.base}/sw.js`);

    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, [], 'Chromium would offer to install the portal');
    const { url, errors, data } = await cdp.send('Page.getAppManifest');
    assert.equal(url, `${server.base}/manifest.webmanifest`);
    assert.deepEqual(errors, []);
    const manifest = JSON.parse(data);
    assert.equal(manifest.name, 'IPS Ung');
    assert.equal(manifest.short_name, 'IPS Ung');
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/');
    assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/);
    assert.match(manifest.background_color, /^#[0-9a-f]{6}$/);
    // Light and dark have their own colour for the phone's bars.
    const themes = await page.locator('meta[name=theme-color]').evaluateAll((ms) => ms.map((m) => m.media));
    assert.deepEqual(themes, ['(prefers-color-scheme: light)', '(prefers-color-scheme: dark)']);

    const purposes = new Map();
    for (const icon of manifest.icons) {
      const res = await fetch(`${server.base}${icon.src}`);
      assert.equal(res.status, 200, icon.src);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(pngSize(Buffer.from(await res.arrayBuffer())), icon.sizes, icon.src);
      purposes.set(`${icon.purpose} ${icon.sizes}`, icon.src);
    }
    for (const want of ['any 192x192', 'any 512x512', 'maskable 512x512']) assert.ok(purposes.has(want), want);
    const apple = await page.locator('link[rel=apple-touch-icon]').getAttribute('href');
    const res = await fetch(`${server.base}${apple}`);
    assert.equal(pngSize(Buffer.from(await res.arrayBuffer())), '180x180');
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cold start without a session sends no request that fails and logs no error', async () => {
  const { context, page } = await phone(browser);
  const seen = [];
  const refreshes = [];
  // Unlike the other tests, "Failed to load resource" counts here: every refused request is one.
  page.on('console', (m) => { if (m.type() === 'error') seen.push(`console: ${m.text()}`); });
  context.on('response', (r) => { if (r.status() >= 400) seen.push(`${r.status()} ${r.url()}`); });
  context.on('requestfailed', (r) => seen.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
  context.on('request', (r) => { if (r.url().includes('/auth/refresh')) refreshes.push(r.url()); });
  try {
    for (const path of ['/', '/login', '/invitation', '/goals/new', '/settings']) {
      await page.goto(`${server.base}${path}`);
      await settled(page);
      await page.getByRole('heading', { name: path === '/invitation' ? 'Opret din profil' : 'Log ind' }).waitFor();
    }
    await controlled(page);
    await page.reload();
    await settled(page);
    assert.deepEqual(seen, []);
    assert.deepEqual(refreshes, [], 'without the session marker nobody asks for a refresh');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('offline, a reload shows my last plan and next appointment with the time they are from', async () => {
  const c = await richCandidate(api, 'Lene');
  const { context, page } = await phone(browser);
  try {
    await logIn(page, server.base, c);
    await page.goto(`${server.base}/appointments`);
    await settled(page);
    await page.goto(`${server.base}/`);
    await settled(page);
    await controlled(page);
    const { records } = await stored(page);
    assert.equal(records['/offline/plan'].candidate_id, c.id);
    assert.equal(records['/offline/appointments'].candidate_id, c.id);
    assert.ok(Date.now() - Date.parse(records['/offline/plan'].fetched_at) < 60_000);

    await context.setOffline(true);
    await page.reload();
    const notice = `Offline — vist som kl. ${copenhagenTime(records['/offline/plan'].fetched_at)}`;
    await page.getByText(notice, { exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Hej Lene' }).waitFor();
    await page.getByText('Samtale om dine mål').waitFor();
    await page.getByRole('link', { name: 'Komme op om morgenen' }).waitFor();
    assert.deepEqual(await axe(page), []);

    await page.getByRole('link', { name: 'Aftaler', exact: true }).click();
    await page.getByRole('heading', { name: 'Mine aftaler' }).waitFor();
    await page.getByText(`Offline — vist som kl. ${copenhagenTime(records['/offline/appointments'].fetched_at)}`, { exact: true }).waitFor();
    await page.locator('article', { hasText: 'Besøg i Netto' }).waitFor();

    // A change without a network says so, calmly, and is not kept to send later.
    const first = page.locator('article', { hasText: 'Samtale om dine mål' });
    await first.getByRole('button', { name: 'Ja, jeg kommer' }).click();
    await first.getByText('Det kræver internet. Du har ikke forbindelse lige nu, så det er ikke gemt.', { exact: false }).waitFor();
    assert.deepEqual(await axe(page), []);

    // Screens that are not kept say that they need the internet.
    await page.getByRole('link', { name: 'Udvikling', exact: true }).click();
    await page.getByText('Den her side kræver internet.', { exact: false }).waitFor();

    await page.getByRole('button', { name: 'Prøv igen' }).click();
    await page.getByText('Den her side kræver internet.', { exact: false }).waitFor();

    // Back online, the screen comes by itself.
    await context.setOffline(false);
    await page.getByRole('heading', { name: 'Min udvikling' }).waitFor();
    await page.getByRole('link', { name: 'Min plan', exact: true }).click();
    await page.getByRole('heading', { name: 'Hej Lene' }).waitFor();
    assert.equal(await page.getByText(/^Offline — /).count(), 0, 'online again, the plan is live');
    await page.waitForTimeout(500);
    const appointment = await api.as('consultant').get(`/candidates/${c.id}/appointments/${c.appointment.id}`);
    assert.equal(appointment.candidate_response, 'none', 'the answer given offline was never sent');
  } finally {
    await context.close();
  }
});

test('logout deletes every copy, and the next person on the phone never sees the first one\'s plan', async () => {
  const anna = await richCandidate(api, 'Anna');
  const bo = await api.candidate({ given: 'Bo' });
  const { context, page } = await phone(browser);
  try {
    await logIn(page, server.base, anna);
    await page.goto(`${server.base}/appointments`);
    await settled(page);
    await page.goto(`${server.base}/`);
    await settled(page);
    await controlled(page);
    const kept = await stored(page);
    assert.deepEqual(Object.keys(kept.records).sort(), ['/offline/appointments', '/offline/plan']);
    assert.match(kept.cookies, /ips_session=1/);

    await page.getByRole('link', { name: 'Indstillinger', exact: true }).click();
    await page.getByRole('button', { name: 'Log ud' }).click();
    await page.getByText('Du er logget ud.').waitFor();
    const left = await stored(page);
    assert.deepEqual(left.records, {}, 'no copy of Anna\'s data is left');
    assert.equal(left.caches['ips-data'], undefined);
    // What stays is the app itself (its own files, nothing about anyone) and two settings of the phone.
    for (const [name, paths] of Object.entries(left.caches)) {
      assert.match(name, /^ips-shell-[0-9a-f]{16}$/);
      for (const path of paths) assert.match(path, /^\/(index\.html|style\.css|[a-z0-9]+\.js|views\/[a-z]+\.js|icon\.svg|manifest\.webmanifest)$/);
    }
    for (const key of Object.keys(left.local)) assert.ok(['ips-lang', 'ips-keep-nothing'].includes(key), key);
    assert.deepEqual(left.session, {});
    assert.doesNotMatch(left.cookies, /ips_session/);

    // Bo logs in on the same phone; offline he sees his own plan, and nothing of Anna's.
    await logIn(page, server.base, bo);
    await settled(page);
    await context.setOffline(true);
    await page.reload();
    await page.getByText(/^Offline — vist som/).waitFor();
    await page.getByRole('heading', { name: 'Hej Bo' }).waitFor();
    const text = await page.locator('body').innerText();
    for (const of_anna of ['Anna', 'Komme op om morgenen', 'Samtale om dine mål', 'Prøve en praktikplads']) {
      assert.ok(!text.includes(of_anna), `Bo sees "${of_anna}"`);
    }
    // Back online, the screen comes back live by itself.
    await context.setOffline(false);
    await page.getByText(/^Offline — /).waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Hej Bo' }).waitFor();

    // A copy that belongs to someone else when a candidate logs in (left by a session that ended while
    // the phone was offline) goes before anything is shown.
    await page.goto(`${server.base}/settings`);
    await page.getByRole('button', { name: 'Log ud' }).click();
    await page.getByText('Du er logget ud.').waitFor();
    const plant = (id) => page.evaluate(async (candidate) => {
      const cache = await caches.open('ips-data');
      await cache.put('/offline/appointments', new Response(JSON.stringify({ candidate_id: candidate, fetched_at: new Date().toISOString(), data: { items: [] } })));
    }, id);
    await page.goto(`${server.base}/login`);
    await settled(page);
    await plant(anna.id);
    await page.getByLabel('Brugernavn').fill(bo.username);
    await page.getByLabel('Adgangskode', { exact: true }).fill(bo.password);
    await page.getByRole('button', { name: 'Log ind' }).click();
    await page.getByRole('heading', { name: 'Hej Bo' }).waitFor();
    await settled(page);
    const after = await stored(page);
    assert.equal(after.records['/offline/appointments'], undefined, 'Anna\'s copy was deleted');
    assert.equal(after.records['/offline/plan'].candidate_id, bo.id);

    // A session that is over by the next start (expired, or ended elsewhere) leaves nothing behind.
    await context.clearCookies();
    await page.reload();
    await page.getByRole('heading', { name: 'Log ind' }).waitFor();
    assert.deepEqual((await stored(page)).records, {});
  } finally {
    await context.close();
  }
});

test('with "Gem ikke noget på denne telefon" nothing is kept, and the service worker is gone', async () => {
  const c = await richCandidate(api, 'Kim');
  const { context, page } = await phone(browser);
  try {
    await logIn(page, server.base, c);
    await controlled(page);
    await page.getByRole('link', { name: 'Indstillinger', exact: true }).click();
    await settled(page);
    const toggle = page.getByRole('checkbox', { name: 'Gem ikke noget på denne telefon' });
    assert.equal(await toggle.isChecked(), false, 'off unless chosen');
    await toggle.check();
    await page.locator('#status', { hasText: 'Der bliver ikke gemt noget på telefonen.' }).waitFor();
    let now = await stored(page);
    assert.deepEqual(now.caches, {});
    assert.equal(now.workers, 0);
    assert.equal(now.local['ips-keep-nothing'], '1');

    // Nothing is written while it is on, not even by the screens that usually keep a copy.
    await page.goto(`${server.base}/appointments`);
    await settled(page);
    await page.goto(`${server.base}/`);
    await page.getByRole('heading', { name: 'Hej Kim' }).waitFor();
    await settled(page);
    now = await stored(page);
    assert.deepEqual(now.caches, {});
    assert.equal(now.workers, 0);
    await context.setOffline(true);
    await assert.rejects(page.reload(), /ERR_INTERNET_DISCONNECTED/);
    await context.setOffline(false);

    await page.goto(`${server.base}/settings`);
    await settled(page);
    await page.getByRole('checkbox', { name: 'Gem ikke noget på denne telefon' }).uncheck();
    await page.locator('#status', { hasText: 'Telefonen gemmer igen' }).waitFor();
    await controlled(page);
    assert.equal((await stored(page)).workers, 1);
  } finally {
    await context.close();
  }
});

test('only the portal\'s screens get the app page: real files are served, anything else is 404', async () => {
  const status = async (path) => (await fetch(`${server.base}${path}`)).status;
  for (const path of ['/robots.txt', '/manifest.webmanifest', '/sw.js', '/icon.svg', '/icons/icon-192.png', '/.well-known/jwks.json']) {
    assert.equal(await status(path), 200, path);
  }
  for (const path of ['/favicon.ico', '/manifest.json', '/.well-known/security.txt', '/.well-known/change-password', '/no-such-page', '/goals/1/steps', '/app.js.map']) {
    assert.equal(await status(path), 404, path);
  }
  assert.match(await (await fetch(`${server.base}/robots.txt`)).text(), /^User-agent: \*\nDisallow: \/$/m);

  // The same with the service worker in charge: files still come from the server as they are.
  const { context, page } = await phone(browser);
  try {
    await page.goto(`${server.base}/login`);
    await controlled(page);
    const robots = await page.goto(`${server.base}/robots.txt`);
    assert.equal(robots.status(), 200);
    assert.match(await robots.text(), /Disallow: \//);
    assert.equal((await page.goto(`${server.base}/favicon.ico`)).status(), 404);
    assert.equal((await page.goto(`${server.base}/manifest.json`)).status(), 404);
  } finally {
    await context.close();
  }
});
