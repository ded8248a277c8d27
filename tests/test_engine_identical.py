"""The engines give the same rows as one in-memory pipeline run, on a multi-day dataset.

The dataset is made by the generator from real trajectories of the traffic
samples (a border patrol, an aerial survey, air-to-air refuelling, a spoofed
track, airport calibration) spread over three days and multiplied.  Equality
is :meth:`pyarrow.Table.equals` after :func:`overflight.engine.canonical_sort`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest

from overflight import engine, memtune, pipeline
from overflight.engine.generate import GeneratorParams, generate, load_base
from overflight.engine.progress import Progress
from overflight.schema import MESSAGE_SCHEMA
from overflight.store.dataset import dataset_files, read_dataset

SAMPLES = (
    "surveillance/border_control.json.gz",
    "surveys/texas.json.gz",
    "military/inflight_refuelling.json.gz",
    "noisy/noisy_spoofing.json.gz",
    "calibration/munich.json.gz",
)
SPEC = engine.ContextSpec(airspace_enabled=False)


def _generated(samples: Path, folder: Path, buckets: int | None = None) -> Path:
    """The samples over three days and multiplied (with ``buckets``: split by aircraft)."""
    base, _ = load_base([samples / s for s in SAMPLES])
    root = folder / "dataset"
    params = GeneratorParams(points=3 * base.num_rows + 1234, seed=7, days=3, buckets=buckets)
    generate(root, params, base)
    return root


def dataset_rows(root: Path) -> int:
    """Rows of a generated dataset, as its files hold them."""
    return read_dataset(root, columns=["icao24"]).num_rows


@pytest.fixture(scope="module")
def multiday(traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generated(traffic_samples, tmp_path_factory.mktemp("multiday"))


@pytest.fixture(scope="module")
def reference(multiday: Path) -> pipeline.Analysis:
    """One in-memory run over the whole dataset, read in the dataset's file order."""
    messages = read_dataset(multiday, columns=MESSAGE_SCHEMA.names)
    return pipeline.process(messages, pipeline.Context.load(**SPEC.kwargs()))


def _diff(a: pa.Table, b: pa.Table, kind: str) -> list[str]:
    a, b = engine.canonical_sort(a, kind), engine.canonical_sort(b, kind)
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return [f"{kind}: schema or rows differ ({a.num_rows} vs {b.num_rows})"]
    return [f"{kind}.{c}" for c in a.column_names if not a.column(c).equals(b.column(c))]


def _check(result: engine.EngineResult, reference: pipeline.Analysis) -> None:
    points = read_dataset(result.points_dir)
    problems = _diff(points, reference.points, "points")
    problems += _diff(result.flights, reference.flights, "flights")
    problems += _diff(result.events, reference.events, "events")
    assert not problems, f"engine output differs from pipeline.process in {problems}"


def test_dataset_spans_days(multiday: Path) -> None:
    days = {f.parent.name for f in dataset_files(multiday)}
    assert len(days) >= 3
    info = json.loads((multiday / "_generator.json").read_text())
    assert info["copies"] == 4


@pytest.mark.parametrize("partitions", [1, 5])
def test_local_engine_matches_in_memory(
    multiday: Path, reference: pipeline.Analysis, tmp_path: Path, partitions: int
) -> None:
    events: list[Progress] = []
    res = engine.run(
        [multiday],
        tmp_path,
        context=SPEC,
        partitions=partitions,
        on_progress=events.append,
        batch_rows=20_000,
    )
    _check(res, reference)
    assert res.partitions == partitions
    done = [e.done for e in events if e.phase == "process"]
    assert done == sorted(done) and done[-1] == events[-1].total
    assert res.messages == dataset_rows(multiday)


def test_local_pool_matches_in_memory(
    multiday: Path, reference: pipeline.Analysis, tmp_path: Path
) -> None:
    """Two processes read the day files in parallel (one map task per group), then process."""
    events: list[Progress] = []
    res = engine.run(
        [multiday], tmp_path, context=SPEC, partitions=3, workers=2, on_progress=events.append
    )
    _check(res, reference)
    maps = [e for e in events if e.phase == "partition"]
    assert len(dataset_files(multiday)) > 1 and maps[-1].total > 1
    assert maps[-1].done == maps[-1].total and maps[-1].rows == res.messages


def test_dask_matches_in_memory(
    multiday: Path, reference: pipeline.Analysis, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    events: list[Progress] = []
    res = engine.run(
        [multiday],
        tmp_path,
        context=SPEC,
        engine="dask",
        workers=2,
        partitions=4,
        on_progress=events.append,
    )
    _check(res, reference)
    assert {e.phase for e in events} == {"partition", "process"}
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["engine"] == "dask" and run["points"] == reference.points.num_rows


def test_partitioning_does_not_change_flights_of_a_busy_sky(
    traffic_samples: Path, tmp_path: Path
) -> None:
    """238 flights over Europe, one file read whole: 2 partitions vs one in-memory run."""
    path = traffic_samples / "collections" / "quickstart.json.gz"
    messages, _ = pipeline.read_inputs([path], pipeline.AnalyzeOptions())
    ref = pipeline.process(messages, pipeline.Context.load(**SPEC.kwargs()))
    res = engine.run([path], tmp_path, context=SPEC, partitions=2)
    _check(res, ref)


@pytest.fixture(scope="module")
def bucketed(traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The multi-day dataset again, written with 6 aircraft buckets."""
    return _generated(traffic_samples, tmp_path_factory.mktemp("bucketed"), buckets=6)


def test_bucketed_dataset_holds_the_same_rows(multiday: Path, bucketed: Path) -> None:
    cols = ["icao24", "timestamp", "latitude"]
    a = read_dataset(multiday, columns=cols).sort_by([(c, "ascending") for c in cols])
    b = read_dataset(bucketed, columns=cols).sort_by([(c, "ascending") for c in cols])
    assert a.equals(b)
    buckets = {f.parent.name for f in dataset_files(bucketed)}
    assert buckets == {f"bucket={i}" for i in range(6)}


@pytest.mark.parametrize(("partitions", "how"), [(3, "buckets"), (6, "buckets"), (4, "map")])
def test_buckets_read_directly_give_the_same_rows(
    bucketed: Path, reference: pipeline.Analysis, tmp_path: Path, partitions: int, how: str
) -> None:
    """3 and 6 divide the 6 buckets: no map step, each partition reads its files; 4 maps."""
    events: list[Progress] = []
    res = engine.run(
        [bucketed],
        tmp_path,
        context=SPEC,
        partitions=partitions,
        workers=2,
        on_progress=events.append,
    )
    _check(res, reference)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["partitioning"] == how
    assert ("partition" in {e.phase for e in events}) == (how == "map")
    assert res.messages == dataset_rows(bucketed)


def test_dask_reads_buckets_directly(
    bucketed: Path, reference: pipeline.Analysis, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    dask = pytest.importorskip("dask")
    keys = sorted(memtune.SETTINGS)
    res = engine.run(
        [bucketed],
        tmp_path,
        context=SPEC,
        engine="dask",
        workers=2,
        # each worker reports the allocator settings it runs with, and its profiler setting
        collect=lambda a, c: pa.table(
            {
                **{k: [os.environ.get(k)] for k in keys},
                "profile": [dask.config.get("distributed.worker.profile.enabled")],
            }
        ),
    )
    _check(res, reference)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["partitioning"] == "buckets" and res.partitions == 2
    assert res.extra is not None and res.extra.num_rows == 2
    want = {k: os.environ.get(k, memtune.SETTINGS[k]) for k in keys} | {"profile": False}
    assert res.extra.to_pylist() == [want, want]
