/**
 * Money for display and for amount inputs, in the currency's minor unit as the server stores it
 * and Stripe counts it: integers of cents for EUR, of yen for JPY.
 *
 * How many digits a minor unit has comes from the server (GET /api/v1/currencies, from
 * `money.minor_digits`), not from the browser's Intl data, because the two disagree: ISK is whole
 * krónur to Intl, but Stripe still counts it in hundredths (an amount of 100 is 1 kr). Intl only
 * writes the number in the page's locale.
 */

const table = await fetch("/api/v1/currencies")
  .then((r) => (r.ok ? r.json() : null))
  .catch(() => null);

function intlDigits(currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

/** The store's currency (the server's settings): new listings and price filters use it. */
export function storeCurrency() {
  return table?.store ?? "USD";
}

/** Decimals of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD. */
export function minorDigits(currency) {
  const code = String(currency).toUpperCase();
  // Without the server's table (it did not answer), the browser's own idea is right for most.
  if (!table) return intlDigits(code);
  return table.digits[code] ?? table.default;
}

/** Minor units per major unit (100 for EUR, 1 for JPY): for amount inputs typed in major units. */
export function minorPerMajor(currency) {
  return 10 ** minorDigits(currency);
}

/** "€15.00", "¥1,500", "ISK 1,500" from an integer amount of minor units. */
export function formatMoney(minor, currency) {
  const digits = minorDigits(currency);
  // As the currency is usually written (no ",00" on krónur), but never hiding a fraction that is there.
  const usual = Math.min(intlDigits(currency), digits);
  const format = new Intl.NumberFormat(undefined, {
    style: "currency",
    currency,
    minimumFractionDigits: usual,
    maximumFractionDigits: digits,
  });
  return format.format(minor / 10 ** digits);
}

/** "€15.00", "Free", "Pay what you want (from $3.00)" */
export function formatPrice(price) {
  const money = (minor) => formatMoney(minor, price.currency);
  if (price.kind === "free") return "Free";
  if (price.kind === "fixed") return money(price.amount);
  return price.pwyw_minimum ? `Pay what you want (from ${money(price.pwyw_minimum)})` : "Pay what you want";
}
