/**
 * The cart, kept in this browser (localStorage) until checkout; the server re-checks everything.
 * Shape: { id, items: [{ listing_id, amount? }], tips: [{ creator, amount }], codes: [], ref }.
 * `id` is the cart's idempotency id: retrying the same checkout returns the same order.
 */

import { formatPrice } from "../catalog/uploads.js";

const KEY = "echoel:cart";

export function loadCart() {
  try {
    const cart = JSON.parse(localStorage.getItem(KEY) || "null");
    if (cart && Array.isArray(cart.items)) return { tips: [], codes: [], ref: null, ...cart };
  } catch {
    /* a damaged cart starts over */
  }
  return { id: crypto.randomUUID(), items: [], tips: [], codes: [], ref: null };
}

export function saveCart(cart) {
  localStorage.setItem(KEY, JSON.stringify(cart));
}

/** A new cart id: after a finished checkout (or a change), the next one is a new order. */
export function renew(cart) {
  cart.id = crypto.randomUUID();
  return cart;
}

export function clearCart() {
  localStorage.removeItem(KEY);
}

/**
 * Money for display only (the amounts stay integers of minor units), through the catalog's
 * price formatter, which scales by the currency's own fraction digits: ¥1,500, not ¥15.00.
 */
export function money(minor, currency) {
  return formatPrice({ kind: "fixed", amount: minor, currency });
}

/** Minor units per major unit of a currency (100 for EUR, 1 for JPY): for amount inputs. */
export function minorPerMajor(currency) {
  const { maximumFractionDigits } = new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions();
  return 10 ** maximumFractionDigits;
}
