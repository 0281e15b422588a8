/*
 * shopclerk agent console: the login page.
 *
 * Speaks the API of docs/agent-console.md: GET /agent/api/session for the CSRF token (and to
 * skip this page when already logged in), POST /agent/api/login with that token.
 * An ES module (login.html loads it with type="module"). No inline script or style anywhere,
 * so the page works under `Content-Security-Policy: default-src 'self'`.
 */
import { basePath, readJson, retryAfterSeconds } from "../../static/common/http.js";

// "/agent/static/login.js" -> "/agent" (keeps any prefix a reverse proxy adds).
const BASE = basePath(import.meta.url, "/static/login.js", "/agent");

let csrf = null;
let busy = false;
let lockedUntil = 0; // after a 429: no attempts before this time (ms since epoch)
let lockTimer = null;
let ui = null;

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

async function fetchSession() {
  const response = await fetch(BASE + "/api/session", {
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  const data = await readJson(response);
  if (!response.ok || !data) throw new Error("session: HTTP " + response.status);
  csrf = typeof data.csrf === "string" ? data.csrf : null;
  return data;
}

async function postLogin(username, password) {
  return fetch(BASE + "/api/login", {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf || "" },
    body: JSON.stringify({ username, password }),
  });
}

function lockFor(seconds) {
  lockedUntil = Date.now() + seconds * 1000;
  clearInterval(lockTimer);
  const update = () => {
    const left = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(lockTimer);
      lockTimer = null;
      ui.submit.disabled = false;
      showError("");
      return;
    }
    ui.submit.disabled = true;
    const text = "Too many attempts. Please wait " + left + " second" + (left === 1 ? "" : "s") + ".";
    // Only rewrite on change, so screen readers are not flooded every second.
    if (ui.error.textContent !== text) showError(text);
  };
  update();
  lockTimer = setInterval(update, 1000);
}

async function onSubmit(event) {
  event.preventDefault();
  if (busy || Date.now() < lockedUntil) return;
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (!username || !password) {
    showError("Enter your username and password.");
    (username ? ui.password : ui.username).focus();
    return;
  }
  busy = true;
  ui.submit.disabled = true;
  ui.form.setAttribute("aria-busy", "true");
  showError("");
  let locked = false;
  try {
    if (!csrf) await fetchSession();
    let response = await postLogin(username, password);
    if (response.status === 403) {
      // The token went stale (e.g. a login or logout in another tab): fetch a fresh one once.
      const data = await fetchSession();
      if (data.agent) {
        window.location.replace(BASE);
        return;
      }
      response = await postLogin(username, password);
    }
    const data = await readJson(response);
    if (response.ok) {
      window.location.replace(BASE);
      return;
    }
    if (response.status === 401) {
      showError("Wrong username or password");
      ui.password.value = "";
      ui.password.focus();
    } else if (response.status === 429) {
      locked = true;
      lockFor(retryAfterSeconds(response.headers.get("Retry-After"), 30)); // 30 s when missing
    } else {
      const message = data && data.error && typeof data.error.message === "string" ? data.error.message : "";
      showError(message || "Signing in failed (error " + response.status + "). Please try again.");
    }
  } catch (err) {
    showError("Cannot reach the server. Check your connection and try again.");
  } finally {
    busy = false;
    ui.form.removeAttribute("aria-busy");
    if (!locked && Date.now() >= lockedUntil) ui.submit.disabled = false;
  }
}

async function start() {
  ui = {
    form: document.getElementById("login-form"),
    username: document.getElementById("login-username"),
    password: document.getElementById("login-password"),
    submit: document.querySelector('[data-testid="login-submit"]'),
    error: document.getElementById("login-error"),
  };
  ui.form.addEventListener("submit", onSubmit);
  ui.username.focus();
  try {
    const data = await fetchSession();
    if (data.agent) window.location.replace(BASE);
  } catch (err) {
    // Not fatal: the token is fetched again on submit.
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
