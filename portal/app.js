// The portal's shell: start-up (a reload keeps you logged in through the refresh cookie), routing with real
// paths (the server answers index.html for the paths in `routes`, and knows them as PORTAL_ROUTES in
// api/src/routes/ops.rs: a new screen goes in both), the bottom menu, focus and page titles, and what
// happens without a network (the screens marked `offline` show the copy kept on the phone).
import { t, getLang, setLang } from '/i18n.js';
import * as api from '/api.js';
import * as offline from '/offline.js';
import { h, fill, icon, errorText, errorBox, clearStatus } from '/dom.js';
import { loginView, invitationView, staffView } from '/views/auth.js';
import { planView } from '/views/plan.js';
import { goalView, newGoalView } from '/views/goal.js';
import { appointmentsView } from '/views/appointments.js';
import { questionnaireView } from '/views/questionnaire.js';
import { progressView } from '/views/progress.js';
import { pauseView } from '/views/pause.js';
import { settingsView } from '/views/settings.js';
import { careerView } from '/views/career.js';
import { jobSupportView } from '/views/jobsupport.js';
import { netGroupsView } from '/views/netgroups.js';

const routes = [
  { path: '/login', view: loginView, public: true, title: 'login' },
  { path: '/invitation', view: invitationView, public: true, title: 'invitation' },
  { path: '/invitation/:code', view: invitationView, public: true, title: 'invitation' },
  { path: '/', view: planView, title: 'home', nav: 'home', offline: true },
  { path: '/goals/new', view: newGoalView, title: 'newGoal', nav: 'home' },
  { path: '/goals/:id', view: goalView, title: 'goal', nav: 'home' },
  { path: '/career-profile', view: careerView, title: 'career', nav: 'home' },
  { path: '/job-support', view: jobSupportView, title: 'jobSupport', nav: 'home' },
  { path: '/network-groups', view: netGroupsView, title: 'netGroups', nav: 'home' },
  { path: '/appointments', view: appointmentsView, title: 'appointments', nav: 'appointments', offline: true },
  { path: '/questionnaires/:key', view: questionnaireView, title: 'questionnaire', focusMode: true },
  { path: '/progress', view: progressView, title: 'progress', nav: 'progress' },
  { path: '/pause', view: pauseView, title: 'pause', nav: 'settings' },
  { path: '/settings', view: settingsView, title: 'settings', nav: 'settings' },
];

const NAV = [
  ['home', '/', 'home'],
  ['appointments', '/appointments', 'calendar'],
  ['progress', '/progress', 'chart'],
  ['settings', '/settings', 'gear'],
];

// `offline`: started without a network while a session may exist; the token comes when the network does.
const state = { me: null, notice: null, seq: 0, first: true, offline: false };

function match(pathname) {
  const parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const r of routes) {
    const want = r.path.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((w, i) => {
      if (w.startsWith(':')) {
        params[w.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return w === parts[i];
    });
    if (ok) return { route: r, params };
  }
  return { route: { view: notFoundView, title: 'notFound', public: true }, params: {} };
}

/** Goes to a path inside the portal (adds a history entry unless `replace`). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

/** A screen that cannot be shown from the phone's copy. */
function needsNetworkView(ctx, route) {
  return h('section', { class: 'stack' },
    h('h1', null, t.titles[route.title] || t.appName),
    h('p', null, t.offline.needsNetwork),
    h('div', { class: 'actions stacked' },
      h('button', { type: 'button', class: 'btn', onclick: () => render() }, t.tryAgain),
      h('a', { href: '/', class: 'btn secondary' }, t.toHome)));
}

function notFoundView() {
  return h('section', null,
    h('h1', null, t.titles.notFound),
    h('p', null, t.notFound.text),
    h('p', null, h('a', { href: '/', class: 'btn' }, t.toHome)));
}

function buildNav(active) {
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t.nav.label);
  fill(nav, h('ul', null, NAV.map(([key, href, ic]) =>
    h('li', null, h('a', { href, 'aria-current': key === active ? 'page' : null }, icon(ic), h('span', null, t.nav[key]))))));
}

function shellText() {
  document.documentElement.lang = getLang();
  document.getElementById('skip').textContent = t.skip;
  document.querySelector('.brand').textContent = t.appName;
}

/** Re-reads who is logged in, and takes a candidate's language from their account; false when nobody is. */
async function whoAmI() {
  try {
    state.me = await api.get('/me');
  } catch {
    state.me = null;
    return false;
  }
  if (state.me.language && state.me.language !== getLang()) {
    setLang(state.me.language);
    shellText();
  }
  return true;
}

/** The session is over: nothing of it stays on the phone. */
async function ended() {
  state.me = null;
  state.offline = false;
  await offline.forget();
}

const ctx = {
  navigate,
  get me() { return state.me; },
  /** After a login or an accepted invitation: learn who it is and go on. */
  async loggedIn(next) {
    state.offline = false;
    await whoAmI();
    // Copies another candidate left on this phone go before anything of this one is shown or kept.
    const keptFor = await offline.keptFor();
    if (keptFor && (!state.me || keptFor !== state.me.id)) await offline.forget();
    const safe = next && /^\/(?![/\\])/.test(next) ? next : '/';
    navigate(safe, { replace: true });
  },
  async logout() {
    await api.logout().catch(() => {});
    await ended();
    state.notice = t.settings.loggedOut;
    navigate('/login', { replace: true });
  },
  /** A one-time message for the next screen (e.g. "you were logged out"). */
  takeNotice() {
    const n = state.notice;
    state.notice = null;
    return n;
  },
  /** Switches the language; a candidate's choice is saved on their account (throws when it cannot be). */
  async setLanguage(lang) {
    if (api.loggedIn() && state.me && state.me.role === 'candidate') {
      state.me = await api.patch('/me', { language: lang });
    }
    setLang(lang);
    shellText();
  },
  rerender: () => render({ keepFocus: true }),
};

async function render({ keepFocus = false } = {}) {
  const seq = ++state.seq;
  if (!keepFocus) clearStatus();
  const main = document.getElementById('main');
  const { route, params } = match(location.pathname);
  const query = new URLSearchParams(location.search);

  // Started without a network: each screen tries again first (and a request made meanwhile may already
  // have renewed the session).
  if (state.offline) {
    try {
      if (api.loggedIn() || await api.refresh()) {
        state.offline = false;
        await whoAmI();
      } else {
        await ended();
        state.notice = t.errors.sessionEnded;
      }
    } catch { /* still no network */ }
    if (seq !== state.seq) return;
  }
  const offlineMode = state.offline && !api.loggedIn();
  if (!route.public && !api.loggedIn() && !offlineMode) {
    const next = location.pathname + location.search;
    history.replaceState(null, '', next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
    return render();
  }
  if (route.path === '/login' && api.loggedIn()) {
    history.replaceState(null, '', '/');
    return render();
  }

  const staff = api.loggedIn() && state.me && state.me.role !== 'candidate';
  let view = staff && !route.public ? staffView : route.view;
  if (offlineMode && !route.public && !route.offline) view = (c) => needsNetworkView(c, route);
  const showNav = (api.loggedIn() || offlineMode) && !staff && !route.public && !route.focusMode;
  document.body.classList.toggle('with-nav', showNav);
  const nav = document.getElementById('nav');
  nav.hidden = !showNav;
  if (showNav) buildNav(route.nav);

  const slow = setTimeout(() => {
    if (seq === state.seq) fill(main, h('p', { class: 'loading' }, t.loading));
  }, 250);
  main.setAttribute('aria-busy', 'true');
  let node;
  try {
    node = await view({ ...ctx, params, query, me: state.me, retry: () => render() });
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) return;
    node = h('section', null, h('h1', null, t.titles[route.title] || t.appName), errorBox(errorText(err), () => render()));
  }
  clearTimeout(slow);
  if (seq !== state.seq) return;
  fill(main, node);
  main.removeAttribute('aria-busy');
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent : t.appName} – ${t.appName}`;
  const target = location.hash.length > 1 ? document.getElementById(location.hash.slice(1)) : null;
  if (target && !keepFocus) {
    const heading = target.querySelector('h2') || target;
    heading.setAttribute('tabindex', '-1');
    heading.focus();
    target.scrollIntoView();
  } else {
    if (!state.first && !keepFocus && h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
    if (!keepFocus) window.scrollTo(0, 0);
  }
  state.first = false;
}

function onClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (/^\/(api|docs|healthz|readyz|metrics)(\/|$)/.test(a.pathname)) return;
  if (a.pathname === location.pathname && a.search === location.search && a.hash) return;
  e.preventDefault();
  navigate(a.pathname + a.search + a.hash);
}

/**
 * The stylesheet is preloaded so it does not hold up the first paint (index.html styles that paint
 * itself); it is applied before the first screen is drawn.
 */
function applyStyles() {
  const link = document.getElementById('style');
  if (!link || link.rel === 'stylesheet') return Promise.resolve();
  return new Promise((done) => {
    link.addEventListener('load', done, { once: true });
    link.addEventListener('error', done, { once: true });
    link.rel = 'stylesheet';
  });
}

async function start() {
  const styled = applyStyles();
  shellText();
  document.addEventListener('click', onClick);
  window.addEventListener('popstate', () => render());
  // Back online after a start without a network: redraw, which renews the session on the way.
  window.addEventListener('online', () => { if (state.offline) render({ keepFocus: true }); });
  api.session.onEnded = () => {
    ended();
    if (match(location.pathname).route.public) return;
    state.notice = t.errors.sessionEnded;
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  };
  try {
    if (await api.refresh()) await whoAmI();
    else await ended();
  } catch {
    // No network. A session may exist (the marker says so): show what the phone kept.
    state.offline = true;
  }
  await styled;
  await render();
  offline.registerWorker();
}

start();
