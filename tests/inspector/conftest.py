"""A sandbox on a loopback port and a real headless Chromium driven by Selenium, for the inspector.

``sandbox_server`` starts the app under uvicorn in a thread (manual clock from 2026-01-15T15:00:00Z,
response validation on, lifespan running so webhooks really leave — to the built-in sink on the
same port). ``browser`` is Debian's ``chromium`` through Debian's ``chromedriver`` (same build, so
their versions always match; nothing is downloaded). A page wraps the driver with what the tests
ask: open a view with a key, wait for visible text, save a screenshot, and report dialogs and
injected elements. The one thing a reader might get wrong: one server and one browser serve a whole
module; each test isolates itself with its own key (a fresh tenant in open mode).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.processes import free_port

CHROMIUM = os.environ.get("INSPECTOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("INSPECTOR_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WAIT_SECONDS = 15

# Records every alert/confirm/prompt before any page script runs (installed through CDP on each new
# document), so a dialog an injected payload opens is counted even if it never blocks the driver.
DIALOG_TRAP = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = function (message) { window.__dialogs.push(name + ":" + String(message)); return null; };
}
"""


class Server:
    """The sandbox under uvicorn in a background thread."""

    def __init__(self, **settings):
        import uvicorn

        self.port = free_port()
        self.settings = Settings(host="127.0.0.1", port=self.port, validate_responses=True, **settings)
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": key}, timeout=30)


@pytest.fixture(scope="module")
def sandbox_server():
    with Server() as server:
        yield server


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return (f"{CHROMIUM} is absent: install Debian's chromium and chromium-driver "
                "(apt-get install -y chromium chromium-driver) to run the inspector's browser tests")
    if not Path(CHROMEDRIVER).exists() and not shutil.which("chromedriver"):
        return f"{CHROMEDRIVER} is absent: install Debian's chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'selenium>=4.20,<5')"
    return None


@pytest.fixture(scope="module")
def driver():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,900", "--force-device-scale-factor=1", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_TRAP})
    try:
        yield chrome
    finally:
        chrome.quit()


class Page:
    """The inspector in the browser, for one tenant key."""

    def __init__(self, driver, server: Server, key: str):
        self.driver, self.server, self.key = driver, server, key
        self.url = f"{server.base_url}/_sandbox/inspector/"

    # navigation ------------------------------------------------------------------------------
    def open(self, view: str = "") -> "Page":
        """Load the page at ``#/view`` (a full load: a fresh document, storage kept)."""
        self.driver.get("about:blank")  # else a URL differing only in its hash is not a load
        self.driver.get(self.url + (f"#/{view}" if view else ""))
        return self

    def go(self, view: str) -> "Page":
        """Switch view inside the loaded page (as a click on a link would)."""
        self.driver.execute_script("location.hash = arguments[0]", f"#/{view}")
        return self

    def sign_in(self, remember: bool = False) -> "Page":
        self.driver.get(self.url)
        self.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
        self.driver.get(self.url)
        field = self.wait_for("#api-key")
        field.send_keys(self.key)
        if remember:
            self.driver.find_element("css selector", "#remember").click()
        self.driver.find_element("css selector", "#key-form button[type=submit]").click()
        self.wait_for("#nav a[aria-current=page]")
        return self

    # reading ---------------------------------------------------------------------------------
    def text(self) -> str:
        return self.driver.find_element("css selector", "body").text

    def wait_for(self, css: str, timeout: float = WAIT_SECONDS):
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(ec.visibility_of_element_located(("css selector", css)))

    def wait_text(self, *needles: str, within: str = "body", timeout: float = WAIT_SECONDS) -> str:
        """Wait until every needle is visible text inside ``within``; returns that text."""
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                seen = self.driver.find_element("css selector", within).text
                if all(n in seen for n in needles):
                    return seen
            time.sleep(0.15)
        missing = [n for n in needles if n not in seen]
        raise AssertionError(f"not visible within {timeout} s: {missing!r}\n--- visible text ---\n{seen[:4000]}")

    def click(self, css: str):
        element = self.wait_for(css)
        element.click()
        return element

    def click_text(self, text: str, css: str = "button, a"):
        """Click the first visible element matching ``css`` whose text is ``text``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for element in self.driver.find_elements("css selector", css):
                with contextlib.suppress(Exception):
                    if element.is_displayed() and element.text.strip() == text:
                        element.click()
                        return element
            time.sleep(0.15)
        raise AssertionError(f"no visible {css} with text {text!r}\n{self.text()[:3000]}")

    def dialogs(self) -> list[str]:
        from selenium.common.exceptions import NoAlertPresentException

        with contextlib.suppress(NoAlertPresentException):
            alert = self.driver.switch_to.alert
            message = alert.text
            alert.dismiss()
            return [f"native:{message}"]
        return self.driver.execute_script("return window.__dialogs || []")

    def injected(self) -> list[str]:
        """Elements an HTML injection would have created (the page itself has none of them)."""
        return self.driver.execute_script("""
            const found = [];
            for (const el of document.querySelectorAll('img, svg, script, iframe, object, embed, [onerror], [onload]')) {
              if (el.tagName === 'SCRIPT' && el.getAttribute('src') === 'inspector.js') continue;
              if (el.tagName === 'IMG' && el.getAttribute('src') === 'favicon.svg') continue;
              found.push(el.outerHTML.slice(0, 120));
            }
            return found.concat(window.__xss ? ['window.__xss set'] : []);""")

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture
def page_for(driver, sandbox_server):
    def make(key: str) -> Page:
        return Page(driver, sandbox_server, key)

    return make
