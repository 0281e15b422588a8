/*
 * The console's shared state, in one place: constants, `state`, the reused element maps and
 * `page` (the page's elements). The views import it; nothing here touches the DOM.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { basePath } from "../../../static/common/http.js";

// ---- Constants -----------------------------------------------------------------------------

// "/agent/static/console/state.js" -> "/agent" (keeps any prefix a reverse proxy adds).
export const BASE = basePath(import.meta.url, "/static/console/state.js", "/agent");

export const PING_INTERVAL_MS = 25000;
export const CONN_STATUS_DELAY_MS = 1500; // don't flash "Reconnecting…" for a blip
export const TYPING_EVERY_MS = 3000; // at most one `typing on` frame per 3 s
export const TYPING_IDLE_MS = 6000; // stopped typing without sending: `typing off`
export const CUSTOMER_TYPING_TIMEOUT_MS = 10000; // hide a stuck indicator if `on: false` never comes
export const ANNOUNCE_HIGHLIGHT_MS = 20000;
export const REFETCH_DELAY_MS = 120; // coalesces bursts of `changed` frames
export const ROLES = ["customer", "bot", "agent", "system"];
export const HASH_PREFIX = "#conversation-";
export const SUGGESTIONS_HASH = "#suggestions";
export const SCREENS = ["conversations", "suggestions"];
export const SUGGESTIONS_EVERY_MS = 3 * 60 * 1000; // the tab's count of pending suggestions
export const SUGGESTION_DONE_MS = 4000; // "Added to the FAQ" stays this long, then the card goes

// Lookup tables without a prototype: a server value like "constructor" finds nothing.
export const ANNOUNCE_TEXT = Object.assign(Object.create(null), {
  new: " is waiting in the queue.",
  flagged: " has been waiting a long time.",
  requeued: " is back in the queue.",
});

// ---- State ---------------------------------------------------------------------------------

export const state = {
  me: null, // Agent: {id, display_name, ...}
  csrf: null,
  board: null,
  openId: null, // the conversation shown in the main area
  view: null, // its last ConversationView
  ticket: 0, // every view request gets one; an older answer never overwrites a newer one
  appliedTicket: 0,
  refetchTimer: null,
  busy: false, // an action (claim, handback, ...) is in flight
  sending: false, // a reply is in flight
  noting: false, // a note is in flight
  usedDraft: null, // the draft text put into the reply box by "Use draft"
  pendingReply: null, // {convId, text, client_id}: re-sent with the same client_id after a failure
  replyBoxes: new Map(), // conversation id -> {text, usedDraft}: unsent replies survive switching
  typingConv: null, // the conversation we last sent `typing on` for (null: we are not typing)
  typingSentAt: 0,
  typingIdleTimer: null,
  customerTypingTimer: null,
  unread: new Set(), // conversation ids with customer messages not seen yet
  announced: new Map(), // conversation id -> highlight until (ms)
  hiddenCount: 0,
  baseTitle: document.title,
  wsEverOpened: false,
  connTimer: null,
  leaving: false, // the page is going: no reconnecting
  screen: "conversations", // or "suggestions"
  tabAttentionUntil: 0,
  suggestions: {
    available: true, // false: this server has no suggestions API
    loaded: false,
    ticket: 0, // only the newest list request is shown
    decided: new Set(), // ids accepted or rejected from this page: a late list can't bring them back
  },
};

export const itemNodes = new Map(); // conversation id -> {li, button}, reused across board renders
export const shownMessages = new Set(); // keys of the messages in the open conversation's list
export const suggestionCards = new Map(); // suggestion id -> its card, reused across list renders
// The page's elements, by camelCased id (set by bindUi() in main.js): page.ui.replyInput, ...
export const page = { ui: null };

