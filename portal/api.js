// The only way the portal talks to the server. The access token lives in this module's memory and nowhere
// else; the refresh token is the HttpOnly `ips_refresh` cookie, which the browser sends to /api/v1/auth only.
// Beside it the server sets `ips_session=1`, a cookie with no secret that scripts can read: while it is
// there a session may exist, and only then does the portal ask for a refresh, so a start without a
// session sends no request that could be refused.
import { getLang } from '/i18n.js';

const BASE = '/api/v1';
let token = null;
let expiresAt = 0;
let refreshing = null;

/** Called when the session has ended (refresh refused): the app sends the person to the login screen. */
export const session = { onEnded: () => {} };

/**
 * A failed request: `status` 0 means the network, otherwise the HTTP status with its problem body.
 * `write` is true for a change (anything but GET), which was then not saved.
 */
export class ApiError extends Error {
  constructor(status, problem = {}, write = false) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.write = write;
  }
  /** The field errors, keyed by field name (`errors[].field`). */
  get fields() {
    const out = {};
    for (const e of this.problem.errors || []) out[e.field] = e;
    return out;
  }
}

export function loggedIn() { return token !== null; }

const MARKER = 'ips_session';

/** Whether a session may exist (the server's marker cookie is there). */
export function mayHaveSession() {
  return document.cookie.split(';').some((c) => c.trim() === `${MARKER}=1`);
}

/** Removes the marker once the session is known to be over, so the next start does not ask again. */
function dropMarker() {
  document.cookie = `${MARKER}=; Path=/; Max-Age=0; Secure; SameSite=Strict`;
}

function accept(tokens) {
  token = tokens.access_token;
  expiresAt = Date.now() + (Number(tokens.expires_in) || 900) * 1000;
}

function forget() {
  token = null;
  expiresAt = 0;
}

/** Sends a request; without a network throws ApiError(0), a change (`write`) unless told otherwise. */
async function send(path, init, write = (init.method || 'GET') !== 'GET') {
  let res;
  try {
    res = await fetch(BASE + path, { credentials: 'same-origin', cache: 'no-store', ...init });
  } catch {
    throw new ApiError(0, {}, write);
  }
  return res;
}

async function body(res) {
  const type = res.headers.get('content-type') || '';
  if (res.status === 204) return null;
  if (type.includes('json')) {
    try { return await res.json(); } catch { return null; }
  }
  return res.text();
}

/**
 * Exchanges the refresh cookie for a new access token. One refresh at a time, across tabs too: two
 * refreshes with the same cookie would look like a stolen token and end the session everywhere.
 * Answers true with a new token, false when there is no session; throws ApiError(0) without a network.
 */
export function refresh() {
  if (!mayHaveSession()) {
    forget();
    return Promise.resolve(false);
  }
  if (!refreshing) {
    const run = async () => {
      const res = await send('/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-language': getLang() },
        body: '{}',
      }, false);
      if (!res.ok) {
        // Read the answer even though it is not used: an unread body keeps the request open.
        await res.arrayBuffer().catch(() => {});
        forget();
        if (res.status === 401) dropMarker();
        return false;
      }
      accept(await res.json());
      return true;
    };
    const locked = navigator.locks ? navigator.locks.request('ips-refresh', run) : run();
    refreshing = locked.finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function authPost(path, payload) {
  const res = await send(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept-language': getLang() },
    body: JSON.stringify(payload),
  }, false);
  const data = await body(res);
  if (!res.ok) throw new ApiError(res.status, data || {});
  accept(data);
}

export function login(username, password) {
  return authPost('/auth/login', { username, password });
}

export function acceptInvitation(code, username, password) {
  return authPost(`/auth/invitations/${encodeURIComponent(code)}/accept`, { username, password });
}

export async function logout() {
  try {
    const res = await send('/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }, false);
    await res.arrayBuffer().catch(() => {});
  } finally {
    forget();
    dropMarker();
  }
}

/** A fresh Idempotency-Key. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * A refresh for a request; without a network the request fails as itself (a read or a change).
 */
async function renew(method) {
  try {
    return await refresh();
  } catch {
    throw new ApiError(0, {}, method !== 'GET');
  }
}

/**
 * One API call. Options: `body` (sent as JSON), `ifMatch` (a version number), `idempotent` (sends an
 * Idempotency-Key so a double tap or a retry never creates twice), `as: 'blob'`.
 * Answers `{ status, data, headers }`; throws ApiError.
 */
export async function request(method, path, opts = {}) {
  // A token about to expire is renewed first; so is a missing one while a session may exist (after a
  // start without a network), so no request goes out that is sure to be refused.
  if (token ? Date.now() > expiresAt - 60_000 : mayHaveSession()) await renew(method);
  const headers = { 'accept-language': getLang() };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
  if (opts.idempotent) headers['idempotency-key'] = opts.idempotent === true ? newKey() : opts.idempotent;
  const init = () => ({
    method,
    headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers,
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  let res = await send(path, init());
  if (res.status === 401) {
    if (await renew(method)) {
      res = await send(path, init());
    }
    if (res.status === 401) {
      forget();
      session.onEnded();
      throw new ApiError(401, {});
    }
  }
  if (!res.ok) throw new ApiError(res.status, (await body(res)) || {}, method !== 'GET');
  const data = opts.as === 'blob' ? await res.blob() : await body(res);
  return { status: res.status, data, headers: res.headers };
}

export const get = async (path, opts) => (await request('GET', path, opts)).data;
export const post = async (path, payload, opts = {}) =>
  (await request('POST', path, { ...opts, body: payload === undefined ? undefined : payload })).data;
export const put = async (path, payload, opts = {}) => (await request('PUT', path, { ...opts, body: payload })).data;
export const patch = async (path, payload, opts = {}) => (await request('PATCH', path, { ...opts, body: payload })).data;
export const del = async (path, opts) => (await request('DELETE', path, opts)).data;
