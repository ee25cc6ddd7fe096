"""A real browser for the portal's tests: Debian's ``chromium`` driven by Playwright, headless.

Playwright's own browser builds are never downloaded: the tests launch the system's chromium
(``make chromium``, part of ``make test``, installs it with apt-get when missing). As root (CI) chromium
needs ``--no-sandbox``. Screenshots go to :data:`ARTIFACTS` (``.fabrx/test-artifacts/browser`` in the
repository, or ``$FABRX_TEST_ARTIFACTS/browser``), kept after the run for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from netsupport import REPO
from playwright.sync_api import Browser, Page, sync_playwright

ARTIFACTS = Path(os.environ.get("FABRX_TEST_ARTIFACTS", REPO / ".fabrx" / "test-artifacts")) / "browser"


def system_chromium() -> str:
    """The path of Debian's chromium (``$FABRX_CHROMIUM`` overrides). Fails, never skips, when missing."""
    path = os.environ.get("FABRX_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("chromium is not installed: run `make chromium` (make test does, with apt-get as root)")
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium for the duration of the block."""
    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=system_chromium(), headless=True, args=arguments, timeout=120_000
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def page_of(browser: Browser) -> Iterator[Page]:
    """A fresh page (its own cookies) that accepts the services' self-signed test certificates."""
    context = browser.new_context(ignore_https_errors=True, locale="zh-CN")
    context.set_default_timeout(120_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot of ``page`` as ``ARTIFACTS/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
