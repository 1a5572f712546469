/**
 * A creator's sales: totals, balance, and a bar chart (SVG) of the last 30 days per currency
 * (summed by the server), then the ledger's entries, newest first, a page at a time.
 */

import { api, describeError } from "../api.js";
import { flash, mountLayout } from "../layout.js";
import { formatMoney as money } from "../money.js";

const SVG = "http://www.w3.org/2000/svg";
const account = await mountLayout();
document.getElementById("loading").hidden = true;

function figure(label, value) {
  const box = document.createElement("div");
  box.className = "figure";
  const strong = document.createElement("strong");
  strong.textContent = value;
  box.append(strong, label);
  return box;
}

/** Bars of each day's gross; each bar's title gives the day and figures (for screen readers too). */
function chart(days, currency) {
  const width = 600;
  const height = 160;
  const top = Math.max(1, ...days.map((d) => d.gross));
  const step = width / days.length;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Sales per day in ${currency}, last ${days.length} days`);
  days.forEach((d, i) => {
    const h = Math.max(0, (d.gross / top) * (height - 10));
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", String(i * step + 1));
    rect.setAttribute("y", String(height - h));
    rect.setAttribute("width", String(Math.max(1, step - 2)));
    rect.setAttribute("height", String(h));
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${d.day}: ${d.count} sales, ${money(d.gross, currency)} gross, ${money(d.net, currency)} net`;
    rect.append(title);
    svg.append(rect);
  });
  return svg;
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

/** Whether an entry is paid out; for a refund of a sale already paid out, what Stripe took back. */
function paidOut(e) {
  if (e.recovered) {
    const back = `${money(e.recovered, e.currency)} taken back from your Stripe account`;
    // Part taken back: the rest of the refund lowers the balance, as without payouts.
    return e.settled ? back : `${back}; the rest lowers your balance`;
  }
  return e.settled ? "yes" : e.held ? "held (dispute)" : "not yet";
}

function entryRow(e) {
  const tr = document.createElement("tr");
  const kind = e.kind === "sale" ? "sale" : `${e.kind} (of a sale)`;
  const paid = paidOut(e);
  tr.append(
    cell(new Date(e.created_at * 1000).toLocaleDateString()),
    cell(e.title || "—"),
    cell(kind),
    cell(money(e.gross, e.currency)),
    cell(money(e.net, e.currency)),
    cell(paid),
  );
  return tr;
}

/** Appends the next page of entries; the button fetches the one after it until none is left. */
async function loadEntries(cursor) {
  const query = new URLSearchParams({ limit: "50", ...(cursor ? { cursor } : {}) });
  const page = await api(`/api/v1/sales/entries?${query}`);
  document.querySelector("#entries tbody").append(...page.items.map(entryRow));
  document.getElementById("entries-card").hidden = document.querySelector("#entries tbody").children.length === 0;
  const more = document.getElementById("more-entries");
  more.hidden = !page.next;
  more.onclick = async () => {
    more.disabled = true;
    try {
      await loadEntries(page.next);
    } catch (err) {
      flash(describeError(err));
    }
    more.disabled = false;
  };
}

if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent("/sales.html")}`);
} else {
  try {
    const summaries = await api("/api/v1/sales");
    const sections = summaries.map((s) => {
      const section = document.createElement("section");
      section.className = "card";
      const h2 = document.createElement("h2");
      h2.textContent = s.currency;
      const figures = document.createElement("div");
      figures.className = "figures";
      figures.append(
        figure("gross", money(s.gross, s.currency)),
        figure("Stripe fees", money(s.fee, s.currency)),
        figure("commission", money(s.commission, s.currency)),
        figure("refunds", money(s.refunds, s.currency)),
        // Only with Stripe payouts: refunds of sales already paid out, taken back by Stripe.
        ...(s.recovered
          ? [figure("of the refunds, taken back from your Stripe account", money(s.recovered, s.currency))]
          : []),
        figure("balance to be paid", money(s.balance, s.currency)),
        figure("held (disputes)", money(s.held, s.currency)),
      );
      section.append(h2, figures, chart(s.days, s.currency));
      return section;
    });
    document.getElementById("currencies").replaceChildren(...sections);
    document.getElementById("empty").hidden = sections.length > 0;
    await loadEntries(null);
  } catch (err) {
    flash(describeError(err));
  }
  document.getElementById("connect-card").hidden = false;
  document.getElementById("connect").addEventListener("click", async () => {
    const box = document.getElementById("connect-error");
    box.hidden = true;
    try {
      window.location.assign((await api("/api/v1/payouts/connect", { method: "POST" })).url);
    } catch (err) {
      box.textContent = describeError(err);
      box.hidden = false;
    }
  });
}
