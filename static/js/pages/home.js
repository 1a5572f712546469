/** Home page: the layout, and calls to action that fit the visitor. */

import { onSessionChange } from "../api.js";
import { mountLayout } from "../layout.js";

function showActions(account) {
  document.querySelector("[data-signed-in]").hidden = !account;
  document.querySelector("[data-signed-out]").hidden = Boolean(account);
}

onSessionChange(showActions);
showActions(await mountLayout());
