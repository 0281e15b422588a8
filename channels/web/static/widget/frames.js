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
