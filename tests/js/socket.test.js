import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

import { ReconnectingSocket } from "../../channels/web/static/common/socket.js";
import { FakeSocket } from "./support/fake-socket.js";

function make(hooks = {}) {
  const seen = { opened: 0, frames: [], downs: 0, retries: [] };
  const socket = new ReconnectingSocket(
    {
      url: () => "ws://shop.test/ws",
      onOpen: () => (seen.opened += 1),
      onMessage: (data) => seen.frames.push(data),
      onDown: () => (seen.downs += 1),
      onRetry: (count) => seen.retries.push(count),
      ...hooks,
    },
    { WebSocketImpl: FakeSocket, random: () => 0.5, pingIntervalMs: 1000 }
  );
  return { socket, seen };
}

beforeEach(() => {
  FakeSocket.made = [];
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
});
afterEach(() => mock.timers.reset());

test("a dropped socket comes back after the back-off, each wait twice the last", () => {
  const { socket, seen } = make();
  socket.connect();
  FakeSocket.made[0].open();
  FakeSocket.made[0].drop(1006);
  assert.equal(seen.downs, 1);
  assert.deepEqual(seen.retries, [1]);
  mock.timers.tick(499);
  assert.equal(FakeSocket.made.length, 1);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 2);
  FakeSocket.made[1].drop(1006);
  mock.timers.tick(999);
  assert.equal(FakeSocket.made.length, 2);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 3);
});

test("the view decides: 'stop' means no reconnect, 'slow' waits the longest", () => {
  let verdict = "stop";
  const { socket } = make({ onClose: () => verdict });
  socket.connect();
  FakeSocket.made[0].drop(4403);
  mock.timers.tick(60000);
  assert.equal(FakeSocket.made.length, 1);
  verdict = "slow";
  socket.connect();
  FakeSocket.made[1].drop(4429);
  mock.timers.tick(14999);
  assert.equal(FakeSocket.made.length, 2);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 3);
});

test("halted: neither connect nor reconnect", () => {
  const { socket } = make();
  socket.halted = true;
  socket.connect();
  socket.ensure(true);
  assert.equal(FakeSocket.made.length, 0);
});

test("ensure waits out a pending back-off unless told to go now", () => {
  const { socket } = make();
  socket.connect();
  FakeSocket.made[0].drop(1006);
  socket.ensure(false);
  assert.equal(FakeSocket.made.length, 1);
  socket.ensure(true);
  assert.equal(FakeSocket.made.length, 2);
  mock.timers.tick(60000); // the cancelled retry does not open a third
  assert.equal(FakeSocket.made.length, 2);
});

test("a ping without any answer by the next tick restarts the connection", () => {
  const { socket, seen } = make();
  socket.connect();
  FakeSocket.made[0].open();
  socket.startPing();
  mock.timers.tick(1000);
  assert.deepEqual(FakeSocket.made[0].sent, [{ type: "ping" }]);
  FakeSocket.made[0].receive('{"type":"pong"}');
  mock.timers.tick(1000); // answered: ping again
  assert.equal(FakeSocket.made[0].sent.length, 2);
  mock.timers.tick(1000); // not answered: dead
  assert.equal(seen.downs, 1);
  assert.equal(FakeSocket.made[0].readyState, 3);
  mock.timers.tick(500);
  assert.equal(FakeSocket.made.length, 2);
});

test("a forgotten socket's late events are ignored, and nothing is sent on a closed one", () => {
  const { socket, seen } = make();
  socket.connect();
  const old = FakeSocket.made[0];
  const onmessage = old.onmessage;
  old.open();
  socket.restart(true);
  assert.equal(old.onmessage, null);
  onmessage({ data: "late" }); // a handler captured before the teardown
  assert.deepEqual(seen.frames, []);
  assert.equal(socket.send({ type: "x" }), false); // the new one is not open yet
  FakeSocket.made[1].open();
  assert.equal(socket.send({ type: "x" }), true);
});

test("a server restarting (1012) is reconnected to at once; a wait it names (ms) is kept", () => {
  const verdicts = { 1012: "now", 1013: 3000 };
  const { socket, seen } = make({ onClose: (code) => verdicts[code] });
  socket.connect();
  FakeSocket.made[0].open();
  FakeSocket.made[0].drop(1012);
  assert.equal(FakeSocket.made.length, 2); // no back-off
  assert.deepEqual(seen.retries, []);
  FakeSocket.made[1].open();
  FakeSocket.made[1].drop(1013);
  mock.timers.tick(2999);
  assert.equal(FakeSocket.made.length, 2);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 3);
});
