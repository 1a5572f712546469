/** Account page: profile, password, creator role and sessions of the signed-in user. */

import { ApiError, adoptSession, api, describeError, logout, logoutEverywhere, sessionRestoreError, updateAccount } from "../api.js";
import { bindForm, passwordToggles, setStatus } from "../forms.js";
import { initial, mountLayout } from "../layout.js";

const ROLE_NAMES = { member: "Member", creator: "Creator", admin: "Admin" };

function show(account) {
  const text = {
    initial: initial(account),
    display_name: account.display_name || account.handle,
    handle: `@${account.handle}`,
    email: account.email,
    role: ROLE_NAMES[account.role] ?? account.role,
    created_at: new Date(account.created_at).toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" }),
  };
  for (const [key, value] of Object.entries(text)) {
    document.querySelectorAll(`[data-bind="${key}"]`).forEach((node) => (node.textContent = value));
  }
  document.getElementById("creator-member").hidden = account.role !== "member";
  document.getElementById("creator-done").hidden = account.role === "member";
}

function fillProfile(account) {
  const form = document.getElementById("profile-form");
  form.elements.display_name.value = account.display_name;
  form.elements.handle.value = account.handle;
  form.elements.bio.value = account.bio;
}

/** Run `action` from `button`, disabling it meanwhile and putting errors in `errorBox`. */
async function run(button, errorBox, action) {
  errorBox.hidden = true;
  button.disabled = true;
  try {
    await action();
  } catch (err) {
    errorBox.textContent = describeError(err);
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function wire(start) {
  let account = start;
  const profile = document.getElementById("profile-form");
  bindForm(
    profile,
    async (form) => {
      // Send only what changed: an unchanged handle must not be re-checked for uniqueness.
      const changes = {};
      for (const key of ["display_name", "handle", "bio"]) if (form[key] !== account[key]) changes[key] = form[key];
      if (Object.keys(changes).length > 0) {
        account = await api("/api/v1/account/", { method: "PATCH", body: changes });
        updateAccount(account);
        show(account);
        fillProfile(account);
      }
      setStatus(profile, "Saved.");
    },
    { handle: "Use 3–32 letters, digits, _ or - (not starting or ending with -).", display_name: "Keep it to 80 characters or fewer.", bio: "Keep the bio to 4000 characters or fewer." },
  );

  const password = document.getElementById("password-form");
  passwordToggles(password);
  bindForm(
    password,
    async ({ current_password, new_password }) => {
      adoptSession(await api("/api/v1/account/password", { method: "POST", body: { current_password, new_password } }));
      password.reset();
      setStatus(password, "Password changed. Other devices have been logged out.");
    },
    { current_password: "Enter your current password.", new_password: "Use at least 8 characters." },
  );

  const creator = document.getElementById("become-creator");
  creator.addEventListener("click", () =>
    run(creator, document.getElementById("creator-error"), async () => {
      account = await api("/api/v1/account/creator", { method: "POST" });
      updateAccount(account);
      show(account);
    }),
  );

  const sessionsError = document.getElementById("sessions-error");
  const out = document.getElementById("logout");
  out.addEventListener("click", () =>
    run(out, sessionsError, async () => {
      await logout();
      window.location.assign("/");
    }),
  );
  const everywhere = document.getElementById("logout-everywhere");
  everywhere.addEventListener("click", () =>
    run(everywhere, sessionsError, async () => {
      if (!window.confirm("Log out on every device, this one included?")) return;
      await logoutEverywhere();
      window.location.assign("/");
    }),
  );
}

const signedIn = await mountLayout();
if (!signedIn && sessionRestoreError()) {
  // Not a "logged out" answer (the server was busy or unreachable): the layout says so; stay.
  document.getElementById("account-loading").hidden = true;
} else if (!signedIn) {
  window.location.replace("/login.html?next=%2Faccount.html");
} else {
  // Read the account fresh rather than trusting the copy from the refresh answer.
  try {
    const account = await api("/api/v1/account/");
    show(account);
    fillProfile(account);
    wire(account);
    document.getElementById("account-loading").hidden = true;
    document.getElementById("account").hidden = false;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) window.location.replace("/login.html?next=%2Faccount.html");
    else document.getElementById("account-loading").textContent = describeError(err);
  }
}
