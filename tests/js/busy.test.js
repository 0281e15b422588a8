// The widget, when the server is too busy for a message (`overloaded`) or cannot reach its
// database (`unavailable`), and when it closes the socket to restart (1012) or to shed (1013):
// the real modules, over a stand-in socket, without a page (no panel is built, so messages are
// queued in the outbox directly, as submitText does besides drawing the bubble).
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

import { flushOutbox, onErrorFrame } from "../../channels/web/static/widget/composer.js";
import { socket } from "../../channels/web/static/widget/connection.js";
import { outbox, state, view } from "../../channels/web/static/widget/state.js";
import { FakeSocket } from "./support/fake-socket.js";

function connect() {
  socket.connect();
  const ws = FakeSocket.made.at(-1);
  ws.open();
  ws.frame({ type: "welcome", session: state.session, last_seq: state.lastSeq });
  clearTimeout(state.handoffTimer); // no banner on this page to draw the handoff status in
  state.handoffTimer = null;
  return ws;
}

function write(text) {
  outbox.add(text);
  flushOutbox();
}

beforeEach(() => {
  FakeSocket.made = [];
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
  socket.WebSocketImpl = FakeSocket;
  socket.random = () => 0.5;
  view.config = { wsUrl: "ws://shop.test/ws", maxChars: 2000 };
  state.session = "s-1";
});
afterEach(() => {
  socket.teardown();
  socket.cancelRetry();
  outbox.clear();
  mock.timers.reset();
});

test("a message the server is too busy for stays pending and goes again, once, with its id", () => {
  const ws = connect();
  write("where is my order?");
  const [id] = ws.messages();
  ws.frame({ type: "error", code: "overloaded", message: "Busy", client_id: id, retry_after: 3 });
  assert.deepEqual(outbox.ids(), [id]); // not dropped, not given back to the input
  mock.timers.tick(2999);
  assert.deepEqual(ws.messages(), [id]);
  mock.timers.tick(1);
  assert.deepEqual(ws.messages(), [id, id]); // the same client id: the server never doubles it
  ws.frame({ type: "ack", client_id: id, seq: 1 });
  assert.deepEqual(outbox.ids(), []);
});

test("unreachable: the same, after the wait the server named", () => {
  const ws = connect();
  write("hello");
  const [id] = ws.messages();
  onErrorFrame({ code: "unavailable", message: "Down", client_id: id, retry_after: 5 });
  mock.timers.tick(4999);
  assert.equal(ws.messages().length, 1);
  mock.timers.tick(1);
  assert.equal(ws.messages().length, 2);
});

test("1012 reconnects at once and resumes from the last seq; 1013 waits as long as asked", () => {
  const first = connect();
  state.lastSeq = 7;
  first.drop(1012);
  assert.equal(FakeSocket.made.length, 2); // no back-off
  const second = FakeSocket.made[1];
  second.open();
  assert.deepEqual(second.sent[0], { v: 1, type: "hello", session: "s-1", last_seq: 7 });
  second.frame({ type: "welcome", session: "s-1", last_seq: 7 });
  clearTimeout(state.handoffTimer);
  state.handoffTimer = null;
  second.frame({ type: "error", code: "overloaded", message: "Busy", retry_after: 4 });
  second.drop(1013);
  mock.timers.tick(3999);
  assert.equal(FakeSocket.made.length, 2);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 3);
});
