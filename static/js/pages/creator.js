/** A creator's public storefront: who they are and what they have published. */

import { ApiError, api, describeError } from "../api.js";
import { listingCard } from "../catalog/cards.js";
import { flash, mountLayout } from "../layout.js";

const handle = new URLSearchParams(window.location.search).get("handle") ?? "";
await mountLayout();
document.getElementById("loading").hidden = true;
try {
  const store = await api(`/api/v1/creators/${encodeURIComponent(handle)}`);
  document.title = `${store.display_name || store.handle} · Echoel`;
  document.getElementById("name").textContent = store.display_name || store.handle;
  document.getElementById("handle").textContent = `@${store.handle}`;
  document.getElementById("bio").textContent = store.bio;
  for (const slot of ["avatar", "banner"]) {
    const img = document.getElementById(slot);
    img.hidden = !store[`${slot}_url`];
    if (store[`${slot}_url`]) {
      img.src = store[`${slot}_url`];
      img.alt = slot === "avatar" ? `${store.handle}'s avatar` : "";
    }
  }
  // Links are http(s) only (the API refuses anything else); they open without our referrer.
  document.getElementById("links").replaceChildren(
    ...store.links.map(({ label, url }) => {
      const a = Object.assign(document.createElement("a"), { href: url, textContent: label, rel: "noopener noreferrer nofollow" });
      const item = document.createElement("li");
      item.append(a);
      return item;
    }),
  );
  document.getElementById("listings").replaceChildren(...store.listings.map((l) => listingCard(l)));
  document.getElementById("empty").hidden = store.listings.length > 0;
  document.getElementById("store").hidden = false;
} catch (err) {
  flash(err instanceof ApiError && err.status === 404 ? "No creator has that handle." : describeError(err));
}
