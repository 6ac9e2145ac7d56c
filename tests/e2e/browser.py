"""Home Assistant's real frontend in headless Chromium, driven by Playwright.

Debian's Chromium (/usr/bin/chromium) is used through its path: Playwright's
own browser download cannot work on a machine without internet. Where it is
missing the browser tests skip with what to install, unless
PNZ_USAGE_TEST_REQUIRE_BROWSER says they must run (scripts/test sets it on the
host leg under CI=true). They run on the host leg only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import os
from pathlib import Path
from typing import Final

from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
import pytest

from .home_assistant import OWNER_PASSWORD, OWNER_USERNAME, HomeAssistantProcess

CHROMIUM: Final = Path(os.environ.get("PNZ_USAGE_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER: Final = "PNZ_USAGE_TEST_REQUIRE_BROWSER"
ARTEFACTS: Final = Path(
    os.environ.get(
        "PNZ_USAGE_TEST_ARTEFACTS", Path(__file__).parents[2] / "test-artefacts"
    )
)
# Without these, Chromium keeps trying to reach Google's hosts, which a closed
# network refuses. The sandbox is off (Playwright's default): it cannot run as root.
CHROMIUM_FLAGS: Final = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE: Final = ViewportSize(width=412, height=915)
DESKTOP: Final = ViewportSize(width=1280, height=900)
# Each wait for the frontend: a hang guard for a loaded machine, not a speed limit.
FRONTEND_HANG_GUARD_MS: Final = 120_000


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start headless Chromium, or skip (fail where it is required)."""
    if os.environ.get("TEST_LEG") == "secondary":
        pytest.skip("the browser tests run on the host leg only")
    expect.set_options(timeout=FRONTEND_HANG_GUARD_MS)
    if not os.access(CHROMIUM, os.X_OK):
        message = f"the browser tests need Debian's chromium package ({CHROMIUM})"
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(message)
        pytest.skip(
            f"{message}: `apt-get install chromium` (scripts/test does, as root)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def signed_in_page(
    browser: Browser, ha: HomeAssistantProcess, *, locale: str, viewport: ViewportSize
) -> Page:
    """Open a new browser profile in a language, and sign in as the owner."""
    context = browser.new_context(
        locale=locale, viewport=viewport, accept_downloads=True
    )
    context.set_default_timeout(FRONTEND_HANG_GUARD_MS)
    page = context.new_page()
    page.goto(ha.url + "/")
    page.locator("input[name=username]").fill(OWNER_USERNAME)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(ha.url + "/lovelace/**")
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save what the page shows as a test artefact; return its path."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


def fully_in_view(locator: Locator) -> bool:
    """Whether an element is shown whole, without scrolling the page or the dialog.

    An IntersectionObserver reports what is left of the element after every
    scrolling ancestor has clipped it, so a ratio of 1 means nothing is hidden.
    """
    ratio = locator.evaluate(
        """element => new Promise(resolve => {
            const observer = new IntersectionObserver(entries => {
                observer.disconnect();
                resolve(entries[0].intersectionRatio);
            });
            observer.observe(element);
        })"""
    )
    return float(ratio) == 1.0


def cut_off(locator: Locator) -> bool:
    """Whether an element's text is wider than its box (shown with an ellipsis)."""
    return bool(
        locator.evaluate("element => element.scrollWidth > element.clientWidth")
    )
