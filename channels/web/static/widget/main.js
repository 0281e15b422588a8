/*
 * The customer's chat (docs/websocket-protocol.md, version 1). Loaded by ../widget.js, which
 * calls start() with its <script> tag. The parts: state.js (shared state), panel.js, messages.js,
 * composer.js, feedback.js, banner.js and connection.js.
 *
 * Security rule (as in widget.js): server and customer text only through textContent,
 * createTextNode or setAttribute (common/dom.js); links only for http(s) addresses.
 */
import { readStored, writeStored } from "../common/storage.js";
import { positiveInt } from "../common/text.js";
import { cleanIdentity, readConfig } from "./config.js";
import { bindPageEvents, socket } from "./connection.js";
import { addPendingBubble, clearConversation } from "./messages.js";
import { buildUi, closePanel, loadStylesheet, openPanel } from "./panel.js";
import { KEY_SESSION, lastSeqKey, outbox, state, view } from "./state.js";

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
    view.ready = true;
    view.ui.root.hidden = false;
    if (view.wantOpenOnReady) openPanel();
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
  if (view.ui) clearConversation();
  if (wasConnected && state.isOpen) socket.connect();
}

// Called once by ../widget.js with its <script> tag; returns the page's API
// (window.ShopclerkWidget forwards to it).
export function start(scriptTag) {
  view.config = readConfig(scriptTag, document.baseURI);
  state.identity = view.config.identity; // the signed shopper sent with every `hello`, or null
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
