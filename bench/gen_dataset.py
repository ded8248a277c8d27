"""Make a benchmark dataset from real trajectories: seeded, on disk, any size.

The base is every trajectory file of the ``traffic`` package's samples
(``samples/**/*.json.gz``: 75 files, about 0.93 million real positions:
airliners, surveys, surveillance, military, gliders, calibration flights,
noisy and spoofed tracks) plus ../shared/data/trajectories (an OpenSky
flight, a readsb trace, the BuzzFeed surveillance orbits) when present,
about 0.96 million positions in all.  Copies of the base are spread over
``--days`` days; every copy but the first gets new ICAO addresses (XOR with
a random 24-bit mask), a random time shift of up to 30 min and a random
translation of up to 0.5 degree, so the shapes, speeds and turns stay those
of real flights.  The exact procedure is in :mod:`overflight.engine.generate`.

The output is the partitioned GeoParquet layout (``day=YYYY-MM-DD/...``)
with ``_generator.json`` recording the parameters and the files used.

Run::

    .venv/bin/python bench/gen_dataset.py --points 10000000 --out /tmp/ds-10m
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from overflight.engine.generate import GeneratorParams, default_sources, generate, load_base

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def traffic_samples() -> Path | None:
    """The samples folder of the installed ``traffic`` package (never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "samples"
    return p if p.is_dir() else None


def base_table(cache: Path | None = None) -> tuple[object, dict[str, object]]:
    """The base table (read once, then from ``cache`` when given)."""
    if cache is not None and cache.exists():
        info = json.loads(cache.with_suffix(".json").read_text())
        return pq.read_table(cache), info
    files = default_sources(traffic_samples(), SHARED if SHARED.is_dir() else None)
    base, info = load_base(files)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(base, cache)
        cache.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return base, info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, required=True, help="rows to write")
    ap.add_argument("--out", type=Path, required=True, help="dataset folder (created)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--start-day", default="2024-01-01")
    ap.add_argument("--region-deg", type=int, default=None)
    ap.add_argument(
        "--buckets", type=int, default=None, help="aircraft buckets (the layout's bucket level)"
    )
    ap.add_argument("--base-cache", type=Path, default=None, help="parquet cache of the base")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    base, info = base_table(args.base_cache)
    params = GeneratorParams(
        points=args.points,
        seed=args.seed,
        days=args.days,
        start_day=args.start_day,
        region_deg=args.region_deg,
        buckets=args.buckets,
    )
    out = generate(args.out, params, base, info)  # type: ignore[arg-type]
    used = out["base"].get("used", {})
    print(
        f"{out['rows']:,} rows in {out['copies']} copies of {out['base_rows']:,} real positions "
        f"({len(used)} files, {out['base_aircraft']} aircraft) over {args.days} days, "
        f"seed {args.seed}: {args.out} ({time.perf_counter() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
