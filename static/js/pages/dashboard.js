/** Creator dashboard: my listings, and a form to start a new one. */

import { api } from "../api.js";
import { formatPrice } from "../catalog/uploads.js";
import { bindForm } from "../forms.js";
import { mountLayout } from "../layout.js";

const STATUS = { draft: "Draft", published: "Published", unlisted: "Unlisted", archived: "Archived" };

function card(listing) {
  const li = document.createElement("li");
  li.className = "card listing-card";
  li.dataset.listingId = listing.id;
  const title = document.createElement("h3");
  title.textContent = listing.title;
  const status = document.createElement("span");
  status.className = "status";
  status.dataset.status = listing.status;
  status.textContent = STATUS[listing.status] ?? listing.status;
  const price = document.createElement("p");
  price.className = "muted small";
  const files = listing.versions.reduce((n, v) => n + v.files.filter((f) => f.status === "ready").length, 0);
  price.textContent = `${formatPrice(listing.price)} · ${files} file${files === 1 ? "" : "s"}`;
  const actions = document.createElement("div");
  actions.className = "button-row";
  const edit = Object.assign(document.createElement("a"), { className: "button button-primary", href: `/listing-edit.html?id=${listing.id}`, textContent: "Edit & upload" });
  const view = Object.assign(document.createElement("a"), { className: "button button-ghost", href: `/listing.html?id=${listing.id}`, textContent: "View" });
  actions.append(edit, view);
  li.append(title, status, price, actions);
  return li;
}

async function load() {
  const listings = await api("/api/v1/listings");
  document.getElementById("listings").replaceChildren(...listings.map(card));
  document.getElementById("empty").hidden = listings.length > 0;
}

const account = await mountLayout();
document.getElementById("loading").hidden = true;
if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent("/dashboard.html")}`);
} else if (account.role === "member") {
  document.getElementById("not-creator").hidden = false;
} else {
  // Wire the form before showing it, so nothing typed or chosen early is missed.
  const form = document.getElementById("create-form");
  const priceKind = form.elements.price_kind;
  const showAmount = () => {
    document.getElementById("amount-field").hidden = priceKind.value === "free";
  };
  priceKind.addEventListener("change", showAmount);
  showAmount();
  bindForm(
    form,
    async ({ title, kind, price_kind, price_amount }) => {
      const body = { title, kind, price_kind };
      const minor = Math.round(Number(price_amount || 0) * 100);
      if (price_kind === "fixed") body.price_amount = minor;
      if (price_kind === "pwyw") body.pwyw_minimum = minor;
      const listing = await api("/api/v1/listings", { method: "POST", body });
      window.location.assign(`/listing-edit.html?id=${listing.id}`);
    },
    { title: "Give the listing a title (up to 140 characters).", price_amount: "Enter a price above zero." },
  );
  await load();
  document.getElementById("dashboard").hidden = false;
}
