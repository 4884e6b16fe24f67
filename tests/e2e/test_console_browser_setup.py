"""Without chromium the browser tests skip on a developer machine and fail in CI."""

from __future__ import annotations

import pytest

from tests.e2e import conftest as browser_setup


def test_a_missing_chromium_skips_outside_ci(monkeypatch):
    monkeypatch.setattr(browser_setup, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(browser_setup.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser_setup, "STRICT", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser_setup._require_chromium()


def test_a_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setattr(browser_setup, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(browser_setup.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser_setup, "STRICT", True)
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        browser_setup._require_chromium()
