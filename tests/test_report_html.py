"""report.html: self-contained, escaped, and its summary computed from the tables."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from overflight.report import write_report
from overflight.report.assets import leaflet_assets
from overflight.report.summary import summarize
from support.report_sample import Sample, write_sample_report

HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>&amp;\"'\u2028<!--"


@pytest.fixture(scope="module")
def sample(report_sample: Sample) -> Sample:
    return report_sample


@pytest.fixture(scope="module")
def page(sample: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("html")
    params = {"focus": "FRA", "boundary_dataset": {"name": "geo-maps", "version": "0.6.0"}}
    write_sample_report(d, sample, params)
    return (d / "report.html").read_text(encoding="utf-8")


def embedded_data(text: str) -> Any:
    m = re.search(
        r'<script type="application/json" id="overflight-data">(.*?)</script>', text, re.S
    )
    assert m is not None
    return json.loads(m.group(1))


def test_page_is_self_contained(page: str) -> None:
    js, css = leaflet_assets()
    assert js in page and css in page
    ours = page.replace(js, "")  # Leaflet's own code holds a credit link it never loads
    assert re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", ours, re.I) is None
    assert re.search(r"<link\b", page, re.I) is None
    assert re.search(r"<script[^>]*\bsrc\s*=", page, re.I) is None
    assert "url(images/" not in page  # Leaflet's images are inlined as data URIs
    assert "default-src 'none'" in page  # the CSP forbids any request
    assert len(page.encode()) < 20 * 2**20


def test_summary_counts_match_the_events_table(page: str, sample: Any) -> None:
    ev = sample.events.to_pandas()
    fra = ev[(ev["kind"] == "airspace_entry") & (ev["country"] == "FRA")]
    fl = sample.flights.to_pandas().set_index("flight_id")
    headline = html.unescape(re.search(r'<h1 id="headline">(.*?)</h1>', page, re.S).group(1))
    n_aircraft = fra["icao24"].nunique()
    assert headline.startswith(f"{n_aircraft} ")
    assert "FRA national airspace" in headline
    if "registry_country" in fl:
        foreign = (fl.loc[fra["flight_id"].unique(), "registry_country"] != "FRA").all()
        assert ("foreign" in headline.split("entered")[0]) == bool(foreign)
    longest_min = round(fra["duration_s"].max() / 60)
    assert f"longest stay {longest_min} min" in headline
    depth_km = max(json.loads(d)["max_depth_m"] for d in fra["details"]) / 1000
    assert f"up to {depth_km:,.0f} km inside" in headline


def test_summary_without_focus_counts_flights_and_patterns(sample: Any) -> None:
    s = summarize(sample.points, sample.flights, sample.events, None)
    ev = sample.events.to_pandas()
    n_pattern = ev[ev["kind"].isin(["orbit", "racetrack", "grid", "loiter"])]["flight_id"].nunique()
    assert s.headline.startswith(f"{sample.flights.num_rows} flights by ")
    assert (
        f"{n_pattern} flight{'s' if n_pattern != 1 else ''} flew surveillance patterns"
        in s.headline
    )
    for country, n in ev[ev["kind"] == "airspace_entry"]["country"].value_counts().items():
        assert f"{country} {n}" in s.headline


def test_map_data_decimates_and_keeps_every_flight(sample: Any, tmp_path: Path) -> None:
    write_report(tmp_path, sample.points, sample.flights, sample.events, max_points_per_flight=300)
    data = embedded_data((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert [f["id"] for f in data["flights"]] == sorted(
        sample.flights.column("flight_id").to_pylist()
    )
    valid = sample.frame.dropna(subset=["latitude", "longitude"])
    for f in data["flights"]:
        pts = [p for s in f["segments"] for p in s["p"]]
        n_valid = int((valid["flight_id"] == f["id"]).sum())
        # 300 by stride, plus the points either side of each change of colour, plus joins
        assert len(pts) <= 300 + 4 * len(f["segments"]) + 2
        assert len(pts) < n_valid
        first = valid[valid["flight_id"] == f["id"]].iloc[0]
        assert pts[0] == [round(first["latitude"], 5), round(first["longitude"], 5)]
    assert data["colorBy"] == "zone"
    assert set(data["colors"]) <= {"land", "territorial_sea", "international", "unknown", "foreign"}


def test_hostile_callsign_is_escaped_everywhere(sample: Any, tmp_path: Path) -> None:
    fid = sample.flights.column("flight_id")[0].as_py()

    def swap(t: pa.Table) -> pa.Table:
        hit = pc.equal(t.column("flight_id"), fid)
        col = pc.if_else(hit, HOSTILE, t.column("callsign"))
        return t.set_column(t.column_names.index("callsign"), "callsign", col)

    write_report(tmp_path, swap(sample.points), swap(sample.flights), sample.events)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert HOSTILE not in text
    assert "<img src=x" not in text
    assert text.count("<script") == 3  # data, Leaflet, report script
    assert html.escape(HOSTILE) in text  # the flights table shows it, escaped
    labels = [f["label"] for f in embedded_data(text)["flights"]]
    assert HOSTILE in labels
    kml = (tmp_path / "flights.kml").read_text(encoding="utf-8")
    assert HOSTILE not in kml
    back = pd.read_csv(tmp_path / "flights.csv", dtype=str)
    assert HOSTILE in back["callsign"].tolist()


def test_report_without_stage_columns_colours_by_altitude(sample: Any, tmp_path: Path) -> None:
    points = sample.points.drop_columns(["zone", "country"])
    flights = sample.flights.select(
        ["flight_id", "icao24", "callsign", "start", "stop", "n_points"]
    )
    write_report(tmp_path, points, flights, None)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    data = embedded_data(text)
    assert data["colorBy"] == "altitude"
    assert data["boundaries"] == [] and data["entries"] == [] and data["patterns"] == []
    assert "Mission" not in re.search(r"<thead>(.*?)</thead>", text, re.S).group(1)
    assert f"{flights.num_rows} flights by" in text


def test_empty_tables_still_make_a_report(tmp_path: Path) -> None:
    from overflight.schema import EVENT_SCHEMA, FLIGHT_SCHEMA, POINT_SCHEMA

    written = write_report(
        tmp_path,
        POINT_SCHEMA.empty_table(),
        FLIGHT_SCHEMA.empty_table(),
        EVENT_SCHEMA.empty_table(),
        params={"focus": "mex"},
    )
    text = written["report.html"].read_text(encoding="utf-8")
    assert "No aircraft in this data entered MEX national airspace" in text
    assert embedded_data(text)["flights"] == []
    doc = json.loads(written["flights.geojson"].read_text(encoding="utf-8"))
    assert doc == {"type": "FeatureCollection", "features": []}
