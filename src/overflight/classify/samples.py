"""Labelled real trajectories for training and evaluating the mission classifier.

Sources and the mission each is labelled with (decisions explained inline):

* traffic's sample trajectories (``traffic/data/samples/<category>/*.json.gz``:
  a JSON array of records, or a few in pandas' column orientation,
  ``timestamp`` in ms since the epoch);
* the BuzzFeed News extract of government aircraft around the 2016 Republican
  convention in Cleveland (ADS-B Exchange, about one fix a minute): the
  flights of the federal, state and local law-enforcement aircraft in it
  (DHS, its contractor's helicopters, Ohio public safety) are labelled
  ``surveillance``; the Civil Air Patrol's two C182s (operator name ``CIVIL
  AIR PATROL`` in the file) are left out, as issue #4 asks ("Civil Air
  Patrol excepted"): their mission is not stated, and a volunteer
  auxiliary's flight near the city is no evidence of surveillance
  (:data:`RNC_NOT_LABELLED`).

Collections and multi-aircraft files are split into flights by icao24 and
callsign, and at gaps longer than ``gap_s`` (30 min), or by their own
``flight_id`` column when they have one.  Their fixes then go through the
clean stage as ``analyze`` sends them (``valid``, ``reject_reason``), so the
model learns from the fixes the pipeline keeps.  A flight is kept as an
example when it has at least ``min_fixes`` valid airborne fixes spanning
``min_minutes`` (the same rule for every source, so that no class is trimmed
by hand).  The one
exception is :data:`EXCLUDED`: an aircraft whose flights a file's label
demonstrably does not describe (the evidence is written next to it).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.errors import FormatError
from overflight.schema import MESSAGE_SCHEMA, POINT_SCHEMA, conform

#: ``category/file stem`` (or ``category/*``) → mission label.
LABELS: dict[str, str] = {
    "ambulances/*": "medical",
    "calibration/*": "calibration",
    # SAVAN: the French DGAC's yearly VOR calibration circuits (traffic gallery
    # "Calibration flights with SAVAN trajectories")
    "collections/savan": "calibration",
    "collections/quickstart": "transport",
    "collections/switzerland": "transport",
    # air-show and sky-drawing figures, farewell and parabolic flights: neither
    # crew training nor transport
    "featured/*": "other",
    "firefighting/*": "firefighting",
    "gliders/*": "glider",
    # a US Navy aircraft (ae0455) flying out of North Island that repeatedly
    # lands on and takes off from a carrier at sea (altitude 25-50 ft while
    # its position moves with the ship) and flies carrier circuits: carrier
    # qualification, i.e. training, not surveillance of an area
    "military/aircraft_carrier": "training",
    "military/inflight_refuelling": "aerial_refueling",
    "surveillance/*": "surveillance",
    "surveys/*": "survey",
    "tv_relay/*": "tv_relay",
}

#: (``category/file stem``, icao24) → why that aircraft's flights in that
#: file are not used as examples at all (their label is demonstrably wrong and
#: their true mission unknown).
EXCLUDED: dict[tuple[str, str], str] = {
    # The Tour de France 2020 file holds two aircraft.  3924a4 orbits over the
    # race every stage day (Nice on 29 Aug, Massif Central on 10-12 Sep, the
    # Alps on 15-18 Sep).  39cd0b (ASR481/ASR991) flew only on 10, 11, 13, 16
    # and 17 Sep, each day 350-700 km (median positions) from 3924a4 and the
    # race (Brittany, Paris-Melun, Angers), mostly straight legs at 130-165 kt
    # or on the ground: whatever it did, it did not relay pictures of the race.
    ("tv_relay/tour_de_france", "39cd0b"): "not over the race (350-700 km from it)",
    # The quickstart day is airliners and business jets around Paris, taken
    # as ordinary transport, and one EC120 helicopter, 39b002 (F-HMAC).  It
    # leaves Toussus-le-Noble, hovers for four minutes at 125-175 ft (ground
    # speed 1-25 kt) in the open 12 km north of Etampes, then flies repeated
    # passes down to 350-500 ft (the aerodrome lies at about 490 ft)
    # 0.7-1.8 km from Etampes-Mondesir, where its track ends: a low hover
    # over open ground and circuits (most likely a training sortie), not a
    # flight from A to B.
    ("collections/quickstart", "39b002"): "low hover and circuits at Etampes, not transport",
}

#: Every mission the classifier can return.
MISSIONS: tuple[str, ...] = (
    "surveillance",
    "survey",
    "calibration",
    "aerial_refueling",
    "firefighting",
    "medical",
    "glider",
    "training",
    "tv_relay",
    "transport",
    "other",
)

_NUMERIC = ("latitude", "longitude", "altitude", "geoaltitude", "groundspeed", "track")


def label_for(category: str, stem: str) -> str | None:
    """Mission label of a traffic sample file, or None when it is not used.

    Examples
    --------
    >>> label_for("collections", "savan"), label_for("gliders", "sisteron")
    ('calibration', 'glider')
    >>> label_for("noisy", "noisy_landing") is None
    True
    """
    return LABELS.get(f"{category}/{stem}", LABELS.get(f"{category}/*"))


def read_traffic_json(path: Path) -> pd.DataFrame:
    """One traffic sample file as a frame (strings kept as strings)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise FormatError(f"expected a gzip JSON array of records ({exc})", path) from exc
    if isinstance(records, list):
        df = pd.DataFrame.from_records(records)
    elif isinstance(records, dict) and all(isinstance(v, dict) for v in records.values()):
        # pandas' "columns" orientation: {column: {row: value}}
        df = pd.DataFrame(records)
    else:
        raise FormatError("expected a JSON array of records or of columns", path, "byte 0")
    for col in ("timestamp", "icao24", "latitude", "longitude"):
        if col not in df.columns:
            raise FormatError(f"missing column {col!r}", path)
    return df


def split_flights(df: pd.DataFrame, prefix: str, gap_s: float = 1800.0) -> pd.Series:
    """Flight ids: per icao24 and callsign, cut at gaps over ``gap_s``."""
    key = df["icao24"].astype(str) + "|" + df["callsign"].fillna("").astype(str)
    t = (df["timestamp"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    order = np.lexsort((t.to_numpy(), key.to_numpy()))
    k, ts = key.to_numpy()[order], t.to_numpy()[order]
    new = np.ones(len(df), dtype=bool)
    new[1:] = (k[1:] != k[:-1]) | (np.diff(ts) > gap_s)
    num = np.cumsum(new) - 1
    ids = np.empty(len(df), dtype=object)
    ids[order] = [f"{prefix}:{kk.replace('|', ':')}:{n}" for kk, n in zip(k, num, strict=True)]
    return pd.Series(ids, index=df.index)


def _standardise(df: pd.DataFrame, source: str) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    ts = df["timestamp"]
    if pd.api.types.is_numeric_dtype(ts):
        out["timestamp"] = pd.to_datetime(ts.astype("int64"), unit="ms", utc=True)
    else:
        out["timestamp"] = pd.to_datetime(ts, utc=True)
    out["icao24"] = df["icao24"].astype(str).str.lower().str.strip().str.zfill(6)
    cs = df["callsign"] if "callsign" in df.columns else pd.Series(None, index=df.index)
    # callsign is missing on the first fixes of many flights: fill within aircraft
    cs = cs.astype("object").where(cs.notna(), None)
    out["callsign"] = cs.groupby(out["icao24"]).transform(lambda s: s.ffill().bfill())
    for col in (*_NUMERIC, "vertical_rate"):
        out[col] = pd.to_numeric(df[col], errors="coerce") if col in df.columns else np.nan
    out["onground"] = df["onground"].fillna(False).astype(bool) if "onground" in df else False
    out["squawk"] = df["squawk"].astype("string") if "squawk" in df.columns else None
    out["source"] = source
    return out


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """The fixes as the pipeline's clean stage leaves them, flights kept.

    As ``analyze`` does: positions get the latest recent altitude, speed,
    callsign... of earlier messages (:func:`overflight.clean.to_positions`;
    rows without a position go), then ``valid`` and ``reject_reason``
    (:func:`overflight.clean.clean`).  Each labelled flight is cleaned on its
    own (its flight_id stands in for the aircraft), so flights keep their
    labelled ids; the pipeline cleans an aircraft's fixes together before it
    splits flights, which differs only at the seams between its flights.
    """
    from overflight.clean import clean, to_positions

    df = df.reset_index(drop=True)
    per_flight = df.groupby("flight_id")[["icao24", "source", "label"]]
    if (per_flight.nunique(dropna=False) > 1).any().any():
        raise ValueError("a labelled flight_id spans several aircraft, sources or labels")
    first = per_flight.first()
    cols = [c for c in MESSAGE_SCHEMA.names if c in df.columns and c != "icao24"]
    table = pa.Table.from_pandas(df[cols], preserve_index=False)
    table = table.append_column("icao24", pa.array(df["flight_id"].astype(str).to_numpy()))
    out = clean(to_positions(conform(table, MESSAGE_SCHEMA))).to_pandas()
    out["flight_id"] = out["icao24"]
    for col in ("icao24", "source", "label"):
        out[col] = out["flight_id"].map(first[col])
    out["callsign"] = out["callsign"].astype("string")
    return out


def eligible(points: pd.DataFrame, min_fixes: int = 20, min_minutes: float = 5.0) -> pd.Index:
    """Flight ids with at least ``min_fixes`` airborne fixes over ``min_minutes``."""
    ok = points["valid"] & ~points["onground"].fillna(False).astype(bool)
    g = points.loc[ok].groupby("flight_id")["timestamp"]
    span = (g.max() - g.min()).dt.total_seconds() / 60.0
    n = g.size()
    return n.index[(n >= min_fixes) & (span >= min_minutes)]


def load_labelled_samples(
    samples_dir: str | Path,
    min_fixes: int = 20,
    min_minutes: float = 5.0,
    gap_s: float = 1800.0,
) -> tuple[pa.Table, pd.DataFrame]:
    """Points and flight labels from traffic's sample directory.

    Returns
    -------
    points : pyarrow.Table
        Conforming to :data:`overflight.schema.POINT_SCHEMA`.
    labels : pandas.DataFrame
        One row per kept flight: flight_id, icao24, callsign, label, source.
    """
    frames = []
    for path in sorted(Path(samples_dir).glob("*/*.json.gz")):
        stem = path.name[: -len(".json.gz")]
        label = label_for(path.parent.name, stem)
        if label is None:
            continue
        raw = read_traffic_json(path)
        src = f"{path.parent.name}/{stem}"
        df = _standardise(raw, src)
        if "flight_id" in raw.columns and raw["flight_id"].notna().all():
            df["flight_id"] = src + ":" + raw["flight_id"].astype(str)
        else:
            df["flight_id"] = split_flights(df, src, gap_s)
        df["label"] = label
        drop = [a for (f, a) in EXCLUDED if f == src]
        frames.append(df[~df["icao24"].isin(drop)])
    return _assemble(pd.concat(frames, ignore_index=True), min_fixes, min_minutes)


#: Operators (the RNC extract's ``name`` column) whose flights get no label.
RNC_NOT_LABELLED = frozenset({"CIVIL AIR PATROL"})


def load_rnc(csv_path: str | Path, gap_s: float = 1800.0) -> pd.DataFrame:
    """The BuzzFeed RNC 2016 extract as a labelled (not yet filtered) frame:
    every flight ``surveillance`` but those of :data:`RNC_NOT_LABELLED`."""
    try:
        raw = pd.read_csv(csv_path, dtype={"adshex": str, "squawk": str, "reg": str})
    except (OSError, ValueError) as exc:
        raise FormatError(f"expected the BuzzFeed RNC CSV ({exc})", csv_path) from exc
    need = {"adshex", "reg", "name", "latitude", "longitude", "altitude", "heading", "timestamp"}
    if not need <= set(raw.columns):
        raise FormatError(f"missing columns {sorted(need - set(raw.columns))}", csv_path, "line 1")
    operator = raw["name"].astype(str).str.strip().str.upper()
    raw = raw[~operator.isin(RNC_NOT_LABELLED)].reset_index(drop=True)
    df = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(raw["timestamp"], utc=True),
            "icao24": raw["adshex"].str.lower().str.strip(),
            "callsign": raw["reg"],
            "latitude": pd.to_numeric(raw["latitude"], errors="coerce"),
            "longitude": pd.to_numeric(raw["longitude"], errors="coerce"),
            "altitude": pd.to_numeric(raw["altitude"], errors="coerce"),
            "track": pd.to_numeric(raw["heading"], errors="coerce"),
            "squawk": raw.get("squawk"),
            "onground": False,
            "source": "buzzfeed/rnc2016",
        }
    )
    df["flight_id"] = split_flights(df, "buzzfeed/rnc2016", gap_s)
    df["label"] = "surveillance"
    return df


def _assemble(
    df: pd.DataFrame, min_fixes: int, min_minutes: float
) -> tuple[pa.Table, pd.DataFrame]:
    df = _finish(df.drop_duplicates(["flight_id", "timestamp"]))
    keep = eligible(df, min_fixes, min_minutes)
    df = df[df["flight_id"].isin(keep)].sort_values(["flight_id", "timestamp"])
    labels = (
        df.groupby("flight_id", sort=True)
        .agg(icao24=("icao24", "first"), callsign=("callsign", "first"), label=("label", "first"))
        .reset_index()
    )
    labels["source"] = df.groupby("flight_id", sort=True)["source"].first().to_numpy()
    table = conform(pa.Table.from_pandas(df, preserve_index=False), POINT_SCHEMA)
    return table, labels


def load_all(
    samples_dir: str | Path,
    rnc_csv: str | Path | None,
    min_fixes: int = 20,
    min_minutes: float = 5.0,
) -> tuple[pa.Table, pd.DataFrame]:
    """Traffic samples plus (when given) the RNC extract, filtered alike."""
    pts, labels = load_labelled_samples(samples_dir, min_fixes, min_minutes)
    if rnc_csv is None:
        return pts, labels
    rpts, rlab = _assemble(load_rnc(rnc_csv), min_fixes, min_minutes)
    return pa.concat_tables([pts, rpts]), pd.concat([labels, rlab], ignore_index=True)
