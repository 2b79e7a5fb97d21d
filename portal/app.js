// The portal's shell: start-up (a reload keeps you logged in through the refresh cookie), routing with real
// paths (the server answers index.html for them), the bottom menu, focus and page titles.
import { t, getLang, setLang } from '/i18n.js';
import * as api from '/api.js';
import { h, fill, icon, errorText, errorBox, clearStatus } from '/dom.js';
import { loginView, invitationView, staffView } from '/views/auth.js';
import { planView } from '/views/plan.js';
import { goalView, newGoalView } from '/views/goal.js';
import { appointmentsView } from '/views/appointments.js';
import { questionnaireView } from '/views/questionnaire.js';
import { progressView } from '/views/progress.js';
import { pauseView } from '/views/pause.js';
import { settingsView } from '/views/settings.js';

const routes = [
  { path: '/login', view: loginView, public: true, title: 'login' },
  { path: '/invitation', view: invitationView, public: true, title: 'invitation' },
  { path: '/invitation/:code', view: invitationView, public: true, title: 'invitation' },
  { path: '/', view: planView, title: 'home', nav: 'home' },
  { path: '/goals/new', view: newGoalView, title: 'newGoal', nav: 'home' },
  { path: '/goals/:id', view: goalView, title: 'goal', nav: 'home' },
  { path: '/appointments', view: appointmentsView, title: 'appointments', nav: 'appointments' },
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

const state = { me: null, notice: null, seq: 0, first: true };

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

/** Re-reads who is logged in; false when nobody is. */
async function whoAmI() {
  try {
    state.me = await api.get('/me');
    return true;
  } catch {
    state.me = null;
    return false;
  }
}

const ctx = {
  navigate,
  get me() { return state.me; },
  /** After a login or an accepted invitation: learn who it is and go on. */
  async loggedIn(next) {
    await whoAmI();
    const safe = next && /^\/(?![/\\])/.test(next) ? next : '/';
    navigate(safe, { replace: true });
  },
  async logout() {
    await api.logout().catch(() => {});
    state.me = null;
    state.notice = t.settings.loggedOut;
    navigate('/login', { replace: true });
  },
  /** A one-time message for the next screen (e.g. "you were logged out"). */
  takeNotice() {
    const n = state.notice;
    state.notice = null;
    return n;
  },
  setLanguage(lang) {
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

  if (!route.public && !api.loggedIn()) {
    const next = location.pathname + location.search;
    history.replaceState(null, '', next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
    return render();
  }
  if (route.path === '/login' && api.loggedIn()) {
    history.replaceState(null, '', '/');
    return render();
  }

  const staff = api.loggedIn() && state.me && state.me.role !== 'candidate';
  const view = staff && !route.public ? staffView : route.view;
  const showNav = api.loggedIn() && !staff && !route.public && !route.focusMode;
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
    node = await view({ ...ctx, params, query, me: state.me });
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

async function start() {
  shellText();
  document.addEventListener('click', onClick);
  window.addEventListener('popstate', () => render());
  api.session.onEnded = () => {
    if (match(location.pathname).route.public) return;
    state.me = null;
    state.notice = t.errors.sessionEnded;
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  };
  if (await api.refresh()) await whoAmI();
  await render();
}

start();
