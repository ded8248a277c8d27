"""Open report.html in headless Chromium with the network off, as a reader would.

Needs Debian's chromium and the Python ``playwright`` package (the ``browser``
fixture, tests/support/browser.py).  Saves a screenshot to the test's tmp dir
and to ``out/screenshots/report.png`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.browser import keep_screenshot, watched_page
from support.report_sample import Sample, write_sample_report

pytestmark = pytest.mark.browser


def test_report_opens_offline_and_draws_the_map(
    browser: Any, report_sample: Sample, tmp_path: Path
) -> None:
    params = {
        "focus": "FRA",
        "boundary_dataset": {"name": "@geo-maps countries 10m", "version": "0.6.0"},
    }
    write_sample_report(tmp_path, report_sample, params)
    url = (tmp_path / "report.html").as_uri()

    ctx, page, problems, requests = watched_page(
        browser, lambda u: u == url, offline=True, viewport={"width": 1360, "height": 900}
    )
    page.goto(url)
    page.wait_for_selector(".leaflet-overlay-pane path", state="attached")
    page.wait_for_timeout(300)

    n_flights = report_sample.flights.num_rows
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
    keep_screenshot(page, "report.png", tmp_path, full_page=True)
    ctx.close()

    assert requests == []
    assert problems == []
