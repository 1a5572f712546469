/** The buyer's order history, newest first, with license keys where a listing has them. */

import { api, describeError } from "../api.js";
import { flash, mountLayout } from "../layout.js";
import { formatMoney as money } from "../money.js";

const account = await mountLayout();
document.getElementById("loading").hidden = true;

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

/** The order's state for the buyer: a partial refund leaves the order paid, but not simply "paid". */
function status(o) {
  const partly = o.status === "paid" && o.refunded > 0;
  const label = document.createElement("span");
  label.className = partly ? "status-partly-refunded" : `status-${o.status}`;
  label.textContent = partly ? "partly refunded" : o.status;
  if (o.refunded <= 0 || o.status === "refunded") return [label];
  const amount = document.createElement("div");
  amount.className = "muted";
  amount.textContent = `${money(o.refunded, o.currency)} refunded`;
  return [label, amount];
}

if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent("/orders.html")}`);
} else {
  try {
    const orders = await api("/api/v1/orders");
    const rows = orders.map((o) => {
      const tr = document.createElement("tr");
      const items = o.items.map((i) => {
        const line = document.createElement("div");
        line.textContent = `${i.title} (${money(i.amount, o.currency)})`;
        if (i.license_key) {
          const key = document.createElement("code");
          key.textContent = i.license_key;
          line.append(" · license ", key);
        }
        return line;
      });
      tr.append(cell(new Date(o.created_at * 1000).toLocaleDateString()), cell(...items), cell(money(o.total, o.currency)), cell(...status(o)));
      return tr;
    });
    document.querySelector("#orders tbody").replaceChildren(...rows);
    document.getElementById("orders").hidden = rows.length === 0;
    document.getElementById("empty").hidden = rows.length > 0;
  } catch (err) {
    flash(describeError(err));
  }
}
