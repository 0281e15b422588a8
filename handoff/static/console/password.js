/*
 * Changing the agent's password.
 *
 * Security rule (as in main.js): server, customer and agent text only through textContent or
 * setAttribute; never parsed as markup.
 */
import { str } from "../../../static/common/text.js";
import { api, errorText } from "./page.js";
import { page } from "./state.js";

// ---- Password change ------------------------------------------------------------------------

export function openPasswordDialog() {
  page.ui.passwordForm.reset();
  page.ui.passwordError.hidden = true;
  page.ui.passwordDone.hidden = true;
  page.ui.passwordSave.disabled = false;
  page.ui.passwordDialog.showModal();
  page.ui.passwordCurrent.focus();
}

function passwordProblem(text) {
  page.ui.passwordError.textContent = text;
  page.ui.passwordError.hidden = false;
}

export async function changePassword(event) {
  event.preventDefault();
  page.ui.passwordError.hidden = true;
  page.ui.passwordDone.hidden = true;
  const current = page.ui.passwordCurrent.value;
  const next = page.ui.passwordNew.value;
  if (!current) return passwordProblem("Enter your current password.");
  if (next.length < 10) return passwordProblem("The new password needs at least 10 characters.");
  if (next !== page.ui.passwordRepeat.value) return passwordProblem("The two new passwords differ.");
  page.ui.passwordSave.disabled = true;
  const result = await api("POST", "/password", { current, new: next });
  page.ui.passwordSave.disabled = false;
  if (result.ok) {
    page.ui.passwordForm.reset();
    const ended = result.data ? Number(result.data.logins_ended) || 0 : 0;
    page.ui.passwordDone.textContent = "Password changed." + (ended ? " Other logins ended: " + ended + "." : "");
    page.ui.passwordDone.hidden = false;
    return;
  }
  if (result.status === 401) return;
  if (result.error && result.error.code === "wrong_password") {
    return passwordProblem("The current password is not right.");
  }
  passwordProblem(result.status === 429 ? str(result.error.message) || errorText(result, result.data)
    : errorText(result, result.data));
}

