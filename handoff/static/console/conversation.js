/*
 * The open conversation: its messages, what the bot understood, its draft and internal notes,
 * and the actions claim / hand back / put back / resolve / reply / note.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { el, textEl } from "../../../static/common/dom.js";
import { newClientId } from "../../../static/common/ids.js";
import { positiveInt as toId, str } from "../../../static/common/text.js";
import { bumpItem, renderBoard } from "./boardview.js";
import { wsSend } from "./connection.js";
import { customerLabel, formatValue, humanize, messageKey, reasonLabel } from "./format.js";
import {
  announce,
  api,
  errorText,
  goToLogin,
  myOwner,
  ownerLabel,
  showActionError,
  showAppError,
  timeEl,
} from "./page.js";
import {
  CUSTOMER_TYPING_TIMEOUT_MS,
  HASH_PREFIX,
  page,
  REFETCH_DELAY_MS,
  ROLES,
  shownMessages,
  state,
  TYPING_EVERY_MS,
  TYPING_IDLE_MS,
} from "./state.js";

// ---- The open conversation -----------------------------------------------------------------

export function openConversation(id, userAction) {
  if (!id) return;
  if (id !== state.openId) {
    saveReplyBox();
    typingOff();
    state.openId = id;
    state.view = null;
    state.pendingReply = null;
    shownMessages.clear();
    page.ui.convMessages.replaceChildren();
    setCustomerTyping(false);
    showActionError("");
    page.ui.convPlaceholder.hidden = true;
    page.ui.conv.hidden = false;
    page.ui.convCustomer.textContent = "Loading…";
    page.ui.convMeta.textContent = "";
    page.ui.convHandoff.hidden = true;
    page.ui.convOwner.textContent = "";
    restoreReplyBox(id);
    updateControls();
    if (window.location.hash !== HASH_PREFIX + id) history.replaceState(null, "", HASH_PREFIX + id);
  }
  state.unread.delete(id);
  state.announced.delete(id);
  renderBoard();
  if (userAction && window.matchMedia("(max-width: 899.98px)").matches) {
    page.ui.conversation.scrollIntoView({ block: "start" });
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
    if (!state.view) page.ui.convCustomer.textContent = "Conversation #" + id;
  }
}

export function scheduleRefetch() {
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
  page.ui.convCustomer.textContent = customerLabel(customer);
  const parts = [];
  if (str(customer.name) && str(customer.email)) parts.push(customer.email);
  parts.push("#" + c.conversation_id, str(c.channel) || "web");
  if (str(c.intent)) parts.push(humanize(c.intent));
  if (typeof c.customer_online === "boolean") parts.push(c.customer_online ? "customer online" : "customer offline");
  page.ui.convMeta.textContent = parts.join(" · ");

  const h = view.handoff && typeof view.handoff === "object" ? view.handoff : null;
  const bits = [];
  if (h) {
    if (str(h.reason)) bits.push("Handed off: " + (reasonLabel(h.reason)));
    if (h.offline) bits.push("Offline ticket" + (str(h.contact_email) ? ": answer by email to " + h.contact_email : ""));
    if (str(h.agent)) bits.push("Agent: " + h.agent);
  } else if (c.flagged) {
    bits.push("Flagged");
  }
  page.ui.convHandoff.textContent = bits.join(" · ");
  page.ui.convHandoff.hidden = bits.length === 0;
  page.ui.convOwner.textContent = ownerLabel(c.owner, c.owner_name);
}

function isMine() {
  return Boolean(state.view && state.view.conversation && state.view.conversation.owner === myOwner());
}

function hasDraft() {
  const d = state.view && state.view.draft;
  return Boolean(d && str(d.text).trim());
}

// Shows, hides and enables every control for the open conversation's owner.
export function updateControls() {
  const c = state.view ? state.view.conversation : null;
  const owner = c ? c.owner : null;
  const mine = isMine();
  const claimable = owner === "queue" || owner === "bot";
  page.ui.claim.hidden = !claimable;
  page.ui.claim.textContent = owner === "bot" ? "Take over" : "Claim";
  page.ui.handback.hidden = page.ui.putback.hidden = page.ui.resolveGroup.hidden = !mine;
  for (const button of [page.ui.claim, page.ui.handback, page.ui.putback, page.ui.resolve, page.ui.resolveOutcome]) button.disabled = state.busy;
  page.ui.replyInput.disabled = !mine;
  page.ui.replyInput.readOnly = state.sending;
  page.ui.replySend.disabled = !mine || state.sending;
  page.ui.useDraft.disabled = !mine || !hasDraft() || state.sending;
  page.ui.noteInput.disabled = !c;
  page.ui.noteAdd.disabled = !c || state.noting;
  if (!c) page.ui.replyInput.placeholder = "";
  else if (mine) page.ui.replyInput.placeholder = "Write to " + customerLabel(c.customer) + "…";
  else if (claimable) page.ui.replyInput.placeholder = (owner === "bot" ? "Take over" : "Claim") + " this conversation to reply.";
  else page.ui.replyInput.placeholder = ownerLabel(owner, c.owner_name) + " has this conversation.";
  if (!mine) typingOff();
}

// ----- messages -----

function isNearBottom() {
  const s = page.ui.convScroll;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  page.ui.convScroll.scrollTop = page.ui.convScroll.scrollHeight;
}

function renderMessages(messages, first) {
  const stick = first || isNearBottom();
  // The first render is history, not news: keep screen readers from reading it all out.
  if (first) page.ui.convMessages.setAttribute("aria-busy", "true");
  for (const m of messages) addMessage(m);
  if (first) setTimeout(() => page.ui.convMessages.setAttribute("aria-busy", "false"), 0);
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
  for (let node = page.ui.convMessages.lastElementChild; node; node = node.previousElementSibling) {
    if (Number(node.getAttribute("data-seq")) <= seq || !seq) break;
    before = node;
  }
  page.ui.convMessages.insertBefore(row, before);
  return true;
}

export function onMessageFrame(frame) {
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

export function setCustomerTyping(on) {
  clearTimeout(state.customerTypingTimer);
  state.customerTypingTimer = on ? setTimeout(() => setCustomerTyping(false), CUSTOMER_TYPING_TIMEOUT_MS) : null;
  if (page.ui.customerTyping.hidden === !on) return;
  const who = state.view ? customerLabel(state.view.conversation.customer) : "The customer";
  page.ui.customerTypingText.textContent = who + " is typing…";
  const stick = isNearBottom();
  page.ui.customerTyping.hidden = !on;
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
    page.ui.understandingBody.replaceChildren(...body);
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
  page.ui.understandingBody.replaceChildren(...body);
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
  page.ui.draftText.textContent = text.trim() ? text : "No draft for the customer's latest message.";
  page.ui.draftText.classList.toggle("is-empty", !text.trim());
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
  page.ui.draftSources.replaceChildren(...items);
  page.ui.draftSources.hidden = items.length === 0;
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
  page.ui.notesList.replaceChildren(...items);
  page.ui.notesEmpty.hidden = items.length > 0;
}

// ---- Actions -------------------------------------------------------------------------------

export async function act(action, body) {
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
    page.ui.replyInput.focus();
    return;
  }
  if (action !== "claim") announce("Owner: " + page.ui.convOwner.textContent);
  if (!page.ui.claim.hidden) page.ui.claim.focus();
  else page.ui.conversation.focus();
}

// ----- reply -----

function saveReplyBox() {
  if (!state.openId) return;
  const text = page.ui.replyInput.value;
  if (text.trim()) state.replyBoxes.set(state.openId, { text, usedDraft: state.usedDraft });
  else state.replyBoxes.delete(state.openId);
}

function restoreReplyBox(id) {
  const saved = state.replyBoxes.get(id);
  page.ui.replyInput.value = saved ? saved.text : "";
  state.usedDraft = saved ? saved.usedDraft : null;
}

export async function sendReply() {
  const id = state.openId;
  if (!id || !isMine() || state.sending) return;
  const text = page.ui.replyInput.value.trim();
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
      page.ui.replyInput.value = "";
      state.usedDraft = null;
      typingOff();
      applyView(id, ticket, result.data);
      page.ui.replyInput.focus();
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

export function useDraft() {
  if (!isMine() || !hasDraft()) return;
  const text = str(state.view.draft.text);
  page.ui.replyInput.value = text;
  state.usedDraft = text;
  page.ui.replyInput.focus();
  page.ui.replyInput.setSelectionRange(text.length, text.length);
  onReplyInput();
}

export function onReplyInput() {
  if (!page.ui.replyInput.value.trim()) {
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

export function typingOff() {
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = null;
  if (state.typingConv === null) return;
  wsSend({ type: "typing", conversation_id: state.typingConv, on: false });
  state.typingConv = null;
  state.typingSentAt = 0;
}

export function onReplyKeyDown(event) {
  // Enter sends, Shift+Enter is a newline; never interrupt an IME composition.
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  sendReply();
}

// ----- notes -----

export async function addNote() {
  const id = state.openId;
  const text = page.ui.noteInput.value.trim();
  if (!id || !text || state.noting) return;
  state.noting = true;
  showActionError("");
  updateControls();
  const ticket = ++state.ticket;
  const result = await api("POST", "/conversations/" + id + "/notes", { text });
  state.noting = false;
  if (result.ok) {
    if (id === state.openId && page.ui.noteInput.value.trim() === text) page.ui.noteInput.value = "";
    applyView(id, ticket, result.data);
  } else if (result.status !== 401 && id === state.openId) {
    showActionError(errorText(result, result.data));
  }
  updateControls();
}

export async function logout() {
  page.ui.logout.disabled = true;
  typingOff();
  const result = await api("POST", "/logout");
  if (result.ok) {
    goToLogin();
    return;
  }
  if (result.status !== 401) {
    page.ui.logout.disabled = false;
    showAppError("Logging out failed: " + errorText(result, result.data));
  }
}

