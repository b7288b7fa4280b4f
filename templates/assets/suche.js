// The search page: Pagefind's indexes (one per year or part of a year, and one for the pages), merged in the browser.
const form = document.getElementById("suche");
const field = document.getElementById("suchbegriff");
const topic = document.getElementById("thema");
const year = document.getElementById("jahr");
const status = document.getElementById("suchstatus");
const list = document.getElementById("treffer");
const base = new URL(form.dataset.root || "./", location.href);
const indexes = JSON.parse(form.dataset.indexes);
const SHOWN = 30;

function fill(select, counts, order) {
  for (const name of Object.keys(counts || {}).sort(order)) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = `${name} (${counts[name]})`;
    select.append(option);
  }
}

// An excerpt is HTML with <mark> around the hits: keep its text and the marks, nothing else.
function excerpt(htmlText) {
  const doc = new DOMParser().parseFromString(`<p>${htmlText}</p>`, "text/html");
  const p = document.createElement("p");
  for (const node of doc.body.firstChild.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      p.append(mark);
    } else {
      p.append(document.createTextNode(node.textContent));
    }
  }
  return p;
}

function result(data) {
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title;
  heading.append(link);
  item.append(heading);
  if (data.meta.datum) {
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = data.meta.datum;
    item.append(meta);
  }
  item.append(excerpt(data.excerpt));
  return item;
}

async function start() {
  const pagefind = await import(new URL(`pagefind/${indexes[0]}/pagefind.js`, base).href);
  await pagefind.options({ baseUrl: base.pathname, excerptLength: 24 });
  // merged at once: a large archive has dozens of indexes, each a request away
  await Promise.all(indexes.slice(1).map((name) => pagefind.mergeIndex(new URL(`pagefind/${name}/`, base).href)));
  const filters = await pagefind.filters();
  fill(topic, filters.Thema, (a, b) => a.localeCompare(b, "de"));
  fill(year, filters.Jahr, (a, b) => b.localeCompare(a));
  form.hidden = false;

  let current = 0;
  async function run() {
    const query = field.value.trim();
    const chosen = {};
    if (topic.value) chosen.Thema = topic.value;
    if (year.value) chosen.Jahr = year.value;
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    if (topic.value) params.set("thema", topic.value);
    if (year.value) params.set("jahr", year.value);
    history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
    if (!query && !Object.keys(chosen).length) {
      list.replaceChildren();
      status.textContent = "";
      return;
    }
    const ticket = ++current;
    const search = await pagefind.search(query || null, { filters: chosen });
    const data = await Promise.all(search.results.slice(0, SHOWN).map((r) => r.data()));
    if (ticket !== current) return; // a newer search has started
    list.replaceChildren(...data.map(result));
    const count = search.results.length;
    const what = query ? ` für „${query}“` : "";
    status.textContent = count === 0 ? `Keine Treffer${what}.`
      : `${count} ${count === 1 ? "Treffer" : "Treffer"}${what}${count > SHOWN ? `, die ersten ${SHOWN} werden gezeigt` : ""}.`;
  }

  let timer;
  field.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 300); });
  topic.addEventListener("change", run);
  year.addEventListener("change", run);
  form.addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(timer); run(); });
  const params = new URLSearchParams(location.search);
  field.value = params.get("q") || "";
  topic.value = params.get("thema") || "";
  year.value = params.get("jahr") || "";
  if (field.value || topic.value || year.value) run();
}

start().catch(() => {
  status.textContent = "Die Suche ist gerade nicht verfügbar. Alle Meldungen finden Sie im Archiv.";
});
