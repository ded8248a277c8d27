"""Open report.html in headless Chromium with the network off, as a reader would.

Needs Debian's chromium at /usr/bin/chromium and the Python ``playwright``
package (its own browsers are never downloaded: we point it at the system
Chromium).  Saves a screenshot to the test's tmp dir and to
``out/screenshots/report.png`` for a person to look at.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from overflight.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
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

pytestmark = pytest.mark.browser


def _sample_module() -> Any:
    name = "overflight_report_test_sample"
    if name not in sys.modules:
        path = ROOT / "tests" / "test_report_sample.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def browser() -> Any:
    if not CHROMIUM.is_file():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


def test_report_opens_offline_and_draws_the_map(
    browser: Any, traffic_samples: Path, tmp_path: Path
) -> None:
    m = _sample_module()
    s = m.cached_sample(traffic_samples, m.shared_or_none())
    params = {
        "focus": "FRA",
        "boundary_dataset": {"name": "@geo-maps countries 10m", "version": "0.6.0"},
    }
    write_report(
        tmp_path,
        s.points,
        s.flights,
        s.events,
        s.reach,
        boundary_features=s.features,
        params=params,
    )
    url = (tmp_path / "report.html").as_uri()

    ctx = browser.new_context(offline=True, viewport={"width": 1360, "height": 900})
    requests: list[str] = []
    ctx.route(
        "**/*",
        lambda route: (
            (requests.append(route.request.url), route.abort())
            if route.request.url != url
            else route.continue_()
        ),
    )
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
    page.goto(url)
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    page.wait_for_timeout(300)

    n_flights = s.flights.num_rows
    track_paths = page.locator(".leaflet-overlay-pane path.leaflet-interactive").count()
    boundary_paths = page.locator(".leaflet-boundaries-pane path").count()
    assert track_paths >= n_flights
    assert boundary_paths >= 1
    assert page.locator("table.flights tbody tr").count() == n_flights
    assert page.locator("svg.timeline").count() == n_flights
    assert page.locator(".legend").count() == 1

    # sort by a header, then show a flight on the map: no errors either way
    heads = [h.strip().lower() for h in page.locator("table.flights th").all_inner_texts()]
    col = heads.index("positions") + 1
    page.locator(f"table.flights th:nth-child({col})").click()
    cells = page.locator(f"table.flights tbody tr td:nth-child({col})").all_inner_texts()
    positions = [int(c.replace(",", "")) for c in cells if c.strip() not in ("", "–")]
    assert positions == sorted(positions)
    page.locator("table.flights .flight-link").first.click()
    page.wait_for_selector(".leaflet-popup-content .popup")
    page.wait_for_timeout(600)  # let the popup finish fading in before the screenshot

    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    keep = ROOT / "out" / "screenshots" / "report.png"
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, keep)
    ctx.close()

    assert requests == []
    assert problems == []
