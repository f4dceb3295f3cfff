"""Write the site: every page rendered, only the files whose bytes changed written (so a
re-build after one new record rewrites the pages that show it, and a web server or a Pages
upload sees only those), pages of tags and datasets that are gone removed."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.ops.site import pages
from shrek.ops.site.collect import SiteData, collect

STATIC = Path(__file__).parent / "static"
MARKER = ".shrek-site"  # a directory holding it was written by shrek site: stale pages may go


@dataclass(frozen=True)
class SiteReport:
    directory: Path
    pages: int
    written: int
    removed: int
    tags: int
    datasets: int
    seconds: float
    in_work_tree: bool = False  # git sees it: a later submit would find the tree dirty


def build_site(registry: Registry, out: Path, *, files: bool = False) -> SiteReport:
    """Build the site of ``registry`` into ``out`` (created; refused when it holds files
    that another program wrote, which a build would mix with its own); ``files``: list the
    outputs' files too, from the catalogue."""
    started = time.perf_counter()
    _claim(out)
    site, data = pages_of(registry, files=files)
    written = 0
    for relative, text in site.items():
        target = out / relative
        content = text.encode()
        try:
            if target.read_bytes() == content:
                continue
        except OSError:
            target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, content)
        written += 1
    removed = 0
    for kind in ("tags", "datasets"):
        for stale in sorted((out / kind).glob("*.html")):
            if f"{kind}/{stale.name}" not in site:
                stale.unlink()
                removed += 1
    return SiteReport(
        out,
        len(site),
        written,
        removed,
        len(data.tags),
        len(data.datasets),
        time.perf_counter() - started,
        _in_work_tree(registry, out),
    )


def _in_work_tree(registry: Registry, out: Path) -> bool:
    """Whether the site lies in the registry's work tree, outside its ignored state dir."""
    where = out.resolve()
    return where.is_relative_to(registry.root.resolve()) and not where.is_relative_to(
        registry.state_dir.resolve()
    )


def _replace(target: Path, content: bytes) -> None:
    """A page replaced whole (a reader sees the old one or the new one), without the fsync
    of a record's write: the site is rebuilt from the registry whenever it is lost."""
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def pages_of(registry: Registry, *, files: bool = False) -> tuple[dict[str, str], SiteData]:
    """Every file of the site (its path in the site: its text), and what it was made from."""
    data = collect(registry, catalogue=files)
    site: dict[str, str] = {}
    site["index.html"] = pages.index_page(data)
    site["search.html"] = pages.search_page()
    site[pages.INDEX] = pages.search_index(data)
    for name in ("site.css", "site.js"):
        site[name] = (STATIC / name).read_text()
    site[MARKER] = "Written by 'shrek site': it replaces the pages here on every build.\n"
    for tag in data.tags:
        site[pages.page_name("tags", tag.row["name"])] = pages.tag_page(data, tag)
    for dataset in data.datasets.values():
        site.update(pages.dataset_pages(data, dataset))
    return site, data


def _claim(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ShrekError(
            f"{out} is not a directory", "give a directory for the site", ExitCode.USAGE
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ShrekError(
            f"{out} holds files 'shrek site' did not write",
            "give an empty or new directory (or one an earlier 'shrek site' wrote)",
            ExitCode.CONFLICT,
        )
    out.mkdir(parents=True, exist_ok=True)
