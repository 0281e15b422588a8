/*
 * Reading untrusted values (server frames, data attributes, API answers) and splitting text
 * into plain text and links. Nothing here touches the DOM: dom.js turns the pieces into nodes,
 * always as text, never as markup.
 */

export function str(value) {
  return typeof value === "string" ? value : "";
}

// A trimmed, non-empty string, or null.
export function nonEmpty(value) {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

// A positive integer from a number or a decimal string (ids, seqs), or null.
export function positiveInt(value) {
  const n = typeof value === "number" ? value : parseInt(value, 10);
  return Number.isInteger(n) && n > 0 ? n : null;
}

// The server counts characters as Python does (code points), not UTF-16 units: an emoji is 1.
export function charCount(text) {
  return Array.from(text).length;
}

// An absolute http(s) address for `value`, or null (javascript:, data: and the like never pass).
export function safeHttpUrl(value, base) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// Plain text with its web addresses picked out: [{text}, {text, href}, ...]. Trailing
// punctuation belongs to the sentence, not the address.
export function linkPieces(text, base) {
  const pieces = [];
  const pattern = /\bhttps?:\/\/[^\s<>"']+/g;
  let last = 0;
  let match;
  while ((match = pattern.exec(text)) !== null) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, "");
    const href = safeHttpUrl(url, base);
    if (!href) continue;
    pieces.push({ text: text.slice(last, match.index) });
    pieces.push({ text: url, href });
    last = match.index + url.length;
    pattern.lastIndex = last;
  }
  pieces.push({ text: text.slice(last) });
  return pieces;
}

// A server frame as an object, or null when it is not JSON or not an object.
export function parseFrame(raw) {
  let frame;
  try {
    frame = JSON.parse(raw);
  } catch {
    return null;
  }
  return frame && typeof frame === "object" ? frame : null;
}

// Own properties only: a server value such as "constructor" finds nothing.
export function lookup(table, key) {
  return typeof key === "string" && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}
