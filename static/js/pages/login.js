/** Log-in page: on success, go where the visitor was heading (default: the account page). */

import { login } from "../api.js";
import { bindForm, passwordToggles } from "../forms.js";
import { mountLayout } from "../layout.js";

/** Only same-site paths, so a crafted link cannot send people elsewhere after logging in. */
export function nextPage() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/account.html";
}

const form = document.getElementById("login-form");
passwordToggles(form);
bindForm(
  form,
  async ({ email, password }) => {
    await login(email, password);
    window.location.assign(nextPage());
  },
  { email: "Enter the email address of your account.", password: "Enter your password." },
);

if (await mountLayout()) window.location.replace(nextPage());
