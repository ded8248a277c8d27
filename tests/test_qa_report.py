"""Field tests of the report outputs, as their consumers use them.

Each test is a regression test for a bug found by opening the outputs the way
a newsroom, a GIS analyst, Google Earth or a verifying government would:

* counts (``n_points``, ``n_fixes``) must stay integers in the GeoJSON, KML and
  popups, not turn into ``1360.0``;
* ``verify`` must name a malformed or escaping manifest entry, never crash or
  hash a file outside the folder;
* ``overflight verify`` without ``--key`` must say that a signature present was
  not checked;
* ``overflight keygen`` must not overwrite a key, nor write a private key into
  a file others can read, nor write both keys into one file;
* on the map, a flight across the antimeridian keeps its markers and patterns
  on its track, and the background is drawn where the track is;
* the page says "1 flight", not "1 flights";
* in the flights table, missing values sort last whichever way a column is sorted.

The data are real: the report sample built from traffic's sample flights
(``report_sample``) and the @geo-maps boundaries in node_modules.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import shapely
from typer.testing import CliRunner

from overflight.cli import app
from overflight.report import generate_keypair, sign, verify, write_report
from overflight.report._frame import valid_positions
from overflight.report.mapdata import map_data
from support.report_sample import GEO_MAPS, Sample, write_sample_report

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def out(report_sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("qa-report")
    write_sample_report(d, report_sample, {"focus": "FRA"}, boundaries=False)
    return d


def _integer_columns(table: pa.Table) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_integer(f.type)]


# --- counts stay integers ---------------------------------------------------------------


def test_counts_stay_integers_in_the_geojson(out: Path, report_sample: Sample) -> None:
    fc = json.loads((out / "flights.geojson").read_text(encoding="utf-8"))
    checked = 0
    for kind, table in (
        ("track", report_sample.flights),
        ("observation_reach", report_sample.reach),
    ):
        ints = _integer_columns(table)
        rows = {r["flight_id"]: r for r in table.to_pylist()}
        for f in fc["features"]:
            p = f["properties"]
            if p["feature_type"] != kind:
                continue
            for name in ints:
                want = rows[p["flight_id"]][name]
                assert type(p[name]) is int and p[name] == want, (kind, name, p[name])
                checked += 1
    assert checked > 0  # the sample has integer columns (n_points, n_fixes)


def test_counts_stay_integers_in_the_kml(out: Path, report_sample: Sample) -> None:
    root = ET.parse(out / "flights.kml").getroot()
    tracks = root.find(f"{KML}Document/{KML}Folder")
    assert tracks is not None
    descriptions = [pm.findtext(f"{KML}description") or "" for pm in tracks.iter(f"{KML}Placemark")]
    want = sorted(f"n_points: {n}" for n in report_sample.flights.column("n_points").to_pylist())
    got = sorted(
        line for d in descriptions for line in d.splitlines() if line.startswith("n_points")
    )
    assert got == want


# --- verify ---------------------------------------------------------------------------------


@pytest.fixture
def copy(out: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(out, tmp_path / "report"))


def _edit_manifest(folder: Path, outputs: list[Any]) -> None:
    path = folder / "manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["outputs"] += outputs
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_verify_names_a_malformed_manifest_entry(copy: Path) -> None:
    _edit_manifest(copy, [7, {"path": None}])
    problems = verify(copy)
    assert len(problems) == 2
    assert all(p.startswith("manifest.json: outputs[") for p in problems)


def test_verify_refuses_an_entry_outside_the_folder(copy: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of the report\n", encoding="utf-8")
    import hashlib

    digest = hashlib.sha256(secret.read_bytes()).hexdigest()  # a hash that would match
    rel = Path("..") / secret.name
    _edit_manifest(
        copy,
        [{"path": rel.as_posix(), "sha256": digest}, {"path": str(secret), "sha256": digest}],
    )
    problems = verify(copy)
    assert len(problems) == 2
    assert all("inside the folder" in p for p in problems)


def test_verify_command_says_when_a_signature_was_not_checked(copy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(app, ["verify", str(copy)])
    assert plain.exit_code == 0
    assert "not checked" not in plain.output
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    sign(copy, tmp_path / "k.pem")
    unchecked = runner.invoke(app, ["verify", str(copy)])
    assert unchecked.exit_code == 0
    assert "manifest.sig" in unchecked.output and "not checked" in unchecked.output
    checked = runner.invoke(app, ["verify", str(copy), "--key", str(tmp_path / "k.pub")])
    assert checked.exit_code == 0 and "not checked" not in checked.output


def test_keygen_never_leaves_a_private_key_readable_by_others(tmp_path: Path) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    private.write_bytes(b"")
    private.chmod(0o644)  # an existing file with a loose mode
    runner = CliRunner()
    refused = runner.invoke(app, ["keygen", str(private), str(public)])
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert private.read_bytes() == b"" and not public.exists()
    forced = runner.invoke(app, ["keygen", str(private), str(public), "--force"])
    assert forced.exit_code == 0, forced.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes() and b"PUBLIC KEY" in public.read_bytes()


def test_keygen_refuses_one_file_for_both_keys(tmp_path: Path) -> None:
    same = tmp_path / "key.pem"
    result = CliRunner().invoke(app, ["keygen", str(same), str(same)])
    assert result.exit_code == 1 and "two different files" in result.output
    assert not same.exists()


# --- the map across the antimeridian ------------------------------------------------------


def _wrap(lon: np.ndarray) -> np.ndarray:
    return (lon + 180.0) % 360.0 - 180.0


def _moved(sample: Sample, icao24: str, lat_to: float | None = None) -> tuple[Any, ...]:
    """The sample with ``icao24``'s mean position moved onto the antimeridian (and ``lat_to``)."""
    pts = sample.points
    mine = pts.filter(pc.equal(pts["icao24"], icao24))
    dlon = 180.0 - float(np.nanmean(mine["longitude"].to_numpy(zero_copy_only=False)))
    dlat = 0.0
    if lat_to is not None:
        dlat = lat_to - float(np.nanmean(mine["latitude"].to_numpy(zero_copy_only=False)))

    def move(t: pa.Table) -> pa.Table:
        lon = t["longitude"].to_numpy(zero_copy_only=False).astype(float)
        lat = t["latitude"].to_numpy(zero_copy_only=False).astype(float)
        new_lon = pa.array(_wrap(lon + dlon), from_pandas=True)  # NaN back to null
        t = t.set_column(t.column_names.index("longitude"), "longitude", new_lon)
        new_lat = pa.array(lat + dlat, from_pandas=True)
        return t.set_column(t.column_names.index("latitude"), "latitude", new_lat)

    events = move(sample.events)
    details = []
    for text in events["details"].to_pylist():
        d = json.loads(text) if text else {}
        if isinstance(d.get("exit_longitude"), (int, float)):
            d["exit_longitude"] = float(_wrap(np.array(d["exit_longitude"] + dlon)))
            d["exit_latitude"] = d["exit_latitude"] + dlat
        details.append(json.dumps(d))
    events = events.set_column(events.column_names.index("details"), "details", pa.array(details))
    return move(pts), sample.flights, events


def test_markers_stay_on_a_track_across_the_antimeridian(report_sample: Sample) -> None:
    entries = report_sample.events.filter(pc.equal(report_sample.events["kind"], "airspace_entry"))
    icao = entries["icao24"][0].as_py()
    pts, flights, events = _moved(report_sample, icao)
    data = map_data(valid_positions(pts), flights, events, None, None, "FRA")
    boxes = {f["id"]: f["b"] for f in data["flights"]}
    crossing = [
        f["id"]
        for f in data["flights"]
        if f["b"][0][1] < 180.0 < f["b"][1][1] or f["b"][0][1] < -180.0 < f["b"][1][1]
    ]
    assert crossing, "the moved flight should be drawn across ±180"
    placed = 0
    for item in data["entries"] + data["patterns"]:
        for key in ("at", "exit"):
            at = item.get(key)
            if at is None or item["flight"] not in boxes:
                continue
            (_, west), (_, east) = boxes[item["flight"]]
            assert west - 1.0 <= at[1] <= east + 1.0, (item["kind"], key, at, west, east)
            placed += 1
    assert placed > 0
    (_, west), (_, east) = data["bounds"]
    assert east - west < 180.0  # the map frames the flights, not the whole world


def _feature(package: str, iso3: str) -> dict[str, Any]:
    path = GEO_MAPS / package / "map.geo.json"
    if not path.is_file():
        pytest.skip(f"needs {path} (npm install)")
    with open(path, "rb") as fh:
        for line in fh:
            if f'"A3":"{iso3}"'.encode() in line:
                feat: dict[str, Any] = json.loads(line.rstrip().rstrip(b","))
                return feat
    pytest.skip(f"{iso3} not in {path}")


def test_background_is_drawn_under_a_track_across_the_antimeridian(report_sample: Sample) -> None:
    fiji = _feature("countries-maritime-10m", "FJI")
    centre_lat = shapely.centroid(shapely.from_geojson(json.dumps(fiji["geometry"]))).y
    icao = report_sample.flights["icao24"][0].as_py()
    pts, flights, events = _moved(report_sample, icao, lat_to=centre_lat)
    one = pc.equal(pts["icao24"], icao)
    pts = pts.filter(one)
    flights = flights.filter(pc.equal(flights["icao24"], icao))
    events = events.filter(pc.equal(events["icao24"], icao))
    fiji["properties"] = {"iso3": "FJI", "zone": "territorial_sea"}
    data = map_data(valid_positions(pts), flights, events, None, [fiji], "FJI")
    lons = np.array([p[1] for f in data["flights"] for s in f["segments"] for p in s["p"]])
    assert lons.max() - lons.min() < 180.0  # drawn as one line across ±180
    drawn = shapely.union_all(
        [shapely.from_geojson(json.dumps(f["geometry"])) for f in data["boundaries"]]
    )
    line = [x for x in (-180.0, 180.0) if lons.min() < x < lons.max()]
    assert len(line) == 1  # the track crosses the antimeridian once, at this drawn longitude
    # Fiji lies on both sides of the antimeridian: so must its drawing around the track
    w, _, e, _ = drawn.bounds
    assert w < line[0] < e, ((w, e), line)
    # and drawn once: no more area than the whole of Fiji's airspace
    real = shapely.from_geojson(json.dumps(fiji["geometry"]))
    assert drawn.area <= shapely.area(real) * 1.01


# --- wording ----------------------------------------------------------------------------------


def test_one_flight_is_not_flights(report_sample: Sample, tmp_path: Path) -> None:
    icao = report_sample.flights["icao24"][0].as_py()
    pick = {
        name: getattr(report_sample, name).filter(
            pc.equal(getattr(report_sample, name)["icao24"], icao)
        )
        for name in ("points", "flights", "events")
    }
    assert pick["flights"].num_rows == 1
    write_report(tmp_path, pick["points"], pick["flights"], pick["events"])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    meta = re.search(r'<p class="meta">(.*?)</p>', page)
    assert meta is not None
    assert "· 1 flight ·" in meta.group(1)


# --- sorting the flights table in a browser ------------------------------------------------


@pytest.mark.browser
def test_missing_values_sort_last_both_ways(
    browser: Any, report_sample: Sample, tmp_path: Path
) -> None:
    from support.browser import watched_page

    flights = report_sample.flights
    conf = flights["mission_confidence"].to_numpy(zero_copy_only=False)
    gone = int(np.argsort(conf)[len(conf) // 2])  # the middle value: neither end by itself
    keep = pa.array([i != gone for i in range(flights.num_rows)])
    for name in ("registry_country", "mission_confidence"):
        i = flights.column_names.index(name)
        col = flights.column(name)
        flights = flights.set_column(i, name, pc.if_else(keep, col, pa.nulls(len(col), col.type)))
    write_report(tmp_path, report_sample.points, flights, report_sample.events)
    url = (tmp_path / "report.html").as_uri()
    ctx, page, problems, blocked = watched_page(browser, lambda u: u == url, offline=True)
    page.goto(url)
    heads = [h.strip().lower() for h in page.locator("table.flights th").all_inner_texts()]
    for label in ("registry", "confidence"):
        col = heads.index(label) + 1
        for _ in ("ascending", "descending"):
            page.locator(f"table.flights th:nth-child({col})").click()
            cells = page.locator(f"table.flights tbody td:nth-child({col})").all_inner_texts()
            assert cells[-1].strip() == "–", (label, cells)
            assert "–" not in [c.strip() for c in cells[:-1]]
    ctx.close()
    assert problems == [] and blocked == []


# --- alerts are about the focus country --------------------------------------------------------


def test_only_findings_about_the_focus_country_are_alerts(report_sample: Sample) -> None:
    from overflight.report.sections import facts_html
    from overflight.report.summary import summarize

    entries = pc.equal(report_sample.events["kind"], "airspace_entry")
    countries = set(report_sample.events.filter(entries)["country"].to_pylist())
    focus = sorted(c for c in countries if c)[0]  # a country the sample enters
    args = (report_sample.points, report_sample.flights, report_sample.events)
    with_focus = facts_html(summarize(*args, focus))
    assert f"Entries into {focus}" in with_focus
    assert 'class="fact alert"' in with_focus
    without = facts_html(summarize(*args, None))
    assert "Longest stay" in without  # the figure is still there...
    assert 'class="fact alert"' not in without  # ...but not as an alert about a country


def test_headline_without_focus_counts_only_foreign_entries(
    shared_data: Path, tmp_path: Path
) -> None:
    """A US airliner over the US (DAL1812) is not an airspace entry worth a headline."""
    from overflight.report._frame import parse_details
    from overflight.report.summary import summarize

    trace = shared_data / "trajectories/readsb_trace_full_ac671b_DAL1812.json"
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["analyze", str(trace), "--out", str(out), "--no-report"])
    assert res.exit_code == 0, res.output
    tables = [pq.read_table(out / f"{n}.parquet") for n in ("points", "flights", "events")]
    ev = tables[2].filter(pc.equal(tables[2]["kind"], "airspace_entry"))
    foreign = [parse_details(d).get("foreign") for d in ev["details"].to_pylist()]
    countries = ev["country"].to_pylist()
    abroad = {c for c, f in zip(countries, foreign, strict=True) if f is not False}
    home_only = {c for c, f in zip(countries, foreign, strict=True) if f is False} - abroad
    assert home_only, "DAL1812 enters its own country's airspace"
    headline = summarize(*tables).headline
    for country in home_only:
        assert country not in headline
    assert ("entries by foreign aircraft" in headline) == bool(abroad)
