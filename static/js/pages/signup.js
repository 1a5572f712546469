/** Sign-up page: create the account, log in with the same details, open the account page. */

import { ApiError, api, login } from "../api.js";
import { bindForm, passwordToggles } from "../forms.js";
import { mountLayout } from "../layout.js";

const HINTS = {
  email: "Enter a valid email address, like you@example.com.",
  handle: "Use 3–32 letters, digits, _ or - (not starting or ending with -).",
  display_name: "Keep the display name to 80 characters or fewer.",
  password: "Use at least 8 characters.",
};

const form = document.getElementById("signup-form");
passwordToggles(form);
bindForm(
  form,
  async ({ email, handle, display_name, password }) => {
    // 202 whether or not the email already had an account: the server does not say which.
    await api("/api/v1/auth/signup", { method: "POST", body: { email, handle, display_name, password }, auth: false });
    try {
      await login(email, password);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        throw new ApiError(401, {
          detail: "We could not log you in with these details. If this email already has an account, log in with its password instead.",
        });
      }
      throw err;
    }
    window.location.assign("/account.html");
  },
  HINTS,
);

if (await mountLayout()) window.location.replace("/account.html");
