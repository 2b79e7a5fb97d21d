// The service worker keeps a copy of the portal's own files (the app shell), so the portal opens on a
// phone without a network. That is all it keeps: it never stores an answer from the API. The candidate's
// last plan and appointments are kept by the portal itself (offline.js), which knows who is logged in.
//
// The server fills in VERSION, a hash of every portal file. A changed portal is therefore a changed
// worker: it installs beside the old one with a cache of its own, takes over, and deletes the old
// cache, so the files on a phone always come from one version.
const VERSION = '__PORTAL_VERSION__';
const SHELL_CACHE = `ips-shell-${VERSION}`;
const SHELL = [
  '/index.html',
  '/style.css',
  '/app.js',
  '/i18n.js',
  '/api.js',
  '/dom.js',
  '/offline.js',
  '/views/auth.js',
  '/views/plan.js',
  '/views/goal.js',
  '/views/career.js',
  '/views/appointments.js',
  '/views/questionnaire.js',
  '/views/progress.js',
  '/views/pause.js',
  '/views/settings.js',
  '/views/jobsupport.js',
  '/views/netgroups.js',
  '/icon.svg',
  '/manifest.webmanifest',
];

// Paths the server answers itself; a navigation to them is never the portal's page.
const SERVER = /^\/(api|docs|healthz|readyz|metrics|\.well-known)(\/|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // `no-cache` revalidates with the server, so the copy is this version's file, never an older one
    // from the browser's HTTP cache (an unchanged file costs a 304).
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('ips-shell-') && key !== SHELL_CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

/** The cached copy of a shell file, else the network (a cache deleted under us is no dead end). */
async function fromShell(request, path) {
  const cache = await caches.open(SHELL_CACHE);
  return (await cache.match(path)) || fetch(request);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // Every screen of the portal is index.html; the portal draws the screen (or its "not found").
    // Paths that name a file, and the server's own paths, go to the network as they are.
    if (SERVER.test(url.pathname) || /\.[a-z0-9]+$/i.test(url.pathname)) return;
    event.respondWith(fromShell(request, '/index.html'));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(fromShell(request, url.pathname));
});
