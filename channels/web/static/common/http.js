/* Small pieces of talking to the server's JSON API, shared by the console and its login page. */

// The body as JSON, or null (an empty body, HTML from a proxy...).
export async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// Seconds from a Retry-After header (delta-seconds or an HTTP date), at least 1; `fallback`
// when it is missing or unreadable.
export function retryAfterSeconds(header, fallback, now = Date.now()) {
  const raw = typeof header === "string" ? header.trim() : "";
  if (/^\d+$/.test(raw)) return Math.max(1, parseInt(raw, 10));
  const date = raw ? Date.parse(raw) : NaN;
  return Number.isFinite(date) ? Math.max(1, Math.ceil((date - now) / 1000)) : fallback;
}

// The directory a module is served under, less `suffix`: "/agent/static/login.js" -> "/agent"
// (keeps any path prefix a reverse proxy adds). `fallback` when the path does not end so.
export function basePath(moduleUrl, suffix, fallback) {
  const path = new URL(moduleUrl).pathname;
  return path.endsWith(suffix) ? path.slice(0, -suffix.length) : fallback;
}
