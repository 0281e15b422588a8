import assert from "node:assert/strict";
import { test } from "node:test";

import { findItem, nextBoard } from "../../handoff/static/console/board.js";
import { errorText, excerpt, formatDuration, lines, ownerLabel, reasonLabel, sentence } from "../../handoff/static/console/format.js";

const ME = { id: 7, display_name: "Anna" };
const ONLINE = [ME, { id: 9, display_name: "Ben" }];

test("the board keeps an item's wait start while the server's seconds agree", () => {
  const first = nextBoard({ queue: [{ conversation_id: 3, wait_seconds: 10 }], agents_online: ONLINE }, null, 100_000);
  assert.equal(first.queue[0].waitStart, 90_000);
  const again = nextBoard({ queue: [{ conversation_id: 3, wait_seconds: 11 }] }, first, 101_400);
  assert.equal(again.queue[0].waitStart, 90_000); // 90 400 is within 1.5 s: no jump
  const later = nextBoard({ queue: [{ conversation_id: 3, wait_seconds: 30 }] }, again, 101_400);
  assert.equal(later.queue[0].waitStart, 71_400);
});

test("the board drops items without a conversation id and fills missing lists", () => {
  const board = nextBoard({ mine: [{ conversation_id: "4" }, { conversation_id: "x" }, null], live: "oops" }, null, 0);
  assert.deepEqual(board.mine.map((i) => i.conversation_id), ["4"]);
  assert.deepEqual(board.live, []);
  assert.deepEqual(board.agents_online, []);
  assert.equal(findItem(board, 4).conversation_id, "4");
  assert.equal(findItem(board, 5), null);
  assert.equal(findItem(null, 4), null);
});

test("owners read as this agent sees them", () => {
  assert.equal(ownerLabel("queue", null, ME, ONLINE), "Queue");
  assert.equal(ownerLabel("bot", null, ME, ONLINE), "Bot");
  assert.equal(ownerLabel("agent:7", null, ME, ONLINE), "You");
  assert.equal(ownerLabel("agent:9", null, ME, ONLINE), "Ben");
  assert.equal(ownerLabel("agent:9", "Benjamin", ME, ONLINE), "Benjamin");
  assert.equal(ownerLabel("agent:11", null, ME, ONLINE), "Another agent");
});

test("a refused claim names who has the conversation", () => {
  const label = (owner) => ownerLabel(owner, null, ME, ONLINE);
  const taken = (owner) => errorText({ status: 409, error: { code: "taken", owner } }, null, label);
  assert.equal(taken("agent:9"), "Ben already has this conversation.");
  assert.equal(taken("agent:7"), "You already have this conversation.");
  assert.equal(taken({ display_name: "Cleo" }), "Cleo already has this conversation.");
  assert.equal(errorText({ status: 429, error: {}, retryAfter: 4 }, null, label), "Too many requests. Please wait 4 s.");
  assert.equal(errorText({ status: 500, error: {} }, null, label), "Something went wrong (error 500). Please try again.");
});

test("wording: durations, excerpts, reasons, sentences, alternate lines", () => {
  assert.equal(formatDuration(59), "59 s");
  assert.equal(formatDuration(61), "1 min 01 s");
  assert.equal(formatDuration(3600 * 25), "1 d 1 h");
  assert.equal(excerpt("a\n\n  b"), "a b");
  assert.equal(Array.from(excerpt("😀".repeat(200))).length, 140);
  assert.equal(reasonLabel("customer_asked"), "Asked for a person");
  assert.equal(reasonLabel("constructor"), "constructor");
  assert.equal(reasonLabel("new_reason"), "new reason");
  assert.equal(sentence("there is no suggestion 5"), "There is no suggestion 5.");
  assert.deepEqual(lines(" Where is it?\nwhere is it?\n\nTrack my parcel "), ["Where is it?", "Track my parcel"]);
});
