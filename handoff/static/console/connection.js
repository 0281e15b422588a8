/*
 * The websocket: board, messages, changes, announcements, typing; ping and reconnect.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { ReconnectingSocket } from "../../../static/common/socket.js";
import { lookup, parseFrame, positiveInt as toId } from "../../../static/common/text.js";
import { onAnnounce, onBoard } from "./boardview.js";
import { onMessageFrame, scheduleRefetch, setCustomerTyping } from "./conversation.js";
import { goToLogin, refreshSession, setConnStatus } from "./page.js";
import { BASE, CONN_STATUS_DELAY_MS, page, PING_INTERVAL_MS, state } from "./state.js";

// ---- Websocket: board, messages, changes, announcements, typing; ping and reconnect --------

// The board, messages and typing come over this; socket.halted while the page is leaving.
export const socket = new ReconnectingSocket(
  {
    url: () => (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + BASE + "/ws",
    onOpen: () => {
      socket.startPing();
      // Messages may have been missed while we were away: refresh the open conversation.
      if (state.wsEverOpened && state.openId) scheduleRefetch();
      state.wsEverOpened = true;
    },
    onMessage: onFrame,
    onClose: (code) => {
      if (code !== 4401) return "retry";
      goToLogin();
      return "stop";
    },
    onDown: () => {
      state.typingConv = null; // the server forgets our typing with the socket
      if (page.ui) setCustomerTyping(false); // its `on: false` may never come
    },
    onRetry: (count) => {
      // A refused upgrade (e.g. an expired session) may close with a generic code rather than
      // 4401: every few failures, ask the API whether we are still logged in.
      if (count % 3 === 0) refreshSession();
      if (!state.connTimer && page.ui.connStatus.hidden) {
        state.connTimer = setTimeout(() => setConnStatus("Connection lost. Reconnecting…"), CONN_STATUS_DELAY_MS);
      }
    },
  },
  { pingFrame: { type: "ping" }, pingIntervalMs: PING_INTERVAL_MS }
);

export function wsSend(frame) {
  return socket.send(frame);
}

export function connect() {
  socket.connect();
}

export function teardownSocket() {
  socket.teardown();
}

// The page is going (to the login, or away): no reconnecting until it comes back.
export function setLeaving(on) {
  state.leaving = on;
  socket.halted = on;
}

const FRAME_HANDLERS = {
  board: onBoard,
  message: onMessageFrame,
  changed: (frame) => {
    if (toId(frame.conversation_id) === state.openId) scheduleRefetch();
  },
  announce: onAnnounce,
  typing: (frame) => {
    if (toId(frame.conversation_id) === state.openId) setCustomerTyping(frame.on === true);
  },
  pong: () => {},
};

function onFrame(raw) {
  socket.retryCount = 0; // any frame proves the server accepted us: back-off starts over
  if (state.connTimer || !page.ui.connStatus.hidden) setConnStatus("");
  const frame = parseFrame(raw);
  if (!frame) return;
  const handler = lookup(FRAME_HANDLERS, frame.type);
  if (handler) handler(frame); // unknown types: a newer server; ignore
}

