/*
 * The messages a customer wrote that the server has not acknowledged yet, in send order. They
 * survive a reload (the caller's store, e.g. sessionStorage) and are sent again after every
 * reconnect: the server drops duplicates by client_id. An item: {client_id, text, inFlight,
 * holdUntil}; inFlight: sent on the current socket; holdUntil: rate-limited until then (ms).
 */
import { newClientId } from "./ids.js";

export class Outbox {
  // store: {load() -> string | null, save(string)}
  constructor(store) {
    this.store = store;
    this.items = [];
  }

  // What was saved, minus anything unreadable; nothing is in flight after a load.
  load() {
    this.items = parseOutbox(this.store.load());
    return this.items;
  }

  save() {
    this.store.save(serializeOutbox(this.items));
  }

  get size() {
    return this.items.length;
  }

  ids() {
    return this.items.map((item) => item.client_id);
  }

  add(text, clientId = newClientId()) {
    const item = { client_id: clientId, text, inFlight: false, holdUntil: 0 };
    this.items.push(item);
    this.save();
    return item;
  }

  find(clientId) {
    return this.items.find((item) => item.client_id === clientId) || null;
  }

  // The removed item, or null when it was not (any more) in the outbox.
  remove(clientId) {
    const index = this.items.findIndex((item) => item.client_id === clientId);
    if (index === -1) return null;
    const [item] = this.items.splice(index, 1);
    this.save();
    return item;
  }

  clear() {
    this.items = [];
    this.save();
  }

  // A socket went away: whatever was in flight may or may not have arrived.
  resetInFlight() {
    for (const item of this.items) item.inFlight = false;
  }

  // The server refused an item for now: keep it, send it again from `until` (ms).
  hold(item, until) {
    item.inFlight = false;
    item.holdUntil = until;
  }

  // What to send at `now`: the items neither on their way nor held back, and when the next
  // held one may go (Infinity: none is held).
  due(now) {
    const send = [];
    let nextHold = Infinity;
    for (const item of this.items) {
      if (item.inFlight) continue;
      if (item.holdUntil > now) nextHold = Math.min(nextHold, item.holdUntil);
      else send.push(item);
    }
    return { send, nextHold };
  }
}

export function serializeOutbox(items) {
  return JSON.stringify(items.map((item) => ({ client_id: item.client_id, text: item.text })));
}

export function parseOutbox(raw) {
  let parsed;
  try {
    parsed = JSON.parse(raw || "[]");
  } catch {
    parsed = [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed
    .filter((item) => item && typeof item.client_id === "string" && typeof item.text === "string" && item.text.trim())
    .map((item) => ({ client_id: item.client_id, text: item.text, inFlight: false, holdUntil: 0 }));
}
