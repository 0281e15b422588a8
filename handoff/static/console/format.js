/*
 * How the console words what the server sends: labels, durations, excerpts, error sentences.
 * Plain functions of their inputs (no DOM, no state), tested in tests/js/.
 */
import { positiveInt as toId, str } from "../../../static/common/text.js";

export const EXCERPT_CHARS = 140;

// Lookup tables without a prototype: a server value like "constructor" finds nothing.
export const REASONS = Object.assign(Object.create(null), {
  customer_asked: "Asked for a person",
  low_confidence: "Bot unsure",
  no_grounded_answer: "No answer found",
  repeated_failure: "Bot kept failing",
  negative_sentiment: "Unhappy customer",
  complaint: "Complaint",
  policy: "Policy",
  agent_took_over: "Taken over",
  agent_offline: "Agent went offline",
  put_back: "Put back",
});

export function reasonLabel(code) {
  return REASONS[code] || humanize(code);
}

export function excerpt(text) {
  const chars = Array.from(str(text).replace(/\s+/g, " ").trim());
  return chars.length > EXCERPT_CHARS ? chars.slice(0, EXCERPT_CHARS - 1).join("") + "…" : chars.join("");
}

export function humanize(code) {
  return str(code).replace(/_/g, " ");
}

export function customerLabel(customer) {
  const c = customer && typeof customer === "object" ? customer : {};
  return str(c.name).trim() || str(c.email).trim() || "Visitor";
}

export function agentName(agent) {
  return agent ? str(agent.display_name) || str(agent.name) || str(agent.username) || "Agent" : "";
}

// The owner string of the agent `me` ("agent:7"), "" before the session is known.
export function ownerOf(me) {
  return me ? "agent:" + me.id : "";
}

// Who owns a conversation, as shown to agent `me`: "Queue", "Bot", "You" or a name (the one
// the server gave, else the online agent's).
export function ownerLabel(owner, ownerName, me, agentsOnline) {
  if (owner === "queue") return "Queue";
  if (owner === "bot") return "Bot";
  if (owner && owner === ownerOf(me)) return "You";
  if (str(ownerName)) return ownerName;
  const match = /^agent:(\d+)$/.exec(str(owner));
  const online = Array.isArray(agentsOnline) ? agentsOnline : [];
  const agent = match ? online.find((a) => a && String(a.id) === match[1]) : null;
  return agent ? agentName(agent) : "Another agent";
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min " + String(s % 60).padStart(2, "0") + " s";
  const h = Math.floor(m / 60);
  if (h < 24) return h + " h " + String(m % 60).padStart(2, "0") + " min";
  return Math.floor(h / 24) + " d " + (h % 24) + " h";
}

export function formatValue(value) {
  if (value === null || value === undefined || value === "") return "";
  if (Array.isArray(value)) return value.map(formatValue).filter(Boolean).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// The server's one-line messages ("there is no suggestion 5") as sentences.
export function sentence(text) {
  const t = str(text).trim();
  return t ? t[0].toUpperCase() + t.slice(1) + (/[.!?…]$/.test(t) ? "" : ".") : t;
}

// One alternate wording per line: trimmed, without blanks or repeats (ignoring case).
export function lines(text) {
  const seen = new Set();
  const out = [];
  for (const line of text.split("\n")) {
    const a = line.trim();
    if (a && !seen.has(a.toLowerCase())) {
      seen.add(a.toLowerCase());
      out.push(a);
    }
  }
  return out;
}

export function alternatesText(list) {
  return (Array.isArray(list) ? list : []).map(str).filter((a) => a.trim()).join("\n");
}

// What a failed API call ({status, error, retryAfter}) means for the agent, in one sentence.
// `label(owner)`: ownerLabel for the agent looking.
export function errorText(result, data, label) {
  const error = result.error || {};
  const code = str(error.code);
  if (code === "taken") {
    const owner = error.owner !== undefined ? error.owner : data && data.owner;
    let who = "Another agent";
    if (owner && typeof owner === "object") who = agentName(owner);
    else if (owner === "bot" || owner === "queue" || /^agent:\d+$/.test(str(owner))) who = label(owner);
    else if (str(owner)) who = owner;
    return who === "You" ? "You already have this conversation." : who + " already has this conversation.";
  }
  if (code === "not_yours") return "This conversation is not yours (any more).";
  if (code === "unknown_conversation") return "This conversation does not exist (any more).";
  if (code === "too_large") return str(error.message) || "That is too long to send.";
  if (result.status === 429) {
    return "Too many requests." + (result.retryAfter ? " Please wait " + result.retryAfter + " s." : " Please wait a moment.");
  }
  return str(error.message) || "Something went wrong (error " + result.status + "). Please try again.";
}

// A message's identity in the open conversation's list: its id, else its seq; null: neither.
export function messageKey(m) {
  if (toId(m.id)) return "id:" + m.id;
  if (toId(m.seq)) return "seq:" + m.seq;
  return null;
}
