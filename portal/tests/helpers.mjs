// Shared by the portal's browser tests: a real ips-server on a fresh SQLite database (or the one at
// PORTAL_BASE_URL), fresh candidates made through the API, headless Chromium, axe, screenshots.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

export const SCREENSHOTS = resolve(process.env.PORTAL_SCREENSHOTS || join(here, 'screenshots'));
export const VIEWPORT = { width: 360, height: 640 };
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const DEMO = {
  coordinator: ['demo.koordinator', 'demo-koordinator-2026'],
  consultant: ['demo.konsulent', 'demo-konsulent-2026'],
  candidate: ['demo.kandidat', 'demo-kandidat-2026'],
};

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function serverBinary() {
  if (process.env.IPS_SERVER_BIN) return resolve(process.env.IPS_SERVER_BIN);
  // Build (a no-op when up to date) so the tests never run an old server.
  execFileSync('cargo', ['build', '--quiet', '-p', 'ips-api', '--bin', 'ips-server'], { cwd: repo, stdio: 'inherit' });
  const target = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, 'target');
  return join(target, 'debug', 'ips-server');
}

/** Starts ips-server with --demo on a temporary database; answers `{ base, stop }`. */
export async function startServer() {
  if (process.env.PORTAL_BASE_URL) return { base: process.env.PORTAL_BASE_URL.replace(/\/$/, ''), stop: async () => {} };
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`ips-server not found at ${bin}`);
  const dir = mkdtempSync(join(tmpdir(), 'ips-portal-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(bin, ['serve', '--demo', '--bind', `127.0.0.1:${port}`], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dir, 'portal.db')}?mode=rwc`,
      IPS_LOG_FORMAT: 'text',
      IPS_LOGIN_FAILURES_PER_ACCOUNT_HOUR: '100000',
      IPS_LOGIN_FAILURES_PER_ADDRESS_HOUR: '100000',
      IPS_SHUTDOWN_TIMEOUT_SECS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((ok) => {
        const t = setTimeout(() => { child.kill('SIGKILL'); ok(); }, 5000);
        child.once('exit', () => { clearTimeout(t); ok(); });
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`ips-server exited during start-up:\n${log}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return { base, stop, log: () => log };
    } catch { /* not up yet */ }
    await new Promise((ok) => setTimeout(ok, 250));
  }
  await stop();
  throw new Error(`ips-server did not become ready:\n${log}`);
}

/** A small API client for setting up data as staff (and checking it). */
export function apiClient(base) {
  async function call(method, path, token, body) {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return data;
  }
  const tokens = {};
  async function token(who) {
    if (!tokens[who]) {
      const [username, password] = DEMO[who];
      tokens[who] = (await call('POST', '/auth/login', null, { username, password })).access_token;
    }
    return tokens[who];
  }
  return {
    call,
    as: (who) => ({
      get: async (p) => call('GET', p, await token(who)),
      post: async (p, b) => call('POST', p, await token(who), b ?? {}),
      patch: async (p, b) => call('PATCH', p, await token(who), b),
      put: async (p, b) => call('PUT', p, await token(who), b),
    }),
    /**
     * A new candidate on the demo consultant's caseload, made by the coordinator. `accept: true` also
     * chooses a username and password through the API. `active: true` starts the course.
     */
    async candidate({ given = 'Alma', accept = true, active = true } = {}) {
      const consultant = await call('GET', '/me', await token('consultant'));
      const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      const created = await call('POST', '/candidates', await token('coordinator'), {
        given_name: given, family_name: `Test${suffix}`, birth_year: new Date().getFullYear() - 20,
        target_group: 'mental_distress', readiness: 'activity_ready', consultant_id: consultant.id,
      });
      const c = {
        id: created.candidate.id, given, code: created.invitation.code,
        username: `ung.${suffix}`, password: `en-lang-sætning-${suffix}`,
      };
      if (accept) {
        await call('POST', `/auth/invitations/${encodeURIComponent(c.code)}/accept`, null, { username: c.username, password: c.password });
      }
      if (active) {
        await call('POST', `/candidates/${c.id}/enrollment/transitions`, await token('consultant'), { to: 'active' });
      }
      return c;
    },
  };
}

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** The options of a phone-sized browser context. */
export function phoneOptions({ colorScheme = 'light', reducedMotion = 'reduce', serviceWorkers = 'allow', width = VIEWPORT.width } = {}) {
  return {
    viewport: { ...VIEWPORT, width }, deviceScaleFactor: 1, colorScheme, reducedMotion, hasTouch: true, isMobile: true,
    locale: 'da-DK', timezoneId: 'Europe/Copenhagen', serviceWorkers,
  };
}

/** A fresh phone-sized browser context (no cookies, cold cache). Page errors fail the test that checks them. */
export async function phone(browser, opts = {}) {
  const context = await browser.newContext(phoneOptions(opts));
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    // Chromium logs every 4xx answer as "Failed to load resource"; those are expected (a refresh with
    // no session yet, a wrong password). Any other console error is a defect.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push(m.text());
  });
  return { context, page };
}

/** Logs in through the login screen and waits for the plan. */
export async function logIn(page, base, c) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Brugernavn').fill(c.username);
  await page.getByLabel('Adgangskode', { exact: true }).fill(c.password);
  await page.getByRole('button', { name: 'Log ind' }).click();
  await page.locator('h1', { hasText: `Hej ${c.given}` }).waitFor();
}

/** Waits until the screen has rendered (its h1 is there and nothing is loading). */
export async function settled(page) {
  await page.locator('main h1').first().waitFor();
  await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
  await page.waitForLoadState('networkidle');
}

/** Saves a 360×640 screenshot (and the full page) under SCREENSHOTS. */
export async function shoot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-full.png`), fullPage: true });
}

/**
 * What is wrong with the layout of the screen as shown: anything that sticks out sideways (the page may
 * not scroll sideways, and nothing may stick out of the screen), and every interactive element smaller
 * than 44×44 px. A radio button or checkbox is measured by its label, which is its target.
 */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const width = document.documentElement.clientWidth;
    const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''} "${(el.textContent || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 30)}"`;
    for (const root of [document.documentElement, document.body]) {
      if (root.scrollWidth > width) problems.push(`${root.tagName.toLowerCase()} scrollWidth ${root.scrollWidth} > ${width}`);
    }
    const clipped = (el) => {
      for (let e = el; e && e !== document.body; e = e.parentElement) {
        const s = getComputedStyle(e);
        if (s.overflowX !== 'visible' || s.clipPath !== 'none' || s.clip !== 'auto') return true;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 0.5 || clipped(el)) continue;
      problems.push(`${describe(el)} reaches ${Math.round(r.right)} px`);
    }
    const targets = 'a[href], button, input, select, textarea, summary, label.choice, [tabindex]:not([tabindex="-1"])';
    for (const el of document.querySelectorAll(targets)) {
      if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
      if (el.matches('input[type=radio], input[type=checkbox]') && el.closest('label.choice')) continue;
      const r = el.getBoundingClientRect();
      if (r.width < 44 || r.height < 44) problems.push(`${describe(el)} is ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
    return problems;
  });
}

/** Runs axe on the page; answers the violations in a readable form (empty when clean). */
export async function axe(page) {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
  }));
}

/** Answers for a WHO-5 that sum to `raw` (0–25). */
export function who5Answers(raw) {
  const items = ['cheerful', 'calm', 'active', 'rested', 'interested'];
  return items.map((item, i) => ({ item, value: Math.max(0, Math.min(5, raw - 5 * i)) }));
}

/**
 * A candidate with something on every screen: own and proposed goals, appointments, three WHO-5 answers,
 * motivation and energy answers, a due WHO-5, and an acknowledged pause request.
 */
/** A job support plan as a consultant proposes it. */
export function jobSupportPlan() {
  return {
    placement: { kind: 'job', workplace: 'Netto, Søndergade', role: 'Butiksmedhjælper', starts_on: '2026-04-01', hours_per_week: 15 },
    contacts: [{ role: 'mentor', name: 'Lone Hansen', phone: '+45 12 34 56 78', email: 'lone@example.org' }],
    supports: [{ what: 'Vi taler om ugen, der gik', who: 'consultant', how_often: 'hver fredag' }],
    check_in_every_days: 14,
  };
}

export async function richCandidate(api, given = 'Sara') {
  const c = await api.candidate({ given });
  const me = (await api.call('POST', '/auth/login', null, { username: c.username, password: c.password })).access_token;
  const mine = (m, p, b) => api.call(m, p, me, b);
  const consultant = api.as('consultant');
  c.token = me;

  c.proposed = await consultant.post(`/candidates/${c.id}/goals`, { title: 'Prøve en praktikplads', category: 'job', steps: ['Tale med konsulenten om steder'] });
  c.goal = await mine('POST', '/me/goals', { title: 'Komme op om morgenen', category: 'everyday_life', steps: ['Stille vækkeur til 8', 'Gå en tur før frokost', 'Spise morgenmad'] });
  c.goal = await mine('PATCH', `/me/goals/${c.goal.id}/steps/${c.goal.steps[0].id}`, { done: true });

  const start = new Date(Date.now() + 2 * 864e5);
  start.setUTCHours(8, 30, 0, 0);
  c.appointment = await consultant.post(`/candidates/${c.id}/appointments`, {
    kind: 'consultant_meeting', title: 'Samtale om dine mål', starts_at: start.toISOString(), location: 'Jobcentret, Vestergade 4',
    note_for_candidate: 'Tag gerne dit CV med, hvis du har et.',
  });
  await consultant.post(`/candidates/${c.id}/appointments`, {
    kind: 'employer', title: 'Besøg i Netto', starts_at: new Date(start.getTime() + 5 * 864e5).toISOString(), location: 'Netto, Søndergade',
  });

  const def = await api.call('GET', '/questionnaires/who5', null);
  for (const raw of [10, 14, 18]) {
    await mine('POST', '/me/questionnaire-responses', { questionnaire: 'who5', version: def.version, answers: who5Answers(raw) });
  }
  const motivation = await api.call('GET', '/questionnaires/motivation', null);
  await mine('POST', '/me/questionnaire-responses', {
    questionnaire: 'motivation', version: motivation.version,
    answers: motivation.items.map((it, i) => ({ item: it.id, value: [3, 2, 2][i] ?? 1 })),
  });
  const energy = await api.call('GET', '/questionnaires/energy', null);
  await mine('POST', '/me/questionnaire-responses', {
    questionnaire: 'energy', version: energy.version, answers: energy.items.map((it) => ({ item: it.id, value: 3 })),
  });
  await consultant.post(`/candidates/${c.id}/questionnaire-assignments`, { questionnaire: 'who5', due_at: new Date().toISOString() });

  c.jobSupport = await consultant.post(`/candidates/${c.id}/job-support-plans`, jobSupportPlan());

  c.request = await mine('POST', '/me/requests', { kind: 'pause', reason: 'Jeg har brug for ro en periode.' });
  await consultant.post(`/requests/${c.request.id}/acknowledge`, { note: 'Tak fordi du siger til. Jeg ringer til dig på torsdag.' });
  return c;
}
