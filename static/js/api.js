/**
 * The API client every page uses.
 *
 * - The access token lives in this module's memory only (never in storage), so a script
 *   injected into the page cannot read it back from localStorage later.
 * - The refresh token is an HttpOnly cookie; `POST /api/v1/auth/refresh` (with the CSRF header)
 *   trades it for a new access token on page load and whenever a call answers 401.
 * - A refresh token may be used once: two concurrent refreshes would look like a replay and
 *   revoke the session. Refreshes are therefore serialised within the tab (one promise) and
 *   across tabs (navigator.locks, where the browser has it).
 * - Errors are thrown as ApiError, carrying the problem+json `detail` to show the user.
 */

const CSRF_COOKIE = "echoel_csrf";
const REFRESH_LOCK = "echoel-refresh";
// Not a secret: only a hint that a refresh cookie may exist, so anonymous visitors do not
// spend an auth request (rate-limited per IP) on every page load.
const SIGNED_IN_HINT = "echoel:maybe-signed-in";
// Renew a little before expiry so a call never leaves with a token about to die.
const EARLY_REFRESH_MS = 30_000;

let access = null; // { token, expiresAt }
let account = null;
let restoring = null; // the page's first refresh, shared by every caller
let refreshing = null; // the refresh in flight in this tab
let restoreError = null;
const listeners = new Set();
const channel = "BroadcastChannel" in window ? new BroadcastChannel("echoel-auth") : null;

/** An API call that failed; `detail` is a sentence for the user. */
export class ApiError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(problem.detail || problem.title || `The request failed (HTTP ${status}).`);
    this.name = "ApiError";
    this.status = status;
    this.title = problem.title || "";
    this.detail = this.message;
    this.field = problem.field || null; // set by domain errors about one field (e.g. a taken handle)
    this.errors = Array.isArray(problem.errors) ? problem.errors : []; // validation errors: {key, message}
    this.retryAfter = retryAfter; // seconds, from Retry-After on 429/503
  }
}

/** The signed-in account, or null. */
export function currentAccount() {
  return account;
}

/** Call `fn(account)` whenever the signed-in account changes; returns an unsubscribe function. */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setSession(pair, { announce = true } = {}) {
  const before = account;
  if (pair) {
    access = { token: pair.access_token, expiresAt: Date.now() + pair.expires_in * 1000 };
    account = pair.account;
    localStorage.setItem(SIGNED_IN_HINT, "1");
  } else {
    access = null;
    account = null;
    localStorage.removeItem(SIGNED_IN_HINT);
    if (announce && before) channel?.postMessage("signed-out");
  }
  if (before !== account) listeners.forEach((fn) => fn(account));
}

/** Replace the cached account after the server returned a newer copy (e.g. a profile edit). */
export function updateAccount(next) {
  account = next;
  listeners.forEach((fn) => fn(account));
}

// Another tab logged out: this tab's access token may still work for minutes, but the user
// asked to leave, so drop it here too.
channel?.addEventListener("message", (event) => {
  if (event.data === "signed-out") setSession(null, { announce: false });
});

function readCookie(name) {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : null;
}

async function csrfToken({ fresh = false } = {}) {
  if (fresh) {
    const secure = window.isSecureContext ? "; Secure" : "";
    document.cookie = `${CSRF_COOKIE}=; Max-Age=0; Path=/; SameSite=Strict${secure}`;
  }
  let token = readCookie(CSRF_COOKIE);
  if (!token) {
    await send("/api/v1/auth/csrf", { method: "GET" });
    token = readCookie(CSRF_COOKIE);
  }
  if (!token) {
    throw new ApiError(0, {
      detail: "Your browser refused the site's security cookie. Allow cookies for this site, then reload the page.",
    });
  }
  return token;
}

async function send(path, init) {
  try {
    return await fetch(path, { credentials: "same-origin", cache: "no-store", ...init });
  } catch {
    throw new ApiError(0, { detail: "Echoel cannot be reached. Check your connection, then try again." });
  }
}

async function toError(res) {
  let problem = {};
  try {
    problem = await res.json();
  } catch {
    problem = { detail: `The server answered ${res.status} ${res.statusText}. Try again in a moment.` };
  }
  const retry = Number.parseInt(res.headers.get("Retry-After") || "", 10);
  return new ApiError(res.status, problem, Number.isFinite(retry) ? retry : null);
}

/** POST to a cookie-authenticated auth route with the CSRF header (re-fetching a stale CSRF cookie once). */
async function postWithCsrf(path) {
  const attempt = async (fresh) =>
    send(path, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": await csrfToken({ fresh }) },
    });
  let res = await attempt(false);
  // 403 here means the CSRF cookie no longer matches (e.g. the server's key changed).
  if (res.status === 403) res = await attempt(true);
  return res;
}

async function refreshNow() {
  const res = await postWithCsrf("/api/v1/auth/refresh");
  if (res.ok) {
    setSession(await res.json());
    return true;
  }
  if (res.status === 401) {
    setSession(null);
    return false;
  }
  throw await toError(res);
}

/** Trade the refresh cookie for a new access token; resolves to true when signed in. */
export function refresh() {
  refreshing ??= (async () => {
    try {
      return navigator.locks
        ? await navigator.locks.request(REFRESH_LOCK, refreshNow)
        : await refreshNow();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Restore the session once per page load; resolves to the account or null. */
export function restoreSession() {
  restoring ??= (async () => {
    if (!localStorage.getItem(SIGNED_IN_HINT)) return null;
    try {
      await refresh();
    } catch (err) {
      // The server is unreachable or busy (e.g. 429): show the page signed out rather than
      // not at all, and keep the cookie: the next page load tries again.
      restoreError = err;
    }
    return account;
  })();
  return restoring;
}

/** Why the page's session could not be restored (not 401: a network error, 429, 5xx), or null. */
export function sessionRestoreError() {
  return restoreError;
}

/**
 * Call the API. `body` is sent as JSON; `auth: false` skips the access token.
 * Resolves to the parsed JSON (or null for 204); throws ApiError otherwise.
 */
export async function api(path, { method = "GET", body, auth = true, raw = false } = {}) {
  if (auth) {
    await restoreSession();
    if (access && Date.now() > access.expiresAt - EARLY_REFRESH_MS) await refresh();
  }
  const call = () => {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && access) headers.Authorization = `Bearer ${access.token}`;
    return send(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let res = await call();
  if (res.status === 401 && auth && (await refresh())) res = await call();
  if (!res.ok) throw await toError(res);
  if (raw) return res; // e.g. a file to save
  return res.status === 204 ? null : res.json();
}

/** Log in; the server sets the refresh cookie. Resolves to the account. */
export async function login(email, password) {
  const pair = await api("/api/v1/auth/login", { method: "POST", body: { email, password }, auth: false });
  setSession(pair);
  return pair.account;
}

/** Adopt a token pair returned by the API (e.g. after a password change). */
export function adoptSession(pair) {
  setSession(pair);
}

/** End this browser's session. */
export async function logout() {
  try {
    const res = await postWithCsrf("/api/v1/auth/logout");
    if (!res.ok) throw await toError(res);
  } finally {
    setSession(null);
  }
}

/** End every session of this account, on every device. */
export async function logoutEverywhere() {
  await api("/api/v1/account/logout-everywhere", { method: "POST" });
  setSession(null);
}

/** A sentence telling the user what went wrong and what to do. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return "Something went wrong in the page. Reload it and try again.";
  if (err.status === 429) {
    const wait = err.retryAfter ? ` Wait ${formatWait(err.retryAfter)}, then retry.` : " Wait a moment, then retry.";
    return `Too many attempts.${wait}`;
  }
  if (err.status >= 500) return `${err.detail} If it keeps happening, try again later.`;
  return err.detail;
}

function formatWait(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}
