/**
 * Form helpers: inline field errors, a busy submit button, show/hide password toggles.
 *
 * Markup a form uses:
 *   <form data-form> ... <div class="form-error" role="alert" hidden></div>
 *   <div class="field"> <label for="x"> <input id="x" name="x"> <p class="hint" id="x-hint">
 *   ... <button type="submit">
 * Field errors appear in the field's `.hint` line (which returns to its hint afterwards).
 */

import { ApiError, describeError } from "./api.js";

/** The form's named values, as strings (trimmed unless the field is a password). */
export function values(form) {
  const out = {};
  for (const element of form.elements) {
    if (!element.name || element.disabled) continue;
    out[element.name] = element.type === "password" || "toggle" in element.dataset ? element.value : element.value.trim();
  }
  return out;
}

export function clearErrors(form) {
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  form.querySelectorAll(".hint[data-error]").forEach((hint) => {
    hint.textContent = hint.dataset.hint ?? "";
    delete hint.dataset.error;
  });
  const box = form.querySelector(".form-error");
  if (box) {
    box.hidden = true;
    box.textContent = "";
  }
  const status = form.querySelector(".form-status");
  if (status) status.textContent = "";
}

/** Mark field `name` invalid with `message`; returns false when the form has no such field. */
export function setFieldError(form, name, message) {
  const input = form.elements.namedItem(name);
  if (!(input instanceof HTMLElement)) return false;
  input.setAttribute("aria-invalid", "true");
  const hint = form.querySelector(`#${CSS.escape(input.id)}-hint`);
  if (hint) {
    hint.dataset.hint ??= hint.textContent;
    hint.dataset.error = "";
    hint.textContent = message;
  }
  return true;
}

export function setFormError(form, message) {
  const box = form.querySelector(".form-error");
  box.textContent = message;
  box.hidden = false;
}

/** Say that something worked (e.g. "Saved."). */
export function setStatus(form, message) {
  const status = form.querySelector(".form-status");
  if (status) status.textContent = message;
}

/** Put an API error next to the fields it is about, or above the form. */
export function showError(form, err, fieldHints = {}) {
  const placed = new Set();
  if (err instanceof ApiError) {
    if (err.field && setFieldError(form, err.field, err.detail)) placed.add(err.field);
    for (const item of err.errors) {
      // Validation messages name the JSON key; the field's own hint says the rule in words.
      const message = fieldHints[item.key] ?? item.message;
      if (item.key && setFieldError(form, item.key, message)) placed.add(item.key);
    }
  }
  if (placed.size === 0) {
    setFormError(form, describeError(err));
  } else {
    setFormError(form, placed.size === 1 ? "Fix the highlighted field, then try again." : "Fix the highlighted fields, then try again.");
    form.elements.namedItem([...placed][0])?.focus();
  }
}

/**
 * Handle `form`'s submit: check the fields in the browser first, then call `onSubmit(values)`
 * with the submit button disabled. Errors thrown are shown by `showError`.
 */
export function bindForm(form, onSubmit, fieldHints = {}) {
  form.noValidate = true; // we show the browser's checks inline instead of in bubbles
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const invalid = [...form.elements].filter((element) => element.willValidate && !element.checkValidity());
    if (invalid.length > 0) {
      for (const element of invalid) setFieldError(form, element.name, fieldHints[element.name] ?? element.validationMessage);
      setFormError(form, invalid.length === 1 ? "Fix the highlighted field, then try again." : "Fix the highlighted fields, then try again.");
      invalid[0].focus();
      return;
    }
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await onSubmit(values(form));
    } catch (err) {
      showError(form, err, fieldHints);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });
}

/** Add a Show/Hide button to every password input under `root` that has `data-toggle`. */
export function passwordToggles(root = document) {
  root.querySelectorAll("input[type=password][data-toggle]").forEach((input) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "toggle-password";
    button.textContent = "Show";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", "Show password");
    button.addEventListener("click", () => {
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(show));
      button.setAttribute("aria-label", show ? "Hide password" : "Show password");
    });
    const wrap = document.createElement("div");
    wrap.className = "password-wrap";
    input.replaceWith(wrap);
    wrap.append(input, button);
  });
}
