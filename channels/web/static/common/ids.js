/*
 * Client ids for messages: random RFC 4122 version 4 UUIDs, which the server uses to drop a
 * message sent twice (a re-send after a reconnect, a retried reply).
 */

// crypto.randomUUID only exists in secure contexts (https, localhost); the widget also runs on
// plain-http shop pages, so the fallback must make the same kind of id from random bytes.
export function newClientId(source = globalThis.crypto) {
  if (source && typeof source.randomUUID === "function") return source.randomUUID();
  const bytes = new Uint8Array(16);
  if (source && typeof source.getRandomValues === "function") {
    source.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  return uuidFromBytes(bytes);
}

// Sixteen random bytes as a version 4 UUID: "xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx", Y in 8-b.
export function uuidFromBytes(random) {
  const bytes = Uint8Array.from(random);
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(bytes, (b) => (b + 0x100).toString(16).slice(1)).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}
