import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay, BACKOFF_MAX_MS, BACKOFF_MIN_MS } from "../../channels/web/static/common/backoff.js";

const middle = () => 0.5; // no jitter
const low = () => 0; // -20 %
const high = () => 0.999999; // +20 %

test("the delay doubles from half a second up to fifteen", () => {
  const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, { random: middle }));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.equal(BACKOFF_MIN_MS, 500);
  assert.equal(BACKOFF_MAX_MS, 15000);
});

test("jitter spreads by 20 % either way but never past the maximum", () => {
  assert.equal(backoffDelay(0, { random: low }), 400);
  assert.ok(Math.abs(backoffDelay(0, { random: high }) - 600) < 0.01);
  assert.equal(backoffDelay(8, { random: high }), 15000);
  assert.equal(backoffDelay(8, { random: low }), 12000);
});

test("slow (too many connections) waits about the longest from the first retry", () => {
  assert.equal(backoffDelay(0, { slow: true, random: middle }), 15000);
  assert.equal(backoffDelay(0, { slow: true, random: low }), 12000);
});
