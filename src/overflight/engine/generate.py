"""A seeded benchmark dataset made of real trajectories, multiplied across days and aircraft.

How a dataset is made (:func:`generate`), exactly:

1. *Base*: every trajectory file given (by default the ``traffic`` package's
   samples, ``samples/**/*.json.gz``, and the trajectories in
   ``../shared/data/trajectories``) is read with overflight's own readers, in
   sorted path order, into the canonical message table.  Files no reader
   accepts are skipped and listed.  Each file is moved by whole days so that
   its first fix falls on ``start_day``, keeping its time of day.
2. *Copies*: copy ``k = 0, 1, 2, ...`` of the base is placed on day
   ``k mod days`` after ``start_day``.  Copy 0 is the base itself.  Every
   other copy, from a ``numpy.random.default_rng(seed)`` stream:

   * changes every ICAO address to ``address XOR mask_k`` (a random 24-bit
     mask per copy: one-to-one inside a copy, so aircraft stay distinct; two
     copies on the same day share an address with probability about
     ``aircraft^2 / 2^24`` per pair of copies);
   * shifts its times by a random whole number of seconds in
     ``[-shift_s, shift_s]`` (on top of the day offset);
   * translates its positions by a random ``(dlat, dlon)`` in
     ``[-translate_deg, translate_deg]`` (latitude clipped to [-90, 90],
     longitude wrapped to [-180, 180)).  Shapes, speeds, turns and altitudes
     of the real flights are unchanged.

3. Copies are added until ``points`` rows are written; the last copy is cut
   to the rows needed.  Rows go to the partitioned layout
   (:mod:`overflight.store.layout`) one copy at a time, so memory holds the
   base plus one copy, whatever the size.  ``_generator.json`` in the
   dataset folder records the parameters, the files used and the rows.

The same parameters and base files always give the same dataset.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight import ingest
from overflight.errors import InputError
from overflight.schema import MESSAGE_SCHEMA, TIMESTAMP, conform
from overflight.store.dataset import PartitionedWriter
from overflight.store.layout import NS_PER_DAY, write_layout_file

GENERATOR_FILE = "_generator.json"


def default_sources(traffic_samples: Path | None, shared_data: Path | None) -> list[Path]:
    """The real trajectory files used when none are given."""
    files: list[Path] = []
    if traffic_samples is not None and traffic_samples.is_dir():
        files += sorted(traffic_samples.rglob("*.json.gz"))
    if shared_data is not None and (shared_data / "trajectories").is_dir():
        files += sorted(
            p
            for p in (shared_data / "trajectories").iterdir()
            if p.is_file() and p.suffix in (".json", ".csv", ".sqlite3")
        )
    return files


def load_base(
    files: Sequence[str | Path], start_day: str = "2024-01-01"
) -> tuple[pa.Table, dict[str, Any]]:
    """Read trajectory files into one message table, each moved to start on ``start_day``.

    Returns the table and ``{"used": {path: rows}, "skipped": {path: reason}}``.
    """
    day0 = int(np.datetime64(start_day, "D").astype(np.int64))
    tables, used, skipped = [], {}, {}
    for f in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = conform(ingest.read(f).replace_schema_metadata(None))
        except (InputError, ValueError, OSError, pa.ArrowException) as exc:
            skipped[str(f)] = str(exc)[:200]
            continue
        t = t.filter(pc.and_(pc.is_valid(t.column("timestamp")), pc.is_valid(t.column("icao24"))))
        if t.num_rows == 0:
            skipped[str(f)] = "no rows with a time and an address"
            continue
        ns = t.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
        shift = (day0 - int(ns.min()) // NS_PER_DAY) * NS_PER_DAY
        t = t.set_column(0, "timestamp", pa.array(ns + shift, pa.int64()).cast(TIMESTAMP))
        tables.append(t)
        used[str(f)] = t.num_rows
    if not tables:
        raise InputError("no trajectory file could be read for the generator base")
    return pa.concat_tables(tables).combine_chunks(), {"used": used, "skipped": skipped}


@dataclass(frozen=True)
class GeneratorParams:
    """Everything that determines a generated dataset (besides the base files)."""

    points: int
    seed: int = 0
    days: int = 30
    start_day: str = "2024-01-01"
    shift_s: int = 1800
    translate_deg: float = 0.5
    region_deg: int | None = None
    buckets: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def make_copy(
    base: pa.Table, k: int, params: GeneratorParams, rng: np.random.Generator
) -> pa.Table:
    """Copy ``k`` of ``base``: new addresses, times and positions (see the module doc).

    ``rng`` must be the generator stream positioned for copy ``k`` (draws:
    mask, time shift, dlat, dlon - in that order).
    """
    mask = int(rng.integers(1, 2**24))
    shift = int(rng.integers(-params.shift_s, params.shift_s + 1))
    dlat, dlon = rng.uniform(-params.translate_deg, params.translate_deg, size=2)
    day = k % params.days
    if k == 0:
        mask, shift, dlat, dlon = 0, 0, 0.0, 0.0
    enc = pc.dictionary_encode(base.column("icao24").combine_chunks())
    codes = np.array([int(s, 16) if _is_hex(s) else 0 for s in enc.dictionary.to_pylist()])
    new = np.array([f"{(c ^ mask) & 0xFFFFFF:06x}" for c in codes], dtype=object)
    icao = pa.DictionaryArray.from_arrays(enc.indices, pa.array(new, pa.string()))
    ns = base.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
    ns = ns + day * NS_PER_DAY + shift * 10**9
    lat = pc.fill_null(base.column("latitude"), np.nan).to_numpy(zero_copy_only=False)
    lon = pc.fill_null(base.column("longitude"), np.nan).to_numpy(zero_copy_only=False)
    lat = np.clip(lat + dlat, -90.0, 90.0)
    lon = (lon + dlon + 180.0) % 360.0 - 180.0
    out = base.set_column(0, "timestamp", pa.array(ns, pa.int64()).cast(TIMESTAMP))
    out = out.set_column(1, "icao24", icao.cast(pa.string()))
    out = out.set_column(3, "latitude", pa.array(lat, mask=np.isnan(lat)))
    out = out.set_column(4, "longitude", pa.array(lon, mask=np.isnan(lon)))
    return out


def _is_hex(s: str | None) -> bool:
    if not s or len(s) > 6:
        return False
    try:
        int(s, 16)
    except ValueError:
        return False
    return True


def generate(
    out_dir: str | Path,
    params: GeneratorParams,
    base: pa.Table,
    base_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a generated dataset of ``params.points`` rows into ``out_dir`` (see module doc).

    Returns what ``_generator.json`` records.
    """
    if params.points < 0 or params.days < 1:
        raise ValueError(f"expected points >= 0 and days >= 1, got {params.points}, {params.days}")
    if base.num_rows == 0:
        raise InputError("the generator base is empty")
    base = conform(base, MESSAGE_SCHEMA)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(params.seed)
    written, k = 0, 0
    with PartitionedWriter(out, region_deg=params.region_deg, buckets=params.buckets) as writer:
        while written < params.points:
            copy = make_copy(base, k, params, rng)
            take = min(copy.num_rows, params.points - written)
            writer.write(copy.slice(0, take))
            written += take
            k += 1
    write_layout_file(
        out, writer.rows, len(writer.files), writer.columns, params.region_deg, params.buckets
    )
    info = {
        "generator": "overflight.engine.generate",
        "params": asdict(params),
        "copies": k,
        "rows": writer.rows,
        "base_rows": base.num_rows,
        "base_aircraft": len(pc.unique(base.column("icao24"))),
        "base": base_info or {},
    }
    (out / GENERATOR_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return info
