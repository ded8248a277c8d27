"""The fast airspace_events against a slow reference on real traffic, and its speed.

The reference here is written fix by fix and row by row, the way the first
version of :mod:`overflight.airspace.events` was: runs of consecutive fixes per
flight and key found by a Python loop, each crossing found by plain bisection
asking shapely's ``contains_xy`` at every midpoint, depths from
``border_distance`` (or the points' distances), one dict per row encoded by
``json.dumps``, rows sorted by ``sorted``.  The events must equal it exactly.
The data: the traffic package's Switzerland collection (139,000 fixes with
thousands of border crossings between CHE, FRA, DEU, ITA, AUT and LIE).  The
column-wise JSON encoders of the details are checked against :func:`json.dumps`
on any values (hypothesis).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from test_airspace_events import bisect_with, shapely_inside

from overflight import clean, ingest
from overflight.airspace import Boundaries, airspace_events, classify_points, load_boundaries
from overflight.airspace import crossing as crossing_module
from overflight.airspace import events as events_module
from overflight.airspace.crossing import BISECT_STEPS
from overflight.airspace.details import (
    details_column,
    json_bools,
    json_floats,
    json_ints,
    json_strings,
)
from overflight.airspace.distance import border_distance
from overflight.airspace.keys import Keys
from overflight.airspace.stays import _Fixes
from overflight.errors import BoundaryError
from overflight.schema import EVENT_SCHEMA, conform

#: ICAO 24-bit address blocks of a few states (ICAO Annex 10 vol. III allocation).
_BLOCKS = {"4b": "CHE", "3c": "DEU", "3d": "DEU", "38": "FRA", "39": "FRA", "44": "AUT"}
MAX_M = 500_000.0


@pytest.fixture(scope="module")
def boundaries() -> Boundaries:
    try:
        b = load_boundaries()
    except BoundaryError as exc:
        pytest.skip(str(exc))
    shapely.prepare(b.item_geoms)
    return b


@pytest.fixture(scope="module")
def swiss(boundaries: Boundaries, traffic_samples: Path) -> tuple[pa.Table, pa.Table]:
    table = ingest.read(traffic_samples / "collections" / "switzerland.json.gz")
    points, flights = clean.run(conform(table.replace_schema_metadata(None)))
    reg = [_BLOCKS.get(a[:2]) for a in flights.column("icao24").to_pylist()]
    flights = flights.append_column("registry_country", pa.array(reg, pa.string()))
    return classify_points(points, boundaries), flights


def _wrap(x: float) -> float:
    return (x + 180.0) % 360.0 - 180.0


def _runs(ranks: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for r in ranks:
        if out and out[-1][1] == r - 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def reference_events(
    points: pa.Table,
    b: Boundaries,
    flights: pa.Table,
    *,
    foreign_only: bool = False,
    reuse: bool = False,
) -> pa.Table:
    """The events, fix by fix and row by row (see the module docstring)."""
    cols = points.select(["flight_id", "icao24", "callsign", "valid"]).to_pydict()
    lon_all = points.column("longitude").to_numpy(zero_copy_only=False)
    lat_all = points.column("latitude").to_numpy(zero_copy_only=False)
    ts_all = points.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
    dist_all = pc.fill_null(points.column("boundary_distance_m"), np.nan).to_numpy()
    first_seen: dict[str, int] = {}
    for f in cols["flight_id"]:
        if f is not None:
            first_seen.setdefault(f, len(first_seen))
    ok = [
        i
        for i in range(points.num_rows)
        if cols["valid"][i] and cols["flight_id"][i] is not None
        if np.isfinite(lon_all[i]) and np.isfinite(lat_all[i])
    ]
    rows = sorted(ok, key=lambda i: (first_seen[cols["flight_id"][i]], ts_all[i]))
    lon, lat, ts = lon_all[rows], lat_all[rows], ts_all[rows]
    ids = b.classify(lon, lat)
    info = b.info()
    keys = Keys(b, None)
    flight = [cols["flight_id"][i] for i in rows]
    starts = [k for k in range(len(rows)) if k == 0 or flight[k] != flight[k - 1]]
    stays: list[dict[str, Any]] = []
    for a, e in zip(starts, [*starts[1:], len(rows)], strict=True):
        ranks: dict[int, list[int]] = {}
        for r in range(e - a):
            c = int(ids[a + r])
            names = [("airspace_entry", x) for x in info.countries[c]] if c >= 0 else []
            names += [("zone_entry", z) for z in info.zones[c]] if c >= 0 else []
            for name in names:
                ranks.setdefault(keys.index[name], []).append(r)
        for k in sorted(ranks):
            for r0, r1 in _runs(ranks[k]):
                stays.append({"k": k, "p0": a + r0, "p1": a + r1, "n": e - a, "r0": r0, "r1": r1})
    # every crossing in one plain bisection asking shapely
    inside = shapely_inside(b, keys)
    seg = [(s["p0"] - 1, s["p0"], s["k"]) for s in stays if s["r0"] > 0]
    seg += [(s["p1"] + 1, s["p1"], s["k"]) for s in stays if s["r1"] < s["n"] - 1]
    o, i, seg_key = (np.array([x[j] for x in seg], np.int64) for j in range(3))
    frac = dict(
        zip(
            seg,
            bisect_with(inside, lon[o], lat[o], lon[i], lat[i], seg_key).tolist(),
            strict=True,
        )
    )
    # depths, measured per key in one call
    depth: dict[int, float] = {}
    todo: dict[int, list[int]] = {}
    for s in stays:
        kind, name = keys.keys[s["k"]]
        for p in range(s["p0"], s["p1"] + 1):
            c = int(ids[p])
            d = dist_all[rows[p]]
            if reuse and kind == "airspace_entry" and info.countries[c] == [name] and d == d:
                depth[p * 10_000 + s["k"]] = min(abs(float(d)), MAX_M)
            else:
                todo.setdefault(s["k"], []).append(p)
    for key, ps in todo.items():
        kind, key_name = keys.keys[key]
        got = border_distance(b, kind, key_name, lon[ps], lat[ps], MAX_M)
        depth.update({p * 10_000 + key: float(v) for p, v in zip(ps, got, strict=True)})
    out = []
    for s in stays:
        kind, name = keys.keys[s["k"]]
        p0, p1 = s["p0"], s["p1"]
        t_in = frac[(p0 - 1, p0, s["k"])] if s["r0"] > 0 else 1.0
        t_out = 1.0 - frac[(p1 + 1, p1, s["k"])] if s["r1"] < s["n"] - 1 else 0.0
        prev, nxt = (p0 - 1 if s["r0"] > 0 else p0), (p1 + 1 if s["r1"] < s["n"] - 1 else p1)
        ds = [depth[p * 10_000 + s["k"]] for p in range(p0, p1 + 1)]
        ds = [d for d in ds if d == d]
        land = [name in info.land_countries[int(ids[p])] for p in range(p0, p1 + 1)]
        over_land = kind == "airspace_entry" and any(land)
        out.append(
            {
                "fix": p0,
                "kind": kind,
                "name": name,
                "start": round(float(ts[prev]) + t_in * float(ts[p0] - ts[prev])),
                "stop": round(float(ts[p1]) + t_out * float(ts[nxt] - ts[p1])),
                "latitude": float(lat[prev] + t_in * (lat[p0] - lat[prev])),
                "longitude": _wrap(lon[prev] + t_in * _wrap(lon[p0] - lon[prev])),
                "exit_latitude": float(lat[p1] + t_out * (lat[nxt] - lat[p1])),
                "exit_longitude": _wrap(lon[p1] + t_out * _wrap(lon[nxt] - lon[p1])),
                "max_depth_m": round(max(ds), 1) if ds else None,
                "over_land": over_land,
                "zone": ("land" if over_land else "territorial_sea")
                if kind != "zone_entry"
                else None,
                "entry_interpolated": s["r0"] > 0,
                "exit_interpolated": s["r1"] < s["n"] - 1,
                "entry_gap_s": float(ts[p0] - ts[prev]) / 1e9 if s["r0"] > 0 else None,
                "exit_gap_s": float(ts[nxt] - ts[p1]) / 1e9 if s["r1"] < s["n"] - 1 else None,
                "n_fixes": p1 - p0 + 1,
            }
        )
    return _table(out, [rows[s["fix"]] for s in out], cols, flights, foreign_only)


def _table(
    stays: list[dict[str, Any]],
    src: list[int],
    cols: dict[str, list[Any]],
    flights: pa.Table,
    foreign_only: bool,
) -> pa.Table:
    ids, regs = flights.column("flight_id").to_pylist(), flights.column("registry_country")
    reg_of = dict(zip(ids, regs.to_pylist(), strict=True))
    table: dict[str, list[Any]] = {f.name: [] for f in EVENT_SCHEMA}
    rows = sorted(
        zip(stays, src, strict=True), key=lambda r: (cols["flight_id"][r[1]], r[0]["start"])
    )
    for s, i in rows:
        flight, reg = cols["flight_id"][i], reg_of.get(cols["flight_id"][i])
        reg = reg.upper() if reg else None
        foreign = None if reg is None else reg != s["name"]
        if foreign_only and foreign is False:
            continue
        details = {k: v for k, v in s.items() if k not in ("fix", "kind", "start", "stop")}
        details.update(callsign=cols["callsign"][i], registry_country=reg, foreign=foreign)
        row = {
            "flight_id": flight,
            "icao24": cols["icao24"][i],
            "duration_s": (s["stop"] - s["start"]) / 1e9,
            "country": s["name"],
            "details": json.dumps(details, sort_keys=True),
            "authorization": None,
        }
        for name in table:
            table[name].append(row[name] if name in row else s[name])
    return pa.table(table, schema=pa.schema([pa.field(f.name, f.type) for f in EVENT_SCHEMA]))


@pytest.mark.parametrize(("reuse", "foreign_only"), [(True, False), (False, True)])
def test_events_equal_the_row_by_row_reference(
    boundaries: Boundaries, swiss: tuple[pa.Table, pa.Table], reuse: bool, foreign_only: bool
) -> None:
    points, flights = swiss
    got = airspace_events(
        points, boundaries, flights=flights, reuse_point_distances=reuse, foreign_only=foreign_only
    )
    expected = reference_events(points, boundaries, flights, foreign_only=foreign_only, reuse=reuse)
    assert got.num_rows > 3000
    assert {"CHE", "FRA", "DEU", "ITA", "AUT"} <= set(got.column("country").to_pylist())
    details = [json.loads(d) for d in got.column("details").to_pylist()]
    assert any(d["foreign"] is True for d in details)
    assert any(d["foreign"] is None for d in details)
    assert foreign_only != any(d["foreign"] is False for d in details)
    assert got.equals(expected)


def _cpu_s(fn: Callable[[], object], repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def test_crossings_ask_the_classifier_for_few_midpoints_and_beat_plain_bisection(
    boundaries: Boundaries, swiss: tuple[pa.Table, pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    points, flights = swiss
    seen: list[tuple[Any, ...]] = []
    asked: list[int] = []
    crossing = crossing_module.crossing_fractions
    inside = Keys.inside

    def spy(*args: Any) -> np.ndarray:
        seen.append(args)
        return crossing(*args)

    def counting(self: Keys, lon: np.ndarray, lat: np.ndarray, key: np.ndarray) -> np.ndarray:
        asked.append(lon.size)
        return inside(self, lon, lat, key)

    monkeypatch.setattr(events_module, "crossing_fractions", spy)
    monkeypatch.setattr(Keys, "inside", counting)
    airspace_events(points, boundaries, flights=flights, reuse_point_distances=True)
    monkeypatch.undo()
    segments = seen[0][3:]
    n = segments[0].size
    assert n > 5000
    assert len(asked) <= BISECT_STEPS + 2  # rounds, each one classifier call
    assert sum(asked) < 0.05 * BISECT_STEPS * n  # plain bisection asks 30 per crossing
    # the whole stage takes less CPU time than the crossings alone did by plain bisection
    plain = _cpu_s(lambda: bisect_with(Keys(boundaries, None).inside, *segments))
    fast = _cpu_s(
        lambda: airspace_events(points, boundaries, flights=flights, reuse_point_distances=True)
    )
    assert fast < plain, (fast, plain)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(),
            st.one_of(st.none(), st.text()),
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_details_equal_json_dumps(rows: list[tuple[float, str | None, bool, int, bool]]) -> None:
    f, s, b, i, null = (list(v) for v in zip(*rows, strict=True))
    with np.errstate(invalid="ignore"):
        col = details_column(
            {
                "x": json_floats(np.array(f, np.float64)),
                "maybe": json_floats(np.array(f, np.float64), null=np.array(null)),
                "s": json_strings(s),
                "flag": json_bools(np.array(b), null=np.array(null)),
                "n": json_ints(np.array(i, np.int64)),
            }
        )
    expected = [
        json.dumps(
            {"x": x, "maybe": None if u else x, "s": t, "flag": None if u else c, "n": k},
            sort_keys=True,
        )
        for x, t, c, k, u in zip(f, s, b, i, null, strict=True)
    ]
    assert col.to_pylist() == expected


def test_float_text_across_magnitudes() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            rng.uniform(-1, 1, 20_000) * 10.0 ** rng.integers(-320, 308, 20_000),
            np.round(rng.uniform(-2e7, 2e7, 20_000), 1),
            np.round(rng.uniform(-2e7, 2e7, 5_000)),
            [0.0, -0.0, 1e-4, -1e-4, np.nextafter(1e-4, 0), 1e7, np.nextafter(1e7, 0), 5e-324],
        ]
    )
    assert json_floats(x).to_pylist() == [json.dumps(v) for v in x.tolist()]


# --- the compiled walk of the fixes and the details encoders, against plain numpy ---


def _fixes_reference(points: pa.Table) -> dict[str, np.ndarray]:
    """The valid fixes by (flight, time), written with numpy as the first version did."""
    valid = points.column("valid").fill_null(False).to_numpy(zero_copy_only=False)
    lon = np.where(valid, points.column("longitude").to_numpy(zero_copy_only=False), np.nan)
    lat = np.where(valid, points.column("latitude").to_numpy(zero_copy_only=False), np.nan)
    enc = pc.dictionary_encode(points.column("flight_id").combine_chunks())
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    ts = points.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat) & (codes >= 0))
    ok = ok[np.lexsort((ts[ok], codes[ok]))]
    flight = codes[ok]
    first = np.flatnonzero(np.diff(flight, prepend=-1))
    count = np.diff(np.append(first, flight.size))
    return {
        "rows": ok,
        "flight": flight,
        "lon": lon[ok],
        "lat": lat[ok],
        "ts": ts[ok],
        "rank": np.arange(flight.size) - np.repeat(first, count),
        "nvalid": np.repeat(count, count),
    }


def test_fixes_equal_the_numpy_definition(swiss: tuple[pa.Table, pa.Table]) -> None:
    points, _ = swiss
    rng = np.random.default_rng(3)
    messy = points.take(pa.array(rng.permutation(points.num_rows)))
    pick = rng.random(messy.num_rows)
    valid = pa.array(np.where(pick < 0.05, None, pick > 0.1), pa.bool_())
    lon = np.where(pick > 0.98, np.nan, messy.column("longitude").to_numpy(zero_copy_only=False))
    messy = messy.set_column(messy.schema.get_field_index("valid"), "valid", valid)
    messy = messy.set_column(messy.schema.get_field_index("longitude"), "longitude", pa.array(lon))
    # grouped by flight (the runs shortcut) but not by time, and in the original order
    grouped = messy.take(pc.sort_indices(messy, [("flight_id", "ascending")]))
    for table in (
        points,
        messy,
        grouped,
        pa.concat_tables([points.slice(0, 5000), points.slice(5000)]),
    ):
        got, want = _Fixes.of(table), _fixes_reference(table)
        for name, values in want.items():
            assert np.array_equal(getattr(got, name), values), name
        assert got.names.to_pylist() == pc.unique(table.column("flight_id")).to_pylist()


def _merge_reference(lo: list[float], hi: list[float]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(zip(lo, hi, strict=True), key=lambda z: z[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.5, 1.5), st.floats(0.0, 0.3)), min_size=0, max_size=12))
def test_zone_merge_equals_sorting_and_merging(zones: list[tuple[float, float]]) -> None:
    lo = [a for a, _ in zones]
    hi = [a + w for a, w in zones]
    zlo, zhi = np.array([9.0, *lo, 9.0]), np.array([9.0, *hi, 9.0])
    n = crossing_module._merge(zlo, zhi, 1, 1 + len(zones))
    assert list(zip(zlo[1 : 1 + n].tolist(), zhi[1 : 1 + n].tolist(), strict=True)) == (
        _merge_reference(lo, hi)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(), st.sampled_from(["FRA", "CHE"])), max_size=30))
def test_arrow_strings_equal_json_dumps(values: list[str | None]) -> None:
    want = [json.dumps(v) for v in values]
    assert json_strings(values).to_pylist() == want
    arr = pa.array(values, pa.string())
    assert json_strings(arr).to_pylist() == want
    assert json_strings(arr.cast(pa.large_string())).to_pylist() == want
    half = len(values) // 2
    assert json_strings(pa.chunked_array([arr[:half], arr[half:]], pa.string())).to_pylist() == want


def test_focus_rows_equal_the_focus_country_of_all_rows(
    boundaries: Boundaries, swiss: tuple[pa.Table, pa.Table]
) -> None:
    points, flights = swiss
    every = airspace_events(points, boundaries, flights=flights, reuse_point_distances=True)
    for focus in ("CHE", "FRA"):
        got = airspace_events(
            points, boundaries, focus=focus, flights=flights, reuse_point_distances=True
        )
        stays = got.filter(pc.equal(got.column("kind"), "airspace_entry"))
        assert stays.num_rows > 100
        assert stays.equals(every.filter(pc.equal(every.column("country"), focus)))
        assert pc.all(pc.equal(got.column("country"), focus)).as_py()
