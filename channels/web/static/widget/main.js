/*
 * The customer's chat: panel, message list, composing, feedback, survey, handoff banner, and the
 * connection that carries them (docs/websocket-protocol.md, version 1). Loaded by ../widget.js,
 * which calls start() with its <script> tag.
 *
 * Security rule (as in widget.js): server and customer text only through textContent,
 * createTextNode or setAttribute (common/dom.js); links only for http(s) addresses.
 */
import { appendLinkifiedText, el, textEl } from "../common/dom.js";
import { Outbox } from "../common/outbox.js";
import { ReconnectingSocket } from "../common/socket.js";
import { readStored, writeStored } from "../common/storage.js";
import { charCount, nonEmpty, positiveInt, safeHttpUrl } from "../common/text.js";
import { cleanIdentity, readConfig } from "./config.js";
import {
  agentName,
  formatPrice,
  handoffStateName,
  incomingRole,
  launcherLabel,
  rateLimitSeconds,
  rateLimitedText,
  surveyScale,
} from "./frames.js";
import { icon, iconButton } from "./icons.js";

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

const PROTOCOL_VERSION = 1;
const PING_INTERVAL_MS = 25000;
const HANDSHAKE_TIMEOUT_MS = 10000; // socket open but no `welcome`: treat as a failed attempt
const TYPING_TIMEOUT_MS = 60000; // hide a stuck indicator if `typing off` never comes
const TYPING_SEND_INTERVAL_MS = 3000; // tell the server the customer is typing at most this often
const HANDOFF_STATUS_WAIT_MS = 2000; // after `welcome`: how long a handoff status may take to come
const RESYNC_DELAY_MS = 1500; // grace period before another tab's progress forces a resync
const REPLAY_BUSY_MAX_MS = 3000; // longest the list stays aria-busy while history replays
const FIRST_CONNECT_STATUS_DELAY_MS = 1000; // don't flash "Connecting…" on fast networks
const MAX_PRODUCT_CARDS = 10;
const HUMAN_REQUEST_TEXT = "I'd like to talk to a person";
const DEFAULT_SURVEY_QUESTION = "How did we do? Rate this chat from 1 (poor) to 5 (great).";

const KEY_SESSION = "shopclerk.session";
const KEY_OUTBOX = "shopclerk.outbox";
const lastSeqKey = (session) => "shopclerk.lastSeq." + session;

// Texts shown for server `error` frames when the server gives no message of its own.
const ERROR_TEXT = {
  too_large: "That message is too long to send.",
  rate_limited: "You're sending messages a little too quickly.",
  unknown_message: "Sorry, your rating couldn't be saved.",
  unknown_episode: "Sorry, your rating couldn't be saved.",
  bad_frame: "Sorry, something went wrong sending that.",
  server_error: "Sorry, something went wrong on our side. Please try again.",
};

let CONFIG = null; // set by start()

function uniqueId(name) {
  idCounter += 1;
  return "sc-" + name + "-" + idCounter + "-" + Math.random().toString(36).slice(2, 6);
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

const state = {
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
};

// The customer's messages not acknowledged yet, kept across reloads of the tab.
const outbox = new Outbox({
  load: () => readStored("sessionStorage", KEY_OUTBOX),
  save: (text) => writeStored("sessionStorage", KEY_OUTBOX, text),
});

// The connection; socket.halted once the server refused this site's origin (4403).
const socket = new ReconnectingSocket(
  {
    url: () => CONFIG.wsUrl,
    onConnecting: showFirstConnecting,
    onOpen: onSocketOpen,
    onMessage: onSocketMessage,
    onClose: onSocketClosed,
    onDown: onSocketDown,
    onRetry: () => setStatus("Reconnecting…"),
  },
  { pingFrame: { v: PROTOCOL_VERSION, type: "ping" }, pingIntervalMs: PING_INTERVAL_MS }
);

const pendingRows = new Map(); // client_id -> {row, bubble, meta} for customer bubbles not yet stored
const rowOrder = new WeakMap(); // row -> sort key (seq; Infinity for unacked customer messages)
const botMessages = new Map(); // message id -> {group, up, down, saved, shown}
const feedbackInFlight = []; // message ids in the order their `feedback` frames were sent
const feedbackUnsent = new Map(); // message id -> rating, waiting for a connection

let ui = null; // DOM references, set by buildUi()
let ready = false; // the widget is built and its stylesheet is in: it can be shown
let quickReplies = null; // the one quick-reply group on screen (under the latest bot message)
let wantOpenOnReady = false; // open() was called before the widget was ready
let survey = null; // the one rating card on screen: {episode, max, row, card, ...}
let dismissedEpisode = 0; // the customer closed the card of this episode (and older ones)
let ratingToSend = null; // {episode, score, inFlight}: chosen, not yet confirmed by the server
let idCounter = 0;

// ---------------------------------------------------------------------------------------------
// DOM construction
// ---------------------------------------------------------------------------------------------

function loadStylesheet(onReady) {
  const existing = document.querySelector('link[data-shopclerk="css"]');
  if (existing) {
    onReady();
    return;
  }
  const link = el("link", null, { rel: "stylesheet", href: CONFIG.cssUrl, "data-shopclerk": "css" });
  link.addEventListener("load", onReady);
  link.addEventListener("error", () => {
    console.error("shopclerk: could not load " + CONFIG.cssUrl);
    onReady(); // an unstyled chat is still better than no chat
  });
  document.head.appendChild(link);
}

function buildUi() {
  const panelId = "sc-panel-" + Math.random().toString(36).slice(2, 8);
  // Hidden until the stylesheet is in, so the host page never shows an unstyled flash.
  const root = el("div", "sc-root", { "data-shopclerk": "widget" });
  root.hidden = true;

  const launcher = el("button", "sc-launcher", {
    type: "button",
    "data-testid": "sc-launcher",
    "aria-expanded": "false",
    "aria-controls": panelId,
    "aria-label": "Open chat",
  });
  launcher.appendChild(icon("chat"));
  const launcherClose = icon("close");
  launcherClose.classList.add("sc-icon-close");
  launcher.appendChild(launcherClose);
  const badge = el("span", "sc-badge", { "aria-hidden": "true" });
  badge.hidden = true;
  launcher.appendChild(badge);

  const panel = el("div", "sc-panel", { id: panelId, role: "dialog", "aria-label": CONFIG.title });
  panel.hidden = true;

  const header = el("div", "sc-header");
  header.appendChild(textEl("h2", "sc-title", CONFIG.title));
  const endChat = buildEndChat();
  header.appendChild(endChat.node);
  const closeButton = iconButton("sc-close", "close", "Close chat", { "data-testid": "sc-close" });
  header.appendChild(closeButton);

  const status = el("div", "sc-status", { "data-testid": "sc-status", role: "status" });
  status.hidden = true;

  // Who the customer is talking to when it is not the bot (queued, with an agent, offline).
  const banner = el("div", "sc-handoff-banner", {
    "data-testid": "sc-handoff-banner",
    "data-state": "bot",
    role: "status",
  });
  banner.hidden = true;

  const scroller = el("div", "sc-scroll");
  const empty = textEl("p", "sc-empty", CONFIG.greeting);
  const list = el("div", "sc-list", { "aria-live": "polite", "aria-relevant": "additions", role: "log" });
  list.setAttribute("aria-label", "Conversation");
  const typing = el("div", "sc-typing", {
    "data-testid": "sc-typing",
    "data-who": "bot",
    role: "img",
    "aria-label": "Assistant is typing",
  });
  for (let i = 0; i < 3; i++) typing.appendChild(el("span", "sc-dot"));
  // "Anna is typing…" when a person types; the bot's indicator is just the dots.
  const typingCaption = el("span", "sc-typing-caption", { "data-testid": "sc-typing-caption" });
  typingCaption.hidden = true;
  typing.appendChild(typingCaption);
  typing.hidden = true;
  scroller.append(empty, list, typing);

  const footer = buildFooter();
  panel.append(header, status, banner, scroller, footer.node);
  root.append(panel, launcher);

  ui = Object.assign(
    { root, launcher, badge, panel, closeButton, status, banner, scroller, empty, list, typing, typingCaption },
    endChat.refs,
    footer.refs
  );
  document.body.appendChild(root);
  bindUiEvents();
}

// "End chat" in the header. It asks first, inline: the button gives way to "End this chat? Yes / No".
function buildEndChat() {
  const node = el("div", "sc-end");
  node.hidden = true; // until the conversation has a message
  const button = textEl("button", "sc-end-chat", "End chat", { type: "button", "data-testid": "sc-end-chat" });
  const questionId = uniqueId("end");
  const confirm = el("div", "sc-end-confirm", {
    role: "group",
    "aria-labelledby": questionId,
    "data-testid": "sc-end-confirm",
  });
  confirm.hidden = true;
  const yes = textEl("button", "sc-end-yes", "Yes", {
    type: "button",
    "data-testid": "sc-end-chat-yes",
    "aria-label": "Yes, end the chat",
  });
  const no = textEl("button", "sc-end-no", "No", {
    type: "button",
    "data-testid": "sc-end-chat-no",
    "aria-label": "No, keep chatting",
  });
  confirm.append(textEl("span", "sc-end-question", "End this chat?", { id: questionId }), yes, no);
  node.append(button, confirm);
  return { node, refs: { endChat: node, endButton: button, endConfirm: confirm, endYes: yes, endNo: no } };
}

function buildFooter() {
  const node = el("form", "sc-footer", { novalidate: "" });
  const compose = el("div", "sc-compose");
  const input = el("textarea", "sc-input", {
    "data-testid": "sc-input",
    rows: "1",
    "aria-label": "Type your message",
    placeholder: "Type your message…",
    autocomplete: "off",
  });
  const send = iconButton("sc-send", "send", "Send message", { type: "submit", "data-testid": "sc-send" });
  compose.append(input, send);

  const row = el("div", "sc-footer-row");
  const human = el("button", "sc-human", { type: "button", "data-testid": "sc-human" });
  human.append(icon("person"), document.createTextNode("Talk to a person"));
  const counter = el("span", "sc-counter", { "aria-hidden": "true" });
  row.append(human, counter);

  // Announced (politely) only when the over-limit state changes, not on every keystroke.
  const hint = el("p", "sc-hint", { "aria-live": "polite" });
  node.append(hint, compose, row);
  return { node, refs: { form: node, input, send, human, counter, hint } };
}

function bindUiEvents() {
  ui.launcher.addEventListener("click", () => (state.isOpen ? closePanel() : openPanel()));
  ui.closeButton.addEventListener("click", closePanel);
  ui.root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.isOpen) {
      event.preventDefault();
      closePanel();
    }
  });
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendFromInput();
  });
  ui.input.addEventListener("keydown", onInputKeyDown);
  ui.input.addEventListener("input", () => {
    onInputChanged();
    reportTyping(); // only here: text put back into the box by the widget is not typing
  });
  ui.human.addEventListener("click", () => submitText(HUMAN_REQUEST_TEXT));
  ui.endButton.addEventListener("click", () => setEndConfirm(true));
  ui.endYes.addEventListener("click", endChat);
  ui.endNo.addEventListener("click", () => setEndConfirm(false));
  ui.endConfirm.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    // Escape takes back the question here; it only closes the panel everywhere else.
    event.preventDefault();
    event.stopPropagation();
    setEndConfirm(false);
  });
}

// ---------------------------------------------------------------------------------------------
// Panel: open / close, unread badge, status line, scrolling
// ---------------------------------------------------------------------------------------------

function openPanel() {
  if (!ready) {
    wantOpenOnReady = true;
    return;
  }
  if (state.isOpen) return;
  state.isOpen = true;
  ui.panel.hidden = false;
  ui.root.classList.add("sc-is-open");
  ui.launcher.setAttribute("aria-expanded", "true");
  setUnread(0);
  state.unreadAfterSeq = state.lastSeq;
  updateLauncherLabel();
  socket.ensure();
  scrollToBottom();
  ui.input.focus();
}

function closePanel() {
  wantOpenOnReady = false;
  if (!ready || !state.isOpen) return;
  state.isOpen = false;
  setEndConfirm(false);
  ui.panel.hidden = true;
  ui.root.classList.remove("sc-is-open");
  ui.launcher.setAttribute("aria-expanded", "false");
  updateLauncherLabel();
  ui.launcher.focus();
}

function setUnread(count) {
  state.unread = count;
  ui.badge.textContent = count > 9 ? "9+" : String(count);
  ui.badge.hidden = count === 0;
  updateLauncherLabel();
}

function updateLauncherLabel() {
  ui.launcher.setAttribute("aria-label", launcherLabel(state.isOpen, state.unread));
}

function setStatus(text) {
  clearTimeout(state.connectStatusTimer);
  state.connectStatusTimer = null;
  if (!ui) return;
  ui.status.textContent = text;
  ui.status.hidden = !text;
}

function isNearBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

// Runs a DOM change and keeps the view pinned to the newest message, unless the customer has
// scrolled up to read something older (then we don't yank the view away).
function withAutoScroll(change, force) {
  const stick = force || isNearBottom();
  change();
  ui.empty.hidden = ui.list.childElementCount > 0;
  updateEndChat();
  if (stick) scrollToBottom();
}

// ---------------------------------------------------------------------------------------------
// Message list: rows are kept in seq order
// ---------------------------------------------------------------------------------------------

// Stored rows are sorted by seq; customer bubbles not yet acked sort last (Infinity), so a
// reply to an earlier message never lands below a message that is still being sent. System
// lines have no key and stay where they were added.
function placeRow(row, key) {
  rowOrder.set(row, key);
  let before = null;
  for (let node = ui.list.lastElementChild; node; node = node.previousElementSibling) {
    if (node === row || !rowOrder.has(node)) continue;
    if (rowOrder.get(node) <= key) break;
    before = node;
  }
  // Moving a node re-announces it in the live region, so leave it alone when already in place.
  const inPlace = row.parentNode === ui.list && row.nextElementSibling === before;
  if (!inPlace) ui.list.insertBefore(row, before);
}

function clearConversation() {
  // Drop everything from the old conversation; bubbles still waiting to be sent stay (they are
  // re-sent into whatever conversation the server now gives us).
  const keep = new Set(outbox.ids());
  for (const clientId of Array.from(pendingRows.keys())) {
    if (!keep.has(clientId)) pendingRows.delete(clientId);
  }
  withAutoScroll(() => {
    ui.list.textContent = "";
    for (const item of outbox.items) {
      const pending = pendingRows.get(item.client_id);
      if (pending) placeRow(pending.row, Infinity);
    }
  }, true);
  botMessages.clear();
  streams.clear();
  feedbackInFlight.length = 0;
  feedbackUnsent.clear();
  quickReplies = null;
  survey = null; // its row went with the list
  ratingToSend = null; // an episode of the old conversation: the server would refuse it
  state.endUnsent = false;
  state.endedAfterSeq = 0;
  updateEndChat();
  setTyping(false);
  setHandoff("bot", "");
}

function buildRow(role, text) {
  const row = el("div", "sc-row sc-row-" + role);
  const bubble = el("div", "sc-msg", { "data-testid": "sc-msg", "data-role": role });
  if (role === "customer" || role === "system") bubble.textContent = text;
  else appendLinkifiedText(bubble, text, "sc-link");
  row.appendChild(bubble);
  return { row, bubble };
}

function addSystemLine(text) {
  if (!ui) return;
  const { row } = buildRow("system", text);
  withAutoScroll(() => ui.list.appendChild(row), true);
}

// A customer message shown right away, before the server has stored it.
function addPendingBubble(item) {
  const { row, bubble } = buildRow("customer", item.text);
  bubble.setAttribute("data-state", "pending");
  bubble.setAttribute("data-client-id", item.client_id);
  const meta = textEl("span", "sc-meta", "Sending…");
  row.appendChild(meta);
  pendingRows.set(item.client_id, { row, bubble, meta });
  withAutoScroll(() => placeRow(row, Infinity), true);
}

function markBubble(pending, stateName, metaText) {
  pending.bubble.setAttribute("data-state", stateName);
  pending.meta.textContent = metaText;
  pending.meta.hidden = !metaText;
}

function removePendingBubble(clientId) {
  const pending = pendingRows.get(clientId);
  if (!pending) return;
  pendingRows.delete(clientId);
  withAutoScroll(() => pending.row.remove());
}

// ---------------------------------------------------------------------------------------------
// Rendering stored `message` frames
// ---------------------------------------------------------------------------------------------

function onStoredMessage(frame) {
  // The stored answer replaces the bubble it was streamed into (it may differ: when a fact did
  // not check out, the server sends the answer composed from the records instead).
  if (typeof frame.stream === "string") dropStream(frame.stream);
  const seq = positiveInt(frame.seq);
  // Never show a seq twice: replays and live frames can overlap after a reconnect.
  if (!seq || seq <= state.lastSeq) return;
  if (frame.role === "customer") renderCustomerMessage(frame, seq);
  else renderIncomingMessage(frame, incomingRole(frame.role), seq);
  setLastSeq(seq);
  if (seq >= state.replayUntil) setReplaying(false);
}

// ---------------------------------------------------------------------------------------------
// Streaming: the bot's answer as a model writes it, piece by piece (`stream` frames)
// ---------------------------------------------------------------------------------------------

const streams = new Map(); // stream id -> { row, bubble, text }

function onStreamFrame(frame) {
  const id = typeof frame.stream === "string" ? frame.stream : "";
  const delta = typeof frame.delta === "string" ? frame.delta : "";
  if (!id || !delta || !ui) return;
  if (state.typingWho !== "agent") setTyping(false); // the answer itself shows now
  let entry = streams.get(id);
  if (!entry) {
    const { row, bubble } = buildRow("bot", "");
    bubble.setAttribute("data-stream", id);
    bubble.setAttribute("aria-busy", "true"); // read out once complete, as the stored message
    entry = { row, bubble, text: "" };
    streams.set(id, entry);
    withAutoScroll(() => placeRow(row, Infinity));
  }
  entry.text += delta;
  const { bubble } = entry;
  withAutoScroll(() => {
    bubble.textContent = entry.text; // plain text, never markup
  });
}

function dropStream(id) {
  const entry = streams.get(id);
  if (!entry) return;
  streams.delete(id);
  withAutoScroll(() => entry.row.remove());
}

// While the history replays, aria-busy keeps screen readers from reading out every old
// message as if it were new.
function setReplaying(on) {
  clearTimeout(state.replayTimer);
  state.replayTimer = on ? setTimeout(() => setReplaying(false), REPLAY_BUSY_MAX_MS) : null;
  if (ui) ui.list.setAttribute("aria-busy", String(on));
}

function renderCustomerMessage(frame, seq) {
  const text = typeof frame.text === "string" ? frame.text : "";
  const clientId = typeof frame.client_id === "string" ? frame.client_id : null;
  const pending = clientId ? pendingRows.get(clientId) : null;
  removeQuickReplies(); // the customer has answered; the suggestions are stale
  if (pending) {
    // Our own bubble came back stored: turn it into the stored one instead of adding a copy.
    // (Counts as an ack too: after a reconnect the replay can beat the re-sent message's ack.)
    pendingRows.delete(clientId);
    outbox.remove(clientId);
    pending.bubble.textContent = text;
    pending.bubble.setAttribute("data-seq", String(seq));
    pending.bubble.removeAttribute("data-client-id");
    markBubble(pending, "sent", "");
    withAutoScroll(() => placeRow(pending.row, seq));
    return;
  }
  const { row, bubble } = buildRow("customer", text);
  bubble.setAttribute("data-seq", String(seq));
  withAutoScroll(() => placeRow(row, seq));
}

function renderIncomingMessage(frame, role, seq) {
  const { row, bubble } = buildRow(role, typeof frame.text === "string" ? frame.text : "");
  bubble.setAttribute("data-seq", String(seq));
  const id = positiveInt(frame.id);
  if (id) bubble.setAttribute("data-id", String(id));
  if (!bubble.textContent) bubble.classList.add("sc-msg-empty");

  if (role === "agent") {
    // The person's name above their bubble (read out first, too).
    if (bubble.textContent) row.insertBefore(textEl("span", "sc-author", agentName(frame.agent)), bubble);
    // Their message is written: a `typing off` that lost the race must not leave the dots below it.
    if (state.typingWho === "agent") setTyping(false);
  }
  // Products, the handoff notice, thumbs and quick replies are the bot's; people and events
  // have none.
  if (role === "bot") {
    const products = Array.isArray(frame.products) ? frame.products : [];
    if (products.length) row.appendChild(buildProductList(products));
    if (frame.handoff) {
      row.appendChild(textEl("p", "sc-notice", "Connecting you to a person…", { "data-testid": "sc-handoff" }));
    }
    if (id) row.appendChild(buildFeedback(id));
  }
  removeQuickReplies();
  const labels = role === "bot" && Array.isArray(frame.quick_replies) ? frame.quick_replies : [];
  const replies = buildQuickReplies(labels);
  if (replies) {
    row.appendChild(replies);
    quickReplies = replies;
  }
  withAutoScroll(() => placeRow(row, seq));
  countUnread(seq);
}

function countUnread(seq) {
  if (!state.isOpen && seq > state.unreadAfterSeq) setUnread(state.unread + 1);
}

function setLastSeq(seq) {
  state.lastSeq = seq;
  if (!state.session) return;
  // Several tabs share this key; only ever move it forward so one tab can't hide another's
  // progress (and so re-rendering a replay causes no storage writes at all).
  const key = lastSeqKey(state.session);
  const stored = positiveInt(readStored("localStorage", key)) || 0;
  if (seq > stored) writeStored("localStorage", key, String(seq));
}

function buildProductList(products) {
  const list = el("ul", "sc-products", { "aria-label": "Products" });
  for (const product of products.slice(0, MAX_PRODUCT_CARDS)) {
    if (product && typeof product === "object") list.appendChild(buildProductCard(product));
  }
  return list;
}

function buildProductCard(product) {
  const name = typeof product.name === "string" ? product.name : "";
  const card = el("li", "sc-product", { "data-testid": "sc-product" });
  if (typeof product.sku === "string") card.setAttribute("data-sku", product.sku);
  card.appendChild(textEl("p", "sc-product-name", name));

  const details = el("p", "sc-product-details");
  const price = formatPrice(product.price, document.documentElement.lang || undefined);
  if (price) details.appendChild(textEl("span", "sc-price", price));
  if (typeof product.in_stock === "boolean") {
    const stockClass = product.in_stock ? "sc-stock sc-stock-in" : "sc-stock sc-stock-out";
    details.appendChild(textEl("span", stockClass, product.in_stock ? "In stock" : "Out of stock"));
  }
  card.appendChild(details);

  const href = safeHttpUrl(product.url, document.baseURI);
  if (href) {
    const link = textEl("a", "sc-product-link", "View product", { href, target: "_blank", rel: "noopener" });
    link.setAttribute("aria-label", "View " + (name || "product") + " (opens in a new tab)");
    card.appendChild(link);
  }
  return card;
}

function buildQuickReplies(labels) {
  const clean = labels.filter((label) => typeof label === "string" && label.trim());
  if (!clean.length) return null;
  const group = el("div", "sc-quick-replies", { role: "group", "aria-label": "Suggested replies" });
  for (const label of clean) {
    const button = textEl("button", "sc-quick", label, { type: "button", "data-testid": "sc-quick" });
    button.addEventListener("click", () => submitText(label));
    group.appendChild(button);
  }
  return group;
}

function removeQuickReplies() {
  if (quickReplies) quickReplies.remove();
  quickReplies = null;
}

// ---------------------------------------------------------------------------------------------
// Feedback (thumbs)
// ---------------------------------------------------------------------------------------------

function buildFeedback(messageId) {
  const group = el("div", "sc-feedback", { role: "group", "aria-label": "Was this answer helpful?" });
  const up = iconButton("sc-thumb sc-thumb-up", "thumbUp", "Helpful", {
    "data-testid": "sc-thumb-up",
    "aria-pressed": "false",
  });
  const down = iconButton("sc-thumb sc-thumb-down", "thumbDown", "Not helpful", {
    "data-testid": "sc-thumb-down",
    "aria-pressed": "false",
  });
  up.addEventListener("click", () => rate(messageId, "up"));
  down.addEventListener("click", () => rate(messageId, "down"));
  group.append(up, down);
  botMessages.set(messageId, { group, up, down, saved: null, shown: null });
  return group;
}

function showRating(record, rating, saving) {
  record.shown = rating;
  record.up.setAttribute("aria-pressed", String(rating === "up"));
  record.down.setAttribute("aria-pressed", String(rating === "down"));
  if (saving) record.group.setAttribute("data-state", "saving");
  else record.group.removeAttribute("data-state");
}

function rate(messageId, rating) {
  const record = botMessages.get(messageId);
  // The protocol has no "remove rating", so pressing the chosen thumb again does nothing.
  if (!record || record.shown === rating) return;
  showRating(record, rating, true); // optimistic; confirmed by `feedback_saved`
  if (state.connected) {
    sendFeedback(messageId, rating);
  } else {
    feedbackUnsent.set(messageId, rating);
    socket.ensure();
  }
}

function sendFeedback(messageId, rating) {
  if (send({ v: PROTOCOL_VERSION, type: "feedback", message_id: messageId, rating })) {
    feedbackInFlight.push(messageId);
  } else {
    feedbackUnsent.set(messageId, rating);
  }
}

function flushFeedback() {
  const queued = Array.from(feedbackUnsent);
  feedbackUnsent.clear();
  for (const [messageId, rating] of queued) sendFeedback(messageId, rating);
}

function onFeedbackSaved(frame) {
  const messageId = positiveInt(frame.message_id);
  const index = feedbackInFlight.indexOf(messageId);
  if (index !== -1) feedbackInFlight.splice(index, 1);
  const record = botMessages.get(messageId);
  if (!record || (frame.rating !== "up" && frame.rating !== "down")) return;
  record.saved = frame.rating;
  // A newer click may still be on its way; only settle once nothing else is pending for it.
  if (!feedbackInFlight.includes(messageId) && !feedbackUnsent.has(messageId)) {
    showRating(record, frame.rating, false);
  }
}

function onFeedbackRejected() {
  // `unknown_message` names no message; the server answers in order, so it's the oldest one.
  const messageId = feedbackInFlight.shift();
  const record = botMessages.get(messageId);
  if (record) showRating(record, record.saved, false);
}

// ---------------------------------------------------------------------------------------------
// Ending the chat (`end`) and rating it (`survey` -> `satisfaction` -> `satisfaction_saved`)
// ---------------------------------------------------------------------------------------------

// "End chat" is there once the conversation has a message, and goes away once the customer has
// ended it, until someone writes again. System lines ("The customer ended the chat.") don't count.
function updateEndChat() {
  if (!ui) return;
  const show = hasMessageSinceEnd();
  if (ui.endChat.hidden === !show) return;
  if (!show) {
    const hadFocus = ui.endChat.contains(document.activeElement);
    setEndConfirm(false);
    if (hadFocus && state.isOpen) ui.input.focus();
  }
  ui.endChat.hidden = !show;
}

function hasMessageSinceEnd() {
  const messages = ui.list.querySelectorAll('[data-testid="sc-msg"]:not([data-role="system"])');
  if (!messages.length) return false;
  // Rows are in seq order; bubbles not stored yet (being sent, streaming) have no seq and are new.
  const seq = positiveInt(messages[messages.length - 1].getAttribute("data-seq"));
  return !seq || seq > state.endedAfterSeq;
}

function setEndConfirm(on) {
  if (!ui || ui.endConfirm.hidden === !on) return;
  const hadFocus = ui.endConfirm.contains(document.activeElement);
  ui.endButton.hidden = on;
  ui.endConfirm.hidden = !on;
  if (on) ui.endYes.focus();
  else if (hadFocus) ui.endButton.focus();
}

// The conversation stays on screen: the survey comes below it, and whatever the customer writes
// next starts a new episode on the server.
function endChat() {
  state.endedAfterSeq = state.lastSeq;
  state.endUnsent = true;
  setEndConfirm(false);
  updateEndChat(); // hides the button (focus goes to the message box)
  if (state.connected) flushEnd();
  else socket.ensure(true);
}

function flushEnd() {
  if (state.endUnsent && send({ v: PROTOCOL_VERSION, type: "end" })) state.endUnsent = false;
}

// One card at a time: a newer episode's survey replaces the older card; the same episode asked
// again (the server repeats it after a reconnect) or one the customer closed leaves things be.
function onSurveyFrame(frame) {
  const episode = positiveInt(frame.episode);
  if (!episode || !ui || episode <= dismissedEpisode) return;
  if (survey && survey.episode >= episode) return;
  const entry = buildSurvey(episode, nonEmpty(frame.question) || DEFAULT_SURVEY_QUESTION, surveyScale(frame.scale));
  removeSurvey();
  survey = entry;
  // The episode is over (a goodbye, "End chat", an agent's verdict): nothing left to end until
  // someone writes again. (Asked again after a reload, this may hide the button over messages
  // written since; the next message brings it back.)
  state.endedAfterSeq = Math.max(state.endedAfterSeq, state.lastSeq);
  // At the end of the list, as the quick replies; later messages come below it.
  withAutoScroll(() => ui.list.appendChild(entry.row));
}

function buildSurvey(episode, question, scale) {
  const max = Math.max.apply(null, scale);
  const row = el("div", "sc-row sc-row-survey");
  const card = el("div", "sc-survey", { "data-testid": "sc-survey", "data-episode": String(episode) });
  const top = el("div", "sc-survey-top");
  const questionId = uniqueId("survey");
  const questionText = textEl("p", "sc-survey-question", question, { id: questionId });
  const dismiss = iconButton("sc-survey-dismiss", "close", "Close the rating", { "data-testid": "sc-survey-dismiss" });
  top.append(questionText, dismiss);

  // A radio group with one tab stop: arrows move between the scores, Enter/Space/click rates.
  // (Arrows don't rate by themselves: a rating is sent the moment it is chosen.)
  const group = el("div", "sc-survey-scale", { role: "radiogroup", "aria-labelledby": questionId });
  const entry = { episode, max, row, card, questionText, group, dismiss, radios: [], thanks: null };
  scale.forEach((score, index) => {
    const radio = textEl("button", "sc-survey-score", String(score), {
      type: "button",
      role: "radio",
      "aria-checked": "false",
      "aria-label": "Rate " + score + " out of " + max,
      "data-testid": "sc-survey-score",
      "data-score": String(score),
      tabindex: index === 0 ? "0" : "-1",
    });
    radio.addEventListener("click", () => chooseScore(entry, score));
    entry.radios.push(radio);
    group.appendChild(radio);
  });
  group.addEventListener("keydown", (event) => onSurveyKeyDown(entry, event));
  dismiss.addEventListener("click", () => {
    dismissedEpisode = Math.max(dismissedEpisode, episode);
    if (entry === survey) removeSurvey(); // a score already chosen is still sent
  });
  card.append(top, group);
  row.appendChild(card);
  return entry;
}

function onSurveyKeyDown(entry, event) {
  const radios = entry.radios;
  const index = radios.indexOf(document.activeElement);
  if (index === -1) return;
  const moves = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1 };
  let next;
  if (event.key === "Home") next = 0;
  else if (event.key === "End") next = radios.length - 1;
  else if (Object.prototype.hasOwnProperty.call(moves, event.key)) next = (moves[event.key] + radios.length) % radios.length;
  else return;
  event.preventDefault();
  setTabStop(entry, radios[next]);
  radios[next].focus();
}

function setTabStop(entry, radio) {
  for (const other of entry.radios) other.setAttribute("tabindex", other === radio ? "0" : "-1");
}

// The choice shows at once and is kept until the server confirms it; while offline it is sent
// after the reconnect (like feedback and messages), so the buttons stay usable.
function chooseScore(entry, score) {
  if (entry !== survey || entry.thanks) return;
  for (const radio of entry.radios) {
    const chosen = radio.getAttribute("data-score") === String(score);
    radio.setAttribute("aria-checked", String(chosen));
    if (chosen) setTabStop(entry, radio);
  }
  entry.card.setAttribute("data-state", "saving");
  ratingToSend = { episode: entry.episode, score, inFlight: false };
  if (state.connected) sendRating();
  else socket.ensure(true);
}

function sendRating() {
  const rating = ratingToSend;
  if (!rating || rating.inFlight) return;
  rating.inFlight = send({ v: PROTOCOL_VERSION, type: "satisfaction", episode: rating.episode, score: rating.score });
}

// Comes to every tab of the session: a rating given in another tab thanks the customer here too.
function onSatisfactionSaved(frame) {
  const episode = positiveInt(frame.episode);
  const score = positiveInt(frame.score);
  if (!episode || !score) return;
  if (ratingToSend && ratingToSend.episode === episode && ratingToSend.score === score) ratingToSend = null;
  // A newer choice still on its way settles the card when its own confirmation comes.
  if (ratingToSend && ratingToSend.episode === episode) return;
  if (survey && survey.episode === episode) showThanks(survey, score);
}

function showThanks(entry, score) {
  const text = "Thank you for your rating (" + score + "/" + entry.max + ").";
  if (entry.thanks) {
    if (entry.thanks.textContent !== text) entry.thanks.textContent = text;
    return;
  }
  const hadFocus = entry.group.contains(document.activeElement);
  entry.thanks = textEl("p", "sc-survey-thanks", text, { "data-testid": "sc-survey-thanks" });
  withAutoScroll(() => {
    entry.card.setAttribute("data-state", "saved");
    entry.questionText.replaceWith(entry.thanks);
    entry.group.remove();
  });
  if (hadFocus && state.isOpen) ui.input.focus(); // the scores it was on are gone
}

// `unknown_episode`: this conversation has no such episode (any more). Asking again won't help.
function onRatingRejected(frame) {
  const episode = positiveInt(frame.episode);
  if (ratingToSend && (!episode || ratingToSend.episode === episode)) ratingToSend = null;
  if (survey && (!episode || survey.episode === episode)) removeSurvey();
}

function removeSurvey() {
  if (!survey) return;
  const row = survey.row;
  const hadFocus = row.contains(document.activeElement);
  survey = null;
  withAutoScroll(() => row.remove());
  if (hadFocus && state.isOpen) ui.input.focus();
}

// ---------------------------------------------------------------------------------------------
// Typing indicator
// ---------------------------------------------------------------------------------------------

// The bot's indicator comes with `who: "bot"` or no `who`; a person's with `who: "agent"` and
// their name. `typing off` hides the indicator whoever it came from.
function onTypingFrame(frame) {
  if (frame.on === true && frame.who === "agent") setTyping(true, agentName(frame.name));
  else setTyping(frame.on === true);
}

// `agent`: the name of the person typing; none for the bot.
function setTyping(on, agent) {
  clearTimeout(state.typingTimer);
  state.typingTimer = null;
  if (!ui) return;
  if (on) {
    state.typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
    describeTyping(agent || null);
  }
  if (ui.typing.hidden === !on) return;
  withAutoScroll(() => {
    ui.typing.hidden = !on;
  });
}

function describeTyping(agent) {
  const who = agent ? "agent" : "bot";
  const caption = agent ? agent + " is typing…" : "";
  if (who === state.typingWho && ui.typingCaption.textContent === caption) return;
  state.typingWho = who;
  ui.typing.setAttribute("data-who", who);
  ui.typing.setAttribute("aria-label", agent ? agent + " is typing" : "Assistant is typing");
  // The caption only changes the height while the indicator is already on screen.
  withAutoScroll(() => {
    ui.typingCaption.textContent = caption;
    ui.typingCaption.hidden = !caption;
  });
}

// ---------------------------------------------------------------------------------------------
// Handoff status: who the customer is talking to when it is not the bot
// ---------------------------------------------------------------------------------------------

function onHandoffFrame(frame) {
  clearTimeout(state.handoffTimer);
  state.handoffTimer = null;
  const name = handoffStateName(frame.state);
  setHandoff(name, nonEmpty(frame.text) || "", frame.email_known);
}

// Shows the banner, or hides it for "bot" or an empty text. A state this version does not know
// still shows its text.
function setHandoff(name, text, emailKnown) {
  const shown = name === "bot" ? "" : text;
  state.handoffState = shown ? name : "bot";
  // Only people can answer while the conversation is queued or with a person; asking again for
  // one would just send them "I'd like to talk to a person".
  ui.human.hidden = state.handoffState === "queued" || state.handoffState === "agent";
  const banner = ui.banner;
  if (typeof emailKnown === "boolean") banner.setAttribute("data-email-known", String(emailKnown));
  else banner.removeAttribute("data-email-known");
  // The server repeats the status after every reconnect: an unchanged banner is not re-announced.
  if (banner.getAttribute("data-state") === state.handoffState && banner.textContent === shown) return;
  withAutoScroll(() => {
    banner.setAttribute("data-state", state.handoffState);
    banner.textContent = shown;
    banner.hidden = !shown;
  });
}

// After `welcome` the server sends the handoff status first whenever the conversation is not
// with the bot. If something else comes first, or nothing for a while, it is with the bot (again),
// whatever the banner said before the reconnect.
function expectHandoffStatus() {
  clearTimeout(state.handoffTimer);
  state.handoffTimer = setTimeout(handoffStatusMissed, HANDOFF_STATUS_WAIT_MS);
}

function handoffStatusMissed() {
  clearTimeout(state.handoffTimer);
  state.handoffTimer = null;
  setHandoff("bot", "");
}

// ---------------------------------------------------------------------------------------------
// The customer's typing, for the agent's screen
// ---------------------------------------------------------------------------------------------

// Ephemeral like the server's indicator: sent only on a welcomed socket, never queued.
function reportTyping() {
  if (!ui.input.value.trim()) {
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

function onInputKeyDown(event) {
  // Enter sends, Shift+Enter is a newline; never interrupt an IME composition (CJK input).
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  sendFromInput();
}

function onInputChanged() {
  autosizeInput();
  updateCounter();
}

function autosizeInput() {
  const input = ui.input;
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 140) + "px";
}

function updateCounter() {
  const count = charCount(ui.input.value.trim());
  const max = CONFIG.maxChars;
  const over = count > max;
  ui.counter.textContent = count > max * 0.9 ? count + " / " + max : "";
  ui.counter.classList.toggle("sc-over", over);
  ui.input.setAttribute("aria-invalid", String(over));
  if (over !== state.overLimit) {
    state.overLimit = over;
    ui.hint.textContent = over ? limitText(count) : "";
  }
}

function limitText(count) {
  return "Messages can be at most " + CONFIG.maxChars + " characters (this one has " + count + ").";
}

function sendFromInput() {
  const text = ui.input.value;
  if (!submitText(text)) return;
  ui.input.value = "";
  onInputChanged();
  ui.input.focus();
}

// Queues one customer message. Returns false (and sends nothing) for empty or too long text,
// so the caller keeps the text where the customer typed it.
function submitText(rawText) {
  const text = String(rawText).trim();
  if (!text) return false;
  const count = charCount(text);
  if (count > CONFIG.maxChars) {
    // Re-set the text so the live region announces it again on a repeated attempt.
    ui.hint.textContent = "";
    ui.hint.textContent = limitText(count);
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
function flushOutbox() {
  clearTimeout(state.flushTimer);
  state.flushTimer = null;
  if (!state.connected) return;
  const now = Date.now();
  const { send: due, nextHold } = outbox.due(now);
  for (const item of due) sendOutboxItem(item);
  if (nextHold !== Infinity) state.flushTimer = setTimeout(flushOutbox, nextHold - now);
}

function onAck(frame) {
  const clientId = typeof frame.client_id === "string" ? frame.client_id : null;
  if (!clientId) return;
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

function onErrorFrame(frame) {
  const code = typeof frame.code === "string" ? frame.code : "";
  const serverText = nonEmpty(frame.message);
  const item = typeof frame.client_id === "string" ? outbox.find(frame.client_id) : null;

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

// The server will never take this message as it is (e.g. too_large): stop re-sending it, remove
// its bubble, and give the text back to the customer so nothing they typed is lost.
function rejectOutboxItem(item, reason) {
  outbox.remove(item.client_id);
  removePendingBubble(item.client_id);
  restoreToInput(item.text);
  addSystemLine(reason + " Your text is back in the message box.");
}

function restoreToInput(text) {
  const current = ui.input.value.trim();
  ui.input.value = current ? text + "\n\n" + current : text;
  onInputChanged();
  if (state.isOpen) ui.input.focus();
}

// ---------------------------------------------------------------------------------------------
// Connection: hello/welcome, replay, ping, reconnect with back-off
// ---------------------------------------------------------------------------------------------

// Before each attempt: the first time, say "Connecting…" if it takes a while.
function showFirstConnecting() {
  if (!state.everConnected && !state.connectStatusTimer && ui && !ui.status.textContent) {
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

function send(frame) {
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
  // close. 4420: this page fell behind reading; 4408: the hello was too slow. Both come back
  // with a hello from the last seq shown, so nothing is lost.
  return code === 4429 ? "slow" : "retry";
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
  if (ratingToSend) ratingToSend.inFlight = false;
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

function bindPageEvents() {
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

// ---------------------------------------------------------------------------------------------
// Start-up and public API
// ---------------------------------------------------------------------------------------------

function boot() {
  outbox.load();
  if (state.session) {
    state.unreadAfterSeq = positiveInt(readStored("localStorage", lastSeqKey(state.session))) || 0;
  }
  buildUi();
  for (const item of outbox.items) addPendingBubble(item);
  bindPageEvents();
  loadStylesheet(() => {
    ready = true;
    ui.root.hidden = false;
    if (wantOpenOnReady) openPanel();
  });
  // Returning visitors (or unsent messages) connect now so the history is there when the
  // panel opens; first-time visitors only when they open the chat, so that merely browsing
  // the shop creates no conversation on the server.
  if (state.session || outbox.size) socket.connect();
}

// The shop's page says who is logged in now (after a login): the next `hello` carries it. The
// server keeps a signed-in shopper's chat for them alone, so a different shopper gets a new one.
function identify(given) {
  const identity = cleanIdentity(given);
  if (!identity) {
    console.error("shopclerk: identify() needs {customer_id, email, signature} or {token}");
    return;
  }
  state.identity = identity;
  if (socket.ws) socket.restart(true);
}

// The shopper logged out: forget the chat on this computer, so the next person starts afresh.
function logout() {
  const old = state.session;
  state.identity = null;
  state.session = null;
  outbox.clear();
  writeStored("localStorage", KEY_SESSION, null);
  if (old) writeStored("localStorage", lastSeqKey(old), null);
  state.lastSeq = 0;
  state.unreadAfterSeq = 0;
  const wasConnected = Boolean(socket.ws);
  socket.teardown();
  if (ui) clearConversation();
  if (wasConnected && state.isOpen) socket.connect();
}

// Called once by ../widget.js with its <script> tag; returns the page's API
// (window.ShopclerkWidget forwards to it).
export function start(scriptTag) {
  CONFIG = readConfig(scriptTag, document.baseURI);
  state.identity = CONFIG.identity; // the signed shopper sent with every `hello`, or null
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
  return {
    open: openPanel,
    close: closePanel,
    identify,
    logout,
    // For tests: a snapshot of the connection and delivery state.
    _state: () => ({
      session: state.session,
      lastSeq: state.lastSeq,
      connected: state.connected,
      pending: outbox.ids(),
    }),
  };
}
