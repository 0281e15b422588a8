import assert from "node:assert/strict";
import { test } from "node:test";

import { cleanIdentity, readConfig } from "../../channels/web/static/widget/config.js";
import { handoffStateName, incomingRole, launcherLabel, rateLimitedText, surveyScale } from "../../channels/web/static/widget/frames.js";

function tag(src, attrs = {}) {
  return { src, getAttribute: (name) => (name in attrs ? attrs[name] : null) };
}

test("the embed tag's address gives the socket and stylesheet, behind a proxy prefix too", () => {
  const plain = readConfig(tag("https://help.shop.example/static/widget.js"), "https://shop.example/");
  assert.equal(plain.wsUrl, "wss://help.shop.example/ws");
  assert.equal(plain.cssUrl, "https://help.shop.example/static/widget.css");
  assert.equal(plain.title, "Customer service");
  assert.equal(plain.maxChars, 2000);
  const prefixed = readConfig(tag("http://shop.example/chat/static/widget.js", { "data-title": " Help ", "data-max-chars": "500" }), "http://shop.example/");
  assert.equal(prefixed.wsUrl, "ws://shop.example/chat/ws");
  assert.equal(prefixed.title, "Help");
  assert.equal(prefixed.maxChars, 500);
});

test("a signed shopper needs an id and an email, or a token; unknown fields are dropped", () => {
  assert.deepEqual(cleanIdentity({ token: " t " , email: "x" }), { token: "t" });
  assert.deepEqual(cleanIdentity({ customer_id: 12, email: "a@b.c", signature: "s", admin: true }), {
    customer_id: "12",
    email: "a@b.c",
    signature: "s",
  });
  assert.equal(cleanIdentity({ customer_id: "12" }), null);
  assert.equal(cleanIdentity("token"), null);
});

test("frames: roles, handoff states and survey scales from an untrusted server", () => {
  assert.equal(incomingRole(undefined), "bot");
  assert.equal(incomingRole("agent"), "agent");
  assert.equal(incomingRole("customer"), "system");
  assert.equal(handoffStateName("queued"), "queued");
  assert.equal(handoffStateName('x" onclick="'), "unknown");
  assert.deepEqual(surveyScale([1, 2, 3]), [1, 2, 3]);
  assert.deepEqual(surveyScale([1]), [1, 2, 3, 4, 5]);
  assert.deepEqual(surveyScale([1, 2.5]), [1, 2, 3, 4, 5]);
});

test("counters and notices", () => {
  assert.equal(launcherLabel(false, 0), "Open chat");
  assert.equal(launcherLabel(false, 1), "Open chat (1 new message)");
  assert.equal(launcherLabel(false, 3), "Open chat (3 new messages)");
  assert.equal(launcherLabel(true, 3), "Close chat");
  assert.equal(rateLimitedText("Slow down.", 1, true), "Slow down. Please wait 1 second; we'll send your message then.");
  assert.equal(rateLimitedText("Slow down.", "2.2", false), "Slow down. Please wait 3 seconds.");
  assert.equal(rateLimitedText("Slow down.", undefined, false), "Slow down. Please wait 5 seconds.");
});

test("busy or unreachable: a short note with the wait, and how each close is reconnected", async () => {
  const { busyNotice, reconnectAfterClose } = await import("../../channels/web/static/widget/frames.js");
  assert.equal(busyNotice("overloaded", 3), "We're busy — sending again in 3 s…");
  assert.equal(busyNotice("unavailable", 2.5), "Can't reach the shop right now — retrying in 3 s…");
  assert.equal(busyNotice("overloaded", undefined), "We're busy — sending again in 5 s…");
  assert.equal(reconnectAfterClose(1012, null), "now"); // restarting: another process takes us
  assert.equal(reconnectAfterClose(1013, 4), 4000); // as long as the error frame before it said
  assert.equal(reconnectAfterClose(1013, null), "retry"); // else the usual back-off
  assert.equal(reconnectAfterClose(4429, null), "slow");
  assert.equal(reconnectAfterClose(1006, 4), "retry");
});
