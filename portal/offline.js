// What the portal keeps on the phone, so "Min plan" and the next appointment open without a network: the
// last plan and the upcoming appointments of the candidate who is logged in, each stored with the time it
// was fetched and the candidate's id. Nothing else is kept (the service worker keeps only the portal's
// own files), and the access token is never stored anywhere.
//
// The API answers with `Cache-Control: no-store`, which keeps its answers out of the browser's HTTP
// cache. These copies are written on purpose, because SPEC §5 asks for them: they are deleted at logout,
// when another candidate logs in, when the session has ended, and at once when the candidate turns on
// "Gem ikke noget på denne telefon" (after which nothing is written and the service worker is removed).
import * as api from '/api.js';

const DATA = 'ips-data';
const KEEP_NOTHING = 'ips-keep-nothing';
const supported = typeof caches !== 'undefined';

/** Whether the candidate has asked that nothing be kept on this phone (a setting of the phone). */
export function keepNothing() {
  try {
    return localStorage.getItem(KEEP_NOTHING) === '1';
  } catch {
    return false;
  }
}

/** Turns "keep nothing on this phone" on (deletes every copy and the service worker) or off. */
export async function setKeepNothing(on) {
  try {
    if (on) localStorage.setItem(KEEP_NOTHING, '1');
    else localStorage.removeItem(KEEP_NOTHING);
  } catch { /* the setting lives as long as the page then; deleting below still happens */ }
  if (on) await forgetAll();
  else await registerWorker();
}

/** Registers the service worker, unless nothing may be kept on this phone. */
export async function registerWorker() {
  if (!('serviceWorker' in navigator) || keepNothing()) return;
  try {
    await navigator.serviceWorker.register('/sw.js');
  } catch { /* without a worker the portal simply needs the network */ }
}

/** Deletes the copies of the candidate's data (Cache Storage and anything in web storage). */
export async function forget() {
  try { sessionStorage.clear(); } catch { /* blocked storage holds nothing */ }
  if (supported) await caches.delete(DATA).catch(() => {});
}

/** Deletes every cache this portal has made, the app's own files too, and removes the service worker. */
export async function forgetAll() {
  await forget();
  if ('serviceWorker' in navigator) {
    for (const r of await navigator.serviceWorker.getRegistrations().catch(() => [])) await r.unregister().catch(() => {});
  }
  if (supported) {
    for (const key of await caches.keys().catch(() => [])) await caches.delete(key).catch(() => {});
  }
}

async function save(name, candidateId, data) {
  if (!supported || !candidateId || keepNothing()) return;
  const record = { candidate_id: candidateId, fetched_at: new Date().toISOString(), data };
  try {
    const cache = await caches.open(DATA);
    await cache.put(`/offline/${name}`, new Response(JSON.stringify(record), { headers: { 'content-type': 'application/json' } }));
  } catch { /* a full or blocked store means no offline copy, nothing worse */ }
}

/** The kept copy `name` ({ candidate_id, fetched_at, data }), or null. */
export async function load(name) {
  if (!supported) return null;
  try {
    const cache = await caches.open(DATA);
    const res = await cache.match(`/offline/${name}`);
    return res ? await res.json() : null;
  } catch {
    return null;
  }
}

/** The candidate id the kept copies belong to, or null when nothing is kept. */
export async function keptFor() {
  for (const name of ['plan', 'appointments']) {
    const record = await load(name);
    if (record) return record.candidate_id;
  }
  return null;
}

/**
 * GETs `path` and keeps the answer as `name` for the candidate `me`. Without a network it answers the
 * kept copy instead, if there is one for this candidate: `{ data, asOf }`, where `asOf` is the time the
 * copy was fetched (null for a fresh answer). Any other failure is thrown as it is.
 */
export async function getKept(path, name, me) {
  try {
    const data = await api.get(path);
    if (me && me.role === 'candidate') await save(name, me.id, data);
    return { data, asOf: null };
  } catch (err) {
    if (!(err instanceof api.ApiError) || err.status !== 0) throw err;
    const kept = await load(name);
    if (!kept || (me && kept.candidate_id !== me.id)) throw err;
    return { data: kept.data, asOf: kept.fetched_at };
  }
}
