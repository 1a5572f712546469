/** Creator dashboard: my listings, and a form to start a new one. */

import { ApiError, api, describeError } from "../api.js";
import { formatLinks, loadDressing, parseLinks, saveLinks, uploadImage } from "../catalog/storefront.js";
import { formatSize } from "../catalog/uploads.js";
import { served } from "../torrents/pack.js";
import { bindForm } from "../forms.js";
import { mountLayout } from "../layout.js";
import { formatPrice, minorDigits, minorPerMajor, storeCurrency } from "../money.js";

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
  showSavings(listing, li);
  return li;
}

/** Packs with torrents: bytes sent peer-to-peer beside bytes sent over HTTP by the web seed. */
async function showSavings(listing, li) {
  const torrents = await api(`/api/v1/torrents/?listing=${listing.id}`, { auth: false }).catch(() => []);
  if (!torrents.some((t) => t.status === "ready")) return;
  const { p2p, http } = served(torrents);
  const line = document.createElement("p");
  line.className = "muted small torrent-served";
  // Peers that finished go on sharing with each other; that part never touches this server.
  line.textContent = `Sent ${formatSize(p2p)} peer-to-peer and ${formatSize(http)} over HTTP; downloaders also share with each other at no cost to you.`;
  li.append(line);
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
  // New listings are priced in the store's currency, typed in its major unit (¥1500, €12.50).
  const currency = storeCurrency();
  document.getElementById("currency-label").textContent = currency;
  form.elements.price_amount.step = String(10 ** -minorDigits(currency));
  bindForm(
    form,
    async ({ title, kind, price_kind, price_amount }) => {
      const body = { title, kind, price_kind };
      const minor = Math.round(Number(price_amount || 0) * minorPerMajor(currency));
      if (price_kind === "fixed") body.price_amount = minor;
      if (price_kind === "pwyw") body.pwyw_minimum = minor;
      const listing = await api("/api/v1/listings", { method: "POST", body });
      window.location.assign(`/listing-edit.html?id=${listing.id}`);
    },
    { title: "Give the listing a title (up to 140 characters).", price_amount: "Enter a price above zero." },
  );
  await load();
  await dressStorefront(account);
  document.getElementById("dashboard").hidden = false;
}

async function dressStorefront(account) {
  const $ = (id) => document.getElementById(id);
  $("store-link").href = `/creator.html?handle=${encodeURIComponent(account.handle)}`;
  const show = (dressing) => {
    for (const slot of ["avatar", "banner"]) {
      const img = $(`${slot}-preview`);
      img.hidden = !dressing[`${slot}_url`];
      if (dressing[`${slot}_url`]) img.src = dressing[`${slot}_url`];
    }
  };
  const dressing = await loadDressing();
  show(dressing);
  $("links").value = formatLinks(dressing.links);
  for (const slot of ["avatar", "banner"]) {
    const input = $(`${slot}-input`);
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      const bar = $(`${slot}-progress`);
      const status = $(`${slot}-status`);
      bar.hidden = false;
      bar.value = 0;
      status.textContent = "Uploading…";
      try {
        show(
          await uploadImage(slot, file, (sent, total) => {
            bar.value = total ? sent / total : 1;
            status.textContent = sent < total ? `Uploading… ${Math.round((100 * sent) / total)}%` : "Checking the image…";
          }),
        );
        status.textContent = `Your new ${slot} is on your storefront.`;
      } catch (err) {
        const why = err instanceof ApiError ? describeError(err) : err.message;
        status.textContent = `${why} Choose another image to try again.`;
      } finally {
        bar.hidden = true;
        input.value = "";
      }
    });
  }
  bindForm($("links-form"), async ({ links }) => {
    const saved = await saveLinks(parseLinks(links));
    $("links").value = formatLinks(saved.links);
    $("links-form").querySelector(".form-status").textContent = "Links saved.";
  });
}
