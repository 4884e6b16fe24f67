"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server.

Every page a test visits is saved as a screenshot in ``test-artifacts/screenshots/`` (CI
keeps the folder), and a test fails on any console error, uncaught page error, failed
request or error response the browser sees.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
STRICT = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    message = f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    if STRICT:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # A test's expect(...) waits for the page (a click's navigation may still be loading);
    # a busy parallel run can take longer than Playwright's 5 s default.
    expect.set_options(timeout=15_000)

    # Playwright's sync API keeps an event loop in this thread while it runs; Django's ORM
    # refuses to run beside one unless told the caller knows what it does (the test thread
    # never awaits). The flag lives exactly as long as the browser.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
            instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class BrowserProblems:
    """Collects what went wrong in the browser; the test asserts the list is empty."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.expected_statuses: dict[str, int] = {}

    def expect_status(self, url_part: str, status: int) -> None:
        self.expected_statuses[url_part] = status

    def _expected(self, url: str, status: int) -> bool:
        return any(part in url and expected == status for part, expected in self.expected_statuses.items())

    def on_console(self, message: object) -> None:
        if message.type != "error":  # type: ignore[attr-defined]
            return
        text = message.text  # type: ignore[attr-defined]
        # Chromium also logs every error response; an expected one is not a problem.
        loaded = re.search(r"responded with a status of (\d+)", text)
        url = (message.location or {}).get("url", "")  # type: ignore[attr-defined]
        if loaded and self._expected(url, int(loaded.group(1))):
            return
        self.items.append(f"console error: {text}")

    def on_page_error(self, error: object) -> None:
        self.items.append(f"page error: {error}")

    def on_request_failed(self, request: object) -> None:
        failure = request.failure or ""  # type: ignore[attr-defined]
        # A navigation cancels what the previous page still had in flight (a live-refresh
        # poll, the favicon); the server never failed those. Server errors show as statuses.
        if "ERR_ABORTED" in failure:
            return
        self.items.append(f"request failed: {request.url} {failure}")  # type: ignore[attr-defined]

    def on_response(self, response: object) -> None:
        status = response.status  # type: ignore[attr-defined]
        if status < 400:
            return
        url = response.url  # type: ignore[attr-defined]
        if self._expected(url, status):
            return
        self.items.append(f"HTTP {status}: {url}")


# Every browser test signs in from 127.0.0.1; the suite's fresh_rate_limits fixture empties
# the counters before each test, so earlier tests never use up the sign-in limit.


@pytest.fixture(scope="session")
def screenshots(pytestconfig) -> Path:
    """The screenshot folder without the files of earlier runs: it shows exactly the pages of the
    last run, never a page an earlier run saved under a number the flow no longer uses. Only
    files older than this run go: under pytest-xdist another worker may already have saved some."""
    from tests.conftest import RUN_STARTED

    started = pytestconfig.stash[RUN_STARTED]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.iterdir():
        try:
            if old.is_file() and old.stat().st_mtime < started:
                old.unlink(missing_ok=True)
        except FileNotFoundError:
            pass  # another worker's clean-up removed it between the listing and the look
    return SCREENSHOTS


@pytest.fixture
def console_page(browser, live_server, request, settings, screenshots):
    """A fresh browser page on the live server, watched for errors, with a ``shot(name)`` helper."""
    settings.BASE_URL = live_server.url
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    problems = BrowserProblems()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    page.on("requestfailed", problems.on_request_failed)
    page.on("response", problems.on_response)
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    counter = {"n": 0}

    def shot(name: str) -> Path:
        counter["n"] += 1
        path = screenshots / f"{prefix}-{counter['n']:02d}-{name}.png"
        # A full-page shot of a scrolled page draws the sticky sidebar part-way down.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        return path

    page.shot = shot  # type: ignore[attr-defined]
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()
    assert problems.items == [], "the browser saw problems:\n" + "\n".join(problems.items)
