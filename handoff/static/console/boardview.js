/*
 * The board view: four lists and who is online, wait times, announcements (board.js keeps the
 * bookkeeping, this draws it).
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { el, textEl } from "../../../static/common/dom.js";
import { positiveInt as toId, str } from "../../../static/common/text.js";
import { LISTS, nextBoard } from "./board.js";
import { openConversation, scheduleRefetch } from "./conversation.js";
import { agentName, customerLabel, excerpt, formatDuration, humanize, reasonLabel } from "./format.js";
import { announce, findItem, myOwner, ownerLabel } from "./page.js";
import { setTabAttention, setTabCount } from "./screens.js";
import { ANNOUNCE_HIGHLIGHT_MS, ANNOUNCE_TEXT, itemNodes, page, state } from "./state.js";

// ---- The board: four lists and who is online -----------------------------------------------

export function onBoard(board) {
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
export function renderBoard() {
  if (!state.board) return;
  const active = document.activeElement;
  const seen = new Set();
  for (const name of LISTS) {
    const list = page.ui.lists[name];
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
    page.ui.counts[name].textContent = count ? "(" + count + ")" : "";
    page.ui.empties[name].hidden = count > 0;
    if (name === "queue") setTabCount(page.ui.tabQueueCount, page.ui.tabQueueCountSr, count);
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
  page.ui.online.replaceChildren(...nodes);
}

// Twice a second: wait times, and highlights that have run out.
export function tick() {
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

export function updateTitle() {
  document.title = state.hiddenCount > 0 ? "(" + state.hiddenCount + ") " + state.baseTitle : state.baseTitle;
}

export function onAnnounce(frame) {
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
export function bumpItem(id, message) {
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

