"""The Dagster UI as operators see it, in headless Chromium: the webserver loads the code
location from workspace.yaml, and a backup run by `bgw backup` shows its job's assets, the
archive's metadata and checks, and the run. Screenshots go to docs/ for the README."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bgw_pipeline_tests.api.live_server import demo_database
from bgw_pipeline_tests.browser import ROOT, headless_chromium, screenshot
from bgw_pipeline_tests.s3_server import free_port

WAIT = 120
PAGE_WAIT = 45
LOCATION = "bgw_pipeline"  # workspace.yaml's location_name


def _loaded(base: str) -> bool:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    query += "locationOrLoadError { __typename } } } } }"
    try:
        answer = requests.post(f"{base}/graphql", json={"query": query}, timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    entries = answer["data"]["workspaceOrError"]["locationEntries"]
    return any(
        e["name"] == LOCATION and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        for e in entries
    )


@contextmanager
def _webserver(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1",
             "-p", str(port), "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + WAIT
            while not _loaded(base):
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            yield base
        finally:
            process.terminate()
            process.wait(30)


def _page_says(browser: object, *texts: str) -> str:
    """The page's text once it shows every one of `texts` (the UI renders as data comes)."""
    seen = [""]

    def shown(b: object) -> str | bool:
        seen[0] = b.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        return seen[0] if all(t in seen[0] for t in texts) else False

    try:
        return WebDriverWait(browser, PAGE_WAIT).until(shown)
    except TimeoutException:
        missing = [t for t in texts if t not in seen[0]]
        raise AssertionError(f"the page never showed {missing}; it showed:\n{seen[0]}") from None


def _skip_the_welcome(browser: object) -> None:
    """The UI greets a new browser with a newsletter dialog: skipped, as a person would."""
    for button in browser.find_elements(By.TAG_NAME, "button"):  # type: ignore[attr-defined]
        if button.text.strip() == "Skip":
            button.click()
            _page_says(browser, "Materialize all")  # the page behind it, not the dialog
            body = browser.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
            assert "Join the Dagster community" not in body
            return


@pytest.mark.browser
@pytest.mark.slow
def test_the_dagster_ui_shows_the_backup_its_assets_checks_and_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "BGW_DATABASE_URL": demo_database(tmp_path, 0.05),
        "EXPORT_PATH": str(tmp_path / "exports"),
        "IMPORT_INBOX": str(tmp_path / "inbox"),
        "DAGSTER_HOME": str(home),
    }
    backup = subprocess.run(
        [sys.executable, "-m", "bgw_pipeline.cli", "backup", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert backup.returncode == 0, backup.stderr
    run_id = json.loads(backup.stdout)["run_id"]
    with _webserver(env, tmp_path / "webserver.log") as base:
        browser = headless_chromium(tmp_path / "profile", lang="en")
        try:
            browser.set_window_size(1440, 900)
            browser.get(f"{base}/locations/{LOCATION}/jobs/backup_job")
            _page_says(browser, "backup_job", "Full backup:", "bgw_extract")
            _skip_the_welcome(browser)
            browser.find_element(By.LINK_TEXT, "Lineage").click()  # every asset, by group
            _page_says(browser, "bgw_extract", "bgw_snapshots", "bgw_archive", "bgw_csv")
            WebDriverWait(browser, PAGE_WAIT).until(  # each group's materialized assets
                lambda b: "fetching statuses" not in b.find_element(By.TAG_NAME, "body").text
            )
            screenshot(browser, "dagster_lineage.png")
            browser.get(f"{base}/assets/export_archive")
            _page_says(browser, "export_archive", "checksum", "Latest check results", "games 62")
            screenshot(browser, "dagster_export_archive.png")
            browser.get(f"{base}/runs/{run_id}")
            _page_says(browser, run_id[:8], "RUN_SUCCESS")
            screenshot(browser, "dagster_backup_run.png")
        finally:
            browser.quit()
