import assert from "node:assert/strict";
import { test } from "node:test";

import { charCount, linkPieces, lookup, nonEmpty, parseFrame, positiveInt, safeHttpUrl } from "../../channels/web/static/common/text.js";

const BASE = "https://shop.example/page";

test("markup in text stays text: no piece is ever a link unless it is an http(s) address", () => {
  const text = '<img src=x onerror="alert(1)"> javascript:alert(1) <a href="https://evil">';
  const pieces = linkPieces(text, BASE);
  assert.equal(pieces.map((p) => p.text).join(""), text); // nothing dropped, nothing added
  for (const piece of pieces.filter((p) => p.href)) assert.match(piece.href, /^https:\/\//);
});

test("addresses become links without the sentence's punctuation", () => {
  const pieces = linkPieces("Track it at https://ups.example/t?id=1Z. Thanks!", BASE);
  assert.deepEqual(pieces, [
    { text: "Track it at " },
    { text: "https://ups.example/t?id=1Z", href: "https://ups.example/t?id=1Z" },
    { text: ". Thanks!" },
  ]);
});

test("only http and https addresses are safe", () => {
  assert.equal(safeHttpUrl("javascript:alert(1)", BASE), null);
  assert.equal(safeHttpUrl("data:text/html,hi", BASE), null);
  assert.equal(safeHttpUrl("", BASE), null);
  assert.equal(safeHttpUrl(42, BASE), null);
  assert.equal(safeHttpUrl("/p/backpack", BASE), "https://shop.example/p/backpack");
});

test("values from frames are read strictly", () => {
  assert.equal(nonEmpty("  Anna "), "Anna");
  assert.equal(nonEmpty("   "), null);
  assert.equal(nonEmpty(7), null);
  assert.equal(positiveInt("12"), 12);
  assert.equal(positiveInt(0), null);
  assert.equal(positiveInt(-3), null);
  assert.equal(positiveInt(1.5), null);
  assert.equal(positiveInt("abc"), null);
});

test("characters are counted as the server counts them (code points)", () => {
  assert.equal(charCount("👍🏽ok"), 4);
  assert.equal(charCount("héllo"), 5);
});

test("frames: JSON objects only; lookups see own keys only", () => {
  assert.deepEqual(parseFrame('{"type":"pong"}'), { type: "pong" });
  assert.equal(parseFrame("not json"), null);
  assert.equal(parseFrame("3"), null);
  assert.equal(parseFrame("null"), null);
  const table = { pong: 1 };
  assert.equal(lookup(table, "pong"), 1);
  assert.equal(lookup(table, "constructor"), undefined);
  assert.equal(lookup(table, "toString"), undefined);
});
