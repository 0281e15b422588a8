/*
 * Feedback on the bot's answers (thumbs), ending the chat and the satisfaction survey.
 *
 * Security rule (as in widget.js): server and customer text only through textContent,
 * createTextNode or setAttribute (common/dom.js); links only for http(s) addresses.
 */
import { el, textEl } from "../common/dom.js";
import { nonEmpty, positiveInt } from "../common/text.js";
import { send, socket } from "./connection.js";
import { surveyScale } from "./frames.js";
import { iconButton } from "./icons.js";
import { withAutoScroll } from "./panel.js";
import {
  botMessages,
  DEFAULT_SURVEY_QUESTION,
  feedbackInFlight,
  feedbackUnsent,
  PROTOCOL_VERSION,
  state,
  uniqueId,
  view,
} from "./state.js";

// ---------------------------------------------------------------------------------------------
// Feedback (thumbs)
// ---------------------------------------------------------------------------------------------

export function buildFeedback(messageId) {
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

export function flushFeedback() {
  const queued = Array.from(feedbackUnsent);
  feedbackUnsent.clear();
  for (const [messageId, rating] of queued) sendFeedback(messageId, rating);
}

export function onFeedbackSaved(frame) {
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

export function onFeedbackRejected() {
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
export function updateEndChat() {
  if (!view.ui) return;
  const show = hasMessageSinceEnd();
  if (view.ui.endChat.hidden === !show) return;
  if (!show) {
    const hadFocus = view.ui.endChat.contains(document.activeElement);
    setEndConfirm(false);
    if (hadFocus && state.isOpen) view.ui.input.focus();
  }
  view.ui.endChat.hidden = !show;
}

function hasMessageSinceEnd() {
  const messages = view.ui.list.querySelectorAll('[data-testid="sc-msg"]:not([data-role="system"])');
  if (!messages.length) return false;
  // Rows are in seq order; bubbles not stored yet (being sent, streaming) have no seq and are new.
  const seq = positiveInt(messages[messages.length - 1].getAttribute("data-seq"));
  return !seq || seq > state.endedAfterSeq;
}

export function setEndConfirm(on) {
  if (!view.ui || view.ui.endConfirm.hidden === !on) return;
  const hadFocus = view.ui.endConfirm.contains(document.activeElement);
  view.ui.endButton.hidden = on;
  view.ui.endConfirm.hidden = !on;
  if (on) view.ui.endYes.focus();
  else if (hadFocus) view.ui.endButton.focus();
}

// The conversation stays on screen: the survey comes below it, and whatever the customer writes
// next starts a new episode on the server.
export function endChat() {
  state.endedAfterSeq = state.lastSeq;
  state.endUnsent = true;
  setEndConfirm(false);
  updateEndChat(); // hides the button (focus goes to the message box)
  if (state.connected) flushEnd();
  else socket.ensure(true);
}

export function flushEnd() {
  if (state.endUnsent && send({ v: PROTOCOL_VERSION, type: "end" })) state.endUnsent = false;
}

// One card at a time: a newer episode's survey replaces the older card; the same episode asked
// again (the server repeats it after a reconnect) or one the customer closed leaves things be.
export function onSurveyFrame(frame) {
  const episode = positiveInt(frame.episode);
  if (!episode || !view.ui || episode <= view.dismissedEpisode) return;
  if (view.survey && view.survey.episode >= episode) return;
  const entry = buildSurvey(episode, nonEmpty(frame.question) || DEFAULT_SURVEY_QUESTION, surveyScale(frame.scale));
  removeSurvey();
  view.survey = entry;
  // The episode is over (a goodbye, "End chat", an agent's verdict): nothing left to end until
  // someone writes again. (Asked again after a reload, this may hide the button over messages
  // written since; the next message brings it back.)
  state.endedAfterSeq = Math.max(state.endedAfterSeq, state.lastSeq);
  // At the end of the list, as the quick replies; later messages come below it.
  withAutoScroll(() => view.ui.list.appendChild(entry.row));
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
    view.dismissedEpisode = Math.max(view.dismissedEpisode, episode);
    if (entry === view.survey) removeSurvey(); // a score already chosen is still sent
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
  if (entry !== view.survey || entry.thanks) return;
  for (const radio of entry.radios) {
    const chosen = radio.getAttribute("data-score") === String(score);
    radio.setAttribute("aria-checked", String(chosen));
    if (chosen) setTabStop(entry, radio);
  }
  entry.card.setAttribute("data-state", "saving");
  view.ratingToSend = { episode: entry.episode, score, inFlight: false };
  if (state.connected) sendRating();
  else socket.ensure(true);
}

export function sendRating() {
  const rating = view.ratingToSend;
  if (!rating || rating.inFlight) return;
  rating.inFlight = send({ v: PROTOCOL_VERSION, type: "satisfaction", episode: rating.episode, score: rating.score });
}

// Comes to every tab of the session: a rating given in another tab thanks the customer here too.
export function onSatisfactionSaved(frame) {
  const episode = positiveInt(frame.episode);
  const score = positiveInt(frame.score);
  if (!episode || !score) return;
  if (view.ratingToSend && view.ratingToSend.episode === episode && view.ratingToSend.score === score) view.ratingToSend = null;
  // A newer choice still on its way settles the card when its own confirmation comes.
  if (view.ratingToSend && view.ratingToSend.episode === episode) return;
  if (view.survey && view.survey.episode === episode) showThanks(view.survey, score);
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
  if (hadFocus && state.isOpen) view.ui.input.focus(); // the scores it was on are gone
}

// `unknown_episode`: this conversation has no such episode (any more). Asking again won't help.
export function onRatingRejected(frame) {
  const episode = positiveInt(frame.episode);
  if (view.ratingToSend && (!episode || view.ratingToSend.episode === episode)) view.ratingToSend = null;
  if (view.survey && (!episode || view.survey.episode === episode)) removeSurvey();
}

function removeSurvey() {
  if (!view.survey) return;
  const row = view.survey.row;
  const hadFocus = row.contains(document.activeElement);
  view.survey = null;
  withAutoScroll(() => row.remove());
  if (hadFocus && state.isOpen) view.ui.input.focus();
}

