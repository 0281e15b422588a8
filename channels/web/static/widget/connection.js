/*
 * The connection: the socket, hello/welcome, dispatching frames to the panels, reconnecting,
 * the page's life cycle and other tabs of the same conversation.
 */
import { ReconnectingSocket } from "../common/socket.js";
import { readStored, writeStored } from "../common/storage.js";
import { nonEmpty, positiveInt } from "../common/text.js";
import { expectHandoffStatus, handoffStatusMissed, onHandoffFrame } from "./banner.js";
import { flushOutbox, onAck, onErrorFrame } from "./composer.js";
import { reconnectAfterClose } from "./frames.js";
import {
  flushEnd,
  flushFeedback,
  onFeedbackSaved,
  onSatisfactionSaved,
  onSurveyFrame,
  sendRating,
} from "./feedback.js";
import {
  clearConversation,
  onStoredMessage,
  onStreamFrame,
  onTypingFrame,
  setReplaying,
  setTyping,
} from "./messages.js";
import { setStatus } from "./panel.js";
import {
  botMessages,
  feedbackInFlight,
  feedbackUnsent,
  FIRST_CONNECT_STATUS_DELAY_MS,
  HANDSHAKE_TIMEOUT_MS,
  KEY_SESSION,
  lastSeqKey,
  outbox,
  PING_INTERVAL_MS,
  PROTOCOL_VERSION,
  RESYNC_DELAY_MS,
  state,
  view,
} from "./state.js";

// The connection; socket.halted once the server refused this site's origin (4403).
export const socket = new ReconnectingSocket(
  {
    url: () => view.config.wsUrl,
    onConnecting: showFirstConnecting,
    onOpen: onSocketOpen,
    onMessage: onSocketMessage,
    onClose: onSocketClosed,
    onDown: onSocketDown,
    onRetry: () => setStatus("Reconnecting…"),
  },
  { pingFrame: { v: PROTOCOL_VERSION, type: "ping" }, pingIntervalMs: PING_INTERVAL_MS }
);
// ---------------------------------------------------------------------------------------------
// Connection: hello/welcome, replay, ping, reconnect with back-off
// ---------------------------------------------------------------------------------------------

// Before each attempt: the first time, say "Connecting…" if it takes a while.
function showFirstConnecting() {
  if (!state.everConnected && !state.connectStatusTimer && view.ui && !view.ui.status.textContent) {
    state.connectStatusTimer = setTimeout(() => setStatus("Connecting…"), FIRST_CONNECT_STATUS_DELAY_MS);
  }
}

function onSocketOpen() {
  state.sentSession = state.session;
  const hello = { v: PROTOCOL_VERSION, type: "hello", session: state.session, last_seq: state.lastSeq };
  if (state.identity) hello.identity = state.identity;
  send(hello);
  state.handshakeTimer = setTimeout(() => socket.restart(false), HANDSHAKE_TIMEOUT_MS);
}

function onWelcome(frame) {
  const session = nonEmpty(frame.session);
  if (!session) {
    console.error("shopclerk: welcome without a session");
    socket.restart(false);
    return;
  }
  clearTimeout(state.handshakeTimer);
  state.handshakeTimer = null;
  if (session !== state.sentSession) adoptNewSession(session);

  // The server's history ends below what this page shows (e.g. its data was restored from a
  // backup): new messages would carry seqs we'd ignore. Start over from a clean replay.
  const serverLastSeq = Number(frame.last_seq);
  if (Number.isInteger(serverLastSeq) && serverLastSeq >= 0 && serverLastSeq < state.lastSeq) {
    state.lastSeq = 0;
    writeStored("localStorage", lastSeqKey(session), null);
    clearConversation();
    socket.restart(true);
    return;
  }

  state.connected = true;
  state.everConnected = true;
  socket.retryCount = 0;
  state.replayUntil = Number.isInteger(serverLastSeq) ? serverLastSeq : 0;
  setReplaying(state.replayUntil > state.lastSeq);
  setStatus("");
  expectHandoffStatus();
  socket.startPing();
  flushFeedback();
  flushOutbox();
  flushEnd(); // after the outbox: what the customer wrote before ending belongs to the chat
  sendRating();
}

// The server does not know the session we named (or we named none): a fresh conversation.
function adoptNewSession(session) {
  const old = state.session;
  state.session = session;
  writeStored("localStorage", KEY_SESSION, session);
  if (old) writeStored("localStorage", lastSeqKey(old), null);
  state.lastSeq = 0;
  state.unreadAfterSeq = 0;
  clearConversation();
}

const FRAME_HANDLERS = {
  welcome: onWelcome,
  message: onStoredMessage,
  ack: onAck,
  typing: onTypingFrame,
  handoff: onHandoffFrame,
  stream: onStreamFrame,
  feedback_saved: onFeedbackSaved,
  survey: onSurveyFrame,
  satisfaction_saved: onSatisfactionSaved,
  error: onErrorFrame,
  pong: () => {},
};

function onSocketMessage(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    console.error("shopclerk: unreadable frame from server");
    return;
  }
  if (!frame || typeof frame !== "object" || frame.v !== PROTOCOL_VERSION) return;
  if (state.handoffTimer && frame.type !== "handoff") handoffStatusMissed();
  const handler = Object.prototype.hasOwnProperty.call(FRAME_HANDLERS, frame.type) ? FRAME_HANDLERS[frame.type] : null;
  if (handler) handler(frame); // unknown types: a newer server; ignore rather than fail
}

export function send(frame) {
  return socket.send(frame);
}

function onSocketClosed(code) {
  if (code === 4403) {
    socket.halted = true; // origin refused by the server: reconnecting cannot help
    setStatus("Chat isn't available on this website.");
    return "stop";
  }
  if (state.unloading) return "stop";
  // 4429: too many sockets (or hellos) from here; waiting longest gives the others time to
  // close. 4420: this page fell behind reading; 4408: the hello was too slow. 1012: the server
  // restarts, 1013: it asks for a wait. All come back with a hello from the last seq shown, so
  // nothing is lost.
  const retryAfter = state.lastRetryAfter;
  state.lastRetryAfter = null;
  return reconnectAfterClose(code, retryAfter);
}

// The socket went away (closed, or forgotten on purpose).
function onSocketDown() {
  state.connected = false;
  clearTimeout(state.handshakeTimer);
  clearTimeout(state.flushTimer);
  clearTimeout(state.handoffTimer); // the banner stays as it was until the next `welcome`
  state.handshakeTimer = state.flushTimer = state.handoffTimer = null;
  state.typingSentAt = 0; // the server forgets a closed socket's typing
  // Whatever was in flight may or may not have arrived: send it again on the next socket.
  outbox.resetInFlight();
  if (view.ratingToSend) view.ratingToSend.inFlight = false;
  for (const messageId of feedbackInFlight.splice(0)) {
    const record = botMessages.get(messageId);
    if (record && record.shown && !feedbackUnsent.has(messageId)) feedbackUnsent.set(messageId, record.shown);
  }
  setTyping(false); // its `typing off` may never come on this socket
  setReplaying(false);
}

// ---------------------------------------------------------------------------------------------
// Page life cycle and other tabs
// ---------------------------------------------------------------------------------------------

export function bindPageEvents() {
  window.addEventListener("pagehide", () => {
    state.unloading = true;
    socket.cancelRetry();
    socket.teardown();
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return; // back/forward cache: the page returns without a socket
    state.unloading = false;
    if (hasConversation()) socket.ensure(true);
  });
  window.addEventListener("online", () => {
    if (!socket.ws && hasConversation()) socket.ensure(true);
  });
  window.addEventListener("storage", onStorageChanged);
}

function hasConversation() {
  return Boolean(state.session || outbox.size || state.isOpen);
}

// Another tab of the same conversation got further (it wrote a higher lastSeq). If the server
// does not push that tab's messages to this socket too, catch up with a fresh hello/replay.
function onStorageChanged(event) {
  if (!state.session || event.key !== lastSeqKey(state.session)) return;
  const theirs = positiveInt(event.newValue) || 0;
  if (theirs <= state.lastSeq || state.resyncTimer) return;
  state.resyncTimer = setTimeout(() => {
    state.resyncTimer = null;
    const stored = positiveInt(readStored("localStorage", lastSeqKey(state.session))) || 0;
    if (state.connected && stored > state.lastSeq) socket.restart(true);
  }, RESYNC_DELAY_MS);
}

