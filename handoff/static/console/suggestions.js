/*
 * The suggested FAQ entries (learned from agents' answers) to edit, accept or reject.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { el, textEl } from "../../../static/common/dom.js";
import { positiveInt as toId, str } from "../../../static/common/text.js";
import { alternatesText, lines, sentence } from "./format.js";
import { announce, api, errorText, timeEl } from "./page.js";
import { setTabCount, showScreen } from "./screens.js";
import { page, state, SUGGESTION_DONE_MS, suggestionCards } from "./state.js";

// ---- Suggested FAQ entries -----------------------------------------------------------------

// Fetches the pending suggestions: for the tab's count, and for the list (which keeps the
// cards, and what is typed into them, of the suggestions that are still pending).
export async function loadSuggestions() {
  const s = state.suggestions;
  if (!s.available) return;
  const ticket = ++s.ticket;
  if (!s.loaded) page.ui.suggestionsLoading.hidden = false;
  page.ui.suggestionsRefresh.disabled = true;
  const result = await api("GET", "/suggestions");
  if (ticket !== s.ticket) return; // a newer request is on its way
  page.ui.suggestionsRefresh.disabled = false;
  page.ui.suggestionsLoading.hidden = true;
  if (result.status === 401) return;
  if (result.status === 404 && !str(result.error && result.error.code)) {
    // This server has no suggestions API: no tab for it.
    s.available = false;
    page.ui.tabSuggestions.hidden = true;
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
  page.ui.suggestionsError.textContent = text;
  page.ui.suggestionsError.hidden = !text;
}

function showSuggestionsNotice(text) {
  page.ui.suggestionsNotice.textContent = text;
  page.ui.suggestionsNotice.hidden = !text;
  if (text) announce(text);
}

// Cards are reused by suggestion id: a refresh never throws away what an agent is typing.
function renderSuggestions(list) {
  const seen = new Set();
  let cursor = page.ui.suggestionsList.firstElementChild;
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
    else page.ui.suggestionsList.insertBefore(card.li, cursor);
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
  setTabCount(page.ui.tabSuggestionsCount, page.ui.tabSuggestionsCountSr, count);
  page.ui.suggestionsEmpty.hidden = !state.suggestions.loaded || suggestionCards.size > 0;
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
    (nextCard ? nextCard.title : page.ui.hSuggestions).focus();
  }
  updateSuggestionCount();
}

