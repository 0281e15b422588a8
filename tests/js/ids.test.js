import assert from "node:assert/strict";
import { test } from "node:test";

import { newClientId, uuidFromBytes } from "../../channels/web/static/common/ids.js";

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("crypto.randomUUID is used where the browser has it", () => {
  assert.equal(newClientId({ randomUUID: () => "from-the-browser" }), "from-the-browser");
});

test("without randomUUID (plain http) the id is still an RFC 4122 version 4 UUID", () => {
  const ids = new Set();
  for (let i = 0; i < 200; i++) {
    const id = newClientId({ getRandomValues: (bytes) => globalThis.crypto.getRandomValues(bytes) });
    assert.match(id, V4);
    ids.add(id);
  }
  assert.equal(ids.size, 200);
});

test("without any crypto the id is a version 4 UUID too", () => {
  assert.match(newClientId(null), V4);
});

test("version and variant bits are set whatever the random bytes", () => {
  assert.equal(uuidFromBytes(new Uint8Array(16).fill(0xff)), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  assert.equal(uuidFromBytes(new Uint8Array(16)), "00000000-0000-4000-8000-000000000000");
});
