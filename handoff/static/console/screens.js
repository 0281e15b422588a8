/*
 * The two views (conversations / suggested FAQ entries) as tabs in the top bar.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { ANNOUNCE_HIGHLIGHT_MS, HASH_PREFIX, page, SCREENS, state, SUGGESTIONS_HASH } from "./state.js";
import { loadSuggestions } from "./suggestions.js";

// ---- Views: conversations / suggested FAQ entries ------------------------------------------

// The two tabs in the top bar (the ARIA tabs pattern: arrow keys move between them).
export function showScreen(name, focusTab) {
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
    page.ui.skip.textContent = "Skip to the suggestions";
    page.ui.skip.setAttribute("href", "#view-suggestions");
    setTabAttention(false);
    if (window.location.hash !== SUGGESTIONS_HASH) history.replaceState(null, "", SUGGESTIONS_HASH);
    if (changed) loadSuggestions();
  } else {
    page.ui.skip.textContent = "Skip to the conversation";
    page.ui.skip.setAttribute("href", "#conversation");
    setTabAttention(false);
    const hash = state.openId ? HASH_PREFIX + state.openId : "";
    if (window.location.hash !== hash) {
      history.replaceState(null, "", hash || window.location.pathname + window.location.search);
    }
  }
}

export function screenTab(name) {
  return name === "suggestions" ? page.ui.tabSuggestions : page.ui.tabConversations;
}

function screenPanel(name) {
  return name === "suggestions" ? page.ui.viewSuggestions : page.ui.viewConversations;
}

export function onTabKeyDown(event) {
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
export function onSkip(event) {
  if (state.screen !== "suggestions") return;
  event.preventDefault();
  page.ui.hSuggestions.focus();
}

export function setTabCount(node, srNode, count) {
  node.textContent = count > 0 ? String(count) : "";
  node.hidden = srNode.hidden = !(count > 0);
}

// A customer needs someone while this agent looks at the suggestions: make the tab stand out.
export function setTabAttention(on) {
  state.tabAttentionUntil = on ? Date.now() + ANNOUNCE_HIGHLIGHT_MS : 0;
  page.ui.tabConversations.classList.toggle("is-announced", on);
}

