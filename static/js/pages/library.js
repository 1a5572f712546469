/** The buyer's library: everything they own, each linking to its page to download any version. */

import { api, describeError } from "../api.js";
import { listingCard } from "../catalog/cards.js";
import { flash, mountLayout } from "../layout.js";

const account = await mountLayout();
document.getElementById("loading").hidden = true;
if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent("/library.html")}`);
} else {
  try {
    const items = await api("/api/v1/library");
    const note = { grant: "given to you", purchase: "bought" };
    document.getElementById("listings").replaceChildren(...items.map((i) => listingCard(i.listing, note[i.source] ?? "")));
    document.getElementById("empty").hidden = items.length > 0;
  } catch (err) {
    flash(describeError(err));
  }
}
