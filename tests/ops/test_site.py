"""``shrek site``: the registry as a static web catalogue, built from what is committed.

Here what the pages say and how the build writes them; ``test_site_browser.py`` opens the
built site in Debian's Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.ops.plan import SubmitRequest
from shrek.ops.site import build_site
from shrek.ops.site.pages import page_name
from shrek.ops.submit import submit
from tests.conftest import git
from tests.ops.conftest import BACKGROUND, DEMO_TAG, wait
from tests.records import copy_record


class _Links(HTMLParser):
    """Every link, script, stylesheet and image a page names."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.urls.append(value)


def _urls(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text())
    return parser.urls


def test_the_site_shows_every_tag_step_submission_and_dataset(
    produced: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    report = build_site(produced, out)
    assert (report.tags, report.written, report.removed) == (1, report.pages, 0)
    index = (out / "index.html").read_text()
    assert f'href="{page_name("tags", DEMO_TAG)}"' in index
    assert 'data-state="partial"' in index or 'data-state="failed"' in index
    assert 'aria-label="4 of 8 jobs done, 4 failed"' in index  # pass1 4 done, pass2 4 failed
    tag = (out / page_name("tags", DEMO_TAG)).read_text()
    assert tag.count('<g class="step') == 2 and "<svg" in tag  # both steps in the DAG
    assert 'class="step done"' in tag and 'class="step failed"' in tag
    assert "4 job(s): exit 3: cannot open Fun4All_G4_Pileup_pp.C" in tag
    assert "sha256:" in tag  # the freeze's digest
    pass1 = produced.tag_dir(DEMO_TAG) / "submissions" / "demo-pass1" / "0001.yaml"
    journal = re.search(r"journal_commit: (\w+)", pass1.read_text())[1]
    assert journal[:12] in tag  # the commit that recorded the submission
    merged = (out / page_name("datasets", "prod.sP22aa-local.demo-pass1.events.s0001")).read_text()
    assert "sP22aa-local/demo-pass1/0001" in merged and "Read by" in merged
    background = (out / page_name("datasets", BACKGROUND)).read_text()
    assert "mb_1.txt" in background and "Pinned by the freeze of" in background
    frozen_in = git(produced.root, "log", "-1", "--format=%H", "--", f"tags/{DEMO_TAG}/freeze.yaml")
    assert f"<code>{frozen_in[:12]}</code>" in background and frozen_in[:12] in tag
    index_js = (out / "search-index.js").read_text()
    assert '"mb_1.txt","file of demo.minbias.background"' in index_js


def test_nothing_is_fetched_from_another_site(produced: Registry, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(produced, out)
    for page in out.rglob("*.html"):
        for url in _urls(page):
            assert not re.match(r"[a-z]+:|//", url), (page.name, url)  # relative only
            if url.startswith("#"):
                continue
            target = (page.parent / url.split("#")[0].split("?")[0]).resolve()
            assert target.is_file(), (page.name, url)  # and every one exists


def test_commit_links_go_to_the_code_host_without_credentials(
    produced: Registry, tmp_path: Path
) -> None:
    git(produced.root, "remote", "add", "origin", "https://bot:s3cr3t@github.com/sphenix/prod.git")
    out = tmp_path / "site"
    build_site(produced, out)
    tag = (out / page_name("tags", DEMO_TAG)).read_text()
    assert "https://github.com/sphenix/prod/commit/" in tag
    assert "s3cr3t" not in "".join(p.read_text() for p in out.rglob("*.html"))


def test_a_rebuild_writes_only_the_pages_a_new_record_touches(
    produced: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(produced, out)
    assert build_site(produced, out).written == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    submit(produced, SubmitRequest("sP22aa/demo-pass2", again=True), wait=wait)
    report = build_site(produced, out)
    changed = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and p.read_bytes() != before.get(p)
    )
    assert report.written == len(changed)
    assert "index.html" in changed and page_name("tags", DEMO_TAG) in changed
    assert page_name("datasets", BACKGROUND) in changed  # read by the new submission
    old_output = page_name("datasets", "prod.sP22aa-local.demo-pass2.merged.s0001")
    assert (out / old_output).is_file() and old_output not in changed  # untouched: not rewritten
    assert "site.css" not in changed


def test_a_directory_of_other_files_is_never_written_into(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("mine\n")
    with pytest.raises(ShrekError) as refused:
        build_site(registry, tmp_path / "docs")
    assert refused.value.code == ExitCode.CONFLICT
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["notes.txt"]


def test_the_command_line_builds_the_site(produced: Registry, shrek, tmp_path: Path) -> None:
    done = shrek("site", "-o", str(tmp_path / "site"), cwd=produced.root)
    assert done.code == 0, done.err
    assert re.search(
        r"site of 1 tag\(s\) and 3 dataset\(s\) in .*: \d+ of \d+ file\(s\) written", done.out
    )
    again = shrek("site", "-o", str(tmp_path / "site"), cwd=produced.root)
    assert " 0 of " in again.out and not again.err
    inside = shrek("site", "-o", "site", cwd=produced.root)
    assert inside.code == 0 and "inside the registry's work tree" in inside.err


def _grown(registry: Registry, steps: int, records: int) -> None:
    """The produced demo tag grown to ``steps`` steps (copies of demo-pass1, each reading the
    one before) and ``records`` submission records of demo-pass1, committed."""
    tag_dir = registry.tag_dir(DEMO_TAG)
    (tag_dir / "freeze.yaml").unlink()
    source = (tag_dir / "job" / "demo-pass1.yaml").read_text()
    for n in range(3, steps + 1):
        text = source.replace("name: demo-pass1", f"name: extra-{n}")
        (tag_dir / "job" / f"extra-{n}.yaml").write_text(text)
    for n in range(2, records + 1):
        copy_record(tag_dir / "submissions" / "demo-pass1", n)
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-qm", "test: a tag of many steps and records")


def test_a_tag_page_of_ten_steps_and_a_hundred_submissions_stays_small(
    produced: Registry, tmp_path: Path
) -> None:
    """Issue 31: under 200 KB, so it opens quickly on a phone."""
    _grown(produced, steps=10, records=100)
    out = tmp_path / "site"
    build_site(produced, out)
    page = out / page_name("tags", DEMO_TAG)
    text = page.read_text()
    assert text.count('<g class="step') == 10 and text.count('<tr id="s-') == 101
    assert page.stat().st_size < 200_000, page.stat().st_size


def test_with_files_the_outputs_files_and_where_they_are_are_listed(
    produced: Registry, shrek, tmp_path: Path
) -> None:
    """Output files are in the catalogue, not in git: --files asks it, so a file a job wrote
    is found by name and shown with where it is."""
    out = tmp_path / "site"
    assert shrek("site", "-o", str(out), "--files", cwd=produced.root).code == 0
    dataset = "prod.sP22aa-local.demo-pass1.events.s0001"
    page = (out / page_name("datasets", dataset)).read_text()
    stored = sorted((produced.state_dir / "store" / dataset).iterdir())
    assert len(stored) == 4 and f"Files ({len(stored)})" in page
    assert all(f'id="f-{p.name}"' in page for p in stored)
    assert "Made by job" in page and re.search(r'#s-sP22aa-local-demo-pass1-0001">1</a>', page)
    assert str(stored[0]) in page  # where it is
    index = (out / "search-index.js").read_text()
    assert f'"{stored[0].name}","file of {dataset}"' in index
    without = (tmp_path / "plain").resolve()
    build_site(produced, without)
    assert "lists them here" in (without / page_name("datasets", dataset)).read_text()


def _luminance(colour: str) -> float:
    """WCAG 2's relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_text_colour_has_a_contrast_of_at_least_4_5() -> None:
    """WCAG AA for normal text: each colour the style sheet writes text in, on each
    background it writes text on (the page, the header and table heads, the DAG's boxes)."""
    from shrek.ops.site.build import STATIC

    css = (STATIC / "site.css").read_text()
    colours = dict(re.findall(r"--(\w+):\s*(#[0-9a-f]{6})", css))
    texts = ["fg", "muted", "link", "done", "failed", "run"]
    backgrounds = [colours["bg"], colours["head"], "#dafbe1", "#ffebe9", "#fff8c5"]
    low = [
        (name, background, round(_contrast(colours[name], background), 2))
        for name in texts
        for background in backgrounds[:2]
    ]
    low += [("fg", b, round(_contrast(colours["fg"], b), 2)) for b in backgrounds[2:]]
    assert [entry for entry in low if entry[2] < 4.5] == []


def test_an_invalidation_shows_what_it_taints(produced: Registry, tmp_path: Path) -> None:
    """Lineage: the invalid submission names, with links, every submission made from it."""
    from shrek.ops.lifecycle import invalidate

    invalidate(produced, "sP22aa/demo-pass1/0001", "wrong seed")
    out = tmp_path / "site"
    build_site(produced, out)
    tag = (out / page_name("tags", DEMO_TAG)).read_text()
    assert "<code>sP22aa-local/demo-pass1/0001</code> invalid: wrong seed; it taints " in tag
    assert 'href="../tags/sP22aa-local.html#s-sP22aa-local-demo-pass2-0001"' in tag
    index = (out / "index.html").read_text()
    assert "1 invalid" in index and "1 tainted" in index
