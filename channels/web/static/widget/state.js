/*
 * The widget's shared state, in one place: constants, the connection/delivery `state`, the
 * outbox, the per-message maps and `view` (config, DOM references and the one-of-a-kind parts on
 * screen). The panels import it; nothing here touches the DOM.
 */
import { Outbox } from "../common/outbox.js";
import { readStored, writeStored } from "../common/storage.js";
import { nonEmpty } from "../common/text.js";

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

export const PROTOCOL_VERSION = 1;
export const PING_INTERVAL_MS = 25000;
export const HANDSHAKE_TIMEOUT_MS = 10000; // socket open but no `welcome`: treat as a failed attempt
export const TYPING_TIMEOUT_MS = 60000; // hide a stuck indicator if `typing off` never comes
export const TYPING_SEND_INTERVAL_MS = 3000; // tell the server the customer is typing at most this often
export const HANDOFF_STATUS_WAIT_MS = 2000; // after `welcome`: how long a handoff status may take to come
export const RESYNC_DELAY_MS = 1500; // grace period before another tab's progress forces a resync
export const REPLAY_BUSY_MAX_MS = 3000; // longest the list stays aria-busy while history replays
export const FIRST_CONNECT_STATUS_DELAY_MS = 1000; // don't flash "Connecting…" on fast networks
export const MAX_PRODUCT_CARDS = 10;
export const HUMAN_REQUEST_TEXT = "I'd like to talk to a person";
export const DEFAULT_SURVEY_QUESTION = "How did we do? Rate this chat from 1 (poor) to 5 (great).";

export const KEY_SESSION = "shopclerk.session";
const KEY_OUTBOX = "shopclerk.outbox";
export const lastSeqKey = (session) => "shopclerk.lastSeq." + session;

// Texts shown for server `error` frames when the server gives no message of its own.
export const ERROR_TEXT = {
  too_large: "That message is too long to send.",
  rate_limited: "You're sending messages a little too quickly.",
  unknown_message: "Sorry, your rating couldn't be saved.",
  unknown_episode: "Sorry, your rating couldn't be saved.",
  bad_frame: "Sorry, something went wrong sending that.",
  server_error: "Sorry, something went wrong on our side. Please try again.",
};


export function uniqueId(name) {
  view.idCounter += 1;
  return "sc-" + name + "-" + view.idCounter + "-" + Math.random().toString(36).slice(2, 6);
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

export const state = {
  session: nonEmpty(readStored("localStorage", KEY_SESSION)),
  // Highest stored seq rendered in THIS page. It starts at 0 even when storage remembers a
  // higher value: the list is empty after a load, and texts are never stored locally, so the
  // history has to come back through the server's replay.
  lastSeq: 0,
  sentSession: null, // the session named in the current socket's `hello`
  connected: false, // socket open AND `welcome` received
  everConnected: false,
  unloading: false,
  handshakeTimer: null,
  flushTimer: null,
  typingTimer: null,
  typingWho: "bot", // whose typing the indicator shows: "bot" or "agent"
  typingSentAt: 0, // when we last told the server the customer is typing; 0: not typing
  handoffTimer: null, // set after `welcome` until the handoff status has had its chance to come
  handoffState: "bot", // the banner's state; "bot" means no banner
  resyncTimer: null,
  connectStatusTimer: null,
  replayTimer: null,
  replayUntil: 0, // the server's last seq at `welcome`: the replay is complete once we reach it
  isOpen: false,
  unread: 0,
  unreadAfterSeq: 0, // bot messages above this seq count as unread while the panel is closed
  overLimit: false,
  endedAfterSeq: 0, // the customer ended the chat when this page showed up to this seq
  endUnsent: false, // "End chat" was confirmed while offline: send `end` after the next `welcome`
  identity: null, // the signed shopper sent with every `hello`, or null
  lastRetryAfter: null, // the wait (s) the last error frame asked for: a 1013 close after it waits as long
  busyStatus: false, // the status line says the server is busy or unreachable (until an ack)
};

// The customer's messages not acknowledged yet, kept across reloads of the tab.
export const outbox = new Outbox({
  load: () => readStored("sessionStorage", KEY_OUTBOX),
  save: (text) => writeStored("sessionStorage", KEY_OUTBOX, text),
});


export const pendingRows = new Map(); // client_id -> {row, bubble, meta} for customer bubbles not yet stored
export const rowOrder = new WeakMap(); // row -> sort key (seq; Infinity for unacked customer messages)
export const botMessages = new Map(); // message id -> {group, up, down, saved, shown}
export const feedbackInFlight = []; // message ids in the order their `feedback` frames were sent
export const feedbackUnsent = new Map(); // message id -> rating, waiting for a connection

// What the panels share besides `state`: the page's DOM and the widget's one-of-a-kind parts.
export const view = {
  config: null, // readConfig()'s result, set by start()
  ui: null, // DOM references, set by buildUi()
  ready: false, // the widget is built and its stylesheet is in: it can be shown
  quickReplies: null, // the one quick-reply group on screen (under the latest bot message)
  wantOpenOnReady: false, // open() was called before the widget was ready
  survey: null, // the one rating card on screen: {episode, max, row, card, ...}
  dismissedEpisode: 0, // the customer closed the card of this episode (and older ones)
  ratingToSend: null, // {episode, score, inFlight}: chosen, not yet confirmed by the server
  idCounter: 0,
};

