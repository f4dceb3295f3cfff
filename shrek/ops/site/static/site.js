// shrek site: filtering and sorting the front page's table, and the search page. The pages
// read without it; it fetches nothing (the search index is the site's own search-index.js).
"use strict";

function tagTable() {
  const table = document.getElementById("tags");
  if (!table) return;
  const body = table.tBodies[0];
  const selects = Array.from(document.querySelectorAll("select[data-filter]"));
  const filter = () => {
    const wanted = selects.map((s) => [s.dataset.filter, s.value]);
    for (const row of body.rows) {
      row.hidden = !wanted.every(([key, value]) => !value || row.dataset[key] === value);
    }
  };
  selects.forEach((s) => s.addEventListener("change", filter));
  let order = { column: -1, up: true };
  table.querySelectorAll("thead button").forEach((button) => {
    button.addEventListener("click", () => {
      const column = Number(button.dataset.column);
      order = { column, up: order.column === column ? !order.up : true };
      const key = (row) => {
        const cell = row.cells[column];
        const sort = cell.dataset.sort;
        return sort !== undefined ? Number(sort) : cell.textContent.trim().toLowerCase();
      };
      const rows = Array.from(body.rows).sort((a, b) => {
        const x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (order.up ? 1 : -1);
      });
      rows.forEach((row) => body.appendChild(row));
      table.querySelectorAll("thead th").forEach((th, n) => {
        th.setAttribute("aria-sort", n === column ? (order.up ? "ascending" : "descending") : "none");
      });
    });
  });
}

function search() {
  const list = document.getElementById("results");
  if (!list) return;
  const status = document.getElementById("results-status");
  const query = (new URLSearchParams(location.search).get("q") || "").trim();
  document.getElementById("q").value = query;
  if (!query) { status.textContent = "Type what you look for in the search box."; return; }
  const entries = window.SHREK_INDEX || [];
  const needle = query.toLowerCase();
  const found = entries.filter(([text]) => text.toLowerCase().includes(needle));
  found.sort((a, b) => (a[0].toLowerCase() === needle ? -1 : 0) - (b[0].toLowerCase() === needle ? -1 : 0));
  status.textContent = found.length
    ? `${found.length} match(es) for “${query}”` + (found.length > 200 ? ", the first 200:" : ":")
    : `Nothing matches “${query}”.`;
  for (const [text, kind, page] of found.slice(0, 200)) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = page;
    link.textContent = text;
    item.append(link, ` (${kind})`);
    list.appendChild(item);
  }
}

tagTable();
search();
