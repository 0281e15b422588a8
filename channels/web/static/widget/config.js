/*
 * The widget's settings, read from its own <script> tag (see widget.js for the attributes).
 */
import { nonEmpty, positiveInt } from "../common/text.js";

export const DEFAULT_TITLE = "Customer service";
export const DEFAULT_GREETING = "Hi! Ask us about your order, delivery, returns or our products.";
export const DEFAULT_MAX_CHARS = 2000; // the server's default SHOPCLERK_MAX_MESSAGE_CHARS

// `tag`: anything with `src` and getAttribute(); `baseURI`: the page's address.
export function readConfig(tag, baseURI) {
  const src = new URL(tag.src, baseURI);
  // Keep any path prefix a reverse proxy adds in front of /static/ (usually there is none).
  const prefix = src.pathname.replace(/\/static\/widget\.js$/, "");
  const base = (prefix === src.pathname ? "" : prefix).replace(/\/$/, "");
  const wsScheme = src.protocol === "https:" ? "wss://" : "ws://";
  return {
    wsUrl: wsScheme + src.host + base + "/ws",
    cssUrl: src.origin + base + "/static/widget.css",
    title: nonEmpty(tag.getAttribute("data-title")) || DEFAULT_TITLE,
    greeting: nonEmpty(tag.getAttribute("data-greeting")) || DEFAULT_GREETING,
    maxChars: positiveInt(tag.getAttribute("data-max-chars")) || DEFAULT_MAX_CHARS,
    identity: cleanIdentity({
      customer_id: tag.getAttribute("data-customer-id"),
      email: tag.getAttribute("data-customer-email"),
      name: tag.getAttribute("data-customer-name"),
      signature: tag.getAttribute("data-customer-signature"),
      token: tag.getAttribute("data-customer-token"),
    }),
  };
}

// The shopper identity the shop signed, as the server takes it; null when none is given.
// The server checks the signature: this only keeps the fields it knows.
export function cleanIdentity(given) {
  if (!given || typeof given !== "object") return null;
  const token = nonEmpty(given.token);
  if (token) return { token };
  const identity = {};
  for (const field of ["customer_id", "email", "name", "signature"]) {
    const value = nonEmpty(typeof given[field] === "number" ? String(given[field]) : given[field]);
    if (value) identity[field] = value;
  }
  return identity.customer_id && identity.email ? identity : null;
}
