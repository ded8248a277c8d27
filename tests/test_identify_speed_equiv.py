"""The fast identify paths equal their straightforward definitions, bit for bit.

References, written out here and independent of the code under test: flight
numbering by ``pyarrow.compute.dictionary_encode``; the drone envelope as
whole-column numpy with a pandas group-by (medians, ``std``) and
``numpy.bincount`` sums; the squawk labels per flight with Arrow's
single-threaded hash group-by.  Real data: traffic's sample trajectories
(``collections/quickstart`` carries many flights with VFR and 2000 squawks)
as they come (sorted per flight), and messed up (shuffled, chunked, null ids,
invalid rows, other squawk encodings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.classify.samples import read_traffic_json
from overflight.identify.envelope import ENVELOPE_SCHEMA, EnvelopeThresholds, flight_envelope
from overflight.identify.flight_squawks import flight_squawks
from overflight.identify.flightcodes import flight_codes
from overflight.identify.squawk import squawk_label
from overflight.jit import median_of

FILES = (
    "collections/quickstart",
    "surveillance/border_control",
    "gliders/sisteron",
    "featured/dreamliner_boeing",
    "tv_relay/vasaloppet",
)


def _frame(traffic_samples: Path) -> pd.DataFrame:
    frames = []
    for name in FILES:
        raw = read_traffic_json(traffic_samples / f"{name}.json.gz")
        ts = raw["timestamp"]
        unit = "ms" if pd.api.types.is_numeric_dtype(ts) else None
        df = pd.DataFrame(
            {
                "timestamp": pd.to_datetime(ts, unit=unit, utc=True).astype("datetime64[ns, UTC]"),
                "altitude": pd.to_numeric(raw.get("altitude"), errors="coerce"),
                "groundspeed": pd.to_numeric(raw.get("groundspeed"), errors="coerce"),
                "vertical_rate": pd.to_numeric(raw.get("vertical_rate"), errors="coerce"),
                "squawk": raw.get("squawk"),
            }
        )
        callsign = raw["callsign"].fillna("") if "callsign" in raw else ""
        df["flight_id"] = name + ":" + raw["icao24"].astype(str) + ":" + callsign
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["squawk"] = [None if pd.isna(v) else str(v).split(".")[0].zfill(4) for v in df["squawk"]]
    return df.sort_values(["flight_id", "timestamp"], kind="stable", ignore_index=True)


@pytest.fixture(scope="module")
def tables(traffic_samples: Path) -> dict[str, pa.Table]:
    """The sample points grouped by flight, and messy variants of them."""
    df = _frame(traffic_samples)
    rng = np.random.default_rng(11)
    large = pa.Table.from_pandas(df, preserve_index=False)
    large = large.append_column("valid", pa.array(rng.random(len(df)) > 0.05))
    clean = large.cast(
        large.schema.set(
            large.schema.get_field_index("flight_id"), pa.field("flight_id", pa.string())
        )
    )
    clean = clean.cast(
        clean.schema.set(clean.schema.get_field_index("squawk"), pa.field("squawk", pa.string()))
    )
    shuffled = clean.take(pa.array(rng.permutation(clean.num_rows)))
    fid = shuffled["flight_id"].combine_chunks().to_pylist()
    fid = [None if rng.random() < 0.01 else v for v in fid]
    messy = shuffled.set_column(shuffled.schema.get_field_index("flight_id"), "flight_id", [fid])
    sq = [
        None if v is None else (f" {v}" if rng.random() < 0.02 else v)
        for v in messy["squawk"].combine_chunks().to_pylist()
    ]
    messy = messy.set_column(messy.schema.get_field_index("squawk"), "squawk", [sq])
    half = messy.num_rows // 2
    messy = pa.concat_tables([messy.slice(0, half), messy.slice(half)])
    ints = clean.set_column(
        clean.schema.get_field_index("squawk"),
        "squawk",
        pc.cast(clean["squawk"], pa.int64()),
    )
    return {"clean": clean, "messy": messy, "int_squawks": ints, "large_strings": large}


# ---------------------------------------------------------------- references


def _ref_envelope(points: pa.Table, th: EnvelopeThresholds) -> pa.Table:
    """The envelope as whole columns: numpy, np.bincount and a pandas group-by."""
    enc = pc.dictionary_encode(points["flight_id"].cast(pa.string())).combine_chunks()
    codes = pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
    tcol = points["timestamp"]
    per_s = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[tcol.type.unit]
    ts_int = pc.cast(tcol, pa.int64()).combine_chunks()
    ts = np.where(
        ts_int.is_null().to_numpy(zero_copy_only=False),
        np.nan,
        pc.fill_null(ts_int, 0).to_numpy().astype(np.float64) / per_s,
    )
    valid = np.asarray(pc.fill_null(points["valid"], False).to_numpy(), dtype=bool)

    def col(name: str) -> np.ndarray:  # type: ignore[type-arg]
        return np.asarray(pc.fill_null(pc.cast(points[name], pa.float64()), np.nan).to_numpy())

    order = np.flatnonzero(valid & (codes >= 0) & np.isfinite(ts))
    order = order[np.lexsort((ts[order], codes[order]))]
    if order.size == 0:
        return ENVELOPE_SCHEMA.empty_table()
    code, t = codes[order], ts[order]
    alt, gs, vr_col = col("altitude")[order], col("groundspeed")[order], col("vertical_rate")[order]
    same_next = np.r_[code[1:] == code[:-1], False]
    w = np.clip(np.where(same_next, np.r_[np.diff(t), 0.0], 0.0), 0.0, th.max_gap_s)
    same_prev = np.r_[False, same_next[:-1]]
    dt_prev = np.r_[np.nan, np.diff(t)]
    ok_prev = same_prev & (dt_prev > 0) & (dt_prev <= th.max_gap_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.where(ok_prev, np.r_[np.nan, np.diff(alt)] / dt_prev * 60.0, np.nan)
    vr = np.where(np.isnan(vr_col), derived, vr_col)

    def within(x: np.ndarray, band: tuple[float, float]) -> np.ndarray:  # type: ignore[type-arg]
        return (x >= band[0]) & (x <= band[1])

    groups, inv = np.unique(code, return_inverse=True)
    k = groups.size

    def total(x: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        return np.bincount(inv, weights=x, minlength=k)

    has_vr = np.isfinite(vr)
    by = pd.DataFrame({"g": inv, "gs": gs, "alt": alt, "vr": np.where(has_vr, vr, np.nan)})
    by = by.groupby("g", sort=True)
    medians = by[["gs", "alt"]].median()
    tracked = total(w)
    first = np.r_[0, np.flatnonzero(np.diff(inv)) + 1]
    last = np.r_[first[1:] - 1, inv.size - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        male = within(gs, th.male_speed_kt) & within(alt, th.male_altitude_ft)
        tactical = within(gs, th.tactical_speed_kt) & within(alt, th.tactical_altitude_ft)
        frac = {
            "male": total(w * male) / tracked,
            "tactical": total(w * tactical) / tracked,
            "hale": total(w * (alt >= th.hale_min_altitude_ft)) / tracked,
        }
        level = total(w * (has_vr & (np.abs(vr) <= th.level_fpm))) / total(w * has_vr)
    n_points = np.bincount(inv, minlength=k)
    duration_h = (t[last] - t[first]) / 3600.0
    base = (
        (duration_h >= th.min_duration_h)
        & (n_points >= th.min_points)
        & (np.nan_to_num(level) >= th.min_level_fraction)
    )
    envelope = np.full(k, None, dtype=object)
    for name in ("tactical", "male", "hale"):
        envelope[base & (np.nan_to_num(frac[name]) >= th.min_band_fraction)] = name
    out: dict[str, Any] = {
        "flight_id": enc.dictionary.take(pa.array(groups)),
        "n_points": n_points,
        "duration_h": duration_h,
        "median_groundspeed_kt": medians["gs"].to_numpy(),
        "median_altitude_ft": medians["alt"].to_numpy(),
        "male_fraction": frac["male"],
        "tactical_fraction": frac["tactical"],
        "hale_fraction": frac["hale"],
        "level_fraction": level,
        "vertical_rate_std_fpm": by["vr"].std().to_numpy(),
        "envelope": envelope,
        "drone_envelope": pd.notna(envelope),
    }
    arrays = {name: pa.array(v, from_pandas=True) for name, v in out.items()}
    return pa.Table.from_pydict(arrays).cast(ENVELOPE_SCHEMA)


def _ref_squawks(points: pa.Table, flight_ids: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Labels per flight by Arrow's hash group-by (groups in order of appearance)."""

    def text(*parts: Any) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "", null_handling="emit_null")

    n = len(flight_ids)
    labels = squawk_label(points["squawk"])
    tbl = pa.table(
        {
            "flight_id": points["flight_id"].combine_chunks().cast(pa.string()),
            "label": labels,
            "code": points["squawk"].combine_chunks().cast(pa.string()),
        }
    ).filter(pc.is_valid(labels))
    if tbl.num_rows == 0:
        return pa.array([[]] * n, pa.list_(pa.string())), pa.nulls(n, pa.string())
    per = tbl.group_by(["flight_id", "label"], use_threads=False).aggregate([("code", "min")])
    per = per.append_column("item", text(per["code_min"], " ", per["label"]))
    flat = per.group_by("flight_id", use_threads=False).aggregate(
        [("item", "list"), ("label", "list")]
    )
    idx = pc.index_in(flight_ids, flat["flight_id"])
    lists = flat["label_list"].take(idx).combine_chunks()
    lists = pc.fill_null(lists, pa.scalar([], lists.type))
    joined = pc.binary_join(flat["item_list"], ", ").take(idx).combine_chunks()
    return lists, text("squawk ", joined.cast(pa.string()))


# --------------------------------------------------------------------- tests


def test_flight_codes_equal_dictionary_encode(tables: dict[str, pa.Table]) -> None:
    for t in tables.values():
        fc = flight_codes(t)
        enc = pc.dictionary_encode(t["flight_id"].cast(pa.string())).combine_chunks()
        assert fc.names.equals(enc.dictionary)
        assert np.array_equal(fc.code, pc.fill_null(enc.indices, -1).to_numpy())


def test_envelope_equals_reference(tables: dict[str, pa.Table]) -> None:
    loose = EnvelopeThresholds(min_duration_h=0.5, min_points=5, min_level_fraction=0.3)
    for th in (EnvelopeThresholds(), loose):
        for name, t in tables.items():
            got, want = flight_envelope(t, th), _ref_envelope(t, th)
            assert got.equals(want), name
    # the loose thresholds give every verdict a chance on this data
    verdicts = set(flight_envelope(tables["clean"], loose)["envelope"].to_pylist())
    assert len(verdicts) >= 2


def test_flight_squawks_equal_reference(tables: dict[str, pa.Table]) -> None:
    for name, t in tables.items():
        ids = pc.unique(t["flight_id"].combine_chunks()).cast(pa.string())
        ids = pa.concat_arrays([ids, pa.array(["no such flight"])])
        got, want = flight_squawks(t, ids), _ref_squawks(t, ids)
        assert got[0].to_pylist() == want[0].to_pylist(), name
        assert got[1].equals(want[1]), name
    # the real data has flights with several labels, so order matters here
    ids = pc.unique(tables["clean"]["flight_id"])
    lists = flight_squawks(tables["clean"], ids)[0]
    assert max(len(v) for v in lists.to_pylist()) >= 2


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", None]),
            st.integers(0, 4000),
            st.one_of(
                st.none(), st.sampled_from(["7000", "4401", "4433", "1200", " 2000", "0042"])
            ),
            st.one_of(st.none(), st.floats(-1000, 60_000)),
            st.one_of(st.none(), st.floats(0, 400)),
            st.booleans(),
        ),
        max_size=60,
    ),
    # string takes the octal fast path; large_string (pandas 3's default
    # when a caller converts a frame itself) the general one
    st.sampled_from([pa.string(), pa.large_string()]),
)
def test_random_points_equal_references(rows: list[tuple[Any, ...]], sq_type: pa.DataType) -> None:
    t = pa.table(
        {
            "flight_id": pa.array([r[0] for r in rows], pa.string()),
            "timestamp": pa.array([r[1] * 10**9 for r in rows], pa.timestamp("ns", tz="UTC")),
            "squawk": pa.array([r[2] for r in rows], sq_type),
            "altitude": pa.array([r[3] for r in rows], pa.float64()),
            "groundspeed": pa.array([r[4] for r in rows], pa.float64()),
            "vertical_rate": pa.array([None] * len(rows), pa.float64()),
            "valid": pa.array([r[5] for r in rows], pa.bool_()),
        }
    )
    th = EnvelopeThresholds(min_duration_h=0.1, min_points=2)
    got, want = flight_envelope(t, th), _ref_envelope(t, th)
    assert got.equals(want)
    ids = pa.array(["a", "b", "c", None, "d"])
    got_sq, want_sq = flight_squawks(t, ids), _ref_squawks(t, ids)
    assert got_sq[0].to_pylist() == want_sq[0].to_pylist()
    assert got_sq[1].equals(want_sq[1])


def test_squawks_all_null_in_any_type() -> None:
    """Every row null: no labels, whatever the column type (it used to index
    an empty array when the type was not plain string)."""
    for typ in (pa.string(), pa.large_string(), pa.uint16(), pa.null()):
        t = pa.table(
            {
                "flight_id": pa.array(["a", "a", "b"]),
                "timestamp": pa.array([0, 1, 2], pa.timestamp("s", tz="UTC")),
                "squawk": pa.nulls(3, typ),
            }
        )
        lists, _ = flight_squawks(t, pa.array(["a", "b"]))
        assert lists.to_pylist() == [[], []], typ


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_median_of_is_pandas_median(values: list[float]) -> None:
    v = np.array(values)
    want = pd.Series(v).median()
    assert median_of(v.copy(), v.size) == want
