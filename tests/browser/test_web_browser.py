"""``overflight serve`` in headless Chromium: live aircraft on the map, an alert as it is written.

The store is built from real data (see ``tests/support/web_store.py``).  The test
holds the store open for writing, as the live watcher does when it runs inside
the web server, and the app reads through that connection.  Every request
that is not to the server is aborted and recorded: the page must need nothing
from the network.  Screenshots go to ``out/screenshots/web_map.png`` and
``web_history.png``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from support.browser import keep_screenshot, watched_page
from support.web_store import Built, alert_row, copy_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any, web_store: Built) -> Iterator[dict[str, Any]]:
    from overflight.web import create_app, create_token
    from overflight.web.server import ServerThread

    folder = tmp_path_factory.mktemp("browser")
    built = copy_store(web_store, folder)
    token = create_token(folder / "tokens.json", "read")
    con = duckdb.connect(str(built.db))  # the watcher's connection, held for writing
    app = create_app(built.db, folder / "tokens.json", connection=con)
    srv = ServerThread(app, log_level="warning").start()
    yield {"url": srv.url, "token": token, "con": con, "built": built, "folder": folder}
    srv.stop()
    con.close()


def _page(browser: Any, url: str) -> tuple[Any, Any, list[str], list[str]]:
    """A page that may load only from the server at ``url`` (see ``watched_page``)."""
    return watched_page(
        browser, lambda u: u.startswith(url), viewport={"width": 1440, "height": 900}
    )


def _wait(page: Any, js: str, timeout_s: float = 10.0) -> None:
    """Poll ``js`` until truthy (wait_for_function needs 'unsafe-eval', which our CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(js):
        assert time.monotonic() < deadline, f"timed out waiting for {js}"
        page.wait_for_timeout(100)


def _wait_boundaries(page: Any, selector: str, timeout_s: float) -> None:
    """Wait for ``selector`` in the boundaries pane; fail at once if the page shows a failed layer.

    The server answers each ``/api/boundaries`` request with every layer drawn,
    pending (the page asks again) or failed (the page shows why and keeps it in
    ``#map[data-boundaries-error]``), so this wait ends either way.
    """
    js = (
        f"[!!document.querySelector('.leaflet-boundaries-pane {selector}'), "
        "document.querySelector('#map').dataset.boundariesError || '']"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        found, error = page.evaluate(js)
        if error:
            pytest.fail(f"the map shows a boundary error: {error}")
        if found:
            return
        assert time.monotonic() < deadline, f"timed out waiting for boundaries {selector}"
        page.wait_for_timeout(100)


def test_live_map_shows_aircraft_and_a_new_alert(
    browser: Any, served: dict[str, Any], tmp_path: Path
) -> None:
    url, token, con = served["url"], served["token"], served["con"]
    # what the map must show: aircraft with a valid position in the minute before the newest
    expected = con.execute(
        "WITH t AS (SELECT epoch_ns(timestamp) // 1000000 AS ms, * FROM points "
        "WHERE valid AND latitude IS NOT NULL AND longitude IS NOT NULL) "
        "SELECT DISTINCT icao24 FROM t WHERE ms > (SELECT max(ms) FROM t) - 60000 ORDER BY 1"
    ).fetchall()
    expected_icao = [r[0] for r in expected]
    assert len(expected_icao) > 5

    ctx, page, problems, offsite = _page(browser, url)
    page.goto(f"{url}/?token={token}")
    _wait(page, f"document.querySelectorAll('.ac').length >= {len(expected_icao)}")
    assert "token" not in page.url  # moved into session storage
    assert page.evaluate("sessionStorage.getItem('overflight.token')") == token
    shown = sorted(page.eval_on_selector_all(".ac", "els => els.map(e => e.dataset.icao24)"))
    assert shown == expected_icao
    _wait_boundaries(page, "path", 30)
    assert page.locator(".legend").count() == 1

    # the alert already stored marks its aircraft
    (stored,) = con.execute("SELECT icao24 FROM alerts").fetchall()
    page.wait_for_selector(f'.ac.alert[data-icao24="{stored[0]}"]', state="attached")
    assert page.locator("#alerts li").count() == 1

    # the watcher writes a new alert while the page is open
    newcomer = next(i for i in reversed(expected_icao) if i != stored[0])
    message = f"{newcomer} crossed the test line"
    t0 = time.monotonic()
    writer = con.cursor()
    alert_row(writer, newcomer, "a-browser", message)
    writer.close()
    item = page.locator("#alerts li", has_text=message)
    item.wait_for(timeout=8000)
    appeared_s = time.monotonic() - t0
    assert appeared_s < 6
    assert "new" in (item.get_attribute("class") or "")
    assert page.locator("#alerts li").count() == 2
    page.wait_for_selector(f'.ac.alert[data-icao24="{newcomer}"]', state="attached", timeout=5000)

    # click the aircraft: its track and details
    page.locator(f'.ac[data-icao24="{stored[0]}"]').click()
    page.wait_for_selector(".leaflet-tracks-pane path", state="attached")
    _wait(page, "document.querySelector('#details-fields').textContent.includes('since')")
    assert stored[0] in page.locator("#details-title").inner_text()
    page.locator(".leaflet-control-zoom-out").click()
    # both boundary layers: national airspace, then land over it (loaded in the background;
    # a cold cache under load takes tens of seconds)
    _wait_boundaries(page, 'path[fill="#1d232b"]', 90)
    page.wait_for_timeout(800)
    keep_screenshot(page, "web_map.png", tmp_path)
    ctx.close()
    assert offsite == []
    assert problems == []


def test_live_map_says_which_boundary_layer_failed(
    browser: Any, served: dict[str, Any], tmp_path: Path
) -> None:
    """A layer that cannot load is shown as an error on the map; the others are still drawn."""
    from overflight.web import create_app
    from overflight.web.boundaries import Boundaries, default_path
    from overflight.web.server import ServerThread

    # the npm coastline file cut short: GDAL cannot parse it
    broken = tmp_path / "land.geo.json"
    with default_path("land").open("rb") as src:
        broken.write_bytes(src.read(4096))
    built, token, con = served["built"], served["token"], served["con"]
    tokens = served["folder"] / "tokens.json"
    app = create_app(built.db, tokens, connection=con, land_boundaries=False)
    app.state.boundaries = Boundaries({"territory": None, "land": broken})
    srv = ServerThread(app, log_level="critical").start()
    try:
        ctx, page, problems, offsite = _page(browser, srv.url)
        page.goto(f"{srv.url}/?token={token}")
        _wait(page, "document.querySelector('#map').dataset.boundariesError", 60)
        error = page.locator(".boundaries-error")
        assert error.is_visible()
        assert "'land' unavailable" in error.inner_text()
        assert broken.name in error.inner_text()
        _wait(page, "document.querySelector('.leaflet-boundaries-pane path')")
        ctx.close()
    finally:
        srv.stop()
    assert offsite == [] and problems == []


def test_history_replays_a_stored_range(
    browser: Any, served: dict[str, Any], tmp_path: Path
) -> None:
    url, token, con = served["url"], served["token"], served["con"]
    start_ms, stop_ms = con.execute(
        "SELECT min(epoch_ns(timestamp)) // 1000000, max(epoch_ns(timestamp)) // 1000000 "
        "FROM points WHERE icao24 = 'ae0455'"
    ).fetchone()
    n = con.execute(
        "SELECT count(*) FROM points WHERE icao24 = 'ae0455' AND valid AND latitude IS NOT NULL"
    ).fetchone()[0]

    def iso(ms: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))

    ctx, page, problems, offsite = _page(browser, url)
    page.goto(f"{url}/history?start={iso(start_ms)}&stop={iso(stop_ms + 1000)}&token={token}")
    _wait(page, "document.querySelector('#summary').textContent.includes('positions')")
    summary = page.locator("#summary").inner_text()
    assert f"({n:,} stored" in summary and "1 aircraft" in summary
    page.wait_for_selector('.ac.military[data-icao24="ae0455"]', state="attached")
    page.eval_on_selector("#speed", "e => { e.value = 6; e.dispatchEvent(new Event('input')); }")
    page.locator("#play").click()
    before = page.locator("#clock").inner_text()
    page.wait_for_timeout(1500)
    page.locator("#play").click()
    assert page.locator("#clock").inner_text() != before
    page.locator("#aircraft-rows tr").first.click()
    page.wait_for_selector(".leaflet-tracks-pane path", state="attached")
    for at in range(100, 1000, 50):  # a moment when the aircraft is airborne and reporting
        page.eval_on_selector(
            "#scrub", f"e => {{ e.value = {at}; e.dispatchEvent(new Event('input')); }}"
        )
        if page.locator(".ac").count():
            break
    assert page.locator(".ac").count() == 1
    page.wait_for_timeout(800)
    keep_screenshot(page, "web_history.png", tmp_path)
    ctx.close()
    assert offsite == []
    assert problems == []


def test_page_without_token_asks_for_one_and_shows_nothing(
    browser: Any, served: dict[str, Any]
) -> None:
    url, token = served["url"], served["token"]
    ctx, page, problems, offsite = _page(browser, url)
    page.goto(f"{url}/")
    page.wait_for_selector("#token-dialog[open]")
    page.wait_for_timeout(500)
    assert page.locator(".ac").count() == 0
    page.fill("#token-input", "ovf_00000000_wrong")
    page.click("#token-form button")
    page.wait_for_selector("#token-dialog[open]")
    _wait(page, "document.querySelector('#token-message').textContent.includes('refused')")
    assert page.locator(".ac").count() == 0
    page.fill("#token-input", token)
    page.click("#token-form button")
    _wait(page, "document.querySelectorAll('.ac').length > 0")
    ctx.close()
    assert offsite == []
    # the refused request is the only complaint (Chromium logs every 401 response)
    assert all("401" in p for p in problems) and len(problems) >= 1


def test_api_docs_page_lists_every_route(browser: Any, served: dict[str, Any]) -> None:
    url = served["url"]
    ctx, page, problems, offsite = _page(browser, url)
    page.goto(f"{url}/api/docs")
    page.wait_for_selector(".op")
    paths = page.eval_on_selector_all(".op .path", "els => els.map(e => e.textContent)")
    assert {"/api/aircraft", "/api/history", "/api/admin/tokens"} <= set(paths)
    ctx.close()
    assert offsite == [] and problems == []
