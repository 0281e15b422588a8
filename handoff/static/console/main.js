/*
 * shopclerk agent console.
 *
 * Speaks the API and websocket of docs/agent-console.md: the board (queue, mine, other agents,
 * live bot conversations), one open conversation with what the bot understood, its draft and
 * internal notes, and the actions claim / hand back / put back / resolve / reply / note. A second
 * view lists the suggested FAQ entries (learned from agents' answers) to edit, accept or reject.
 * Loaded from console.html as an ES module, which imports the rest: state.js (shared state),
 * page.js, boardview.js, conversation.js, password.js, screens.js, suggestions.js and
 * connection.js; the wording lives in format.js, the board's bookkeeping in board.js, and what
 * the widget shares with it in /static/common/.
 *
 * Security rule for this whole view: text that comes from the server, a customer or an agent only
 * ever enters the page through textContent or setAttribute; it is never parsed as markup. No
 * inline script or style anywhere (works under `Content-Security-Policy: default-src 'self'`).
 */

import { positiveInt as toId, str } from "../../../static/common/text.js";
import { LISTS } from "./board.js";
import { onBoard, tick, updateTitle } from "./boardview.js";
import { connect, setLeaving, socket, teardownSocket } from "./connection.js";
import {
  act,
  addNote,
  logout,
  onReplyInput,
  onReplyKeyDown,
  openConversation,
  sendReply,
  typingOff,
  updateControls,
  useDraft,
} from "./conversation.js";
import { agentName } from "./format.js";
import { api, goToLogin, refreshSession, showAppError } from "./page.js";
import { changePassword, openPasswordDialog } from "./password.js";
import { onSkip, onTabKeyDown, screenTab, showScreen } from "./screens.js";
import { HASH_PREFIX, page, SCREENS, state, SUGGESTIONS_EVERY_MS, SUGGESTIONS_HASH } from "./state.js";
import { loadSuggestions } from "./suggestions.js";

// ---- Start-up ------------------------------------------------------------------------------

function bindUi() {
  // Every element with an id, by its camelCased id: "reply-input" -> ui.replyInput.
  page.ui = { lists: {}, counts: {}, empties: {} };
  for (const node of document.querySelectorAll("[id]")) {
    page.ui[node.id.replace(/-([a-z])/g, (m, c) => c.toUpperCase())] = node;
  }
  for (const name of LISTS) {
    page.ui.lists[name] = page.ui[name + "List"];
    page.ui.counts[name] = page.ui["count" + name[0].toUpperCase() + name.slice(1)];
    page.ui.empties[name] = page.ui["empty" + name[0].toUpperCase() + name.slice(1)];
  }

  page.ui.logout.addEventListener("click", logout);
  page.ui.passwordOpen.addEventListener("click", openPasswordDialog);
  page.ui.passwordCancel.addEventListener("click", () => page.ui.passwordDialog.close());
  page.ui.passwordForm.addEventListener("submit", changePassword);
  for (const name of SCREENS) {
    screenTab(name).addEventListener("click", () => showScreen(name, false));
    screenTab(name).addEventListener("keydown", onTabKeyDown);
  }
  page.ui.skip.addEventListener("click", onSkip);
  page.ui.suggestionsRefresh.addEventListener("click", loadSuggestions);
  page.ui.claim.addEventListener("click", () => act("claim"));
  page.ui.handback.addEventListener("click", () => act("handback"));
  page.ui.putback.addEventListener("click", () => act("putback"));
  page.ui.resolve.addEventListener("click", () => act("resolve", { outcome: page.ui.resolveOutcome.value }));
  page.ui.useDraft.addEventListener("click", useDraft);
  page.ui.replyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply();
  });
  page.ui.replyInput.addEventListener("keydown", onReplyKeyDown);
  page.ui.replyInput.addEventListener("input", onReplyInput);
  page.ui.noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    addNote();
  });
  page.ui.noteInput.addEventListener("keydown", (event) => {
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
  page.ui.agentName.textContent = agentName(state.me);
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

