/**
 * The layout every page shares: header (logo, navigation, account area) and footer.
 *
 * A page calls `mountLayout()` once; the header follows the session (signed in or not) by
 * itself. To add your pages to the navigation, add one entry to NAV below.
 */

import { searchBox } from "./search/box.js";
import { currentAccount, describeError, logout, onSessionChange, restoreSession, sessionRestoreError } from "./api.js";

/**
 * The navigation, in order. One entry per section:
 *   href   the page
 *   label  the text shown
 *   when   optional: "signed-in" or "signed-out" to show it only to those visitors
 *   roles  optional: e.g. ["creator", "admin"] to show it only to those roles
 *   match  optional: a path prefix that also marks this entry as the current section
 */
export const NAV = [
  { href: "/", label: "Home" },
  { href: "/search.html", label: "Browse" },
  { href: "/dashboard.html", label: "Dashboard", roles: ["creator", "admin"], match: "/listing-edit" },
  { href: "/library.html", label: "Library", when: "signed-in" },
  { href: "/cart.html", label: "Cart", when: "signed-in", match: "/checkout/" },
  { href: "/orders.html", label: "Orders", when: "signed-in" },
  { href: "/sales.html", label: "Sales", roles: ["creator", "admin"] },
  { href: "/session.html", label: "Sessions", when: "signed-in" },
  { href: "/account.html", label: "Account", when: "signed-in" },
];

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
};

function isCurrent(item) {
  const path = window.location.pathname;
  if (item.href === "/") return path === "/" || path === "/index.html";
  return path === item.href || (item.match !== undefined && path.startsWith(item.match));
}

function visible(item, account) {
  if (item.when === "signed-in" && !account) return false;
  if (item.when === "signed-out" && account) return false;
  if (item.roles && !(account && item.roles.includes(account.role))) return false;
  return true;
}

function navList(account) {
  const items = NAV.filter((item) => visible(item, account)).map((item) => {
    const link = el("a", { href: item.href }, item.label);
    if (isCurrent(item)) link.setAttribute("aria-current", "page");
    return el("li", {}, link);
  });
  return el("ul", { class: "nav-list" }, ...items);
}

function accountArea(account) {
  if (!account) {
    return el(
      "div",
      { class: "account-area" },
      el("a", { class: "button button-ghost", href: loginHref() }, "Log in"),
      el("a", { class: "button button-primary", href: "/signup.html" }, "Sign up"),
    );
  }
  const out = el("button", { type: "button", class: "button button-ghost", "data-action": "logout" }, "Log out");
  out.addEventListener("click", async () => {
    out.disabled = true;
    try {
      await logout();
      window.location.assign("/");
    } catch (err) {
      out.disabled = false;
      flash(describeError(err));
    }
  });
  return el(
    "div",
    { class: "account-area" },
    el(
      "a",
      { class: "account-chip", href: "/account.html", title: "Your account" },
      el("span", { class: "avatar", "aria-hidden": "true" }, initial(account)),
      el("span", { class: "account-handle" }, `@${account.handle}`),
    ),
    out,
  );
}

/** The first character (not UTF-16 unit: emoji stay whole) of the name, for avatars. */
export function initial(account) {
  return Array.from(account.display_name || account.handle)[0].toUpperCase();
}

function loginHref() {
  const here = window.location.pathname;
  const skip = ["/", "/index.html", "/login.html", "/signup.html"];
  return skip.includes(here) ? "/login.html" : `/login.html?next=${encodeURIComponent(here)}`;
}

function renderHeader(header, account) {
  const menuId = "site-menu";
  const toggle = el(
    "button",
    { type: "button", class: "menu-toggle", "aria-expanded": "false", "aria-controls": menuId },
    el("span", { class: "menu-icon", "aria-hidden": "true" }),
    el("span", { class: "visually-hidden" }, "Menu"),
  );
  const menu = el(
    "div",
    { class: "site-menu", id: menuId },
    el("nav", { "aria-label": "Main" }, navList(account)),
    accountArea(account),
  );
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("menu-open", open);
  };
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("menu-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  const logo = el("a", { class: "logo", href: "/" }, el("img", { src: "/img/logo.svg", alt: "", width: "28", height: "28" }), "Echoel");
  header.classList.remove("menu-open");
  const skip = el("a", { class: "skip-link", href: "#main" }, "Skip to content");
  header.replaceChildren(skip, el("div", { class: "container header-inner" }, logo, searchBox(), toggle, menu));
}

function renderFooter(footer) {
  footer.replaceChildren(
    el(
      "div",
      { class: "container footer-inner" },
      el("p", {}, "Echoel: sell presets, make music together, share big downloads."),
      el(
        "nav",
        { "aria-label": "Footer" },
        el("a", { href: "/api/schema/docs" }, "API docs"),
        el("a", { href: "/healthz" }, "Status"),
      ),
    ),
  );
}

/** Show a short message at the top of the page (errors the page has no better place for). */
export function flash(message, kind = "error") {
  let box = document.querySelector(".flash");
  if (!box) {
    box = el("div", { class: "flash", role: "alert" });
    document.querySelector("main")?.prepend(box);
  }
  box.dataset.kind = kind;
  box.textContent = message;
}

/** Render header and footer, then keep the header in step with the session. Resolves to the account or null. */
export async function mountLayout() {
  // Every page has <header class="site-header"> and <footer class="site-footer"> to fill.
  const header = document.querySelector("header.site-header");
  const footer = document.querySelector("footer.site-footer");
  renderFooter(footer);
  renderHeader(header, currentAccount());
  onSessionChange((account) => renderHeader(header, account));
  const account = await restoreSession();
  header.dataset.ready = "true";
  const failure = sessionRestoreError();
  if (failure) flash(`Could not restore your session: ${describeError(failure)}`);
  return account;
}
