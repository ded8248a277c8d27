"""Decode benchmark: overflight's columnar decoder against pyModeS and rs1090.

Decodes ../shared/data/derived/real_frames_combined_avr.txt (134,701 real
AVR frames) into positions, altitudes, velocities, callsigns and squawks.

* overflight: ``overflight.ingest.avr.read(path)``; parsing the text file is
  included in its time. Best of 3 runs.
* pyModeS 3.6.1: ``pyModeS.decode(list_of_hex, timestamps=...)`` (the batch
  path, a transient PipeDecoder with CPR pairing). One run (it is slow).
* rs1090 0.7.0: ``rs1090.decode(list_of_hex, list_of_timestamps)``. Best of 2.

The peers get the list of hex strings and the real reception times from
real_frames_combined_index.csv.gz; building those lists is excluded from
their time. Peak memory of overflight's decode is measured in a fresh
subprocess (peak RSS from /proc/self/status VmHWM, and tracemalloc's peak
for numpy and Python allocations). The agreement section compares the three decoders
field by field on the same frames. The last line is
``ratio_vs_pymodes: X ratio_vs_rs1090: Y`` (overflight frames/s over theirs).

Run: ``.venv/bin/python bench/decode.py``
"""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "derived"
AVR = DATA / "real_frames_combined_avr.txt"
INDEX = DATA / "real_frames_combined_index.csv.gz"

# VmHWM (peak RSS of this process image), not getrusage's ru_maxrss, which
# Linux carries over from the parent across fork + exec.
MEMORY_PROBE = """
import sys, tracemalloc
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return float(line.split()[1])
    return float("nan")
from overflight.ingest import avr
base = hwm_kb()
tracemalloc.start()
avr.read(sys.argv[1])
peak_py = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(base, hwm_kb(), peak_py)
"""


def best_of(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Best wall-clock and best CPU time (s) over ``runs`` calls, and the last result."""
    best = cpu = float("inf")
    out = None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return best, cpu, out


def peer_inputs() -> tuple[list[str], list[float]]:
    hexes = [line.strip().lstrip("*").rstrip(";") for line in AVR.open() if line.strip()]
    with gzip.open(INDEX, "rt") as fh:
        rows = list(csv.DictReader(fh))
    stamps = [float(r["timestamp"]) for r in rows]
    if [r["frame"].lower() for r in rows] != [h.lower() for h in hexes]:
        sys.exit("index CSV and AVR file disagree")
    return hexes, stamps


def memory() -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(AVR)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    base, peak, peak_py = (float(x) for x in out)
    return base / 1024, peak / 1024, peak_py / 2**20


def _column(results: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([r.get(key) if isinstance(r, dict) else None for r in results], dtype=object)


def _present(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and np.isnan(x))


def agreement(ours: Any, pms: list[dict[str, Any]], rs: list[dict[str, Any]], n: int) -> list[str]:
    """Per field: frames where two decoders both give a value, and how many agree."""
    from overflight.geodesy import haversine_m

    df = ours.to_pandas()
    line = df["timestamp"].astype("int64").to_numpy() - 1  # start_time=0: ns = line number
    mine: dict[str, np.ndarray] = {}
    for key in ("altitude", "groundspeed", "track", "vertical_rate", "latitude", "longitude"):
        col = np.full(n, np.nan)
        col[line] = df[key].to_numpy(dtype=float, na_value=np.nan)
        mine[key] = col
    for key in ("callsign", "squawk"):
        col = np.full(n, None, dtype=object)
        col[line] = df[key].to_numpy(dtype=object)
        mine[key] = col
    p = {k: _column(pms, k) for k in mine}
    r = {k: _column(rs, k) for k in mine}
    pms_df = np.array([x.get("df", -1) if isinstance(x, dict) else -1 for x in pms], dtype=object)
    es = np.isin(pms_df.astype(int), (17, 18))
    tolerance = {"altitude": 1.0, "groundspeed": 1.0, "track": 0.5, "vertical_rate": 1.0}
    lines = ["field          pair              both   agree"]
    pairs = (("overflight", mine), ("pyModeS", p), ("rs1090", r))
    for key in (
        "altitude",
        "groundspeed",
        "track",
        "vertical_rate",
        "callsign",
        "squawk",
        "position",
    ):
        for i in range(3):
            for j in range(i + 1, 3):
                (na, a), (nb, b) = pairs[i], pairs[j]
                if key == "position":
                    la, lb = _num(a["latitude"]), _num(b["latitude"])
                    both = ~np.isnan(la) & ~np.isnan(lb)
                    d = haversine_m(
                        la[both], _num(a["longitude"])[both], lb[both], _num(b["longitude"])[both]
                    )
                    agree = int(np.count_nonzero(d <= 50.0))
                elif key in tolerance:
                    va, vb = _num(a[key]), _num(b[key])
                    both = ~np.isnan(va) & ~np.isnan(vb)
                    if key != "altitude":
                        both &= es
                    diff = np.abs(va[both] - vb[both])
                    if key == "track":
                        diff = np.minimum(diff, 360.0 - diff)
                    agree = int(np.count_nonzero(diff <= tolerance[key]))
                else:
                    va, vb = a[key], b[key]
                    both = np.array(
                        [_present(x) and _present(y) for x, y in zip(va, vb, strict=True)]
                    )
                    agree = int(
                        sum(
                            str(x).strip() == str(y).strip()
                            for x, y in zip(va[both], vb[both], strict=True)
                        )
                    )
                lines.append(f"{key:<14} {na + '/' + nb:<17} {int(both.sum()):>6} {agree:>7}")
    return lines


def _num(col: np.ndarray) -> np.ndarray:
    return np.array([float(x) if _present(x) else np.nan for x in col], dtype=float)


def main() -> None:
    import pyModeS
    import rs1090

    from overflight.ingest import avr

    hexes, stamps = peer_inputs()
    n = len(hexes)
    avr.read(AVR)  # warm up imports and lazy Arrow kernels
    t_ovf, c_ovf, table = best_of(lambda: avr.read(AVR, start_time=0), 3)
    t_rs, c_rs, rs_out = best_of(lambda: rs1090.decode(hexes, stamps), 2)
    t_pms, c_pms, pms_out = best_of(lambda: pyModeS.decode(hexes, timestamps=stamps), 1)
    base_mb, peak_mb, peak_py_mb = memory()

    fps = {"overflight": n / t_ovf, "pyModeS": n / t_pms, "rs1090": n / t_rs}
    print(f"frames: {n} from {AVR.name} (wall clock; CPU time of this process in brackets)")
    for name, t, c in (
        ("overflight", t_ovf, c_ovf),
        ("pyModeS", t_pms, c_pms),
        ("rs1090", t_rs, c_rs),
    ):
        print(f"{name:<11} {t:8.3f} s  {fps[name]:>10,.0f} frames/s  [{c:.3f} s, {n / c:,.0f}/s]")
    print(
        f"overflight rows: {table.num_rows}; pyModeS results: {len(pms_out)}; "
        f"rs1090 results: {len(rs_out)}"
    )
    print(
        f"overflight peak memory: {peak_mb:.0f} MB RSS (interpreter + imports: {base_mb:.0f} MB; "
        f"numpy/Python peak {peak_py_mb:.0f} MB)"
    )
    for line in agreement(table, pms_out, rs_out, n):
        print(line)
    print(
        f"ratio_vs_pymodes: {fps['overflight'] / fps['pyModeS']:.1f} "
        f"ratio_vs_rs1090: {fps['overflight'] / fps['rs1090']:.1f}"
    )


if __name__ == "__main__":
    main()
