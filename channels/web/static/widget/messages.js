/*
 * The message list: rows in seq order, pending customer bubbles, stored and streamed messages,
 * product cards, quick replies and the typing indicator.
 *
 * Security rule (as in widget.js): server and customer text only through textContent,
 * createTextNode or setAttribute (common/dom.js); links only for http(s) addresses.
 */
import { appendLinkifiedText, el, textEl } from "../common/dom.js";
import { readStored, writeStored } from "../common/storage.js";
import { positiveInt, safeHttpUrl } from "../common/text.js";
import { setHandoff } from "./banner.js";
import { submitText } from "./composer.js";
import { buildFeedback, updateEndChat } from "./feedback.js";
import { agentName, formatPrice, incomingRole } from "./frames.js";
import { setUnread, withAutoScroll } from "./panel.js";
import {
  botMessages,
  feedbackInFlight,
  feedbackUnsent,
  lastSeqKey,
  MAX_PRODUCT_CARDS,
  outbox,
  pendingRows,
  REPLAY_BUSY_MAX_MS,
  rowOrder,
  state,
  TYPING_TIMEOUT_MS,
  view,
} from "./state.js";

// ---------------------------------------------------------------------------------------------
// Message list: rows are kept in seq order
// ---------------------------------------------------------------------------------------------

// Stored rows are sorted by seq; customer bubbles not yet acked sort last (Infinity), so a
// reply to an earlier message never lands below a message that is still being sent. System
// lines have no key and stay where they were added.
export function placeRow(row, key) {
  rowOrder.set(row, key);
  let before = null;
  for (let node = view.ui.list.lastElementChild; node; node = node.previousElementSibling) {
    if (node === row || !rowOrder.has(node)) continue;
    if (rowOrder.get(node) <= key) break;
    before = node;
  }
  // Moving a node re-announces it in the live region, so leave it alone when already in place.
  const inPlace = row.parentNode === view.ui.list && row.nextElementSibling === before;
  if (!inPlace) view.ui.list.insertBefore(row, before);
}

export function clearConversation() {
  // Drop everything from the old conversation; bubbles still waiting to be sent stay (they are
  // re-sent into whatever conversation the server now gives us).
  const keep = new Set(outbox.ids());
  for (const clientId of Array.from(pendingRows.keys())) {
    if (!keep.has(clientId)) pendingRows.delete(clientId);
  }
  withAutoScroll(() => {
    view.ui.list.textContent = "";
    for (const item of outbox.items) {
      const pending = pendingRows.get(item.client_id);
      if (pending) placeRow(pending.row, Infinity);
    }
  }, true);
  botMessages.clear();
  streams.clear();
  feedbackInFlight.length = 0;
  feedbackUnsent.clear();
  view.quickReplies = null;
  view.survey = null; // its row went with the list
  view.ratingToSend = null; // an episode of the old conversation: the server would refuse it
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

export function addSystemLine(text) {
  if (!view.ui) return;
  const { row } = buildRow("system", text);
  withAutoScroll(() => view.ui.list.appendChild(row), true);
}

// A customer message shown right away, before the server has stored it.
export function addPendingBubble(item) {
  const { row, bubble } = buildRow("customer", item.text);
  bubble.setAttribute("data-state", "pending");
  bubble.setAttribute("data-client-id", item.client_id);
  const meta = textEl("span", "sc-meta", "Sending…");
  row.appendChild(meta);
  pendingRows.set(item.client_id, { row, bubble, meta });
  withAutoScroll(() => placeRow(row, Infinity), true);
}

export function markBubble(pending, stateName, metaText) {
  pending.bubble.setAttribute("data-state", stateName);
  pending.meta.textContent = metaText;
  pending.meta.hidden = !metaText;
}

export function removePendingBubble(clientId) {
  const pending = pendingRows.get(clientId);
  if (!pending) return;
  pendingRows.delete(clientId);
  withAutoScroll(() => pending.row.remove());
}

// ---------------------------------------------------------------------------------------------
// Rendering stored `message` frames
// ---------------------------------------------------------------------------------------------

export function onStoredMessage(frame) {
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

export function onStreamFrame(frame) {
  const id = typeof frame.stream === "string" ? frame.stream : "";
  const delta = typeof frame.delta === "string" ? frame.delta : "";
  if (!id || !delta || !view.ui) return;
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
export function setReplaying(on) {
  clearTimeout(state.replayTimer);
  state.replayTimer = on ? setTimeout(() => setReplaying(false), REPLAY_BUSY_MAX_MS) : null;
  if (view.ui) view.ui.list.setAttribute("aria-busy", String(on));
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
    view.quickReplies = replies;
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

export function removeQuickReplies() {
  if (view.quickReplies) view.quickReplies.remove();
  view.quickReplies = null;
}

// ---------------------------------------------------------------------------------------------
// Typing indicator
// ---------------------------------------------------------------------------------------------

// The bot's indicator comes with `who: "bot"` or no `who`; a person's with `who: "agent"` and
// their name. `typing off` hides the indicator whoever it came from.
export function onTypingFrame(frame) {
  if (frame.on === true && frame.who === "agent") setTyping(true, agentName(frame.name));
  else setTyping(frame.on === true);
}

// `agent`: the name of the person typing; none for the bot.
export function setTyping(on, agent) {
  clearTimeout(state.typingTimer);
  state.typingTimer = null;
  if (!view.ui) return;
  if (on) {
    state.typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
    describeTyping(agent || null);
  }
  if (view.ui.typing.hidden === !on) return;
  withAutoScroll(() => {
    view.ui.typing.hidden = !on;
  });
}

function describeTyping(agent) {
  const who = agent ? "agent" : "bot";
  const caption = agent ? agent + " is typing…" : "";
  if (who === state.typingWho && view.ui.typingCaption.textContent === caption) return;
  state.typingWho = who;
  view.ui.typing.setAttribute("data-who", who);
  view.ui.typing.setAttribute("aria-label", agent ? agent + " is typing" : "Assistant is typing");
  // The caption only changes the height while the indicator is already on screen.
  withAutoScroll(() => {
    view.ui.typingCaption.textContent = caption;
    view.ui.typingCaption.hidden = !caption;
  });
}

