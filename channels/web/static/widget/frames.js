/*
 * What the widget makes of server frames and of its own counters, as plain functions of their
 * inputs (no DOM, no state): the parts worth testing without a browser.
 */
import { nonEmpty, positiveInt } from "../common/text.js";

export const AGENT_FALLBACK_NAME = "Support agent"; // an agent message or typing frame without a name
export const DEFAULT_SURVEY_SCALE = [1, 2, 3, 4, 5];

// "bot", "agent" (a person of the shop) or "system" (an event such as "Anna joined the chat.").
// A role this version does not know is shown as a system line; no role at all is the bot's.
export function incomingRole(role) {
  if (role === undefined || role === null) return "bot";
  return role === "bot" || role === "agent" ? role : "system";
}

export function agentName(value) {
  return nonEmpty(value) || AGENT_FALLBACK_NAME;
}

// The survey's scores: 2 to 10 positive integers, else the default 1-5.
export function surveyScale(scale) {
  const valid =
    Array.isArray(scale) && scale.length >= 2 && scale.length <= 10 && scale.every((n) => positiveInt(n) === n);
  return valid ? scale : DEFAULT_SURVEY_SCALE;
}

// A handoff frame's state as a safe attribute value: "bot", "queued", "agent", "offline", ...
export function handoffStateName(value) {
  return typeof value === "string" && /^[a-z_]{1,20}$/.test(value) ? value : "unknown";
}

// The system line for a `rate_limited` error; `queued`: the message waits to be sent again.
export function rateLimitedText(serverText, retryAfter, queued) {
  const seconds = rateLimitSeconds(retryAfter);
  const text = serverText + " Please wait " + seconds + " second" + (seconds === 1 ? "" : "s");
  return text + (queued ? "; we'll send your message then." : ".");
}

export function rateLimitSeconds(retryAfter) {
  return Math.max(1, Math.ceil(Number(retryAfter) || 5));
}

// The note on a message the server could not take for now (`overloaded`: too many messages
// waiting; `unavailable`: it cannot reach its database) and sends again by itself.
export function busyNotice(code, retryAfter) {
  const seconds = rateLimitSeconds(retryAfter);
  return code === "unavailable"
    ? "Can't reach the shop right now — retrying in " + seconds + " s…"
    : "We're busy — sending again in " + seconds + " s…";
}

// After the server closed the socket with `code` (other than 4403): reconnect "now" (1012:
// it is restarting and another process takes the socket at once), after a wait in ms (1013:
// try again later, as long as the error frame before the close said: `retryAfter` seconds),
// "slow" (4429: too many sockets from here) or "retry" (the normal back-off). A reconnect says
// hello from the last seq shown, so nothing is missed.
export function reconnectAfterClose(code, retryAfter) {
  if (code === 1012) return "now";
  if (code === 1013) return retryAfter ? rateLimitSeconds(retryAfter) * 1000 : "retry";
  return code === 4429 ? "slow" : "retry";
}

export function launcherLabel(isOpen, unread) {
  let label = isOpen ? "Close chat" : "Open chat";
  if (!isOpen && unread > 0) label += unread === 1 ? " (1 new message)" : " (" + unread + " new messages)";
  return label;
}

export function formatPrice(price, locale) {
  const amount = typeof price === "number" ? price : parseFloat(price);
  if (!Number.isFinite(amount)) return typeof price === "string" ? price : "";
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" }).format(amount);
  } catch {
    return "EUR " + amount.toFixed(2);
  }
}
