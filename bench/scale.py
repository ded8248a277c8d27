"""Scale benchmark: end-to-end points/s and peak memory for 1, 10 and 50 million points.

Data: datasets made by ``bench/gen_dataset.py`` (seed 2026, 30 days from
2024-01-01) from the real trajectories of the traffic samples and
../shared/data: copies of 0.96 million real positions with new addresses,
shifted times and translated positions (exact procedure:
:mod:`overflight.engine.generate`), written on disk in the partitioned
GeoParquet layout before anything is timed, in two layouts (``--layouts``):

* ``buckets``: day folders split into aircraft buckets, one per partition
  (``--buckets``, as ``overflight store export --buckets`` writes them):
  each partition reads its own files, no map step;
* ``day``: day folders only: every row is first read and spilled by aircraft
  (the map step), as for any input that is not bucketed.

The two give identical outputs (compared); the last line is the first
layout's.

Runs, each in a fresh child process so that its peak memory (VmHWM from
/proc/self/status, summed over the driver and the Dask worker processes) is
its own:

* local engine, one process (``engine.run(..., engine="local")``);
* Dask engine on a LocalCluster of 2 single-threaded worker processes.

Both use the same partition count (one per million points, at least 2);
their outputs are compared file by file (points) and table by table
(flights, events): ``dask_identical``.  For 1M points the local output is
also compared with one in-memory ``pipeline.process`` run.  Timings exclude
loading the stage context (boundaries, model, and the warm-up that loads the
compiled loops and builds the airspace structures a new process needs:
:func:`overflight.pipeline.warm_up`; done once per process before the clock
starts) and the LocalCluster start, both printed.  The warm-up's share (a new
process's first pass over the base table less a warm pass) is printed too,
with the Dask rate it would give if each worker paid it inside the clock.

Stages: points/s of each stage on the 0.96M real positions, next to the
``traffic`` library's equivalents measured in the same run (``Traffic.resample``
and ``Traffic.clip`` on a national-airspace polygon), when traffic can run:
it is installed into a separate venv (``--traffic-python``, default
/tmp/traffic-venv/bin/python; ``pip install traffic==2.13`` there).

Two cores: the whole pipeline (every stage, no I/O) on the base table, warm,
in one process alone and then in two processes started together; the ratio
says what a second busy process gets from this machine (2.0 on two
independent cores; less where the two vCPUs share a physical core or memory
bandwidth), which bounds what two workers can reach.

When airspace distances are too slow for the time budget (``--airspace
auto``), the end-to-end runs skip the airspace stage and say so; the stage
table still measures it.

Last line: ``points_per_s: X memory_ratio_50m_to_10m: Y dask_identical: true|false``
(X: Dask, 2 workers, on the largest size, the median of ``--repeat`` runs,
3 by default, every one printed: this machine's speed drifts by about 10%
from one run to the next; Y: local engine peak memory).

Every run uses the allocator settings the command line uses
(:mod:`overflight.memtune`).

Run: ``.venv/bin/python bench/scale.py`` (about 30 min); ``--sizes 1,2`` for a quick look.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from overflight import memtune

memtune.apply()  # as the command line does; the child runs inherit it

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
MONTH_POINTS = 3.0e9  # a month of OpenSky state vectors (see the README, Throughput)


def vmhwm_kb() -> int:
    """Peak resident memory of this process (VmHWM), kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def _spec(airspace: bool) -> Any:
    from overflight.engine import ContextSpec

    return ContextSpec(airspace_enabled=airspace)


def _warm(spec: Any) -> bool:
    from overflight.engine.tasks import resolve_context

    return resolve_context(spec) is not None


def child_run(a: argparse.Namespace) -> dict[str, Any]:
    """One engine run; its numbers as a dict."""
    from overflight import engine

    spec = _spec(a.airspace)
    t = time.perf_counter()
    out: dict[str, Any] = {}
    if a.engine == "local":
        _warm(spec)
        out["context_s"] = time.perf_counter() - t
        t0 = time.perf_counter()
        res = engine.run([a.dataset], a.out, context=spec, partitions=a.partitions)
        out["seconds"] = time.perf_counter() - t0
        out["peak_kb"] = vmhwm_kb()
    else:
        from overflight.engine.dask_engine import client_for

        # the LocalCluster engine.run starts by default, kept open to read its workers' memory
        with client_for(None, workers=2) as client:
            out["cluster_start_s"] = time.perf_counter() - t
            client.run(_warm, spec)
            out["context_s"] = time.perf_counter() - t - out["cluster_start_s"]
            t0 = time.perf_counter()
            res = engine.run(
                [a.dataset],
                a.out,
                context=spec,
                engine="dask",
                scheduler=client.scheduler.address,
                partitions=a.partitions,
            )
            out["seconds"] = time.perf_counter() - t0
            workers = client.run(vmhwm_kb)
            out["peak_kb"] = vmhwm_kb() + sum(workers.values())
            out["worker_peak_kb"] = sorted(workers.values())
    out.update(points=res.points, flights=res.flights.num_rows, events=res.events.num_rows)
    out["map_s"] = res.stats["seconds"]["map"]
    return out


def child_pipeline(a: argparse.Namespace) -> dict[str, Any]:
    """Seconds of one warm ``pipeline.process`` on the base table (for the two-core check)."""
    import pyarrow.parquet as pq

    from overflight import pipeline

    base = pq.read_table(a.dataset)
    ctx = pipeline.Context.load(**_spec(True).kwargs())  # not warmed up
    t0 = time.perf_counter()
    pipeline.process(base, ctx)  # a new process's first rows: compiled loops, cell lists
    first_s = time.perf_counter() - t0
    if a.barrier:  # start together with the other process: both are warm
        (Path(a.barrier) / str(os.getpid())).touch()
        while len(list(Path(a.barrier).iterdir())) < 2:
            time.sleep(0.005)
    t0, c0 = time.perf_counter(), time.process_time()
    pipeline.process(base, ctx)
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "first_s": first_s,
    }


def two_cores(cache: Path) -> dict[str, Any]:
    """The same warm pipeline run alone, then in two processes at once.

    Tells how much a second busy process gets from this machine's second
    core: 2.0 on two independent cores, less where they share a physical
    core or memory bandwidth.
    """
    alone = child(me("--child", "pipeline", "--dataset", str(cache)), 1800)
    if "seconds" not in alone:
        return {"error": alone.get("error")}
    barrier = Path(tempfile.mkdtemp(prefix="barrier-", dir=cache.parent))
    procs = [
        subprocess.Popen(
            me("--child", "pipeline", "--dataset", str(cache), "--barrier", str(barrier)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=1800) for p in procs]
    both = [_result(p.returncode, out, err) for p, (out, err) in zip(procs, outs, strict=True)]
    shutil.rmtree(barrier, ignore_errors=True)
    failed = [b["error"] for b in both if "seconds" not in b]
    if failed:
        return {"error": failed[0]}
    speedup = 2 * alone["seconds"] / max(b["seconds"] for b in both)
    return {
        "alone_s": alone["seconds"],
        "both_s": [b["seconds"] for b in both],
        "speedup": speedup,
        "startup_s": alone["first_s"] - alone["seconds"],
    }


def child_compare(a: argparse.Namespace) -> dict[str, Any]:
    """Local vs Dask outputs (file by file), and for small sets vs in-memory process."""
    import pyarrow.parquet as pq

    from overflight import engine, pipeline
    from overflight.engine.tasks import resolve_context
    from overflight.schema import MESSAGE_SCHEMA
    from overflight.store.dataset import read_dataset

    x, y = Path(a.left), Path(a.right)
    same = True
    for name in ("flights.parquet", "events.parquet"):
        same &= pq.read_table(x / name).equals(pq.read_table(y / name))
    fx = sorted(p.relative_to(x) for p in (x / "points").rglob("*.parquet"))
    fy = sorted(p.relative_to(y) for p in (y / "points").rglob("*.parquet"))
    same &= fx == fy
    for f in fx if same else []:
        if not pq.read_table(x / f).equals(pq.read_table(y / f)):
            same = False
            break
    out: dict[str, Any] = {"dask_identical": bool(same)}
    if a.inmemory:
        ctx = resolve_context(_spec(a.airspace))
        messages = read_dataset(a.dataset, columns=MESSAGE_SCHEMA.names)
        ref = pipeline.process(messages, ctx)
        differ = []
        for kind, t in (("points", ref.points), ("flights", ref.flights), ("events", ref.events)):
            mine = (
                read_dataset(x / "points")
                if kind == "points"
                else pq.read_table(x / f"{kind}.parquet")
            )
            mine, theirs = engine.canonical_sort(mine, kind), engine.canonical_sort(t, kind)
            if mine.schema != theirs.schema or mine.num_rows != theirs.num_rows:
                differ.append(kind)
                continue
            differ += [
                f"{kind}.{c}"
                for c in mine.column_names
                if not mine.column(c).equals(theirs.column(c))
            ]
        out["inmemory_identical"] = not differ
        out["inmemory_differs_in"] = differ
    return out


def child_stages(a: argparse.Namespace) -> dict[str, Any]:
    """Points/s of each stage on the base table (real positions)."""
    import pyarrow.parquet as pq

    from overflight import airspace, classify, clean, identify, patterns
    from overflight.engine.tasks import resolve_context

    base = pq.read_table(a.dataset)
    n = base.num_rows
    out: dict[str, Any] = {"rows": n}

    def timed(name: str, fn: Any, rows: int, warm: bool = False) -> Any:
        if warm:
            fn()
        t0 = time.perf_counter()
        r = fn()
        out[name] = rows / (time.perf_counter() - t0)
        return r

    # a stage's first call in a process loads its compiled loops from numba's
    # cache and grows the process's memory to the table's size, as a worker's
    # first partition does; stages are timed on their second call (warm=True)
    ctx = resolve_context(_spec(True))
    points, flights = timed("clean", lambda: clean.run(base), n, warm=True)
    fl = timed("identify", lambda: identify.identify_flights(flights, points, None), n, True)
    timed("resample_1s", lambda: patterns.resample_flights(points, step_s=1.0), n, True)
    ev = timed("detect_patterns", lambda: patterns.detect_patterns(points), n, True)
    timed(
        "classify_missions",
        lambda: classify.classify_flights(fl, points, ev, model=ctx.model),
        n,
        True,
    )
    timed(
        "airspace_lookup",
        lambda: airspace.classify_points(points, ctx.boundaries, distance=False),
        n,
        True,
    )
    # each country's border index and cell lists load on first use (context, not
    # per point): the first pass over every row loads them, the second is timed
    timed(
        "airspace_distance_cold",
        lambda: airspace.classify_points(points, ctx.boundaries),
        points.num_rows,
    )
    placed = timed(
        "airspace_with_distance",
        lambda: airspace.classify_points(points, ctx.boundaries),
        points.num_rows,
    )
    timed(
        "airspace_events",
        lambda: airspace.airspace_events(
            placed, ctx.boundaries, flights=fl, reuse_point_distances=True
        ),
        n,
    )
    # the operations traffic has, on the same rows as the peer gets
    for rows, name, fn in (
        (PEER_RESAMPLE_ROWS, "peer_rows_resample_1s", "resample"),
        (PEER_CLIP_ROWS, "peer_rows_airspace", "airspace"),
    ):
        part, _ = clean.run(base.slice(0, rows))
        if fn == "resample":
            timed(name, lambda p=part: patterns.resample_flights(p, step_s=1.0), rows)
        else:
            timed(name, lambda p=part: airspace.classify_points(p, ctx.boundaries), rows)
    out["peer_polygon_wkb"] = _national_polygon(ctx.boundaries, "CHE")
    return out


def _national_polygon(boundaries: Any, iso3: str) -> str:
    """The national airspace of one country as WKB hex, for the peer's clip."""
    import shapely

    geoms = []
    for layer in boundaries.layers:
        for g, isos in zip(layer.geoms, layer.codes, strict=False):
            if iso3 in isos:
                geoms.append(g)
    return shapely.to_wkb(shapely.union_all(geoms), hex=True) if geoms else ""


#: Rows of the base (in file order) given to traffic for each operation: its
#: clip against a 10 m-resolution national polygon runs at a few hundred
#: points/s, so it gets a small slice; points/s is compared on equal slices.
PEER_RESAMPLE_ROWS = 100_000
PEER_CLIP_ROWS = 10_000

PEER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd, shapely
from traffic.core import Traffic
cols = ["timestamp", "icao24", "callsign", "latitude", "longitude", "altitude",
        "groundspeed", "track", "vertical_rate"]
df = pd.read_parquet(sys.argv[1], columns=cols)
poly = shapely.from_wkb(bytes.fromhex(open(sys.argv[2]).read()))
out = {}
n = int(sys.argv[3]); t = Traffic(df.iloc[:n])
t0 = time.perf_counter(); t.resample("1s").eval(max_workers=1)
out["resample_1s"] = n / (time.perf_counter() - t0)
n = int(sys.argv[4]); t = Traffic(df.iloc[:n])
t0 = time.perf_counter(); t.clip(poly).eval(max_workers=1)
out["airspace_clip"] = n / (time.perf_counter() - t0)
import traffic; out["version"] = traffic.__version__
print(json.dumps(out))
"""


def child(cmd: list[str], timeout_s: float) -> dict[str, Any]:
    """Run ``cmd`` and return the JSON object on its last stdout line."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    return _result(p.returncode, p.stdout, p.stderr)


def _result(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """A child's JSON object (its last ``{...}`` stdout line), or its error lines."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if returncode != 0 or not lines:
        return {"error": (stderr or stdout).strip().splitlines()[-3:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def ensure_dataset(work: Path, n: int, base_cache: Path, buckets: int | None = None) -> Path:
    """The generated dataset of ``n`` rows: plain day layout, or with aircraft buckets."""
    import gen_dataset

    root = work / (f"ds-{n}" if buckets is None else f"bk{buckets}-{n}")
    if (root / "_generator.json").exists():
        return root
    t0 = time.perf_counter()
    args = ["--points", str(n), "--out", str(root), "--base-cache", str(base_cache)]
    gen_dataset.main(args + ([] if buckets is None else ["--buckets", str(buckets)]))
    print(f"  generated {n:,} points in {time.perf_counter() - t0:.0f} s", flush=True)
    return root


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=["run", "compare", "stages", "pipeline"])
    ap.add_argument("--barrier", default="", help="folder: pipeline children start together")
    ap.add_argument("--engine", default="local")
    ap.add_argument("--dataset", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--left", default="")
    ap.add_argument("--right", default="")
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--airspace", type=int, default=1)
    ap.add_argument("--inmemory", type=int, default=0)
    ap.add_argument("--sizes", default="1,10,50", help="millions of points")
    ap.add_argument(
        "--layouts",
        default="buckets,day",
        help="dataset layouts to run: buckets (day + aircraft buckets), day (day only)",
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/overflight-scale"))
    ap.add_argument("--airspace-mode", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--budget-s", type=float, default=1500.0, help="time budget of the e2e runs")
    ap.add_argument("--traffic-python", default="/tmp/traffic-venv/bin/python")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the headline (largest size, first layout, Dask); the median counts",
    )
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    if a.child:
        fn = {
            "run": child_run,
            "compare": child_compare,
            "stages": child_stages,
            "pipeline": child_pipeline,
        }[a.child]
        print(json.dumps(fn(a)))
        return 0
    return parent(a)


def parent(a: argparse.Namespace) -> int:
    import gen_dataset

    a.work.mkdir(parents=True, exist_ok=True)
    cache = a.work / "base.parquet"
    base, info = gen_dataset.base_table(cache)
    print(
        f"base: {base.num_rows:,} real positions from {len(info['used'])} files; "  # type: ignore[attr-defined]
        f"skipped {len(info['skipped'])}",
        flush=True,
    )
    t0 = time.perf_counter()
    stages = child(me("--child", "stages", "--dataset", str(cache)), 1800)
    wkb = a.work / "peer_polygon.hex"
    wkb.write_text(stages.pop("peer_polygon_wkb", ""))
    t1 = time.perf_counter()
    peer: dict[str, Any] = {"error": f"{a.traffic_python} not found"}
    if Path(a.traffic_python).exists():
        peer = child(
            [
                a.traffic_python,
                "-c",
                PEER,
                str(cache),
                str(wkb),
                str(PEER_RESAMPLE_ROWS),
                str(PEER_CLIP_ROWS),
            ],
            1800,
        )
    print(f"(stages measured in {t1 - t0:.0f} s, traffic in {time.perf_counter() - t1:.0f} s)")
    print("\nstage throughput on the real positions (points/s, one core):")
    print(f"  {'stage':<26}{'overflight':>14}{'traffic':>14}")
    pairs = {"peer_rows_resample_1s": "resample_1s", "peer_rows_airspace": "airspace_clip"}
    for k, v in stages.items():
        if k == "rows" or not isinstance(v, float):
            continue
        theirs = peer.get(pairs.get(k, ""))
        shown = f"{theirs:,.0f}" if isinstance(theirs, float) else "-"
        print(f"  {k:<26}{v:>14,.0f}{shown:>14}")
    if "error" in peer:
        print(f"  traffic not measured: {peer['error']}")
    else:
        print(
            f"  peer_rows_*: the first {PEER_RESAMPLE_ROWS:,} / {PEER_CLIP_ROWS:,} base rows;"
            f" traffic {peer.get('version')} (separate venv, pandas 2.3):"
            " Traffic.resample('1s') / Traffic.clip(CHE national airspace), eval(max_workers=1);"
            " ours: patterns.resample_flights(step_s=1) / airspace.classify_points"
            " (every country, with boundary distance, as in the pipeline)"
        )
    cores = two_cores(cache)
    if "speedup" in cores:
        print(
            f"\ntwo cores: the whole pipeline on the {stages['rows']:,} real positions takes"
            f" {cores['alone_s']:.2f} s in one process alone and"
            f" {max(cores['both_s']):.2f} s in each of two processes at once: two busy"
            f" processes get {cores['speedup']:.2f}x one (2.00 with two independent cores)",
            flush=True,
        )
        print(
            f"start-up: a new process's first pass over them takes {cores['startup_s']:.2f} s"
            " longer (compiled loops loaded from numba's cache, imports, airspace structures"
            " built on first use); engine workers pay it once, when they load the context"
            " (pipeline.warm_up), before the clock like the context itself",
            flush=True,
        )
    else:
        print(f"\ntwo cores: not measured: {cores.get('error')}")
    sizes = [int(float(s) * 1_000_000) for s in a.sizes.split(",")]
    dist_rate = stages.get("airspace_with_distance", 0.0) or 0.0
    need = sum(sizes) / max(dist_rate, 1e-9) / 2
    air = {"on": True, "off": False}.get(a.airspace_mode, need < a.budget_s)
    print(
        f"\nairspace stage in end-to-end runs: {'on' if air else 'OFF'}"
        + (
            ""
            if air
            else f" (distances at {dist_rate:,.0f} points/s would need about "
            f"{need / 3600:.1f} h on 2 cores for these sizes)"
        ),
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    identical = True
    layouts = [x.strip() for x in a.layouts.split(",") if x.strip()]
    for n in sizes:
        parts = max(2, math.ceil(n / 1_000_000))
        for layout in layouts:
            ds = ensure_dataset(a.work, n, cache, parts if layout == "buckets" else None)
            for eng in ("local", "dask"):
                out = a.work / f"out-{n}-{layout}-{eng}"
                headline = n == max(sizes) and layout == layouts[0] and eng == "dask"
                runs = []
                for i in range(max(1, a.repeat) if headline else 1):
                    target = out if i == 0 else a.work / f"out-{n}-{layout}-{eng}-again"
                    runs.append(
                        child(
                            me(
                                "--child",
                                "run",
                                "--engine",
                                eng,
                                "--dataset",
                                str(ds),
                                "--out",
                                str(target),
                                "--partitions",
                                str(parts),
                                "--airspace",
                                str(int(air)),
                            ),
                            7200,
                        )
                    )
                    if i:
                        shutil.rmtree(target, ignore_errors=True)
                r = runs[0]
                if len(runs) > 1 and all("seconds" in x for x in runs):
                    # this machine's speed drifts by about 10% between runs: the median run counts
                    times = [x["seconds"] for x in runs]
                    r = dict(runs[0], runs_s=[round(t, 2) for t in times])
                    r["seconds"] = sorted(times)[len(times) // 2]
                r.update(n=n, engine=eng, layout=layout)
                rows.append(r)
                shown = {k: v for k, v in r.items() if k not in ("n", "engine", "layout")}
                print(f"  {n:>11,} {layout:<8}{eng:<6} {json.dumps(shown)}", flush=True)
            pairs = [(f"{layout}-local", f"{layout}-dask")]
            if layout != layouts[0]:  # the same rows from both layouts
                pairs.append((f"{layouts[0]}-local", f"{layout}-local"))
            for left, right in pairs:
                cmp = child(
                    me(
                        "--child",
                        "compare",
                        "--left",
                        str(a.work / f"out-{n}-{left}"),
                        "--right",
                        str(a.work / f"out-{n}-{right}"),
                        "--dataset",
                        str(ds),
                        "--airspace",
                        str(int(air)),
                        "--inmemory",
                        str(int(n <= 1_000_000 and right.endswith("dask"))),
                    ),
                    3600,
                )
                print(f"  {n:>11,} compare {left} / {right}: {cmp}", flush=True)
                identical &= bool(cmp.get("dask_identical"))
    startup = cores.get("startup_s", float("nan"))
    return report(rows, identical, air, layouts[0] if layouts else "buckets", startup)


def report(
    rows: list[dict[str, Any]],
    identical: bool,
    air: bool,
    headline: str,
    startup_s: float = float("nan"),
) -> int:
    print("\nend to end (read, partition, every stage, write), same partitions for both engines:")
    head = f"{'seconds':>9}{'points/s':>12}{'peak MB':>10}"
    print(f"  {'points':>12} {'layout':<9}{'engine':<8}{head}")
    for r in rows:
        if "seconds" not in r:
            print(f"  {r['n']:>12,} {r['layout']:<9}{r['engine']:<8} failed: {r.get('error')}")
            continue
        print(
            f"  {r['n']:>12,} {r['layout']:<9}{r['engine']:<8}{r['seconds']:>9.1f}"
            f"{r['n'] / r['seconds']:>12,.0f}{r['peak_kb'] / 1024:>10,.0f}"
        )
    print(
        "  layouts: buckets = day folders split into aircraft buckets, one per partition "
        "(each partition reads its files: no map step); day = day folders only (every row is "
        "first spilled by aircraft)"
    )
    for r in rows:
        if "runs_s" in r:
            shown = ", ".join(f"{t:.1f} s" for t in r["runs_s"])
            print(
                f"  {r['n']:,} {r['layout']} dask was run {len(r['runs_s'])} times ({shown}):"
                " the median is shown and counts"
            )
    ok = [r for r in rows if "seconds" in r and r["layout"] == headline]
    others = [r for r in rows if "seconds" in r and r["layout"] != headline]
    local = {r["n"]: r for r in ok if r["engine"] == "local"}
    dask = {r["n"]: r for r in ok if r["engine"] == "dask"}
    ratio = float("nan")
    if 10_000_000 in local and 50_000_000 in local:
        ratio = local[50_000_000]["peak_kb"] / local[10_000_000]["peak_kb"]
    elif len(local) >= 2:
        lo, hi = sorted(local)[-2:]
        ratio = local[hi]["peak_kb"] / local[lo]["peak_kb"]
        print(f"  (memory ratio from {hi:,} and {lo:,} points: 10M/50M not both measured)")
    rate = float("nan")
    if dask:
        top = dask[max(dask)]
        rate = top["n"] / top["seconds"]
        per_worker = rate / 2
        hours = MONTH_POINTS / per_worker / 3600
        cold = top["n"] / (top["seconds"] + startup_s)
        print(
            f"\nwith the workers' start-up in the clock (once per worker, {startup_s:.2f} s,"
            f" measured above): {cold:,.0f} points/s on {top['n']:,} points"
        )
        print(
            f"\nestimate: {per_worker:,.0f} points/s per worker -> {hours:,.0f} worker-hours"
            f" per month of OpenSky-scale data ({MONTH_POINTS / 1e9:.0f} billion positions)"
            + ("" if air else ", airspace stage not included")
        )
    print(
        f"\ntargets ({headline} layout): flat memory 10M->50M within 2x: {ratio:.2f}; "
        f"1M points/s on 2 cores: {rate:,.0f}; airspace in e2e: {'yes' if air else 'no'}"
    )
    for r in others:
        if r["engine"] == "dask" and r["n"] == max(x["n"] for x in others):
            print(f"  the same on the {r['layout']} layout: {r['n'] / r['seconds']:,.0f} points/s")
    print(
        f"points_per_s: {rate:.0f} memory_ratio_50m_to_10m: {ratio:.2f} "
        f"dask_identical: {'true' if identical else 'false'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
