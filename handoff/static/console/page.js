/*
 * Page-wide helpers the views share: the HTTP API, the login redirect, announcements, error and
 * status lines.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { textEl } from "../../../static/common/dom.js";
import { readJson, retryAfterSeconds } from "../../../static/common/http.js";
import { str } from "../../../static/common/text.js";
import { findItem as findBoardItem } from "./board.js";
import { setLeaving, teardownSocket } from "./connection.js";
import { errorText as formatError, ownerLabel as formatOwner, ownerOf } from "./format.js";
import { BASE, page, state } from "./state.js";

// ---- Small helpers -------------------------------------------------------------------------

export function myOwner() {
  return ownerOf(state.me);
}

// Who owns a conversation, as shown to this agent: "Queue", "Bot", "You" or a name.
export function ownerLabel(owner, ownerName) {
  return formatOwner(owner, ownerName, state.me, state.board ? state.board.agents_online : []);
}

export function errorText(result, data) {
  return formatError(result, data, (owner) => ownerLabel(owner, null));
}

export function findItem(id) {
  return findBoardItem(state.board, id);
}

export function timeEl(iso, className) {
  const date = new Date(str(iso));
  if (!str(iso) || Number.isNaN(date.getTime())) return textEl("time", className, "");
  const sameDay = date.toDateString() === new Date().toDateString();
  const options = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  const node = textEl("time", className, date.toLocaleString(undefined, options), { datetime: date.toISOString() });
  node.title = date.toLocaleString();
  return node;
}

export function announce(text) {
  // Clear first so repeating the same sentence is announced again.
  page.ui.announcer.textContent = "";
  setTimeout(() => (page.ui.announcer.textContent = text), 50);
}

// ---- HTTP API ------------------------------------------------------------------------------

// Resolves to {ok, status, data, error, retryAfter}; never rejects. A 401 leaves for the login.
export async function api(method, path, body, retried) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf || "";
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + "/api" + path, init);
  } catch (err) {
    const error = { code: "network", message: "Cannot reach the server. Check your connection and try again." };
    return { ok: false, status: 0, data: null, error };
  }
  const data = await readJson(response);
  const error = response.ok ? null : (data && data.error && typeof data.error === "object" ? data.error : {});
  if (response.status === 401) {
    goToLogin();
    return { ok: false, status: 401, data, error };
  }
  if (response.status === 403 && method !== "GET" && !retried && (!error.code || error.code === "csrf")) {
    // The token changed (a new login in another tab): fetch the current one and retry once.
    if (await refreshSession()) return api(method, path, body, true);
  }
  return { ok: response.ok, status: response.status, data, error, retryAfter: retryAfterSeconds(response.headers.get("Retry-After"), 0) };
}

export async function refreshSession() {
  const result = await api("GET", "/session");
  if (!result.ok || !result.data) return false;
  if (!result.data.agent) {
    goToLogin();
    return false;
  }
  state.csrf = str(result.data.csrf);
  return true;
}

export function goToLogin() {
  if (state.leaving) return;
  setLeaving(true);
  teardownSocket();
  window.location.replace(BASE + "/login");
}

// ---- Errors and status lines ---------------------------------------------------------------

export function showActionError(text) {
  page.ui.actionError.textContent = text;
  page.ui.actionError.hidden = !text;
}

export function showAppError(text) {
  page.ui.appError.textContent = text;
  page.ui.appError.hidden = !text;
}

export function setConnStatus(text) {
  clearTimeout(state.connTimer);
  state.connTimer = null;
  page.ui.connStatus.textContent = text;
  page.ui.connStatus.hidden = !text;
}

