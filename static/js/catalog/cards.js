/** A listing as a card linking to its page (storefront, library). */

import { formatPrice } from "../money.js";

export function listingCard(listing, note = "") {
  const li = document.createElement("li");
  li.className = "card listing-card";
  li.dataset.listingId = listing.id;
  const title = document.createElement("h3");
  const a = Object.assign(document.createElement("a"), { href: `/listing.html?id=${listing.id}`, textContent: listing.title });
  title.append(a);
  const meta = document.createElement("p");
  meta.className = "muted small";
  const versions = listing.versions.map((v) => v.label).join(", ");
  meta.textContent = [formatPrice(listing.price), versions && `versions ${versions}`, note].filter(Boolean).join(" · ");
  li.append(title, meta);
  return li;
}
