/**
 * The search page: instant results as you type, a facet sidebar with counts, filter chips,
 * sort and pages. The URL holds the whole state, so a search can be shared or reloaded.
 */

import { mountLayout } from "../layout.js";
import { formatMoney, minorDigits, minorPerMajor, storeCurrency } from "../money.js";

const FACETS = [
  ["kind", "kind", "Type"],
  ["synth", "synth", "Synth or plugin"],
  ["synth_versions", "synth_version", "Synth version"],
  ["daw", "daw", "DAW"],
  ["formats", "format", "Format"],
  ["genre", "genre", "Genre"],
  ["tags", "tag", "Tags"],
  ["musical_key", "key", "Key"],
  ["creator", "creator", "Creator"],
];
const KIND_NAMES = {
  preset: "Preset", preset_bank: "Preset bank", sample_pack: "Sample pack", project_template: "Project template",
  midi_pack: "MIDI pack", wavetable: "Wavetable", other: "Other",
};
// The range inputs take amounts in the store's currency (12.50 €, 1500 ¥); the API and the index
// count minor units. The index compares each listing's minor units as they are, so a listing in
// another currency than the store's is compared by its number alone.
const CURRENCY = storeCurrency();
const PRICE_UNIT = minorPerMajor(CURRENCY);
const RANGES = ["bpm_min", "bpm_max", "price_min", "price_max"];
const $ = (id) => document.getElementById(id);
let state = new URLSearchParams(window.location.search);
let latest = 0;

function setParam(name, value) {
  if (value === "" || value === false || value === null) state.delete(name);
  else state.set(name, String(value));
}

function toggleValue(param, value) {
  const values = state.getAll(param);
  state.delete(param);
  const next = values.includes(value) ? values.filter((v) => v !== value) : [...values, value];
  next.forEach((v) => state.append(param, v));
}

function resultItem(hit) {
  const li = document.createElement("li");
  li.className = "result";
  const h2 = document.createElement("h2");
  const a = document.createElement("a");
  a.href = `/listing.html?id=${encodeURIComponent(hit.id)}`;
  a.innerHTML = hit.title_html; // escaped by the server, with <mark> around matches
  h2.append(a);
  const snippet = document.createElement("p");
  snippet.innerHTML = hit.snippet_html;
  const meta = document.createElement("p");
  meta.className = "meta";
  const price = document.createElement("span");
  price.className = "price";
  price.textContent = hit.is_free ? "Free" : formatMoney(hit.price, hit.currency);
  const by = document.createElement("a");
  by.href = `/creator.html?handle=${encodeURIComponent(hit.creator)}`;
  by.textContent = `by ${hit.creator_name}`;
  const bits = [KIND_NAMES[hit.kind] ?? hit.kind, hit.synth, hit.daw, hit.genre, hit.bpm ? `${hit.bpm} BPM` : "", hit.musical_key]
    .filter(Boolean)
    .map((t) => Object.assign(document.createElement("span"), { textContent: t }));
  meta.append(price, by, ...bits);
  li.append(h2, snippet, meta);
  return li;
}

function renderFacets(facets, exact) {
  const lists = FACETS.map(([field, param, label]) => {
    const counts = facets[field] ?? {};
    const chosen = state.getAll(param);
    const names = [...new Set([...chosen, ...Object.keys(counts)])];
    if (names.length === 0) return null;
    const group = document.createElement("fieldset");
    group.className = "facet-group";
    group.append(Object.assign(document.createElement("legend"), { textContent: label }));
    for (const value of names) {
      const row = document.createElement("label");
      row.className = "facet-option";
      const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: chosen.includes(value) });
      box.dataset.param = param;
      box.dataset.value = value;
      box.addEventListener("change", () => { toggleValue(param, value); state.delete("page"); run(); });
      const count = Object.assign(document.createElement("span"), { className: "count", textContent: `${exact ? "" : "≈"}${counts[value] ?? 0}` });
      row.append(box, field === "kind" ? KIND_NAMES[value] ?? value : value, count);
      group.append(row);
    }
    return group;
  }).filter(Boolean);
  $("facet-lists").replaceChildren(...lists);
}

function renderChips() {
  const chips = [];
  for (const [field, param, label] of FACETS) {
    for (const value of state.getAll(param)) {
      const shown = field === "kind" ? KIND_NAMES[value] ?? value : value;
      chips.push([`${label}: ${shown}`, () => toggleValue(param, value)]);
    }
  }
  if (state.get("free")) chips.push(["Free only", () => state.delete("free")]);
  if (state.get("bpm_min")) chips.push([`BPM ≥ ${state.get("bpm_min")}`, () => state.delete("bpm_min")]);
  if (state.get("bpm_max")) chips.push([`BPM ≤ ${state.get("bpm_max")}`, () => state.delete("bpm_max")]);
  if (state.get("price_min")) chips.push([`Price ≥ ${priceShown("price_min")}`, () => state.delete("price_min")]);
  if (state.get("price_max")) chips.push([`Price ≤ ${priceShown("price_max")}`, () => state.delete("price_max")]);
  $("chips").replaceChildren(...chips.map(([text, remove]) => {
    const b = Object.assign(document.createElement("button"), { type: "button", className: "chip", textContent: text });
    b.setAttribute("aria-label", `Remove filter ${text}`);
    b.addEventListener("click", () => { remove(); state.delete("page"); showState(); run(); });
    return b;
  }));
}

function priceShown(param) {
  return formatMoney(Number(state.get(param)), CURRENCY);
}

/** The inputs as the state has them (after a chip is removed, or on back and forward). */
function showState() {
  $("q").value = state.get("q") ?? "";
  $("sort").value = state.get("sort") ?? "relevance";
  $("free").checked = state.get("free") === "true";
  for (const id of RANGES) {
    const value = state.get(id) ?? "";
    $(id).value = value && id.startsWith("price") ? String(Number(value) / PRICE_UNIT) : value;
  }
}

function renderEmpty(q) {
  const box = document.createElement("li");
  box.className = "empty";
  const filtered = [...state.keys()].some((k) => !["q", "sort", "page"].includes(k));
  box.textContent = filtered
    ? `Nothing matches${q ? ` “${q}”` : ""} with these filters. Remove a filter chip above to widen the search.`
    : q
      ? `No presets or packs match “${q}”. Check the spelling, try fewer words, or browse everything by clearing the search.`
      : "Nothing is published yet. Creators: publish a listing from your dashboard and it shows up here.";
  return box;
}

function renderPager(page, pages) {
  const buttons = [];
  const go = (p) => { setParam("page", p === 1 ? "" : p); run(); window.scrollTo(0, 0); };
  if (page > 1) buttons.push(Object.assign(document.createElement("button"), { className: "button button-ghost", textContent: "← Previous", onclick: () => go(page - 1) }));
  if (pages > 1) buttons.push(Object.assign(document.createElement("span"), { className: "muted", textContent: `Page ${page} of ${pages}` }));
  if (page < pages) buttons.push(Object.assign(document.createElement("button"), { className: "button button-ghost", textContent: "Next →", onclick: () => go(page + 1) }));
  $("pager").replaceChildren(...buttons);
}

async function run() {
  const ticket = ++latest;
  history.replaceState(null, "", `${window.location.pathname}${state.size ? `?${state}` : ""}`);
  renderChips();
  $("summary").textContent = "Searching…";
  let body;
  try {
    const r = await fetch(`/api/v1/search/?${state}`);
    body = await r.json();
    if (!r.ok) throw new Error(body.detail ?? "The search could not run.");
  } catch (err) {
    if (ticket !== latest) return;
    $("summary").textContent = `${err.message} Change the filters and try again.`;
    $("results").replaceChildren();
    return;
  }
  if (ticket !== latest) return; // a newer keystroke already asked
  const q = state.get("q") ?? "";
  const about = body.exhaustive ? "" : "About ";
  $("summary").textContent = body.total === 1 ? "1 result" : `${about}${body.total.toLocaleString()} results`;
  $("results").replaceChildren(...(body.hits.length ? body.hits.map(resultItem) : [renderEmpty(q)]));
  renderFacets(body.facets, body.exhaustive);
  renderPager(body.page, body.pages);
}

function debounce(fn, ms) {
  let t = 0;
  return (...args) => { window.clearTimeout(t); t = window.setTimeout(() => fn(...args), ms); };
}

await mountLayout();
showState();
const typed = debounce(() => { setParam("q", $("q").value.trim()); state.delete("page"); run(); }, 150);
$("q").addEventListener("input", typed);
$("search-form").addEventListener("submit", (e) => { e.preventDefault(); typed(); });
$("sort").addEventListener("change", () => { setParam("sort", $("sort").value === "relevance" ? "" : $("sort").value); run(); });
$("free").addEventListener("change", () => { setParam("free", $("free").checked ? "true" : ""); state.delete("page"); run(); });
for (const id of ["bpm_min", "bpm_max"]) {
  $(id).addEventListener("change", () => { setParam(id, $(id).value); state.delete("page"); run(); });
}
$("price-currency").textContent = CURRENCY;
for (const id of ["price_min", "price_max"]) {
  $(id).step = String(10 ** -minorDigits(CURRENCY));
  // Instant, like the query box; an empty or unreadable amount drops the bound.
  $(id).addEventListener("input", debounce(() => {
    const major = $(id).value === "" ? NaN : Number($(id).value);
    setParam(id, Number.isFinite(major) ? Math.round(major * PRICE_UNIT) : "");
    state.delete("page");
    run();
  }, 300));
}
window.addEventListener("popstate", () => { state = new URLSearchParams(window.location.search); showState(); run(); });
run();
