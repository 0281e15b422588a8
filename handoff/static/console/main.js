/*
 * shopclerk agent console.
 *
 * Speaks the API and websocket of docs/agent-console.md: the board (queue, mine, other agents,
 * live bot conversations), one open conversation with what the bot understood, its draft and
 * internal notes, and the actions claim / hand back / put back / resolve / reply / note. A second
 * view lists the suggested FAQ entries (learned from agents' answers) to edit, accept or reject.
 * Loaded from console.html as an ES module; the wording lives in format.js, the board's
 * bookkeeping in board.js, and what the widget shares with it in /static/common/.
 *
 * Security rule for this whole view: text that comes from the server, a customer or an agent only
 * ever enters the page through textContent or setAttribute; it is never parsed as markup. No
 * inline script or style anywhere (works under `Content-Security-Policy: default-src 'self'`).
 */
import { el, textEl } from "../../../static/common/dom.js";
import { readJson, retryAfterSeconds, basePath } from "../../../static/common/http.js";
import { newClientId } from "../../../static/common/ids.js";
import { ReconnectingSocket } from "../../../static/common/socket.js";
import { lookup, parseFrame, positiveInt as toId, str } from "../../../static/common/text.js";
import { findItem as findBoardItem, LISTS, nextBoard } from "./board.js";
import {
  agentName,
  alternatesText,
  customerLabel,
  errorText as formatError,
  excerpt,
  formatDuration,
  formatValue,
  humanize,
  lines,
  messageKey,
  ownerLabel as formatOwner,
  ownerOf,
  reasonLabel,
  sentence,
} from "./format.js";

// ---- Constants -----------------------------------------------------------------------------

// "/agent/static/console/main.js" -> "/agent" (keeps any prefix a reverse proxy adds).
const BASE = basePath(import.meta.url, "/static/console/main.js", "/agent");

const PING_INTERVAL_MS = 25000;
const CONN_STATUS_DELAY_MS = 1500; // don't flash "Reconnecting…" for a blip
const TYPING_EVERY_MS = 3000; // at most one `typing on` frame per 3 s
const TYPING_IDLE_MS = 6000; // stopped typing without sending: `typing off`
const CUSTOMER_TYPING_TIMEOUT_MS = 10000; // hide a stuck indicator if `on: false` never comes
const ANNOUNCE_HIGHLIGHT_MS = 20000;
const REFETCH_DELAY_MS = 120; // coalesces bursts of `changed` frames
const ROLES = ["customer", "bot", "agent", "system"];
const HASH_PREFIX = "#conversation-";
const SUGGESTIONS_HASH = "#suggestions";
const SCREENS = ["conversations", "suggestions"];
const SUGGESTIONS_EVERY_MS = 3 * 60 * 1000; // the tab's count of pending suggestions
const SUGGESTION_DONE_MS = 4000; // "Added to the FAQ" stays this long, then the card goes

// Lookup tables without a prototype: a server value like "constructor" finds nothing.
const ANNOUNCE_TEXT = Object.assign(Object.create(null), {
  new: " is waiting in the queue.",
  flagged: " has been waiting a long time.",
  requeued: " is back in the queue.",
});

// ---- State ---------------------------------------------------------------------------------

const state = {
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

const itemNodes = new Map(); // conversation id -> {li, button}, reused across board renders
const shownMessages = new Set(); // keys of the messages in the open conversation's list
const suggestionCards = new Map(); // suggestion id -> its card, reused across list renders
let ui = null;

// ---- Small helpers -------------------------------------------------------------------------

function myOwner() {
  return ownerOf(state.me);
}

// Who owns a conversation, as shown to this agent: "Queue", "Bot", "You" or a name.
function ownerLabel(owner, ownerName) {
  return formatOwner(owner, ownerName, state.me, state.board ? state.board.agents_online : []);
}

function errorText(result, data) {
  return formatError(result, data, (owner) => ownerLabel(owner, null));
}

function findItem(id) {
  return findBoardItem(state.board, id);
}

function timeEl(iso, className) {
  const date = new Date(str(iso));
  if (!str(iso) || Number.isNaN(date.getTime())) return textEl("time", className, "");
  const sameDay = date.toDateString() === new Date().toDateString();
  const options = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  const node = textEl("time", className, date.toLocaleString(undefined, options), { datetime: date.toISOString() });
  node.title = date.toLocaleString();
  return node;
}

function announce(text) {
  // Clear first so repeating the same sentence is announced again.
  ui.announcer.textContent = "";
  setTimeout(() => (ui.announcer.textContent = text), 50);
}

// ---- HTTP API ------------------------------------------------------------------------------

// Resolves to {ok, status, data, error, retryAfter}; never rejects. A 401 leaves for the login.
async function api(method, path, body, retried) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf || "";
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + "/api" + path, init);
  } catch (err) {
    const error = { code: "network", message: "Cannot reach the server. Check your connection and try again." };
    return { ok: false, status: 0, data: null, error };
  }
  const data = await readJson(response);
  const error = response.ok ? null : (data && data.error && typeof data.error === "object" ? data.error : {});
  if (response.status === 401) {
    goToLogin();
    return { ok: false, status: 401, data, error };
  }
  if (response.status === 403 && method !== "GET" && !retried && (!error.code || error.code === "csrf")) {
    // The token changed (a new login in another tab): fetch the current one and retry once.
    if (await refreshSession()) return api(method, path, body, true);
  }
  return { ok: response.ok, status: response.status, data, error, retryAfter: retryAfterSeconds(response.headers.get("Retry-After"), 0) };
}

async function refreshSession() {
  const result = await api("GET", "/session");
  if (!result.ok || !result.data) return false;
  if (!result.data.agent) {
    goToLogin();
    return false;
  }
  state.csrf = str(result.data.csrf);
  return true;
}

function goToLogin() {
  if (state.leaving) return;
  setLeaving(true);
  teardownSocket();
  window.location.replace(BASE + "/login");
}

// ---- Errors and status lines ---------------------------------------------------------------

function showActionError(text) {
  ui.actionError.textContent = text;
  ui.actionError.hidden = !text;
}

function showAppError(text) {
  ui.appError.textContent = text;
  ui.appError.hidden = !text;
}

function setConnStatus(text) {
  clearTimeout(state.connTimer);
  state.connTimer = null;
  ui.connStatus.textContent = text;
  ui.connStatus.hidden = !text;
}

// ---- The board: four lists and who is online -----------------------------------------------

function onBoard(board) {
  state.board = nextBoard(board, state.board, Date.now());
  renderBoard();
  // The board says the open conversation changed hands, but no `changed` came (yet): refetch.
  const item = findItem(state.openId);
  if (item && state.view && state.view.conversation && item.owner !== state.view.conversation.owner) {
    scheduleRefetch();
  }
}

// Item elements are reused by conversation id, so a re-render never swaps the element under
// the mouse or the keyboard focus.
function renderBoard() {
  if (!state.board) return;
  const active = document.activeElement;
  const seen = new Set();
  for (const name of LISTS) {
    const list = ui.lists[name];
    let cursor = list.firstElementChild;
    let count = 0;
    for (const item of state.board[name]) {
      const id = toId(item.conversation_id);
      if (seen.has(id)) continue;
      seen.add(id);
      count += 1;
      let node = itemNodes.get(id);
      if (!node) {
        node = createItemNode(id);
        itemNodes.set(id, node);
      }
      fillItem(node, item, name);
      if (node.li === cursor) cursor = cursor.nextElementSibling;
      else list.insertBefore(node.li, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    ui.counts[name].textContent = count ? "(" + count + ")" : "";
    ui.empties[name].hidden = count > 0;
    if (name === "queue") setTabCount(ui.tabQueueCount, ui.tabQueueCountSr, count);
  }
  for (const [id, node] of itemNodes) {
    if (!seen.has(id)) {
      node.li.remove();
      itemNodes.delete(id);
    }
  }
  if (active && active !== document.activeElement && document.contains(active)) active.focus({ preventScroll: true });
  renderOnline();
  tick();
}

function createItemNode(id) {
  const li = el("li", "ac-list-row");
  const button = el("button", "ac-item", { type: "button", "data-testid": "queue-item", "data-conversation-id": String(id) });
  button.addEventListener("click", () => openConversation(id, true));
  li.appendChild(button);
  return { li, button };
}

function fillItem(node, item, listName) {
  const id = toId(item.conversation_id);
  const button = node.button;
  button.classList.toggle("is-open", id === state.openId);
  button.classList.toggle("is-flagged", item.flagged === true);
  button.classList.toggle("is-unread", state.unread.has(id));
  button.classList.toggle("is-announced", state.announced.has(id));
  if (id === state.openId) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");

  const top = el("span", "ac-item-top");
  const name = textEl("span", "ac-item-name", customerLabel(item.customer));
  if (item.customer_online === true) name.appendChild(el("span", "ac-online-dot", { title: "Customer is online" }));
  top.appendChild(name);
  if (item.waitStart !== null && item.waitStart !== undefined) {
    const wait = el("span", "ac-item-wait", { "data-start": String(item.waitStart) });
    wait.title = "Waiting time";
    top.appendChild(wait);
  }

  const badges = el("span", "ac-item-badges");
  if (state.unread.has(id)) badges.appendChild(textEl("span", "ac-badge ac-badge-new", "New"));
  if (item.flagged === true) badges.appendChild(textEl("span", "ac-badge ac-badge-flag", "Flagged"));
  if (item.offline === true) badges.appendChild(textEl("span", "ac-badge ac-badge-offline", "Offline ticket"));
  if (listName === "queue" && toId(item.position)) badges.appendChild(textEl("span", "ac-badge", "#" + item.position));
  if (str(item.reason) && listName !== "live") {
    badges.appendChild(textEl("span", "ac-badge ac-badge-reason", reasonLabel(item.reason)));
  }
  if (listName === "others") badges.appendChild(textEl("span", "ac-badge ac-badge-owner", ownerLabel(item.owner, item.owner_name)));

  const info = el("span", "ac-item-info");
  info.appendChild(textEl("span", "ac-item-channel", str(item.channel) || "web"));
  if (str(item.intent)) info.appendChild(textEl("span", "ac-item-intent", humanize(item.intent)));

  const text = textEl("span", "ac-item-excerpt", excerpt(item.last_message));
  button.replaceChildren(top, badges, info, text);
}

function renderOnline() {
  const others = state.board.agents_online.filter((a) => a && (!state.me || String(a.id) !== String(state.me.id)));
  const nodes = [textEl("span", "ac-online-label", others.length ? "Also online:" : "No other agents online")];
  for (const agent of others) nodes.push(textEl("span", "ac-chip", agentName(agent)));
  ui.online.replaceChildren(...nodes);
}

// Twice a second: wait times, and highlights that have run out.
function tick() {
  const now = Date.now();
  for (const node of document.querySelectorAll(".ac-item-wait[data-start]")) {
    const text = formatDuration((now - Number(node.getAttribute("data-start"))) / 1000);
    if (node.textContent !== text) node.textContent = text;
  }
  for (const [id, until] of state.announced) {
    if (until > now) continue;
    state.announced.delete(id);
    const node = itemNodes.get(id);
    if (node) node.button.classList.remove("is-announced");
  }
  if (state.tabAttentionUntil && state.tabAttentionUntil <= now) setTabAttention(false);
}

function updateTitle() {
  document.title = state.hiddenCount > 0 ? "(" + state.hiddenCount + ") " + state.baseTitle : state.baseTitle;
}

function onAnnounce(frame) {
  const id = toId(frame.conversation_id);
  if (!id) return;
  state.announced.set(id, Date.now() + ANNOUNCE_HIGHLIGHT_MS);
  const node = itemNodes.get(id);
  if (node) node.button.classList.add("is-announced");
  const item = findItem(id);
  announce((item ? customerLabel(item.customer) : "A customer") + (ANNOUNCE_TEXT[frame.why] || ANNOUNCE_TEXT.new));
  if (state.screen !== "conversations") setTabAttention(true);
  if (document.hidden) {
    state.hiddenCount += 1;
    updateTitle();
  }
}

// A new message somewhere: update the item's excerpt; a customer writing in a queued or own
// conversation that is not open marks it unread (bot and other agents' chats would be noise).
function bumpItem(id, message) {
  const item = findItem(id);
  const watched = item && (item.owner === "queue" || item.owner === myOwner());
  if (message.role === "customer" && watched && id !== state.openId) state.unread.add(id);
  if (item && message.role !== "system" && str(message.text)) item.last_message = message.text;
  if (message.role === "customer" && document.hidden && item && item.owner === myOwner()) {
    state.hiddenCount += 1;
    updateTitle();
  }
  renderBoard();
}

// ---- The open conversation -----------------------------------------------------------------

function openConversation(id, userAction) {
  if (!id) return;
  if (id !== state.openId) {
    saveReplyBox();
    typingOff();
    state.openId = id;
    state.view = null;
    state.pendingReply = null;
    shownMessages.clear();
    ui.convMessages.replaceChildren();
    setCustomerTyping(false);
    showActionError("");
    ui.convPlaceholder.hidden = true;
    ui.conv.hidden = false;
    ui.convCustomer.textContent = "Loading…";
    ui.convMeta.textContent = "";
    ui.convHandoff.hidden = true;
    ui.convOwner.textContent = "";
    restoreReplyBox(id);
    updateControls();
    if (window.location.hash !== HASH_PREFIX + id) history.replaceState(null, "", HASH_PREFIX + id);
  }
  state.unread.delete(id);
  state.announced.delete(id);
  renderBoard();
  if (userAction && window.matchMedia("(max-width: 899.98px)").matches) {
    ui.conversation.scrollIntoView({ block: "start" });
  }
  return loadConversation(id);
}

async function loadConversation(id) {
  const ticket = ++state.ticket;
  const result = await api("GET", "/conversations/" + id);
  if (id !== state.openId) return;
  if (result.ok) applyView(id, ticket, result.data);
  else if (result.status !== 401) {
    showActionError(errorText(result, result.data));
    if (!state.view) ui.convCustomer.textContent = "Conversation #" + id;
  }
}

function scheduleRefetch() {
  if (!state.openId || state.refetchTimer) return;
  state.refetchTimer = setTimeout(() => {
    state.refetchTimer = null;
    if (state.openId) loadConversation(state.openId);
  }, REFETCH_DELAY_MS);
}

function applyView(id, ticket, view) {
  if (id !== state.openId || ticket < state.appliedTicket) return;
  if (!view || typeof view !== "object" || !view.conversation) return;
  state.appliedTicket = ticket;
  const first = !state.view;
  state.view = view;
  renderHeader(view);
  renderMessages(Array.isArray(view.messages) ? view.messages : [], first);
  renderUnderstanding(view.understanding, view.identity, view.security);
  renderDraft(view.draft);
  renderNotes(Array.isArray(view.notes) ? view.notes : []);
  updateControls();
}

function renderHeader(view) {
  const c = view.conversation;
  const customer = c.customer && typeof c.customer === "object" ? c.customer : {};
  ui.convCustomer.textContent = customerLabel(customer);
  const parts = [];
  if (str(customer.name) && str(customer.email)) parts.push(customer.email);
  parts.push("#" + c.conversation_id, str(c.channel) || "web");
  if (str(c.intent)) parts.push(humanize(c.intent));
  if (typeof c.customer_online === "boolean") parts.push(c.customer_online ? "customer online" : "customer offline");
  ui.convMeta.textContent = parts.join(" · ");

  const h = view.handoff && typeof view.handoff === "object" ? view.handoff : null;
  const bits = [];
  if (h) {
    if (str(h.reason)) bits.push("Handed off: " + (reasonLabel(h.reason)));
    if (h.offline) bits.push("Offline ticket" + (str(h.contact_email) ? ": answer by email to " + h.contact_email : ""));
    if (str(h.agent)) bits.push("Agent: " + h.agent);
  } else if (c.flagged) {
    bits.push("Flagged");
  }
  ui.convHandoff.textContent = bits.join(" · ");
  ui.convHandoff.hidden = bits.length === 0;
  ui.convOwner.textContent = ownerLabel(c.owner, c.owner_name);
}

function isMine() {
  return Boolean(state.view && state.view.conversation && state.view.conversation.owner === myOwner());
}

function hasDraft() {
  const d = state.view && state.view.draft;
  return Boolean(d && str(d.text).trim());
}

// Shows, hides and enables every control for the open conversation's owner.
function updateControls() {
  const c = state.view ? state.view.conversation : null;
  const owner = c ? c.owner : null;
  const mine = isMine();
  const claimable = owner === "queue" || owner === "bot";
  ui.claim.hidden = !claimable;
  ui.claim.textContent = owner === "bot" ? "Take over" : "Claim";
  ui.handback.hidden = ui.putback.hidden = ui.resolveGroup.hidden = !mine;
  for (const button of [ui.claim, ui.handback, ui.putback, ui.resolve, ui.resolveOutcome]) button.disabled = state.busy;
  ui.replyInput.disabled = !mine;
  ui.replyInput.readOnly = state.sending;
  ui.replySend.disabled = !mine || state.sending;
  ui.useDraft.disabled = !mine || !hasDraft() || state.sending;
  ui.noteInput.disabled = !c;
  ui.noteAdd.disabled = !c || state.noting;
  if (!c) ui.replyInput.placeholder = "";
  else if (mine) ui.replyInput.placeholder = "Write to " + customerLabel(c.customer) + "…";
  else if (claimable) ui.replyInput.placeholder = (owner === "bot" ? "Take over" : "Claim") + " this conversation to reply.";
  else ui.replyInput.placeholder = ownerLabel(owner, c.owner_name) + " has this conversation.";
  if (!mine) typingOff();
}

// ----- messages -----

function isNearBottom() {
  const s = ui.convScroll;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  ui.convScroll.scrollTop = ui.convScroll.scrollHeight;
}

function renderMessages(messages, first) {
  const stick = first || isNearBottom();
  // The first render is history, not news: keep screen readers from reading it all out.
  if (first) ui.convMessages.setAttribute("aria-busy", "true");
  for (const m of messages) addMessage(m);
  if (first) setTimeout(() => ui.convMessages.setAttribute("aria-busy", "false"), 0);
  if (stick) scrollToBottom();
}

// Adds one message in seq order unless it is already shown. Returns whether it was added.
function addMessage(m) {
  if (!m || typeof m !== "object") return false;
  const key = messageKey(m);
  if (!key || shownMessages.has(key)) return false;
  shownMessages.add(key);
  const role = ROLES.includes(m.role) ? m.role : "system";
  const seq = toId(m.seq) || 0;
  const row = el("div", "ac-row ac-row-" + role, { "data-seq": String(seq) });

  const meta = el("div", "ac-row-meta");
  let who = "";
  if (role === "customer") who = state.view ? customerLabel(state.view.conversation.customer) : "Customer";
  else if (role === "bot") who = "Bot";
  else if (role === "agent") who = str(m.agent) || "Agent";
  if (who) meta.appendChild(textEl("span", "ac-who", who));
  meta.appendChild(timeEl(m.created_at, "ac-time"));
  if (role === "customer" && str(m.intent)) meta.appendChild(textEl("span", "ac-tag", humanize(m.intent)));
  if (role === "bot" && str(m.handoff_reason)) {
    meta.appendChild(textEl("span", "ac-tag ac-tag-handoff", "handed off: " + (reasonLabel(m.handoff_reason))));
  }

  const bubble = textEl("div", "ac-msg", str(m.text), { "data-testid": "conv-msg", "data-role": role });
  if (toId(m.id)) bubble.setAttribute("data-id", String(m.id));
  if (seq) bubble.setAttribute("data-seq", String(seq));
  row.append(meta, bubble);

  // Usually it goes last; walk back past any rows with a higher seq.
  let before = null;
  for (let node = ui.convMessages.lastElementChild; node; node = node.previousElementSibling) {
    if (Number(node.getAttribute("data-seq")) <= seq || !seq) break;
    before = node;
  }
  ui.convMessages.insertBefore(row, before);
  return true;
}

function onMessageFrame(frame) {
  const id = toId(frame.conversation_id);
  const m = frame.message;
  if (!id || !m || typeof m !== "object") return;
  if (id === state.openId) {
    const stick = isNearBottom();
    if (addMessage(m)) {
      if (m.role === "customer") setCustomerTyping(false);
      if (stick || m.role === "agent") scrollToBottom();
    }
  }
  bumpItem(id, m);
}

function setCustomerTyping(on) {
  clearTimeout(state.customerTypingTimer);
  state.customerTypingTimer = on ? setTimeout(() => setCustomerTyping(false), CUSTOMER_TYPING_TIMEOUT_MS) : null;
  if (ui.customerTyping.hidden === !on) return;
  const who = state.view ? customerLabel(state.view.conversation.customer) : "The customer";
  ui.customerTypingText.textContent = who + " is typing…";
  const stick = isNearBottom();
  ui.customerTyping.hidden = !on;
  if (on && stick) scrollToBottom();
}

// ----- side panel -----

function definitionList(entries) {
  const dl = el("dl", "ac-dl");
  for (const [label, value] of entries) {
    dl.append(textEl("dt", null, label), textEl("dd", null, value));
  }
  return dl;
}

// Who the customer proved to be, and failed attempts to see orders (docs/security.md).
function identitySection(identity, security) {
  const body = [textEl("h3", "ac-sub-title", "Identity")];
  const id = identity && typeof identity === "object" ? identity : {};
  const list = (value) => (Array.isArray(value) ? value.map(str).filter(Boolean).join(", ") : "");
  const entries = [
    ["Verified by the channel", str(id.verified_email)],
    ["Proved by an order", list(id.proved_emails)],
    ["Typed, not proved", list(id.unproved_emails)],
  ].filter((entry) => entry[1]);
  body.push(entries.length ? definitionList(entries) : textEl("p", "ac-muted", "Not identified."));
  const events = Array.isArray(security) ? security : [];
  if (events.length) {
    const labels = { proof_failed: "Failed proof", proof_locked: "Look-up locked", identity_rejected: "Identity rejected" };
    body.push(textEl("h3", "ac-sub-title", "Security (" + events.length + ")"));
    const ul = el("ul", "ac-security");
    ul.setAttribute("data-testid", "security-events");
    for (const e of events.slice(-10)) {
      const what = [labels[e.kind] || humanize(str(e.kind)), str(e.order_id), str(e.email)].filter(Boolean);
      const li = textEl("li", null, what.join(" · ") + " ");
      li.append(timeEl(e.at, "ac-muted"));
      ul.append(li);
    }
    body.push(ul);
  }
  return body;
}

function renderUnderstanding(u, identity, security) {
  const body = [];
  if (!u || typeof u !== "object") {
    body.push(textEl("p", "ac-muted", "Nothing from the customer yet."));
    body.push(...identitySection(identity, security));
    ui.understandingBody.replaceChildren(...body);
    return;
  }
  const intentLine = el("p", "ac-intent");
  intentLine.appendChild(textEl("span", "ac-intent-name", str(u.intent) ? humanize(u.intent) : "No intent recognised"));
  if (typeof u.confidence === "number" && Number.isFinite(u.confidence)) {
    const confidence = Math.max(0, Math.min(1, u.confidence));
    const pct = Math.round(confidence * 100) + " %";
    const meter = el("meter", "ac-meter", { min: "0", max: "1", low: "0.5", high: "0.8", optimum: "1", value: String(confidence) });
    meter.setAttribute("aria-label", "Confidence " + pct);
    intentLine.append(meter, textEl("span", "ac-confidence", pct));
  }
  body.push(intentLine);
  const requests = Array.isArray(u.requests) ? u.requests.filter((r) => r && typeof r === "object") : [];
  if (requests.length > 1) {
    body.push(textEl("h3", "ac-sub-title", "Requests in this message"));
    const ul = el("ul", "ac-requests");
    for (const r of requests) ul.append(textEl("li", null, str(r.text) + " → " + humanize(str(r.intent))));
    body.push(ul);
  }

  const slots = u.slots && typeof u.slots === "object" ? u.slots : {};
  const filled = Object.keys(slots)
    .map((key) => [humanize(key), formatValue(slots[key])])
    .filter((entry) => entry[1]);
  body.push(textEl("h3", "ac-sub-title", "Details"));
  body.push(filled.length ? definitionList(filled) : textEl("p", "ac-muted", "No details recognised."));

  body.push(textEl("h3", "ac-sub-title", "Order"));
  if (u.order && typeof u.order === "object") {
    const entries = Object.keys(u.order)
      .map((key) => [humanize(key), formatValue(u.order[key])])
      .filter((entry) => entry[1]);
    body.push(definitionList(entries));
  } else {
    body.push(textEl("p", "ac-muted", slots.order_id ? "No order details for " + formatValue(slots.order_id) + "." : "No order looked up."));
  }
  body.push(...conversationSection(u.conversation));
  body.push(...identitySection(identity, security));
  ui.understandingBody.replaceChildren(...body);
}

// What the bot understood over the whole conversation, not only the latest message: the
// customer it knows, the order looked up last (proved or not), the products discussed.
function conversationSection(over) {
  const body = [textEl("h3", "ac-sub-title", "Over the conversation")];
  const c = over && typeof over === "object" ? over : {};
  const customer = c.customer && typeof c.customer === "object" ? c.customer : null;
  const order = c.order && typeof c.order === "object" ? c.order : null;
  const products = Array.isArray(c.products) ? c.products : [];
  const who = customer ? [str(customer.name), str(customer.email)].filter(Boolean).join(" · ") : "";
  const named = products
    .filter((p) => p && typeof p === "object")
    .map((p) => str(p.name) + (str(p.sku) ? " (" + str(p.sku) + ")" : ""));
  const entries = [
    ["Customer", who],
    ["Order looked up", order ? str(order.order_id) + ", " + humanize(str(order.status)) + (c.order_proved ? " (proved by the customer)" : " (not proved)") : ""],
    ["Products discussed", named.join(", ")],
  ].filter((entry) => entry[1]);
  const list = entries.length ? definitionList(entries) : textEl("p", "ac-muted", "Nothing established yet.");
  list.setAttribute("data-testid", "understood-conversation");
  body.push(list);
  return body;
}

function renderDraft(draft) {
  const d = draft && typeof draft === "object" ? draft : null;
  const text = d ? str(d.text) : "";
  ui.draftText.textContent = text.trim() ? text : "No draft for the customer's latest message.";
  ui.draftText.classList.toggle("is-empty", !text.trim());
  const items = [];
  for (const source of d && Array.isArray(d.sources) ? d.sources : []) {
    if (!source || typeof source !== "object") continue;
    const li = el("li", "ac-source");
    li.appendChild(textEl("span", "ac-badge ac-source-kind", str(source.kind) || "source"));
    li.appendChild(textEl("span", "ac-source-title", str(source.title) || str(source.id)));
    if (typeof source.score === "number") {
      li.appendChild(textEl("span", "ac-source-score", source.score.toFixed(2), { title: "Relevance score" }));
    }
    items.push(li);
  }
  ui.draftSources.replaceChildren(...items);
  ui.draftSources.hidden = items.length === 0;
}

function renderNotes(notes) {
  const items = [];
  for (const note of notes) {
    if (!note || typeof note !== "object") continue;
    const li = el("li", "ac-note", { "data-testid": "note" });
    const meta = el("div", "ac-row-meta");
    meta.append(textEl("span", "ac-who", str(note.agent) || "Agent"), timeEl(note.created_at, "ac-time"));
    li.append(meta, textEl("p", "ac-note-text", str(note.text)));
    items.push(li);
  }
  ui.notesList.replaceChildren(...items);
  ui.notesEmpty.hidden = items.length > 0;
}

// ---- Actions -------------------------------------------------------------------------------

async function act(action, body) {
  const id = state.openId;
  if (!id || state.busy) return;
  state.busy = true;
  showActionError("");
  updateControls();
  const ticket = ++state.ticket;
  const result = await api("POST", "/conversations/" + id + "/" + action, body);
  state.busy = false;
  if (result.ok) {
    applyView(id, ticket, result.data);
    if (id === state.openId) afterAction(action);
  } else if (result.status !== 401 && id === state.openId) {
    showActionError(errorText(result, result.data));
    if (result.status === 409 || result.status === 404) scheduleRefetch();
  }
  updateControls();
}

// The pressed button has usually just been hidden: put the focus somewhere useful.
function afterAction(action) {
  if (action === "claim" && isMine()) {
    ui.replyInput.focus();
    return;
  }
  if (action !== "claim") announce("Owner: " + ui.convOwner.textContent);
  if (!ui.claim.hidden) ui.claim.focus();
  else ui.conversation.focus();
}

// ----- reply -----

function saveReplyBox() {
  if (!state.openId) return;
  const text = ui.replyInput.value;
  if (text.trim()) state.replyBoxes.set(state.openId, { text, usedDraft: state.usedDraft });
  else state.replyBoxes.delete(state.openId);
}

function restoreReplyBox(id) {
  const saved = state.replyBoxes.get(id);
  ui.replyInput.value = saved ? saved.text : "";
  state.usedDraft = saved ? saved.usedDraft : null;
}

async function sendReply() {
  const id = state.openId;
  if (!id || !isMine() || state.sending) return;
  const text = ui.replyInput.value.trim();
  if (!text) return;
  let draft = "own";
  if (state.usedDraft !== null) draft = text === state.usedDraft.trim() ? "sent" : "edited";
  const same = state.pendingReply && state.pendingReply.convId === id && state.pendingReply.text === text;
  const clientId = same ? state.pendingReply.client_id : newClientId();
  state.pendingReply = { convId: id, text, client_id: clientId };
  state.sending = true;
  showActionError("");
  updateControls();
  const ticket = ++state.ticket;
  const result = await api("POST", "/conversations/" + id + "/reply", { text, client_id: clientId, draft });
  state.sending = false;
  if (result.ok) {
    if (state.pendingReply && state.pendingReply.client_id === clientId) state.pendingReply = null;
    if (id === state.openId) {
      ui.replyInput.value = "";
      state.usedDraft = null;
      typingOff();
      applyView(id, ticket, result.data);
      ui.replyInput.focus();
      scrollToBottom();
    } else {
      const saved = state.replyBoxes.get(id);
      if (saved && saved.text.trim() === text) state.replyBoxes.delete(id);
    }
  } else if (result.status !== 401 && id === state.openId) {
    showActionError(errorText(result, result.data) + " Your reply is still in the box.");
    if (result.status === 409 || result.status === 404) scheduleRefetch();
  }
  updateControls();
}

function useDraft() {
  if (!isMine() || !hasDraft()) return;
  const text = str(state.view.draft.text);
  ui.replyInput.value = text;
  state.usedDraft = text;
  ui.replyInput.focus();
  ui.replyInput.setSelectionRange(text.length, text.length);
  onReplyInput();
}

function onReplyInput() {
  if (!ui.replyInput.value.trim()) {
    state.usedDraft = null;
    typingOff();
    return;
  }
  if (!isMine()) return;
  const now = Date.now();
  if (state.typingConv !== state.openId || now - state.typingSentAt >= TYPING_EVERY_MS) {
    if (state.typingConv !== null && state.typingConv !== state.openId) typingOff();
    if (wsSend({ type: "typing", conversation_id: state.openId, on: true })) {
      state.typingConv = state.openId;
      state.typingSentAt = now;
    }
  }
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = setTimeout(typingOff, TYPING_IDLE_MS);
}

function typingOff() {
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = null;
  if (state.typingConv === null) return;
  wsSend({ type: "typing", conversation_id: state.typingConv, on: false });
  state.typingConv = null;
  state.typingSentAt = 0;
}

function onReplyKeyDown(event) {
  // Enter sends, Shift+Enter is a newline; never interrupt an IME composition.
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  sendReply();
}

// ----- notes -----

async function addNote() {
  const id = state.openId;
  const text = ui.noteInput.value.trim();
  if (!id || !text || state.noting) return;
  state.noting = true;
  showActionError("");
  updateControls();
  const ticket = ++state.ticket;
  const result = await api("POST", "/conversations/" + id + "/notes", { text });
  state.noting = false;
  if (result.ok) {
    if (id === state.openId && ui.noteInput.value.trim() === text) ui.noteInput.value = "";
    applyView(id, ticket, result.data);
  } else if (result.status !== 401 && id === state.openId) {
    showActionError(errorText(result, result.data));
  }
  updateControls();
}

async function logout() {
  ui.logout.disabled = true;
  typingOff();
  const result = await api("POST", "/logout");
  if (result.ok) {
    goToLogin();
    return;
  }
  if (result.status !== 401) {
    ui.logout.disabled = false;
    showAppError("Logging out failed: " + errorText(result, result.data));
  }
}

// ---- Password change ------------------------------------------------------------------------

function openPasswordDialog() {
  ui.passwordForm.reset();
  ui.passwordError.hidden = true;
  ui.passwordDone.hidden = true;
  ui.passwordSave.disabled = false;
  ui.passwordDialog.showModal();
  ui.passwordCurrent.focus();
}

function passwordProblem(text) {
  ui.passwordError.textContent = text;
  ui.passwordError.hidden = false;
}

async function changePassword(event) {
  event.preventDefault();
  ui.passwordError.hidden = true;
  ui.passwordDone.hidden = true;
  const current = ui.passwordCurrent.value;
  const next = ui.passwordNew.value;
  if (!current) return passwordProblem("Enter your current password.");
  if (next.length < 10) return passwordProblem("The new password needs at least 10 characters.");
  if (next !== ui.passwordRepeat.value) return passwordProblem("The two new passwords differ.");
  ui.passwordSave.disabled = true;
  const result = await api("POST", "/password", { current, new: next });
  ui.passwordSave.disabled = false;
  if (result.ok) {
    ui.passwordForm.reset();
    const ended = result.data ? Number(result.data.logins_ended) || 0 : 0;
    ui.passwordDone.textContent = "Password changed." + (ended ? " Other logins ended: " + ended + "." : "");
    ui.passwordDone.hidden = false;
    return;
  }
  if (result.status === 401) return;
  if (result.error && result.error.code === "wrong_password") {
    return passwordProblem("The current password is not right.");
  }
  passwordProblem(result.status === 429 ? str(result.error.message) || errorText(result, result.data)
    : errorText(result, result.data));
}

// ---- Views: conversations / suggested FAQ entries ------------------------------------------

// The two tabs in the top bar (the ARIA tabs pattern: arrow keys move between them).
function showScreen(name, focusTab) {
  if (!SCREENS.includes(name) || (name === "suggestions" && !state.suggestions.available)) name = "conversations";
  const changed = name !== state.screen;
  state.screen = name;
  for (const screen of SCREENS) {
    const on = screen === name;
    const tab = screenTab(screen);
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    screenPanel(screen).hidden = !on;
  }
  if (focusTab) screenTab(name).focus();
  if (name === "suggestions") {
    ui.skip.textContent = "Skip to the suggestions";
    ui.skip.setAttribute("href", "#view-suggestions");
    setTabAttention(false);
    if (window.location.hash !== SUGGESTIONS_HASH) history.replaceState(null, "", SUGGESTIONS_HASH);
    if (changed) loadSuggestions();
  } else {
    ui.skip.textContent = "Skip to the conversation";
    ui.skip.setAttribute("href", "#conversation");
    setTabAttention(false);
    const hash = state.openId ? HASH_PREFIX + state.openId : "";
    if (window.location.hash !== hash) {
      history.replaceState(null, "", hash || window.location.pathname + window.location.search);
    }
  }
}

function screenTab(name) {
  return name === "suggestions" ? ui.tabSuggestions : ui.tabConversations;
}

function screenPanel(name) {
  return name === "suggestions" ? ui.viewSuggestions : ui.viewConversations;
}

function onTabKeyDown(event) {
  const tabs = SCREENS.filter((name) => !screenTab(name).hidden);
  const at = tabs.indexOf(state.screen);
  let next = null;
  if (event.key === "ArrowRight" || event.key === "ArrowDown") next = tabs[(at + 1) % tabs.length];
  else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = tabs[(at - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (next === null) return;
  event.preventDefault();
  showScreen(next, true);
}

// The skip link goes to whatever the open view's content is.
function onSkip(event) {
  if (state.screen !== "suggestions") return;
  event.preventDefault();
  ui.hSuggestions.focus();
}

function setTabCount(node, srNode, count) {
  node.textContent = count > 0 ? String(count) : "";
  node.hidden = srNode.hidden = !(count > 0);
}

// A customer needs someone while this agent looks at the suggestions: make the tab stand out.
function setTabAttention(on) {
  state.tabAttentionUntil = on ? Date.now() + ANNOUNCE_HIGHLIGHT_MS : 0;
  ui.tabConversations.classList.toggle("is-announced", on);
}

// ---- Suggested FAQ entries -----------------------------------------------------------------

// Fetches the pending suggestions: for the tab's count, and for the list (which keeps the
// cards, and what is typed into them, of the suggestions that are still pending).
async function loadSuggestions() {
  const s = state.suggestions;
  if (!s.available) return;
  const ticket = ++s.ticket;
  if (!s.loaded) ui.suggestionsLoading.hidden = false;
  ui.suggestionsRefresh.disabled = true;
  const result = await api("GET", "/suggestions");
  if (ticket !== s.ticket) return; // a newer request is on its way
  ui.suggestionsRefresh.disabled = false;
  ui.suggestionsLoading.hidden = true;
  if (result.status === 401) return;
  if (result.status === 404 && !str(result.error && result.error.code)) {
    // This server has no suggestions API: no tab for it.
    s.available = false;
    ui.tabSuggestions.hidden = true;
    if (state.screen === "suggestions") showScreen("conversations");
    return;
  }
  if (!result.ok || !result.data || !Array.isArray(result.data.suggestions)) {
    showSuggestionsError("Could not load the suggestions. " + sentence(errorText(result, result.data)));
    return;
  }
  showSuggestionsError("");
  s.loaded = true;
  renderSuggestions(result.data.suggestions.filter((item) => item && toId(item.id) && !s.decided.has(toId(item.id))));
}

function showSuggestionsError(text) {
  ui.suggestionsError.textContent = text;
  ui.suggestionsError.hidden = !text;
}

function showSuggestionsNotice(text) {
  ui.suggestionsNotice.textContent = text;
  ui.suggestionsNotice.hidden = !text;
  if (text) announce(text);
}

// Cards are reused by suggestion id: a refresh never throws away what an agent is typing.
function renderSuggestions(list) {
  const seen = new Set();
  let cursor = ui.suggestionsList.firstElementChild;
  for (const item of list) {
    const id = toId(item.id);
    if (seen.has(id)) continue;
    seen.add(id);
    let card = suggestionCards.get(id);
    if (!card) {
      card = createSuggestionCard(id);
      suggestionCards.set(id, card);
    }
    fillSuggestionCard(card, item);
    if (card.li === cursor) cursor = cursor.nextElementSibling;
    else ui.suggestionsList.insertBefore(card.li, cursor);
  }
  for (const [id, card] of suggestionCards) {
    if (seen.has(id) || card.busy || card.done) continue;
    // Decided somewhere else (another agent, the command line). Keep what this agent typed.
    if (card.stale || !isSuggestionDirty(card)) removeSuggestionCard(card);
    else markSuggestionStale(card, "Someone else decided on this suggestion meanwhile.");
  }
  updateSuggestionCount();
}

function updateSuggestionCount() {
  let count = 0;
  for (const card of suggestionCards.values()) if (!card.done && !card.stale) count += 1;
  setTabCount(ui.tabSuggestionsCount, ui.tabSuggestionsCountSr, count);
  ui.suggestionsEmpty.hidden = !state.suggestions.loaded || suggestionCards.size > 0;
}

function createSuggestionCard(id) {
  const prefix = "suggestion-" + id;
  const li = el("li", "ac-card ac-suggestion", {
    "data-testid": "ac-suggestion",
    "data-suggestion-id": String(id),
    "aria-labelledby": prefix + "-title",
  });
  const title = el("h2", "ac-suggestion-title", { id: prefix + "-title", tabindex: "-1" });
  const meta = el("p", "ac-suggestion-meta");

  const form = el("form", "ac-suggestion-form", { novalidate: "" });
  const question = el("input", "ac-input", {
    id: prefix + "-question",
    type: "text",
    autocomplete: "off",
    "data-testid": "ac-suggestion-question",
    "aria-describedby": prefix + "-question-hint",
  });
  const alternates = el("textarea", "ac-input", {
    id: prefix + "-alternates",
    rows: "3",
    autocomplete: "off",
    "data-testid": "ac-suggestion-alternates",
    "aria-describedby": prefix + "-alternates-hint",
  });
  const answer = el("textarea", "ac-input ac-suggestion-answer", {
    id: prefix + "-answer",
    rows: "5",
    autocomplete: "off",
    "data-testid": "ac-suggestion-answer",
  });
  const field = (className, label, input, hint) => {
    const node = el("div", "ac-field " + className);
    node.append(textEl("label", "ac-label", label, { for: input.id }), input);
    if (hint) node.appendChild(textEl("p", "ac-hint", hint, { id: input.id + "-hint" }));
    return node;
  };
  form.append(
    field("ac-suggestion-q", "Question", question, "Reworded? The customers' wording is kept as another wording."),
    field("ac-suggestion-a", "Answer", answer, null),
    field("ac-suggestion-alts", "Other wordings", alternates, "One per line.")
  );

  const error = el("p", "ac-error ac-suggestion-error", { role: "alert", "data-testid": "ac-suggestion-error" });
  error.hidden = true;
  const status = el("p", "ac-hint ac-suggestion-status", { "data-testid": "ac-suggestion-status" });
  status.hidden = true;

  const actions = el("div", "ac-suggestion-actions", { role: "group", "aria-label": "Decide" });
  const accept = el("button", "ac-btn ac-btn-primary", { type: "button", "data-testid": "ac-suggestion-accept" });
  const acceptLabel = textEl("span", null, "Add to the FAQ");
  accept.append(el("span", "ac-spinner", { "aria-hidden": "true" }), acceptLabel);
  const reject = textEl("button", "ac-btn", "Reject", { type: "button", "data-testid": "ac-suggestion-reject" });
  actions.append(accept, reject, textEl("span", "ac-hint ac-suggestion-keys", "Ctrl+Enter adds it."));

  const questionId = prefix + "-reject-question";
  const confirm = el("div", "ac-suggestion-confirm", {
    role: "group",
    "aria-labelledby": questionId,
    "data-testid": "ac-suggestion-reject-confirm",
  });
  confirm.hidden = true;
  const yes = textEl("button", "ac-btn ac-btn-danger", "Yes, reject", {
    type: "button",
    "data-testid": "ac-suggestion-reject-yes",
  });
  const no = textEl("button", "ac-btn", "No, keep it", { type: "button", "data-testid": "ac-suggestion-reject-no" });
  confirm.append(
    textEl("span", "ac-suggestion-confirm-text", "Reject it? Questions like it are not suggested again.", { id: questionId }),
    yes,
    no
  );

  const doneNote = el("p", "ac-suggestion-done", { "data-testid": "ac-suggestion-done", tabindex: "-1" });
  doneNote.hidden = true;

  li.append(title, meta, form, error, status, actions, confirm, doneNote);
  const card = { id, li, title, meta, form, question, alternates, answer, error, status, doneNote };
  Object.assign(card, { actions, accept, acceptLabel, reject, confirm, yes, no });
  Object.assign(card, { data: null, busy: false, done: false, stale: false });

  form.addEventListener("submit", (event) => event.preventDefault()); // Enter in the question
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    event.preventDefault();
    acceptSuggestion(card);
  });
  form.addEventListener("input", () => {
    for (const input of [question, answer]) input.removeAttribute("aria-invalid");
    if (!card.busy && !card.stale) showSuggestionError(card, "");
  });
  accept.addEventListener("click", () => acceptSuggestion(card));
  reject.addEventListener("click", () => setRejectConfirm(card, true));
  no.addEventListener("click", () => setRejectConfirm(card, false));
  yes.addEventListener("click", () => rejectSuggestion(card));
  confirm.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    setRejectConfirm(card, false);
  });
  return card;
}

function isSuggestionDirty(card) {
  const d = card.data;
  if (!d) return false;
  return (
    card.question.value.trim() !== str(d.question).trim() ||
    card.answer.value.trim() !== str(d.answer).trim() ||
    lines(card.alternates.value).join("\n") !== lines(alternatesText(d.alternates)).join("\n")
  );
}

// Shows the server's version; the fields only follow it while the agent has not edited them.
function fillSuggestionCard(card, item) {
  const keepEdits = isSuggestionDirty(card);
  card.data = {
    question: str(item.question),
    answer: str(item.answer),
    alternates: Array.isArray(item.alternates) ? item.alternates.map(str) : [],
  };
  card.title.textContent = card.data.question || "Suggestion #" + card.id;
  const asked = toId(item.cluster_size) || 1;
  const askedText = asked === 1 ? "1 customer asked this" : asked + " customers asked this";
  const created = timeEl(item.created_at, "ac-time");
  card.meta.replaceChildren(textEl("span", "ac-badge ac-badge-asked", askedText, { "data-testid": "ac-suggestion-asked" }));
  if (created.textContent) card.meta.append(textEl("span", null, "suggested"), created);
  if (!keepEdits && !card.busy) {
    card.question.value = card.data.question;
    card.answer.value = card.data.answer;
    card.alternates.value = alternatesText(card.data.alternates);
  }
  card.alternates.rows = Math.max(2, Math.min(6, lines(card.alternates.value).length + 1));
}

function showSuggestionError(card, text) {
  card.error.textContent = text;
  card.error.hidden = !text;
}

function setSuggestionBusy(card, busy, label) {
  card.busy = busy;
  card.li.classList.toggle("is-busy", busy);
  if (busy) card.li.setAttribute("aria-busy", "true");
  else card.li.removeAttribute("aria-busy");
  for (const input of [card.question, card.answer, card.alternates]) input.readOnly = busy || card.stale;
  // aria-disabled, not disabled: the focus stays on the pressed button.
  for (const button of [card.accept, card.reject, card.yes, card.no]) {
    if (busy || card.stale) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }
  card.accept.classList.toggle("is-busy", busy && label === "accept");
  card.acceptLabel.textContent = busy && label === "accept" ? "Adding to the FAQ…" : "Add to the FAQ";
  card.yes.textContent = busy && label === "reject" ? "Rejecting…" : "Yes, reject";
  card.status.textContent = busy && label === "accept" ? "This takes a few seconds: the bot's search is rebuilt." : "";
  card.status.hidden = !card.status.textContent;
}

function setRejectConfirm(card, on) {
  if (card.busy || card.stale || card.done || card.confirm.hidden === !on) return;
  const hadFocus = card.confirm.contains(document.activeElement);
  card.actions.hidden = on;
  card.confirm.hidden = !on;
  if (on) card.yes.focus();
  else if (hadFocus) card.reject.focus();
}

async function acceptSuggestion(card) {
  if (card.busy || card.stale || card.done || !state.suggestions.available) return;
  setRejectConfirm(card, false);
  const question = card.question.value.trim();
  const answer = card.answer.value.trim();
  const alternates = lines(card.alternates.value);
  let problem = null;
  if (Array.from(question).length < 3) problem = [card.question, "The question needs at least 3 characters."];
  else if (!answer) problem = [card.answer, "Write the answer the bot should give."];
  if (problem) {
    problem[0].setAttribute("aria-invalid", "true");
    showSuggestionError(card, problem[1]);
    problem[0].focus();
    return;
  }
  // Only what the agent changed: left alone, the server keeps the customers' wording of a
  // reworded question among the alternates.
  const d = card.data;
  const body = {};
  if (question !== d.question.trim()) body.question = question;
  if (answer !== d.answer.trim()) body.answer = answer;
  if (alternates.join("\n") !== lines(alternatesText(d.alternates)).join("\n")) body.alternates = alternates;
  showSuggestionError(card, "");
  setSuggestionBusy(card, true, "accept");
  const result = await api("POST", "/suggestions/" + card.id + "/accept", body);
  setSuggestionBusy(card, false);
  if (result.ok) {
    const faq = result.data && result.data.faq && typeof result.data.faq === "object" ? result.data.faq : {};
    finishSuggestion(card, "Added to the FAQ", "Added to the FAQ: “" + (str(faq.question) || question) + "”.");
  } else if (result.status !== 401) {
    onSuggestionRefused(card, result);
  }
}

async function rejectSuggestion(card) {
  if (card.busy || card.stale || card.done || !state.suggestions.available) return;
  showSuggestionError(card, "");
  setSuggestionBusy(card, true, "reject");
  const result = await api("POST", "/suggestions/" + card.id + "/reject");
  setSuggestionBusy(card, false);
  if (result.ok) {
    finishSuggestion(card, "Rejected", "Rejected: “" + str(card.data && card.data.question) + "”.");
  } else if (result.status !== 401) {
    onSuggestionRefused(card, result);
  }
}

function onSuggestionRefused(card, result) {
  const text = sentence(errorText(result, result.data));
  if (result.status === 404 || result.status === 409) {
    markSuggestionStale(card, text); // decided (or gone) already: nothing left to do here
    updateSuggestionCount();
    return;
  }
  const hadFocus = card.confirm.contains(document.activeElement);
  setRejectConfirm(card, false);
  if (hadFocus) card.reject.focus();
  showSuggestionError(card, text);
}

function markSuggestionStale(card, text) {
  card.stale = true;
  state.suggestions.decided.add(card.id);
  card.li.classList.add("is-stale");
  const hadFocus = card.confirm.contains(document.activeElement);
  card.actions.hidden = false;
  card.confirm.hidden = true;
  setSuggestionBusy(card, false);
  if (hadFocus) card.accept.focus();
  showSuggestionError(card, text + " It leaves the list at the next refresh.");
}

// The card says what happened for a moment, then leaves the list.
function finishSuggestion(card, shortText, noticeText) {
  card.done = true;
  state.suggestions.decided.add(card.id);
  const hadFocus = card.li.contains(document.activeElement);
  for (const node of [card.form, card.error, card.status, card.actions, card.confirm]) node.hidden = true;
  card.doneNote.textContent = shortText;
  card.doneNote.hidden = false;
  card.li.classList.add("is-done");
  if (hadFocus) card.doneNote.focus();
  showSuggestionsNotice(noticeText);
  updateSuggestionCount();
  setTimeout(() => removeSuggestionCard(card), SUGGESTION_DONE_MS);
}

function removeSuggestionCard(card) {
  if (suggestionCards.get(card.id) !== card) return;
  const hadFocus = card.li.contains(document.activeElement);
  const next = card.li.nextElementSibling || card.li.previousElementSibling;
  suggestionCards.delete(card.id);
  card.li.remove();
  if (hadFocus) {
    const nextCard = next ? suggestionCards.get(toId(next.getAttribute("data-suggestion-id"))) : null;
    (nextCard ? nextCard.title : ui.hSuggestions).focus();
  }
  updateSuggestionCount();
}

// ---- Websocket: board, messages, changes, announcements, typing; ping and reconnect --------

// The board, messages and typing come over this; socket.halted while the page is leaving.
const socket = new ReconnectingSocket(
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
      if (ui) setCustomerTyping(false); // its `on: false` may never come
    },
    onRetry: (count) => {
      // A refused upgrade (e.g. an expired session) may close with a generic code rather than
      // 4401: every few failures, ask the API whether we are still logged in.
      if (count % 3 === 0) refreshSession();
      if (!state.connTimer && ui.connStatus.hidden) {
        state.connTimer = setTimeout(() => setConnStatus("Connection lost. Reconnecting…"), CONN_STATUS_DELAY_MS);
      }
    },
  },
  { pingFrame: { type: "ping" }, pingIntervalMs: PING_INTERVAL_MS }
);

function wsSend(frame) {
  return socket.send(frame);
}

function connect() {
  socket.connect();
}

function teardownSocket() {
  socket.teardown();
}

// The page is going (to the login, or away): no reconnecting until it comes back.
function setLeaving(on) {
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
  if (state.connTimer || !ui.connStatus.hidden) setConnStatus("");
  const frame = parseFrame(raw);
  if (!frame) return;
  const handler = lookup(FRAME_HANDLERS, frame.type);
  if (handler) handler(frame); // unknown types: a newer server; ignore
}

// ---- Start-up ------------------------------------------------------------------------------

function bindUi() {
  // Every element with an id, by its camelCased id: "reply-input" -> ui.replyInput.
  ui = { lists: {}, counts: {}, empties: {} };
  for (const node of document.querySelectorAll("[id]")) {
    ui[node.id.replace(/-([a-z])/g, (m, c) => c.toUpperCase())] = node;
  }
  for (const name of LISTS) {
    ui.lists[name] = ui[name + "List"];
    ui.counts[name] = ui["count" + name[0].toUpperCase() + name.slice(1)];
    ui.empties[name] = ui["empty" + name[0].toUpperCase() + name.slice(1)];
  }

  ui.logout.addEventListener("click", logout);
  ui.passwordOpen.addEventListener("click", openPasswordDialog);
  ui.passwordCancel.addEventListener("click", () => ui.passwordDialog.close());
  ui.passwordForm.addEventListener("submit", changePassword);
  for (const name of SCREENS) {
    screenTab(name).addEventListener("click", () => showScreen(name, false));
    screenTab(name).addEventListener("keydown", onTabKeyDown);
  }
  ui.skip.addEventListener("click", onSkip);
  ui.suggestionsRefresh.addEventListener("click", loadSuggestions);
  ui.claim.addEventListener("click", () => act("claim"));
  ui.handback.addEventListener("click", () => act("handback"));
  ui.putback.addEventListener("click", () => act("putback"));
  ui.resolve.addEventListener("click", () => act("resolve", { outcome: ui.resolveOutcome.value }));
  ui.useDraft.addEventListener("click", useDraft);
  ui.replyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply();
  });
  ui.replyInput.addEventListener("keydown", onReplyKeyDown);
  ui.replyInput.addEventListener("input", onReplyInput);
  ui.noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    addNote();
  });
  ui.noteInput.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    addNote();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.hiddenCount) {
      state.hiddenCount = 0;
      updateTitle();
    }
  });
  window.addEventListener("hashchange", () => {
    if (window.location.hash === SUGGESTIONS_HASH) {
      showScreen("suggestions");
      return;
    }
    const id = toId(window.location.hash.slice(HASH_PREFIX.length));
    if (!window.location.hash.startsWith(HASH_PREFIX) || !id) return;
    if (state.screen !== "conversations") showScreen("conversations");
    if (id !== state.openId) openConversation(id, false);
  });
  window.addEventListener("pagehide", () => {
    typingOff();
    setLeaving(true);
    socket.cancelRetry();
    teardownSocket();
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return; // back/forward cache: the page comes back without a socket
    setLeaving(false);
    connect();
    refreshSession();
  });
  window.addEventListener("online", () => {
    if (!socket.ws && state.me) connect();
  });
}

async function start() {
  bindUi();
  updateControls();
  let session = await api("GET", "/session");
  for (let wait = 1000; !session.ok; wait = Math.min(wait * 2, 15000)) {
    if (session.status === 401) return; // api() is on its way to the login page
    showAppError("Cannot reach the server. Retrying…");
    await new Promise((resolve) => setTimeout(resolve, wait));
    session = await api("GET", "/session");
  }
  showAppError("");
  if (!session.data || !session.data.agent) {
    goToLogin();
    return;
  }
  state.me = session.data.agent;
  state.csrf = str(session.data.csrf);
  ui.agentName.textContent = agentName(state.me);
  connect();
  setInterval(tick, 500);
  if (window.location.hash === SUGGESTIONS_HASH) showScreen("suggestions"); // loads the list
  else loadSuggestions(); // for the tab's count
  setInterval(loadSuggestions, SUGGESTIONS_EVERY_MS);

  const hashId = window.location.hash.startsWith(HASH_PREFIX) ? toId(window.location.hash.slice(HASH_PREFIX.length)) : null;
  if (hashId) openConversation(hashId, false);
  // The socket pushes the board on connect too; this just makes the first paint quicker.
  const board = await api("GET", "/queue");
  if (board.ok && board.data && !state.board) onBoard(board.data);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
