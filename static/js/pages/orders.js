/** The buyer's order history, newest first, with license keys where a listing has them. */

import { api, describeError } from "../api.js";
import { flash, mountLayout } from "../layout.js";
import { money } from "../payments/cart.js";

const account = await mountLayout();
document.getElementById("loading").hidden = true;

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
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
      const status = document.createElement("span");
      status.className = `status-${o.status}`;
      status.textContent = o.status;
      tr.append(cell(new Date(o.created_at * 1000).toLocaleDateString()), cell(...items), cell(money(o.total, o.currency)), cell(status));
      return tr;
    });
    document.querySelector("#orders tbody").replaceChildren(...rows);
    document.getElementById("orders").hidden = rows.length === 0;
    document.getElementById("empty").hidden = rows.length > 0;
  } catch (err) {
    flash(describeError(err));
  }
}
