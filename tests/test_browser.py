"""End to end in a real headless Chromium: the app as `streamlit run` serves it.

Opens ``/?q=...`` on a running app, waits for the cited answer and saves screenshots of
every page to build/screenshots/ (ignored by git), or to $SCREENSHOTS_DIR: ``make
screenshots`` points it at docs/screenshots/, the README's copies. Also the one XSS check that means
anything: a page carrying ``<script>`` and ``<img onerror>`` text runs no script in a
browser. Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser-deps``);
skipped with that message where they are missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: A test run must leave the tracked tree as it was: the README's copies are refreshed
#: on purpose, by `make screenshots`.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "build" / "screenshots")
WAIT = 120
QUESTION = "how long does the walking group last"


def _missing() -> str:
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if absent:
        return (f"Chromium is not installed here ({', '.join(absent)} missing): run "
                "`make browser-deps` (apt-get install chromium chromium-driver) to enable "
                "the browser test")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install selenium"
    return ""


if _missing():
    pytest.skip(_missing(), allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(app_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` on a free port over the test index (conftest)."""
    root = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "SEARCH_FEEDBACK_DB": str(root / "feedback.db")}
    log = (root / "streamlit.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--", "--index", str(app_index)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the app did not start:\n"
                            + (root / "streamlit.log").read_text(encoding="utf-8"))
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic",
                     "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                     "--window-size=1440,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _text(driver: Any) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def _wait_for(driver: Any, *needles: str) -> None:
    WebDriverWait(driver, WAIT, poll_frequency=0.5).until(
        lambda d: all(n in _text(d) for n in needles),
        message=f"the page never showed {needles}")
    time.sleep(1)  # let late elements (fonts, icons) settle before a screenshot


def _no_alert(driver: Any) -> bool:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    alert.dismiss()
    return False


def _screenshot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOTS / name))


def test_link_with_a_question_shows_the_cited_answer(app_url: str, browser: Any) -> None:
    browser.get(f"{app_url}/?q={quote(QUESTION)}")
    _wait_for(browser, "eight weeks", "[1]", "Sources", "Walking group therapy")
    text = _text(browser)
    assert "Groups meet once a week for eight weeks." in text
    assert "walking-group.txt" in text
    assert "q=" not in browser.current_url  # the caller's words leave the address bar
    marker = browser.find_element(By.CSS_SELECTOR, "a[href$='#source-1']")
    assert marker.text == "[1]" and browser.find_elements(By.ID, "source-1")
    _screenshot(browser, "ask.png")


def test_the_read_out_copy_and_its_icon_hide_nothing(app_url: str, browser: Any) -> None:
    browser.get(f"{app_url}/?q={quote('number to get referred for schema therapy')}")
    _wait_for(browser, "Read out", "With citations", "0808 157 0240")
    block = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stCode']")[0]
    copied = block.text
    assert "0808 157 0240" in copied and "Check before reading out" in copied
    assert ".md" not in copied and "[1]" not in copied
    # No character of the text lies under the copy icon.
    overlap = browser.execute_script("""
        const block = arguments[0];
        const button = block.querySelector('button');
        if (!button) { return 'no copy button'; }
        block.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        const icon = button.getBoundingClientRect();
        const walker = document.createTreeWalker(block.querySelector('pre'),
                                                 NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.length; i++) {
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                for (const r of range.getClientRects()) {
                    if (r.width && r.right > icon.left && r.left < icon.right
                        && r.bottom > icon.top && r.top < icon.bottom) {
                        return node.data[i];
                    }
                }
            }
        }
        return '';""", block)
    assert overlap == "", f"the copy icon covers {overlap!r}"
    _screenshot(browser, "ask-read-out.png")


def test_the_a_to_z_finds_dementia(app_url: str, browser: Any) -> None:
    browser.get(f"{app_url}/treatments")
    _wait_for(browser, "Treatments A–Z", "Find a treatment")
    box = browser.find_element(By.CSS_SELECTOR, "input[aria-label='Find a treatment']")
    box.send_keys("dementia\n")
    _wait_for(browser, "Pages about", "Memory assessment")
    _screenshot(browser, "treatments-dementia.png")


def test_crisis_banner_in_the_browser(app_url: str, browser: Any) -> None:
    browser.get(f"{app_url}/?q={quote('I want to kill myself')}")
    _wait_for(browser, "Crisis: act on this first", "999")
    _screenshot(browser, "ask-crisis.png")


def test_hostile_page_runs_no_script_and_fetches_nothing(app_url: str, browser: Any) -> None:
    browser.get(f"{app_url}/treatments?doc=hostile-page.html")
    _wait_for(browser, "Hostile page", "as plain words")
    assert _no_alert(browser)
    text = _text(browser)
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert "![leak](http://example.invalid/leak.png)" in text
    assert browser.find_elements(By.CSS_SELECTOR, "img[src='x'], img[src*='example.invalid'], "
                                                  "main script") == []
    browser.get(f"{app_url}/?q={quote('what is hostile therapy')}")
    _wait_for(browser, "Hostile therapy is a test page")
    assert _no_alert(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "img[src='x'], img[src*='example.invalid']") \
        == []


def test_screenshots_of_the_other_pages(app_url: str, browser: Any) -> None:
    browser.get(f"{app_url}/treatments")
    _wait_for(browser, "Treatments A–Z", "Walking group therapy")
    _screenshot(browser, "treatments.png")
    browser.get(f"{app_url}/treatments?doc=walking-group.txt&section=how-long-does-it-last")
    _wait_for(browser, "Open every section", "Groups meet once a week")
    _screenshot(browser, "treatment-page.png")
    browser.get(f"{app_url}/coverage")
    _wait_for(browser, "Download the matrix (CSV)", "answered well")
    _screenshot(browser, "coverage.png")
    browser.find_element(By.XPATH, "//*[@role='tab'][contains(., 'Disagreements')]").click()
    _wait_for(browser, "central referrals line", "0808 157 0240")
    _screenshot(browser, "coverage-disagreements.png")
    browser.get(f"{app_url}/index")
    _wait_for(browser, "Schema version", "Re-ingest the corpus")
    _screenshot(browser, "index.png")
