/*
 * The handoff banner: who the customer is talking to when it is not the bot.
 *
 * Security rule (as in widget.js): server and customer text only through textContent,
 * createTextNode or setAttribute (common/dom.js); links only for http(s) addresses.
 */
import { nonEmpty } from "../common/text.js";
import { handoffStateName } from "./frames.js";
import { withAutoScroll } from "./panel.js";
import { HANDOFF_STATUS_WAIT_MS, state, view } from "./state.js";

// ---------------------------------------------------------------------------------------------
// Handoff status: who the customer is talking to when it is not the bot
// ---------------------------------------------------------------------------------------------

export function onHandoffFrame(frame) {
  clearTimeout(state.handoffTimer);
  state.handoffTimer = null;
  const name = handoffStateName(frame.state);
  setHandoff(name, nonEmpty(frame.text) || "", frame.email_known);
}

// Shows the banner, or hides it for "bot" or an empty text. A state this version does not know
// still shows its text.
export function setHandoff(name, text, emailKnown) {
  const shown = name === "bot" ? "" : text;
  state.handoffState = shown ? name : "bot";
  // Only people can answer while the conversation is queued or with a person; asking again for
  // one would just send them "I'd like to talk to a person".
  view.ui.human.hidden = state.handoffState === "queued" || state.handoffState === "agent";
  const banner = view.ui.banner;
  if (typeof emailKnown === "boolean") banner.setAttribute("data-email-known", String(emailKnown));
  else banner.removeAttribute("data-email-known");
  // The server repeats the status after every reconnect: an unchanged banner is not re-announced.
  if (banner.getAttribute("data-state") === state.handoffState && banner.textContent === shown) return;
  withAutoScroll(() => {
    banner.setAttribute("data-state", state.handoffState);
    banner.textContent = shown;
    banner.hidden = !shown;
  });
}

// After `welcome` the server sends the handoff status first whenever the conversation is not
// with the bot. If something else comes first, or nothing for a while, it is with the bot (again),
// whatever the banner said before the reconnect.
export function expectHandoffStatus() {
  clearTimeout(state.handoffTimer);
  state.handoffTimer = setTimeout(handoffStatusMissed, HANDOFF_STATUS_WAIT_MS);
}

export function handoffStatusMissed() {
  clearTimeout(state.handoffTimer);
  state.handoffTimer = null;
  setHandoff("bot", "");
}

