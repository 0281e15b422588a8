/*
 * The panel's chrome: building the DOM, open / close, the launcher's unread badge, the status
 * line and keeping the list scrolled to the newest message.
 *
 * Security rule (as in widget.js): server and customer text only through textContent,
 * createTextNode or setAttribute (common/dom.js); links only for http(s) addresses.
 */
import { el, textEl } from "../common/dom.js";
import { onInputChanged, onInputKeyDown, reportTyping, sendFromInput, submitText } from "./composer.js";
import { socket } from "./connection.js";
import { endChat, setEndConfirm, updateEndChat } from "./feedback.js";
import { launcherLabel } from "./frames.js";
import { icon, iconButton } from "./icons.js";
import { HUMAN_REQUEST_TEXT, state, uniqueId, view } from "./state.js";

// ---------------------------------------------------------------------------------------------
// DOM construction
// ---------------------------------------------------------------------------------------------

export function loadStylesheet(onReady) {
  const existing = document.querySelector('link[data-shopclerk="css"]');
  if (existing) {
    onReady();
    return;
  }
  const link = el("link", null, { rel: "stylesheet", href: view.config.cssUrl, "data-shopclerk": "css" });
  link.addEventListener("load", onReady);
  link.addEventListener("error", () => {
    console.error("shopclerk: could not load " + view.config.cssUrl);
    onReady(); // an unstyled chat is still better than no chat
  });
  document.head.appendChild(link);
}

export function buildUi() {
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

  const panel = el("div", "sc-panel", { id: panelId, role: "dialog", "aria-label": view.config.title });
  panel.hidden = true;

  const header = el("div", "sc-header");
  header.appendChild(textEl("h2", "sc-title", view.config.title));
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
  const empty = textEl("p", "sc-empty", view.config.greeting);
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

  view.ui = Object.assign(
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
  view.ui.launcher.addEventListener("click", () => (state.isOpen ? closePanel() : openPanel()));
  view.ui.closeButton.addEventListener("click", closePanel);
  view.ui.root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.isOpen) {
      event.preventDefault();
      closePanel();
    }
  });
  view.ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendFromInput();
  });
  view.ui.input.addEventListener("keydown", onInputKeyDown);
  view.ui.input.addEventListener("input", () => {
    onInputChanged();
    reportTyping(); // only here: text put back into the box by the widget is not typing
  });
  view.ui.human.addEventListener("click", () => submitText(HUMAN_REQUEST_TEXT));
  view.ui.endButton.addEventListener("click", () => setEndConfirm(true));
  view.ui.endYes.addEventListener("click", endChat);
  view.ui.endNo.addEventListener("click", () => setEndConfirm(false));
  view.ui.endConfirm.addEventListener("keydown", (event) => {
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

export function openPanel() {
  if (!view.ready) {
    view.wantOpenOnReady = true;
    return;
  }
  if (state.isOpen) return;
  state.isOpen = true;
  view.ui.panel.hidden = false;
  view.ui.root.classList.add("sc-is-open");
  view.ui.launcher.setAttribute("aria-expanded", "true");
  setUnread(0);
  state.unreadAfterSeq = state.lastSeq;
  updateLauncherLabel();
  socket.ensure();
  scrollToBottom();
  view.ui.input.focus();
}

export function closePanel() {
  view.wantOpenOnReady = false;
  if (!view.ready || !state.isOpen) return;
  state.isOpen = false;
  setEndConfirm(false);
  view.ui.panel.hidden = true;
  view.ui.root.classList.remove("sc-is-open");
  view.ui.launcher.setAttribute("aria-expanded", "false");
  updateLauncherLabel();
  view.ui.launcher.focus();
}

export function setUnread(count) {
  state.unread = count;
  view.ui.badge.textContent = count > 9 ? "9+" : String(count);
  view.ui.badge.hidden = count === 0;
  updateLauncherLabel();
}

function updateLauncherLabel() {
  view.ui.launcher.setAttribute("aria-label", launcherLabel(state.isOpen, state.unread));
}

export function setStatus(text) {
  clearTimeout(state.connectStatusTimer);
  state.connectStatusTimer = null;
  if (!view.ui) return;
  view.ui.status.textContent = text;
  view.ui.status.hidden = !text;
}

function isNearBottom() {
  const s = view.ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  view.ui.scroller.scrollTop = view.ui.scroller.scrollHeight;
}

// Runs a DOM change and keeps the view pinned to the newest message, unless the customer has
// scrolled up to read something older (then we don't yank the view away).
export function withAutoScroll(change, force) {
  const stick = force || isNearBottom();
  change();
  view.ui.empty.hidden = view.ui.list.childElementCount > 0;
  updateEndChat();
  if (stick) scrollToBottom();
}

