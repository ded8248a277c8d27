"""Alert rules and episodes on the real points of a Beast capture, fed tick by tick."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import shapely

from overflight import clean, ingest
from overflight.errors import InputError
from overflight.live.episodes import RuleEngine
from overflight.live.outputs import WebhookPoster
from overflight.live.rules import load_rules, parse_rules

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"


@pytest.fixture(scope="module")
def points(shared_data: Path) -> pa.Table:
    pts, _ = clean.run(ingest.read(shared_data / BEAST, fmt="beast", start_time=0))
    return pts


def ticks(points: pa.Table, tick_s: float = 1.0) -> list[pa.Table]:
    """The points cut into consecutive ticks, each sorted like the watcher's."""
    t = points["timestamp"].cast(pa.int64()).to_numpy()
    k = (t - t.min()) // int(tick_s * 1e9)
    out = []
    for v in np.unique(k):
        part = points.filter(pa.array(k == v))
        out.append(
            part.take(pc.sort_indices(part, [("icao24", "ascending"), ("timestamp", "ascending")]))
        )
    return out


def busiest(points: pa.Table) -> str:
    counts = pc.value_counts(points["icao24"]).to_pylist()
    return str(max(counts, key=lambda c: c["counts"])["values"])


def run(engine: RuleEngine, parts: list[pa.Table]) -> list:  # type: ignore[type-arg]
    alerts = []
    for p in parts:
        alerts += engine.on_points(p)
    return alerts


def test_watchlist_two_episodes_two_alerts(points: pa.Table) -> None:
    target = busiest(points)
    t = points["timestamp"].cast(pa.int64()).to_numpy()
    mine = (points["icao24"].to_numpy(zero_copy_only=False) == target) & points["valid"].to_numpy(
        zero_copy_only=False
    )
    tt = np.sort(t[mine])
    # hide the aircraft for 25 s in the middle: with a 10 s gap, that is two episodes
    mid = tt[tt.size // 2]
    hidden = mine & (t > mid) & (t < mid + 25e9)
    kept = points.filter(pa.array(~hidden))
    remaining = np.sort(t[mine & ~hidden])
    expected = 1 + int(np.count_nonzero(np.diff(remaining) > 10e9))
    assert expected == 2
    rules = parse_rules(
        {"rules": [{"name": "w", "kind": "watchlist", "icao24": [target], "episode_gap_s": 10}]}
    )
    engine = RuleEngine(rules)
    alerts = run(engine, ticks(kept))
    assert [a.icao24 for a in alerts] == [target] * expected
    assert alerts[0].time.timestamp() * 1e9 == pytest.approx(remaining[0], abs=1e3)
    # the same data again (a replay) is within the open episode: nothing new
    assert run(engine, ticks(kept)) == []
    # and a restarted engine with the saved episodes stays quiet too
    again = RuleEngine(rules)
    again.load_episodes(engine.episode_rows(only_changed=False))
    assert run(again, ticks(kept)) == []


def test_region_rule_matches_shapely(points: pa.Table) -> None:
    valid = points.filter(points["valid"])
    lat = valid["latitude"].to_numpy()
    lon = valid["longitude"].to_numpy()
    # a triangle around the middle of the traffic
    cx, cy = float(np.median(lon)), float(np.median(lat))
    tri = [[cx - 1.0, cy - 0.5], [cx + 1.0, cy - 0.5], [cx, cy + 0.7]]
    inside = shapely.contains_xy(shapely.Polygon(tri), lon, lat)
    ic = np.asarray(valid["icao24"].to_pylist())
    expected = sorted(set(ic[inside]))
    rules = parse_rules([{"name": "tri", "kind": "region", "region": {"polygon": tri}}])
    alerts = run(RuleEngine(rules), ticks(points))
    assert sorted(a.icao24 for a in alerts) == expected
    assert all(shapely.contains_xy(shapely.Polygon(tri), a.longitude, a.latitude) for a in alerts)


def test_entry_rule_fires_on_each_crossing(points: pa.Table) -> None:
    # a stand-in airspace: everything east of the median longitude is "AAA"
    lon = points["longitude"].to_numpy()
    border = float(np.median(lon[points["valid"].to_numpy(zero_copy_only=False)]))
    country = pa.array(np.where(lon > border, "AAA", "BBB"))
    with_country = points.append_column("country", country)
    srt = with_country.take(
        pc.sort_indices(with_country, [("icao24", "ascending"), ("timestamp", "ascending")])
    )
    v = srt.filter(srt["valid"])
    ic = np.asarray(v["icao24"].to_pylist())
    c = np.asarray(v["country"].to_pylist())
    same = ic[1:] == ic[:-1]
    entries = same & (c[1:] == "AAA") & (c[:-1] != "AAA")
    t = v["timestamp"].cast(pa.int64()).to_numpy()[1:]
    expected = 0
    for a in set(ic[1:][entries]):  # one alert per episode (600 s gap) per aircraft
        ts = np.sort(t[entries & (ic[1:] == a)])
        expected += 1 + int(np.count_nonzero(np.diff(ts) > 600e9))
    assert expected > 0
    rules = parse_rules([{"name": "in", "kind": "entry", "countries": ["aaa"]}])
    alerts = run(RuleEngine(rules), ticks(with_country))
    assert len(alerts) == expected
    assert all(a.details["country"] == "AAA" for a in alerts)


def test_pattern_rule_on_events() -> None:
    events = pa.table(
        {
            "flight_id": ["f1", "f1", "f2"],
            "icao24": ["abc123", "abc123", "def456"],
            "kind": ["orbit", "orbit", "loiter"],
            "start": pa.array([0, 100 * 10**9, 0], pa.timestamp("ns", "UTC")),
            "stop": pa.array([50 * 10**9, 200 * 10**9, 60 * 10**9], pa.timestamp("ns", "UTC")),
            "latitude": [45.0, 45.0, 10.0],
            "longitude": [5.0, 5.0, 10.0],
            "duration_s": [50.0, 100.0, 60.0],
            "country": [None, None, None],
            "details": ['{"radius_nm": 2}', '{"radius_nm": 2}', "{}"],
        }
    )
    rules = parse_rules(
        [{"name": "o", "kind": "pattern", "patterns": ["orbit"], "episode_gap_s": 60}]
    )
    engine = RuleEngine(rules)
    alerts = engine.on_events(events)
    # stops 50 s and 200 s: 150 s apart > 60 s gap, so two episodes
    assert [(a.icao24, a.details["event"]) for a in alerts] == [("abc123", "orbit")] * 2
    assert engine.on_events(events) == []


def test_rule_file_errors_name_the_rule(tmp_path: Path) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text(
        "rules:\n  - name: a\n    kind: watchlist\n    icao24: [abc123]\n"
        "  - name: b\n    kind: nonsense\n"
    )
    with pytest.raises(InputError, match="rule 2: kind 'nonsense'"):
        load_rules(f)
    f.write_text("rules:\n  - {name: r, kind: region, region: {bbox: [1, 2]}}\n")
    with pytest.raises(InputError, match="rule 1"):
        load_rules(f)
    f.write_text("rules: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_rules(f)
    f.write_text(
        "rules:\n  - name: c\n    kind: military\n"
        "    params: {region: {circle: {lat: 1, lon: 2, radius_nm: 5}}}\n"
    )
    (rule,) = load_rules(f)
    assert rule.region is not None and rule.region.circle == (1.0, 2.0, 5.0)


class _Flaky(BaseHTTPRequestHandler):
    """Fails the first two POSTs of each alert with 503, then accepts."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body["alert_id"])
        ok = type(self).calls.count(body["alert_id"]) > 2
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhook_retries_and_never_blocks(points: pa.Table) -> None:
    rules = parse_rules(
        [{"name": "all", "kind": "region", "region": {"bbox": [-180, -90, 180, 90]}}]
    )
    alerts = run(RuleEngine(rules), ticks(points))[:3]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Flaky.calls = []
    good = f"http://127.0.0.1:{server.server_address[1]}/hook"
    dead = "http://127.0.0.1:9/hook"  # nothing listens on the discard port
    poster = WebhookPoster([good, dead], retries=2, backoff_s=0.01, timeout_s=1.0)
    t0 = time.perf_counter()
    for a in alerts:
        poster.submit(a)
    assert time.perf_counter() - t0 < 0.1  # submitting never waits for the network
    poster.close(timeout_s=10)
    server.shutdown()
    assert sorted(set(_Flaky.calls)) == sorted(a.alert_id for a in alerts)
    assert len(_Flaky.calls) == 3 * len(alerts)  # two failures, then delivered
    assert poster.counts["sent"] == len(alerts) and poster.counts["failed"] == len(alerts)
