/**
 * Cart and checkout. `/cart.html?add=<listing id>[&amount=<minor units>][&ref=<handle>]` adds a
 * listing (the listing page links here). Checkout posts the cart; the server answers with
 * Stripe's hosted page, or with a paid order when nothing is left to pay (a 100% code).
 */

import { api, describeError } from "../api.js";
import { bindForm, setFormError } from "../forms.js";
import { mountLayout } from "../layout.js";
import { formatMoney as money, minorPerMajor } from "../money.js";
import { clearCart, loadCart, renew, saveCart } from "../payments/cart.js";

const account = await mountLayout();
if (!account) window.location.assign(`/login.html?next=${encodeURIComponent(location.pathname + location.search)}`);

const cart = loadCart();
const params = new URLSearchParams(location.search);
if (params.get("add") && !cart.items.some((i) => i.listing_id === params.get("add"))) {
  const amount = params.get("amount");
  cart.items.push({ listing_id: params.get("add"), ...(amount ? { amount: Number(amount) } : {}) });
  renew(cart);
}
if (params.get("ref")) cart.ref = params.get("ref");
saveCart(cart);

const lines = document.getElementById("lines");
const form = document.getElementById("cart-form");

function row(listing, line) {
  const tr = document.createElement("tr");
  const title = document.createElement("td");
  const link = document.createElement("a");
  link.href = `/listing.html?id=${listing.id}`;
  link.textContent = listing.title;
  title.append(link);
  const price = document.createElement("td");
  const p = listing.price;
  if (p.kind === "pwyw") {
    // Typed in major units (dollars, yen); sent in minor units (cents, yen).
    const scale = minorPerMajor(p.currency);
    const input = document.createElement("input");
    input.type = "number";
    input.min = String(Math.max(p.pwyw_minimum, 1) / scale);
    input.step = String(1 / scale);
    input.value = String((line.amount ?? Math.max(p.amount, p.pwyw_minimum, 1)) / scale);
    input.setAttribute("aria-label", `Your price for ${listing.title} (at least ${money(Math.max(p.pwyw_minimum, 1), p.currency)})`);
    input.addEventListener("change", () => {
      line.amount = Math.round(Number(input.value) * scale);
      saveCart(renew(cart));
    });
    price.append(input, ` ${p.currency}`);
  } else {
    price.textContent = money(p.amount, p.currency);
  }
  const remove = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button-ghost";
  button.textContent = "Remove";
  button.addEventListener("click", () => {
    cart.items = cart.items.filter((i) => i !== line);
    saveCart(renew(cart));
    tr.remove();
    document.getElementById("empty").hidden = cart.items.length > 0;
  });
  remove.append(button);
  tr.append(title, price, remove);
  return tr;
}

// The order's currency is its listings' (one per checkout); a cart of tips alone pays in USD.
let currency = "USD";

async function render() {
  const rows = [];
  for (const line of cart.items) {
    try {
      const listing = await api(`/api/v1/listings/${line.listing_id}`, { auth: true });
      currency = listing.price.currency;
      rows.push(row(listing, line));
    } catch (err) {
      setFormError(form, describeError(err));
    }
  }
  document.getElementById("tip-amount").step = String(1 / minorPerMajor(currency));
  lines.replaceChildren(...rows);
  document.getElementById("empty").hidden = cart.items.length > 0;
}

bindForm(form, async (values) => {
  const tips = [];
  if (values.tip_creator && Number(values.tip_amount) > 0) {
    const amount = Math.round(Number(values.tip_amount) * minorPerMajor(currency));
    tips.push({ creator: values.tip_creator.replace(/^@/, ""), amount });
  }
  const codes = (values.codes || "").split(/[\s,]+/).filter(Boolean);
  const items = cart.items.map((i) => (i.amount === undefined ? { listing_id: i.listing_id } : i));
  const body = { cart_id: cart.id, items, tips, codes, ...(cart.ref ? { ref: cart.ref } : {}) };
  const out = await api("/api/v1/checkout", { method: "POST", body });
  if (out.checkout_url) {
    window.location.assign(out.checkout_url); // Stripe's hosted Checkout page
  } else {
    clearCart();
    window.location.assign(`/checkout/success.html?order=${out.order_id}`);
  }
});

if (account) await render();
