import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox, parseOutbox, serializeOutbox } from "../../channels/web/static/common/outbox.js";

function memoryStore(initial = null) {
  const store = { saved: initial, load: () => store.saved, save: (text) => (store.saved = text) };
  return store;
}

test("messages are kept in order and survive a reload; nothing is in flight after it", () => {
  const store = memoryStore();
  const outbox = new Outbox(store);
  const first = outbox.add("hello", "id-1");
  outbox.add("where is my order?", "id-2");
  first.inFlight = true;
  const reloaded = new Outbox(store);
  reloaded.load();
  assert.deepEqual(reloaded.ids(), ["id-1", "id-2"]);
  assert.deepEqual(reloaded.items[0], { client_id: "id-1", text: "hello", inFlight: false, holdUntil: 0 });
});

test("an acknowledged message leaves the outbox and the store; a repeated ack is harmless", () => {
  const store = memoryStore();
  const outbox = new Outbox(store);
  outbox.add("a", "id-1");
  outbox.add("b", "id-2");
  assert.equal(outbox.remove("id-1").text, "a");
  assert.equal(outbox.remove("id-1"), null);
  assert.deepEqual(JSON.parse(store.saved), [{ client_id: "id-2", text: "b" }]);
});

test("due: what is neither in flight nor held back, and when the next held one may go", () => {
  const outbox = new Outbox(memoryStore());
  const a = outbox.add("a", "a");
  const b = outbox.add("b", "b");
  const c = outbox.add("c", "c");
  a.inFlight = true;
  outbox.hold(b, 5000);
  let due = outbox.due(1000);
  assert.deepEqual(due.send, [c]);
  assert.equal(due.nextHold, 5000);
  due = outbox.due(5000);
  assert.deepEqual(due.send, [b, c]);
  assert.equal(due.nextHold, Infinity);
  outbox.resetInFlight(); // the socket went away: send everything again
  assert.deepEqual(outbox.due(6000).send, [a, b, c]);
});

test("a broken or foreign store reads as empty, and blank or malformed items are dropped", () => {
  assert.deepEqual(parseOutbox(null), []);
  assert.deepEqual(parseOutbox("{oops"), []);
  assert.deepEqual(parseOutbox('{"client_id":"x"}'), []);
  const raw = JSON.stringify([{ client_id: "ok", text: "hi" }, { client_id: "blank", text: "  " }, { text: "no id" }, null]);
  assert.deepEqual(parseOutbox(raw).map((i) => i.client_id), ["ok"]);
  assert.equal(serializeOutbox(parseOutbox(raw)), '[{"client_id":"ok","text":"hi"}]');
});

test("clear forgets everything, in the store too (logout)", () => {
  const store = memoryStore();
  const outbox = new Outbox(store);
  outbox.add("secret", "id-1");
  outbox.clear();
  assert.equal(outbox.size, 0);
  assert.equal(store.saved, "[]");
});

test("ids are generated when not given", () => {
  const outbox = new Outbox(memoryStore());
  assert.match(outbox.add("hi").client_id, /^[0-9a-f-]{36}$/);
});
