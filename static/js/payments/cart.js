/**
 * The cart, kept in this browser (localStorage) until checkout; the server re-checks everything.
 * Shape: { id, items: [{ listing_id, amount? }], tips: [{ creator, amount }], codes: [], ref }.
 * `id` is the cart's idempotency id: retrying the same checkout returns the same order.
 */

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
