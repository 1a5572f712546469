/** Stripe's cancel link lands here; the cart stays in this browser. */

import { mountLayout } from "../layout.js";

await mountLayout();
