"""Headless system Chromium through playwright, for the tests under tests/browser.

Needs Debian's chromium at :data:`CHROMIUM` and the Python ``playwright``
package; playwright's own browsers are never downloaded.  :func:`launch` skips
the test, with the reason, when either is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no sandbox (containers), and nothing that phones home on its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where screenshots are kept for a person to look at.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


@contextmanager
def launch() -> Iterator[Any]:
    """A playwright ``Browser`` on the system Chromium, closed on exit."""
    if not CHROMIUM.is_file():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


def watched_page(
    browser: Any, allowed: Callable[[str], bool], **context_options: Any
) -> tuple[Any, Any, list[str], list[str]]:
    """A new page whose requests are filtered by ``allowed`` and whose complaints are kept.

    Returns ``(context, page, problems, blocked)``: ``blocked`` lists the URLs
    of the requests aborted because ``allowed(url)`` was false; ``problems``
    the console errors and warnings, page errors and failed requests.
    """
    ctx = browser.new_context(**context_options)
    blocked: list[str] = []

    def route(r: Any) -> None:
        if allowed(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
    return ctx, page, problems, blocked


def keep_screenshot(page: Any, name: str, tmp: Path, *, full_page: bool = False) -> Path:
    """Screenshot ``page`` to ``tmp / name`` and copy it to :data:`SCREENSHOTS`."""
    shot = tmp / name
    page.screenshot(path=str(shot), full_page=full_page)
    keep = SCREENSHOTS / name
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, keep)
    return keep
