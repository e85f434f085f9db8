"""Headless Chromium for the tests of pages people look at (the web page, the Dagster UI),
and their screenshots for the README."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def headless_chromium(profile: Path, lang: str = "ru") -> webdriver.Chrome:
    """Debian's Chromium, headless, on a profile of its own, reaching only loopback."""
    if not CHROMIUM or not DRIVER:
        pytest.fail("Debian's chromium and chromium-driver are needed: `make test` installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}", f"--lang={lang}"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(DRIVER))


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    """A screenshot of the page as it is; into docs/ when BGW_SAVE_SCREENSHOTS is set."""
    shot = browser.get_screenshot_as_png()
    assert shot.startswith(b"\x89PNG")
    if os.environ.get("BGW_SAVE_SCREENSHOTS"):
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / name).write_bytes(shot)
