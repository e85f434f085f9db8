"""The web page in headless Chromium: it loads, "Export now" adds an archive, downloads work."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.browser import headless_chromium, screenshot

# The API document's JavaScript, pasted unchanged.
SEED_ANALYZE_IMPORT = """
async function analyzeImport(file) {
  const formData = new FormData();
  formData.append('file', file);

  const response = await fetch('/api/v1/export/summary', {
    method: 'POST',
    body: formData
  });

  const result = await response.json();

  if (result.compatibility?.compatible) {
    console.log('Файл совместим');
    console.log('Содержимое:', result.contents);
    return true;
  } else {
    console.error('Файл несовместим:', result.compatibility);
    return false;
  }
}
"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(("width", "height", "name"), [(390, 844, "phone"), (1280, 900, "desktop")])
def test_the_page_exports_lists_downloads_and_checks_an_import(
    tmp_path: Path, width: int, height: int, name: str
) -> None:
    db_url = demo_database(tmp_path, 0.02)
    env = server_env(tmp_path, db_url) | {"DAGSTER_UI_URL": "http://dagster.test:3000/"}
    with live_server(env, tmp_path) as base:
        browser = headless_chromium(tmp_path / "profile")
        try:
            browser.set_window_size(width, height)
            browser.get(f"{base}/")
            wait = WebDriverWait(browser, 120)
            wait.until(lambda b: b.find_element(By.ID, "count").text == "0")
            browser.find_element(By.CSS_SELECTOR, '[data-lang="ru"]').click()
            dagster = browser.find_element(By.ID, "dagster-link").get_attribute("href")
            assert dagster == "http://dagster.test:3000/"

            # Export now: the run, then the archive offered for download and listed.
            browser.find_element(By.ID, "export-now").click()
            wait.until(lambda b: b.find_element(By.ID, "count").text == "1")
            progress = browser.find_element(By.ID, "progress")
            wait.until(lambda _b: "sha256:" in progress.text)
            offered, run = progress.find_elements(By.TAG_NAME, "a")
            assert run.get_attribute("href").startswith("http://dagster.test:3000/runs/")
            listed = browser.find_element(By.CSS_SELECTOR, "#archives a[download]")
            assert offered.get_attribute("href") == listed.get_attribute("href")
            download = requests.get(listed.get_attribute("href"), timeout=60)
            assert zipfile.ZipFile(io.BytesIO(download.content)).testzip() is None
            state = browser.find_element(By.CSS_SELECTOR, "#archives td:nth-child(3) span")
            assert "проверен и восстанавливается" in state.text  # the backup's checks ran
            compatible = browser.execute_async_script(
                SEED_ANALYZE_IMPORT
                + """
                const done = arguments[arguments.length - 1];
                fetch(arguments[0]).then((r) => r.blob())
                  .then((blob) => analyzeImport(new File([blob], "backup.zip")))
                  .then(done);
                """,
                listed.get_attribute("href"),
            )
            assert compatible is True

            # Check an import: one upload; the dry run as tables, a refusal as a sentence.
            archive = tmp_path / "backup.zip"
            archive.write_bytes(download.content)
            result = browser.find_element(By.ID, "import-result")
            browser.find_element(By.ID, "upload").send_keys(str(archive))
            browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
            wait.until(lambda _b: "games" in result.text)
            rows = result.find_elements(By.CSS_SELECTOR, "table tr")
            assert [c.text for c in rows[0].find_elements(By.TAG_NAME, "th")] == [
                "Таблица", "новых", "изменённых", "без изменений", "ошибок"]  # fmt: skip
            assert "✔" in result.text and "{" not in result.text
            screenshot(browser, f"web_page_{name}.png")
            bad = tmp_path / "notes.zip"
            bad.write_text("these are notes, not an archive")
            browser.find_element(By.ID, "upload").send_keys(str(bad))
            browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
            wait.until(lambda _b: "Архив не принят" in result.text)
            assert "{" not in result.text and "not a ZIP" in result.text, result.text

            browser.find_element(By.CSS_SELECTOR, '[data-lang="en"]').click()
            wait.until(lambda b: b.find_element(By.ID, "export-now").text == "Export now")
            browser.find_element(By.CSS_SELECTOR, '[data-lang="ru"]').click()
        finally:
            browser.quit()


TOKEN = "read-token-for-the-page-0123456789"


@pytest.mark.browser
@pytest.mark.slow
def test_with_tokens_the_page_asks_once_and_keeps_the_token(tmp_path: Path) -> None:
    db_url = demo_database(tmp_path, 0.02)
    env = server_env(tmp_path, db_url, BGW_API_TOKENS=f"read:{TOKEN}")
    with live_server(env, tmp_path) as base:
        browser = headless_chromium(tmp_path / "profile")
        try:
            browser.get(f"{base}/")
            wait = WebDriverWait(browser, 120)
            prompt = wait.until(lambda b: _alert(b))
            assert "BGW_API_TOKENS" in prompt.text
            prompt.send_keys(TOKEN)
            prompt.accept()
            wait.until(lambda b: b.find_element(By.ID, "count").text == "0")
            browser.find_element(By.ID, "export-now").click()  # no second prompt
            wait.until(lambda b: b.find_element(By.ID, "count").text == "1")
            href = browser.find_element(By.CSS_SELECTOR, "#archives a[download]").get_attribute(
                "href"
            )
            statuses = browser.execute_async_script(
                """
                const done = arguments[arguments.length - 1];
                Promise.all([api(arguments[0]).then((r) => r.status),
                             fetch(arguments[0]).then((r) => r.status)]).then(done);
                """,
                href,
            )
            assert statuses == [200, 401]  # the page sends the kept token; a bare fetch none
            assert requests.get(href, timeout=60).status_code == 401
        finally:
            browser.quit()


def _alert(browser: webdriver.Chrome) -> object:
    try:
        return browser.switch_to.alert
    except NoAlertPresentException:
        return False
