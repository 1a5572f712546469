/**
 * The search box in every page's header: suggestions as you type, Enter goes to the search page.
 */

const SUGGEST_DELAY_MS = 120;

export function searchBox() {
  const form = document.createElement("form");
  form.className = "header-search";
  form.action = "/search.html";
  form.method = "get";
  form.setAttribute("role", "search");
  const input = document.createElement("input");
  input.type = "search";
  input.name = "q";
  input.placeholder = "Search presets, packs, creators";
  input.autocomplete = "off";
  input.maxLength = 200;
  input.setAttribute("aria-label", "Search");
  input.setAttribute("list", "header-suggestions");
  input.value = new URLSearchParams(window.location.search).get("q") ?? "";
  const list = document.createElement("datalist");
  list.id = "header-suggestions";
  form.append(input, list);

  let timer = 0;
  let latest = 0;
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) return list.replaceChildren();
    timer = window.setTimeout(async () => {
      const ticket = ++latest;
      try {
        const r = await fetch(`/api/v1/search/suggest?q=${encodeURIComponent(q.slice(0, 100))}`);
        if (!r.ok || ticket !== latest) return;
        const body = await r.json();
        list.replaceChildren(...body.suggestions.map((s) => Object.assign(document.createElement("option"), { value: s })));
      } catch {
        // Suggestions are a convenience: a failed one is not worth a message.
      }
    }, SUGGEST_DELAY_MS);
  });
  return form;
}
