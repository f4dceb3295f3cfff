"""The site's HTML: plain, accessible pages that read without JavaScript (tables, links,
an SVG), with a small script only for filtering, sorting and search. Every value is escaped
here, once; nothing is fetched from another site."""

from __future__ import annotations

import hashlib
import json
from html import escape
from typing import Any

from shrek.core.naming import job_mark
from shrek.ops.site.collect import DatasetInfo, SiteData, TagInfo
from shrek.ops.site.dag import dag_svg

FILES_PER_PAGE = 500
INDEX = "search-index.js"  # a script, not JSON: a site opened from disk (file://) may not fetch
STATES = ("draft", "frozen", "submitted", "running", "partial", "done", "failed", "superseded")


def page_name(kind: str, name: str) -> str:
    """A page's file name: readable, and safe for any dataset name (scope:name, '/')."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    if safe != name:  # two names that differ only in unsafe characters stay apart
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{kind}/{safe}.html"


def _layout(title: str, body: str, depth: int, *, script: bool = False, index: bool = False) -> str:
    up = "../" * depth
    js = f'<script src="{up}{INDEX}" defer></script>' if index else ""
    js += f'<script src="{up}site.js" defer></script>' if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · SHREK</title>"
        f'<link rel="stylesheet" href="{up}site.css">{js}</head><body>'
        '<a class="skip" href="#main">Skip to the content</a>'
        f'<header><a class="home" href="{up}index.html">SHREK productions</a>'
        f'<form class="search" action="{up}search.html" method="get" role="search">'
        '<label for="q">Search</label>'
        '<input id="q" name="q" type="search" placeholder="file, dataset, label or code SHA">'
        '<button type="submit">Find</button></form></header>'
        f'<main id="main">{body}</main>'
        "<footer>Built by <code>shrek site</code> from the registry's committed files.</footer>"
        "</body></html>\n"
    )


def _commit(site: SiteData, sha: str) -> str:
    if not sha:
        return ""
    short = escape(sha[:12])
    if site.commit_url:
        return f'<a href="{escape(site.commit_url.format(sha=sha))}"><code>{short}</code></a>'
    return f"<code>{short}</code>"


def _state(state: str) -> str:
    return f'<span class="state {escape(state)}">{escape(state)}</span>'


def _bar(done: int, failed: int, total: int) -> str:
    """Jobs done and failed of the total, as a bar with its numbers in words beside it."""
    if not total:
        return '<span class="muted">no jobs yet</span>'
    d, f = 100 * done / total, 100 * failed / total
    return (
        f'<span class="bar" role="img" aria-label="{done} of {total} jobs done, {failed} failed">'
        f'<span class="done" style="width:{d:.1f}%"></span>'
        f'<span class="failed" style="width:{f:.1f}%"></span></span>'
        f' <span class="count">{done}/{total}{f" ({failed} failed)" if failed else ""}</span>'
    )


# -- the front page ----------------------------------------------------------------------------


def index_page(site: SiteData) -> str:
    rows = []
    for tag in site.tags:
        r = tag.row
        year = r["label"][2:4] if len(r["label"]) >= 4 else ""
        marks = "".join(
            f' <span class="flag">{n} {what}</span>'
            for n, what in ((r["invalid"], "invalid"), (r["tainted"], "tainted"))
            if n
        )
        rows.append(
            f'<tr data-state="{escape(r["state"])}" data-year="{escape(year)}" '
            f'data-build="{escape(r["build"])}">'
            f'<td><a href="{page_name("tags", r["name"])}">{escape(r["name"])}</a></td>'
            f"<td>{_state(r['state'])}{marks}</td><td>{escape(r['build'])}</td>"
            f"<td>{escape(tag.owner)}</td><td>{escape(r['title'])}</td>"
            f'<td data-sort="{r["steps"]}">{r["steps"]}</td>'
            f'<td data-sort="{tag.jobs["done"]}">'
            f"{_bar(tag.jobs['done'], tag.jobs['failed'], tag.jobs['total'])}</td>"
            f"<td>{escape(tag.last_activity.replace('T', ' ').removesuffix('Z'))}</td></tr>"
        )
    states = sorted({t.row["state"] for t in site.tags}, key=_state_order)
    years = sorted({t.row["label"][2:4] for t in site.tags})
    builds = sorted({t.row["build"] for t in site.tags})
    body = (
        f"<h1>Productions of {escape(site.title)}</h1>"
        f'<p class="muted">{len(site.tags)} tag(s), {len(site.datasets)} dataset(s); at '
        f"{_commit(site, site.head)}.</p>"
        '<form class="filters" aria-label="Filter the tags">'
        + _select("state", "State", states)
        + _select("year", "Year", years)
        + _select("build", "Build", builds)
        + "</form>"
        '<div class="scroll"><table id="tags" class="sortable"><caption>Every tag; choose a '
        "column heading to sort by it</caption><thead><tr>"
        + "".join(
            f'<th scope="col"><button type="button" data-column="{n}">{h}</button></th>'
            for n, h in enumerate(
                ("Tag", "State", "Build", "Owner", "Title", "Steps", "Jobs", "Last activity")
            )
        )
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )
    return _layout("Productions", body, 0, script=True)


def _state_order(state: str) -> int:
    return STATES.index(state) if state in STATES else len(STATES)


def _select(name: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return (
        f'<label for="f-{name}">{label}</label><select id="f-{name}" data-filter="{name}">'
        f'<option value="">any</option>{options}</select>'
    )


# -- a tag -------------------------------------------------------------------------------------


def tag_page(site: SiteData, tag: TagInfo) -> str:
    r = tag.row
    links = {s.name: f"#step-{s.name}" for s in tag.steps}
    svg = dag_svg([s.name for s in tag.steps], tag.edges, tag.step_states, links)
    parts = [
        f"<h1>{escape(r['name'])}</h1>",
        f'<p class="lead">{escape(r["title"])}</p>',
        '<dl class="facts">',
        f"<dt>State</dt><dd>{_state(r['state'])}</dd>",
        f"<dt>Build</dt><dd>{escape(r['build'])}</dd>",
        f"<dt>Owner</dt><dd>{escape(tag.owner) or '—'}</dd>",
        f"<dt>Jobs</dt><dd>{_bar(tag.jobs['done'], tag.jobs['failed'], tag.jobs['total'])}</dd>",
        f"<dt>Last change</dt><dd>{_commit(site, tag.commit)}</dd>",
        "</dl>",
    ]
    if tag.description:
        parts.append(f'<p class="description">{escape(tag.description)}</p>')
    parts.append(_lineage(site, tag))
    parts.append(f'<h2 id="dag">Steps</h2><div class="scroll">{svg}</div>')
    parts += [_step(tag, step) for step in tag.steps]
    parts.append(_freeze(site, tag))
    parts.append(_submissions(site, tag))
    return _layout(r["name"], "".join(parts), 1)


def _lineage(site: SiteData, tag: TagInfo) -> str:
    lineage, items = tag.lineage, []
    if lineage["parent"]:
        items.append(f"Derived from {_tag_link(lineage['parent'])}")
    if lineage["supersedes"]:
        items.append(f"Supersedes {_tag_link(lineage['supersedes'])}")
    if lineage["superseded_by"]:
        items.append(f"Superseded by {_tag_link(lineage['superseded_by'])}")
    for submission, reason in sorted(lineage["invalidated"].items()):
        derived = site.tainted_by.get(submission, [])
        taints = "; it taints " + ", ".join(_submission_link(s) for s in derived) if derived else ""
        items.append(
            f"Submission <code>{escape(submission)}</code> invalid: {escape(reason)}{taints}"
        )
    for row in tag.submissions:
        if row["tainted"]:
            items.append(
                f"Submission <code>{escape(row['id'])}</code> read invalid outputs "
                f"({escape(row['tainted'])})"
            )
    if not items:
        return ""
    return (
        '<h2 id="lineage">Lineage</h2><ul class="lineage">'
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul>"
    )


def _submission_link(ident: str) -> str:
    """A submission on its tag's page (its id begins with the tag's name)."""
    tag = ident.partition("/")[0]
    anchor = f"../{page_name('tags', tag)}#s-{ident.replace('/', '-')}"
    return f'<a href="{escape(anchor)}"><code>{escape(ident)}</code></a>'


def _tag_link(name: str) -> str:
    return f'<a href="../{page_name("tags", name)}">{escape(name)}</a>'


def _dataset_link(name: str, depth: int = 1) -> str:
    return f'<a href="{"../" * depth}{page_name("datasets", name)}">{escape(name)}</a>'


def _step(tag: TagInfo, step: Any) -> str:
    rows = []
    if step.jobs is not None:
        rows.append(("Jobs", str(step.jobs)))
    names = {s.name for s in tag.steps}
    for item in step.inputs:
        kind = "Secondary input" if item.secondary else "Input"
        what = f"{item.files_per_job} file(s) per job"
        if item.match:
            what += f", only files matching <code>{escape(item.match)}</code>"
        producer = item.dataset.partition(".")[0]
        target = (
            f'<a href="#step-{escape(producer)}">{escape(item.dataset)}</a>'
            if producer in names and "." in item.dataset
            else _dataset_link(item.dataset)
        )
        rows.append((kind, f"{target}, {what}"))
    for output in step.outputs:
        rows.append(
            (
                "Output",
                f"<code>{escape(step.name)}.{escape(output.name)}</code> "
                f"(<code>{escape(output.files)}</code>)",
            )
        )
    for name, value in step.parameters.items():
        rows.append(
            (f"Parameter <code>{escape(str(name))}</code>", f"<code>{escape(str(value))}</code>")
        )
    for name, value in step.requirements.items():
        rows.append((f"Requirement <code>{escape(str(name))}</code>", escape(str(value))))
    table = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    state = tag.step_states.get(step.name, "never submitted")
    return (
        f'<section class="step" id="step-{escape(step.name)}"><h3>{escape(step.name)} '
        f"{_state(state)}</h3><p>{escape(step.description)}</p>"
        f'<table class="kv">{table}</table></section>'
    )


def _freeze(site: SiteData, tag: TagInfo) -> str:
    frozen = tag.freeze
    if not frozen:
        return '<h2 id="freeze">Freeze</h2><p class="muted">Not frozen.</p>'
    rows = [("Digest", f"<code>{escape(frozen['digest'])}</code>")]
    if tag.freeze_commit:
        rows.append(("Recorded in", _commit(site, tag.freeze_commit)))
    rows += [
        (k.replace("_", " ").capitalize(), escape(str(v))) for k, v in frozen["frozen"].items()
    ]
    rows += [
        (
            f"Code {escape(c['name'])}",
            f"<code>{escape(c['commit'])}</code> ({escape(c.get('ref', ''))})",
        )
        for c in frozen.get("code", [])
    ]
    for item in frozen.get("inputs", []):
        rows.append(
            (
                f"Input {_dataset_link(item['dataset'])}",
                f"{item['files']} file(s), {item['bytes']} bytes",
            )
        )
    table = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<h2 id="freeze">Freeze</h2><table class="kv">{table}</table>'


def _submissions(site: SiteData, tag: TagInfo) -> str:
    if not tag.submissions:
        return '<h2 id="submissions">Submissions</h2><p class="muted">None yet.</p>'
    rows = []
    for row in tag.submissions:
        jobs = row["jobs"]
        outputs = "<br>".join(
            _dataset_link(o["dataset"]) + _size(site.datasets.get(o["dataset"]))
            for o in row["outputs"].values()
        )
        seq = row["sequences"]
        flags = " (test)" if row["test"] else ""
        if row["invalid"]:
            flags += f' <span class="flag">invalid: {escape(row["invalid"])}</span>'
        failures = "".join(
            f"<li>{f['count']} job(s): {escape(str(f['reason']))}</li>" for f in row["failures"]
        )
        rows.append(
            f'<tr id="s-{escape(row["id"].replace("/", "-"))}">'
            f"<td><code>{escape(row['id'])}</code>{flags}</td>"
            f"<td>{_state(row['state'])}</td><td>{seq['first']}&ndash;{seq['last']}</td>"
            f"<td>{_bar(*(int(jobs.get(k, 0)) for k in ('done', 'failed', 'total')))}"
            f"{f'<ul class=failures>{failures}</ul>' if failures else ''}</td>"
            f"<td>{outputs}</td><td>{_commit(site, row['commit'])}</td></tr>"
        )
    return (
        '<h2 id="submissions">Submissions</h2><div class="scroll"><table><thead><tr>'
        '<th scope="col">Submission</th><th scope="col">State</th><th scope="col">Sequences</th>'
        '<th scope="col">Jobs</th><th scope="col">Outputs</th><th scope="col">Recorded in</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
    )


def _size(dataset: DatasetInfo | None) -> str:
    """' (N files, B bytes)' where the site knows the dataset's files (with --files)."""
    if dataset is None or not dataset.files:
        return ""
    total = sum(size for _, size, _, _ in dataset.files)
    return f' <span class="count">({len(dataset.files)} files, {total:,} bytes)</span>'


# -- a dataset ---------------------------------------------------------------------------------


def dataset_pages(site: SiteData, dataset: DatasetInfo) -> dict[str, str]:
    """The dataset's page, and one more page per FILES_PER_PAGE files beyond the first."""
    chunks = [
        dataset.files[k : k + FILES_PER_PAGE] for k in range(0, len(dataset.files), FILES_PER_PAGE)
    ] or [[]]
    first = page_name("datasets", dataset.name)
    names = [first] + [first.replace(".html", f"-{n}.html") for n in range(2, len(chunks) + 1)]
    pages = {}
    for n, (name, chunk) in enumerate(zip(names, chunks, strict=True), start=1):
        body = _dataset_head(site, dataset) if n == 1 else f"<h1>{escape(dataset.name)}</h1>"
        body += _files(dataset, chunk, n, names)
        pages[name] = _layout(dataset.name, body, 1)
    return pages


def _dataset_head(site: SiteData, dataset: DatasetInfo) -> str:
    parts = [f"<h1>{escape(dataset.name)}</h1>"]
    if dataset.invalid:
        parts.append(f'<p class="flag">Invalid: {escape(dataset.invalid)}</p>')
    if dataset.tainted:
        parts.append(f'<p class="flag">Tainted: {escape(dataset.tainted)}</p>')
    made = dataset.made_by
    if made is not None:
        anchor = f"../{page_name('tags', dataset.tag)}#s-{made['id'].replace('/', '-')}"
        parts.append(
            f'<p>Written by submission <a href="{escape(anchor)}">'
            f"<code>{escape(made['id'])}</code></a> ({_state(made['state'])}), sequence numbers "
            f"{made['sequences']['first']}&ndash;{made['sequences']['last']}; recorded in "
            f"{_commit(site, made['commit'])}.</p>"
        )
        parts.append("<h2>Made from</h2>" + _provenance(site, dataset, set()))
    else:
        parts.append("<p>An external dataset: no step of this registry writes it.</p>")
    if dataset.frozen_in:
        parts.append(
            "<p>Pinned by the freeze of "
            + ", ".join(
                _tag_link(t)
                + (
                    f" ({_commit(site, site.freeze_commits[t])})"
                    if t in site.freeze_commits
                    else ""
                )
                for t in sorted(dataset.frozen_in)
            )
            + ".</p>"
        )
    if dataset.read_by:
        parts.append(
            "<h2>Read by</h2><ul>"
            + "".join(
                f'<li><a href="../{page_name("tags", t)}#s-{escape(s.replace("/", "-"))}">'
                f"<code>{escape(s)}</code></a></li>"
                for t, s in sorted(set(dataset.read_by))
            )
            + "</ul>"
        )
    return "".join(parts)


def _provenance(site: SiteData, dataset: DatasetInfo, seen: set[str]) -> str:
    """The chain up from a dataset: what each input was, and what made it, to the external
    datasets at the top (each dataset once)."""
    items = []
    for declared, name in sorted(dataset.reads.items()):
        if name in seen:
            continue
        seen.add(name)
        parent = site.datasets.get(name)
        inner = ""
        if parent is not None and parent.made_by is not None:
            inner = f" — by <code>{escape(parent.made_by['id'])}</code>" + _provenance(
                site, parent, seen
            )
        items.append(f"<li>{_dataset_link(name)} (as <code>{escape(declared)}</code>){inner}</li>")
    return '<ul class="provenance">' + "".join(items) + "</ul>" if items else ""


def _files(
    dataset: DatasetInfo, chunk: list[tuple[str, int, str, str]], n: int, names: list[str]
) -> str:
    if not dataset.files:
        return (
            '<h2>Files</h2><p class="muted">The registry commits no file list for it: its '
            "files are in the catalogue (<code>shrek dataset show</code>; <code>shrek site "
            "--files</code> lists them here).</p>"
        )
    nav = ""
    if len(names) > 1:
        nav = (
            '<nav class="pages" aria-label="Pages of files">'
            + " ".join(
                f'<a href="../{escape(p)}"{" aria-current=page" if k == n else ""}>{k}</a>'
                for k, p in enumerate(names, start=1)
            )
            + "</nav>"
        )
    located = any(where for *_, where in dataset.files)
    made = dataset.made_by
    rows = "".join(
        f'<tr id="f-{escape(name)}"><td><code>{escape(name)}</code></td><td>{size}</td>'
        f"<td><code>{escape(checksum)}</code></td>"
        + (f"<td><code>{escape(where)}</code></td>" if located else "")
        + (f"<td>{_job(dataset, name)}</td>" if made else "")
        + "</tr>"
        for name, size, checksum, where in chunk
    )
    head = '<th scope="col">Where</th>' if located else ""
    head += '<th scope="col">Made by job</th>' if made else ""
    return (
        f'<h2>Files ({len(dataset.files)})</h2>{nav}<div class="scroll"><table><thead><tr>'
        '<th scope="col">File</th><th scope="col">Bytes</th><th scope="col">Checksum</th>'
        f"{head}</tr></thead><tbody>{rows}</tbody></table></div>{nav}"
    )


def _job(dataset: DatasetInfo, file_name: str) -> str:
    """The job of the writing submission that made the file, as the file's name says."""
    mark = job_mark(file_name)
    if mark is None or dataset.made_by is None:
        return '<span class="muted">—</span>'
    anchor = f"../{page_name('tags', dataset.tag)}#s-{dataset.made_by['id'].replace('/', '-')}"
    return f'<a href="{escape(anchor)}">{int(mark)}</a>'


# -- search ------------------------------------------------------------------------------------


def search_index(site: SiteData) -> str:
    """[text, kind, page] for every label, tag, dataset, file, code SHA and submission, as a
    script: the search page looks these up in the browser, with no server."""
    entries: list[list[str]] = []
    for tag in site.tags:
        page = page_name("tags", tag.row["name"])
        entries.append([tag.row["name"], "tag", page])
        entries.append([tag.row["title"], "title", page])
        for code in (tag.freeze or {}).get("code", []):
            entries.append([code["commit"], f"code {code['name']}", page])
        for row in tag.submissions:
            entries.append([row["id"], "submission", f"{page}#s-{row['id'].replace('/', '-')}"])
    for dataset in site.datasets.values():
        page = page_name("datasets", dataset.name)
        entries.append([dataset.name, "dataset", page])
        for k, (name, *_) in enumerate(dataset.files):
            at = (
                page
                if k < FILES_PER_PAGE
                else page.replace(".html", f"-{k // FILES_PER_PAGE + 1}.html")
            )
            entries.append([name, f"file of {dataset.name}", f"{at}#f-{name}"])
    return "window.SHREK_INDEX = " + json.dumps(entries, separators=(",", ":")) + ";\n"


def search_page() -> str:
    body = (
        "<h1>Search</h1><p>Type a file name, a dataset, a label or a code SHA: each match "
        "leads to what made it.</p>"
        '<p id="results-status" role="status">Searching needs JavaScript; the front page '
        'lists every tag.</p><ol id="results"></ol>'
    )
    return _layout("Search", body, 0, script=True, index=True)
