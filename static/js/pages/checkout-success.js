/**
 * Where Stripe sends the buyer back (`?session_id=…`), or where a 100%-off checkout lands
 * (`?order=…`). Asks the server to confirm the session with Stripe (which fulfils the order if
 * the webhook has not yet), and waits a little for payments that clear a moment later.
 */

import { api, describeError } from "../api.js";
import { mountLayout } from "../layout.js";
import { clearCart } from "../payments/cart.js";

const account = await mountLayout();
const params = new URLSearchParams(location.search);
const show = (id) => {
  for (const name of ["waiting", "done", "pending"]) document.getElementById(name).hidden = name !== id;
};

async function confirmOnce() {
  if (params.get("session_id")) {
    return api("/api/v1/checkout/confirm", { method: "POST", body: { session_id: params.get("session_id") } });
  }
  return api(`/api/v1/orders/${encodeURIComponent(params.get("order") || "")}`);
}

if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent(location.pathname + location.search)}`);
} else {
  try {
    let order = await confirmOnce();
    for (let i = 0; order.status === "pending" && i < 10; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      order = await confirmOnce();
    }
    if (order.status === "paid") {
      clearCart();
      show("done");
    } else {
      show("pending");
    }
  } catch (err) {
    document.getElementById("waiting").hidden = true;
    const box = document.getElementById("error");
    box.textContent = describeError(err);
    box.hidden = false;
  }
}
