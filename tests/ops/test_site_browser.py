"""The built site in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver, opening the site from disk as anyone with a clone would. It checks
what a person sees — the tag list, a tag's DAG, a failed submission's reason, a search that
finds a file — and that the browser logged no error and asked for nothing outside the site.

``SHREK_SCREENSHOTS=DIR`` keeps the front page's and the tag page's screenshots there (the
ones in docs/ were made so)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shrek.core.registry import Registry
from shrek.ops.site import build_site
from shrek.ops.site.pages import page_name
from shrek.ops.tag import TagRequest, new_tag
from tests.ops.conftest import DEMO_TAG

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
EVENTS = "prod.sP22aa-local.demo-pass1.events.s0001"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail("Debian's chromium and chromium-driver are needed: make install-browser")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _requests(driver) -> list[str]:
    """Every URL the browser asked for since the last call."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _keep(driver, name: str) -> None:
    keep = os.environ.get("SHREK_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(keep) / name))


def test_a_person_finds_the_tag_its_dag_its_failure_and_a_file(
    produced: Registry, browser, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = browser
    new_tag(produced, TagRequest(label="sP22ab", build="local", template="demo", title="A draft"))
    out = tmp_path / "site"
    build_site(produced, out, files=True)
    driver.get((out / "index.html").as_uri())
    row, draft = driver.find_elements(By.CSS_SELECTOR, "#tags tbody tr")
    assert row.is_displayed() and DEMO_TAG in row.text and "4/8 (4 failed)" in row.text
    _keep(driver, "site-front.png")
    state = Select(driver.find_element(By.ID, "f-state"))
    state.select_by_visible_text("draft")
    assert not row.is_displayed() and draft.is_displayed()  # only the draft is left
    state.select_by_index(0)
    assert row.is_displayed()
    driver.find_element(By.CSS_SELECTOR, 'button[data-column="4"]').click()  # sort by title
    assert driver.find_elements(By.CSS_SELECTOR, "#tags tbody tr")[0].text.find("A draft") > 0
    driver.refresh()
    ActionChains(driver).send_keys(Keys.TAB).perform()
    assert driver.switch_to.active_element.text == "Skip to the content"  # keyboard first stop

    driver.find_element(By.LINK_TEXT, DEMO_TAG).click()
    steps = driver.find_elements(By.CSS_SELECTOR, "svg.dag g.step")
    assert len(steps) == 2 and all(s.is_displayed() for s in steps)
    assert driver.find_element(By.CSS_SELECTOR, "svg.dag .edge").is_displayed()
    failures = driver.find_element(By.CSS_SELECTOR, "ul.failures")
    assert "exit 3: cannot open Fun4All_G4_Pileup_pp.C" in failures.text
    _keep(driver, "site-tag.png")

    search = driver.find_element(By.ID, "q")
    search.send_keys("mb_2.txt", Keys.ENTER)
    result = WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#results a")  # once search.html has run
    )
    assert result.text == "mb_2.txt"
    result.click()
    assert driver.current_url.endswith(
        page_name("datasets", "demo.minbias.background") + "#f-mb_2.txt"
    )
    assert driver.find_element(By.ID, "f-mb_2.txt").is_displayed()

    made = sorted((produced.state_dir / "store" / EVENTS).iterdir())[2]  # a file a job wrote
    driver.find_element(By.ID, "q").send_keys(made.name, Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "#results a"))
    driver.find_element(By.CSS_SELECTOR, "#results a").click()
    file_row = driver.find_element(By.ID, f"f-{made.name}")
    job = file_row.find_element(By.CSS_SELECTOR, "td:last-child a")
    assert job.text == "3" and str(made) in file_row.text  # its job, and where the file is
    job.click()
    assert driver.current_url.endswith("#s-sP22aa-local-demo-pass1-0001")

    driver.set_window_size(390, 844)  # a phone's width: nothing wider than the screen
    driver.get((out / page_name("tags", DEMO_TAG)).as_uri())
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    own = ("file://", "data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "devtools:")
    outside = [u for u in _requests(driver) if not u.startswith(own)]  # the browser's own pages
    assert outside == []


def test_the_browser_is_installed_by_the_project_files() -> None:
    """make install-browser installs what the test above drives (never by hand)."""
    assert shutil.which("chromium") == CHROMIUM and shutil.which("chromedriver") == CHROMEDRIVER


def test_a_large_registry_reads_the_same_way(produced: Registry, browser, tmp_path: Path) -> None:
    """300 tags over two years (copies of the produced demo tag): the list filters by year,
    the search finds a tag by its label among thousands of entries, nothing is logged."""
    import re
    import shutil
    import subprocess

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from shrek.core.labels import Label, sequence_letters

    source = produced.tag_dir(DEMO_TAG)
    lines = []
    for n in range(1, 300):
        label = str(Label("sP", 23 + n // 150, sequence_letters(n % 150 + 1)))
        target = produced.tags_dir / f"{label}-local"
        shutil.copytree(source, target)
        for path in target.rglob("*.yaml"):
            path.write_text(re.sub(r"sP22aa", label, path.read_text()))
        lines.append(f"{label}  {label}-local  2026-01-01T00:00:00Z  test\n")
    with open(produced.root / "labels.ledger", "a") as ledger:
        ledger.writelines(lines)
    subprocess.run(["git", "add", "-A"], cwd=produced.root, check=True)
    subprocess.run(["git", "commit", "-qm", "test: 300 tags"], cwd=produced.root, check=True)
    out = tmp_path / "site"
    assert build_site(produced, out).tags == 300
    driver = browser
    driver.get((out / "index.html").as_uri())
    rows = driver.find_elements(By.CSS_SELECTOR, "#tags tbody tr")
    assert len(rows) == 300
    Select(driver.find_element(By.ID, "f-year")).select_by_visible_text("24")
    shown = [r for r in rows if r.is_displayed()]
    assert len(shown) == 150 and all("sP24" in r.text for r in shown)
    driver.get((out / "search.html").as_uri() + "?q=sP24cz-local")
    first = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "#results a"))
    assert first.text == "sP24cz-local"
    first.click()
    assert driver.find_element(By.TAG_NAME, "h1").text == "sP24cz-local"
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
