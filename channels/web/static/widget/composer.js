/*
 * The composer and the outbox: the customer's typing, the input and its counter, queuing and
 * sending messages, acks and the server's error frames.
 */
import { charCount, nonEmpty, positiveInt } from "../common/text.js";
import { send, socket } from "./connection.js";
import { onFeedbackRejected, onRatingRejected } from "./feedback.js";
import { busyNotice, rateLimitedText, rateLimitSeconds } from "./frames.js";
import {
  addPendingBubble,
  addSystemLine,
  markBubble,
  placeRow,
  removePendingBubble,
  removeQuickReplies,
} from "./messages.js";
import { setStatus, withAutoScroll } from "./panel.js";
import {
  ERROR_TEXT,
  outbox,
  pendingRows,
  PROTOCOL_VERSION,
  state,
  TYPING_SEND_INTERVAL_MS,
  view,
} from "./state.js";

// ---------------------------------------------------------------------------------------------
// The customer's typing, for the agent's screen
// ---------------------------------------------------------------------------------------------

// Ephemeral like the server's indicator: sent only on a welcomed socket, never queued.
export function reportTyping() {
  if (!view.ui.input.value.trim()) {
    stopReportingTyping();
    return;
  }
  if (!state.connected) return;
  const now = Date.now();
  if (state.typingSentAt && now - state.typingSentAt < TYPING_SEND_INTERVAL_MS) return;
  if (send({ v: PROTOCOL_VERSION, type: "typing", on: true })) state.typingSentAt = now;
}

function stopReportingTyping() {
  if (!state.typingSentAt) return;
  state.typingSentAt = 0;
  if (state.connected) send({ v: PROTOCOL_VERSION, type: "typing", on: false });
}

// ---------------------------------------------------------------------------------------------
// Composing and sending
// ---------------------------------------------------------------------------------------------

export function onInputKeyDown(event) {
  // Enter sends, Shift+Enter is a newline; never interrupt an IME composition (CJK input).
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  sendFromInput();
}

export function onInputChanged() {
  autosizeInput();
  updateCounter();
}

function autosizeInput() {
  const input = view.ui.input;
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 140) + "px";
}

function updateCounter() {
  const count = charCount(view.ui.input.value.trim());
  const max = view.config.maxChars;
  const over = count > max;
  view.ui.counter.textContent = count > max * 0.9 ? count + " / " + max : "";
  view.ui.counter.classList.toggle("sc-over", over);
  view.ui.input.setAttribute("aria-invalid", String(over));
  if (over !== state.overLimit) {
    state.overLimit = over;
    view.ui.hint.textContent = over ? limitText(count) : "";
  }
}

function limitText(count) {
  return "Messages can be at most " + view.config.maxChars + " characters (this one has " + count + ").";
}

export function sendFromInput() {
  const text = view.ui.input.value;
  if (!submitText(text)) return;
  view.ui.input.value = "";
  onInputChanged();
  view.ui.input.focus();
}

// Queues one customer message. Returns false (and sends nothing) for empty or too long text,
// so the caller keeps the text where the customer typed it.
export function submitText(rawText) {
  const text = String(rawText).trim();
  if (!text) return false;
  const count = charCount(text);
  if (count > view.config.maxChars) {
    // Re-set the text so the live region announces it again on a repeated attempt.
    view.ui.hint.textContent = "";
    view.ui.hint.textContent = limitText(count);
    return false;
  }
  stopReportingTyping(); // before the message, so the agent's "typing" ends as it arrives
  const item = outbox.add(text);
  removeQuickReplies();
  addPendingBubble(item);
  if (state.connected) sendOutboxItem(item);
  else socket.ensure(true);
  return true;
}

function sendOutboxItem(item) {
  if (send({ v: PROTOCOL_VERSION, type: "message", client_id: item.client_id, text: item.text })) {
    item.inFlight = true;
  }
}

// Sends every queued message that is not already on its way on this socket and not held back
// by a rate limit. Re-sending after a reconnect is safe: the server dedupes by client_id.
export function flushOutbox() {
  clearTimeout(state.flushTimer);
  state.flushTimer = null;
  if (!state.connected) return;
  const now = Date.now();
  const { send: due, nextHold } = outbox.due(now);
  for (const item of due) sendOutboxItem(item);
  if (nextHold !== Infinity) state.flushTimer = setTimeout(flushOutbox, nextHold - now);
}

export function onAck(frame) {
  const clientId = typeof frame.client_id === "string" ? frame.client_id : null;
  if (!clientId) return;
  if (state.busyStatus) setStatus(""); // the server takes messages again
  state.busyStatus = false;
  state.lastRetryAfter = null; // an old error's wait does not hold for a later close
  outbox.remove(clientId);
  const pending = pendingRows.get(clientId);
  if (!pending) return; // a repeated ack for a message already shown as stored
  markBubble(pending, "sent", "");
  // Keep the bubble in pendingRows until the stored frame comes (to replace, not duplicate),
  // but move it to its real place in the order now that its seq is known.
  const seq = positiveInt(frame.seq);
  if (seq) withAutoScroll(() => placeRow(pending.row, seq));
}

// ---------------------------------------------------------------------------------------------
// Server errors
// ---------------------------------------------------------------------------------------------

export function onErrorFrame(frame) {
  const code = typeof frame.code === "string" ? frame.code : "";
  const serverText = nonEmpty(frame.message);
  const item = typeof frame.client_id === "string" ? outbox.find(frame.client_id) : null;
  state.lastRetryAfter = frame.retry_after ?? null; // for a close (1013) that may follow

  if (code === "origin_not_allowed" || code === "too_many_connections") {
    return; // the server closes the socket next; onSocketClosed reports it in the status line
  }
  if (code === "hello_first") {
    socket.restart(false); // our handshake got lost somehow: start a clean one
    return;
  }
  if (code === "rate_limited") {
    onRateLimited(item, frame, serverText);
    return;
  }
  if (code === "overloaded" || code === "unavailable") {
    onBusy(item, code, frame.retry_after);
    return;
  }
  if (code === "unknown_message") {
    onFeedbackRejected();
    addSystemLine(serverText || ERROR_TEXT.unknown_message);
    return;
  }
  if (code === "unknown_episode") {
    onRatingRejected(frame);
    addSystemLine(serverText || ERROR_TEXT.unknown_episode);
    return;
  }
  if (item) {
    rejectOutboxItem(item, serverText || ERROR_TEXT[code] || ERROR_TEXT.bad_frame);
    return;
  }
  if (code === "too_large") {
    addSystemLine(serverText || ERROR_TEXT.too_large);
    return;
  }
  // bad_frame or a code this version does not know, not tied to a message: our bug, not the
  // customer's problem.
  console.error("shopclerk: server error", code, serverText || "");
}

function onRateLimited(item, frame, serverText) {
  if (item) {
    // Not stored: keep it queued and send it again once the limit allows.
    outbox.hold(item, Date.now() + rateLimitSeconds(frame.retry_after) * 1000);
    const pending = pendingRows.get(item.client_id);
    if (pending) markBubble(pending, "pending", "Waiting to send…");
    flushOutbox();
  }
  addSystemLine(rateLimitedText(serverText || ERROR_TEXT.rate_limited, frame.retry_after, Boolean(item)));
}

// The server could not take the message for now and stored nothing: it stays shown as pending,
// with a note, and goes again by itself after `retry_after`, with the same client_id (so it is
// never doubled). Without a message to hold, the note goes in the status line until the next
// welcome or ack.
function onBusy(item, code, retryAfter) {
  const notice = busyNotice(code, retryAfter);
  if (!item) {
    setStatus(notice);
    state.busyStatus = true;
    return;
  }
  outbox.hold(item, Date.now() + rateLimitSeconds(retryAfter) * 1000);
  const pending = pendingRows.get(item.client_id);
  if (pending) markBubble(pending, "pending", notice);
  flushOutbox();
}

// The server will never take this message as it is (e.g. too_large): stop re-sending it, remove
// its bubble, and give the text back to the customer so nothing they typed is lost.
function rejectOutboxItem(item, reason) {
  outbox.remove(item.client_id);
  removePendingBubble(item.client_id);
  restoreToInput(item.text);
  addSystemLine(reason + " Your text is back in the message box.");
}

function restoreToInput(text) {
  const current = view.ui.input.value.trim();
  view.ui.input.value = current ? text + "\n\n" + current : text;
  onInputChanged();
  if (state.isOpen) view.ui.input.focus();
}

