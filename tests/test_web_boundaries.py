"""The live map's boundary layers: what a request sees while they load, and the shared cache.

The layers are small GeoJSON files cut from the npm maritime boundaries (the
map's own ``territory`` layer, read once through the user's cache), so each
parses in milliseconds.  The races are made to happen rather than hoped for:
a loader held until a request is half way through, a cache file removed
between the reader finding it and reading it, threads and processes writing
one cache folder at once.  Every test points ``OVERFLIGHT_CACHE`` at its own
folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import shapely

from overflight.errors import OverflightError
from overflight.web import boundaries as wb
from overflight.web.boundaries import Boundaries, read_layer

#: Two sets of countries, one file each: they stand for two layers, or two checkouts' copies.
SETS = {"a": ("EST", "LVA", "LTU", "DNK"), "b": ("ISL", "CYP", "LUX", "MLT")}
EUROPE = (-25.0, 30.0, 40.0, 70.0)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"a": path, "b": path}``: GeoJSON of the countries in :data:`SETS`, ISO code in ``A3``."""
    try:
        npm = wb.default_path("territory")
    except OverflightError as exc:
        pytest.skip(str(exc))
    geoms, codes = read_layer("territory", npm)
    folder = tmp_path_factory.mktemp("layers")
    out = {}
    for key, wanted in SETS.items():
        features = [
            {
                "type": "Feature",
                "properties": {"A3": codes[i]},
                "geometry": json.loads(shapely.to_geojson(geoms[i])),
            }
            for i in range(len(codes))
            if codes[i] in wanted
        ]
        assert len(features) == len(wanted)
        out[key] = folder / f"{key}.geo.json"
        out[key].write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return out


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder for this test (``OVERFLIGHT_CACHE``); layers are cached in ``web/``."""
    monkeypatch.setenv("OVERFLIGHT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "web"


def _layers_in(body: dict[str, Any]) -> set[str]:
    return {f["properties"]["layer"] for f in body["features"]}


def _loaded(b: Boundaries) -> Boundaries:
    """``b`` once every layer has loaded or failed."""
    b.start()
    deadline = time.monotonic() + 60
    while b.pending:
        assert time.monotonic() < deadline, f"{b.pending} still loading"
        time.sleep(0.02)
    return b


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> Any:
        raise AssertionError(f"{path} parsed again: the cache was not used")

    monkeypatch.setattr(wb, "_read_source", refuse)


def test_a_layer_loaded_during_a_request_is_drawn_or_pending(
    sources: dict[str, Path], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The browser test's flake: the land layer finished loading while a request was
    # cutting the territory layer, and the answer said nothing was pending, so the
    # page stopped asking and never drew land.
    b = Boundaries({"territory": sources["a"], "land": sources["b"]})
    release = threading.Event()
    plain_read, plain_cut = wb.read_layer, wb._cut

    def held_read(name: str, path: Path) -> tuple[Any, list[str]]:
        if name == "land":
            assert release.wait(30)
        return plain_read(name, path)

    def cut_while_land_arrives(layer: Any, bbox: Any, step: float) -> list[dict[str, Any]]:
        if layer.name == "territory" and not release.is_set():
            release.set()
            deadline = time.monotonic() + 30
            while "land" not in b.layers:
                assert time.monotonic() < deadline, "the land layer never loaded"
                time.sleep(0.01)
        return plain_cut(layer, bbox, step)

    monkeypatch.setattr(wb, "read_layer", held_read)
    monkeypatch.setattr(wb, "_cut", cut_while_land_arrives)
    assert b.wait(30) is None
    during = b.geojson(EUROPE)
    assert "land" in b.layers  # it arrived while the answer was being made
    assert "land" in during["pending"] or "land" in _layers_in(during)
    after = b.geojson(EUROPE)
    assert after["pending"] == [] and after["errors"] == {}
    assert _layers_in(after) == {"territory", "land"}
    assert b.state() == "ready"


def test_a_layer_that_fails_is_reported_not_dropped(
    sources: dict[str, Path], cache: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.geo.json"
    broken.write_bytes(sources["b"].read_bytes()[:500])  # cut short: GDAL cannot parse it
    b = _loaded(Boundaries({"territory": sources["a"], "land": broken}))
    assert b.wait(0) is None
    body = b.geojson(EUROPE)
    assert body["pending"] == [] and list(body["errors"]) == ["land"]
    assert "'land' unavailable (broken.geo.json)" in body["errors"]["land"]
    assert _layers_in(body) == {"territory"}
    assert body["errors"]["land"] in b.state()

    # nothing to draw at all: wait says why (the API answers 503 with it)
    only = Boundaries({"land": broken})
    problem = only.wait(30)
    assert problem is not None and "'land' unavailable (broken.geo.json)" in problem


def test_api_answers_with_the_failed_layer(
    sources: dict[str, Path], cache: Path, tmp_path: Path
) -> None:
    from overflight.web import create_app, create_token
    from overflight.web.server import ServerThread
    from support.web_store import get

    broken = tmp_path / "broken.geo.json"
    broken.write_bytes(sources["b"].read_bytes()[:500])
    token = create_token(tmp_path / "tokens.json", "read")
    box = ",".join(str(v) for v in EUROPE)
    for layers, status in (({"territory": sources["a"], "land": broken}, 200), ({}, 503)):
        app = create_app(
            tmp_path / "absent.duckdb", tmp_path / "tokens.json", land_boundaries=False
        )
        app.state.boundaries = _loaded(Boundaries(layers | {"land": broken}))
        srv = ServerThread(app, log_level="critical").start()
        try:
            code, body = get(f"{srv.url}/api/boundaries?bbox={box}", token)
            _, state = get(f"{srv.url}/api/status", token)
        finally:
            srv.stop()
        assert code == status
        message = body["errors"]["land"] if status == 200 else body["error"]
        assert "'land' unavailable (broken.geo.json)" in message
        assert message in state["boundaries"]


def test_cache_keeps_another_checkouts_file(
    sources: dict[str, Path], cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two checkouts (two paths) share one cache folder; each writing its own file
    # used to delete the other's, so they took turns parsing the source again.
    other = tmp_path / "other-checkout" / "a.geo.json"
    other.parent.mkdir()
    other.write_bytes(sources["a"].read_bytes())
    first = read_layer("land", sources["a"])
    second = read_layer("land", other)
    assert len(list(cache.glob("land-*.parquet"))) == 2
    _no_parsing(monkeypatch)
    again = read_layer("land", sources["a"])
    assert shapely.equals_exact(again[0], first[0]).all() and again[1] == first[1] == second[1]


def test_cache_file_removed_while_being_read(
    sources: dict[str, Path], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process prunes or replaces the file between this one finding it and reading it.
    expected = read_layer("land", sources["a"])
    (target,) = cache.glob("land-*.parquet")
    plain = pq.read_table

    def read_after_removal(source: Any, *args: Any, **kwargs: Any) -> Any:
        target.unlink()
        return plain(source, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", read_after_removal)
    _no_parsing(monkeypatch)
    geoms, codes = read_layer("land", sources["a"])
    assert shapely.equals_exact(geoms, expected[0]).all() and codes == expected[1]


_WORKER = """
import hashlib, json, sys, threading
from pathlib import Path
import pyogrio.raw  # imported up front (read_layer does lazily) so that the loads, not
import shapely      # the imports, happen at the same moment in both processes
import overflight.airspace.cache
from overflight.web.boundaries import read_layer

def digest(layer):
    geoms, codes = layer
    return hashlib.sha256(b"".join(shapely.to_wkb(geoms)) + json.dumps(codes).encode()).hexdigest()

def load_at_once(paths):
    gate = threading.Barrier(len(paths))
    out = {}
    def run(i, path):
        gate.wait()
        out[i] = digest(read_layer("land", path))
    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(paths)]
    for t in threads: t.start()
    for t in threads: t.join()
    return [out.get(i) for i in range(len(paths))]

if __name__ == "__main__":
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(load_at_once([Path(p) for p in sys.argv[1:]])), flush=True)
"""


def test_threads_and_processes_share_one_cache_folder(
    sources: dict[str, Path], cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process and another, four threads each, load one layer from two checkouts'
    # copies of the same file into one empty cache folder at the same moment.
    other = tmp_path / "other-checkout" / "a.geo.json"
    other.parent.mkdir()
    other.write_bytes(sources["a"].read_bytes())
    paths = [sources["a"], other] * 2
    worker: dict[str, Any] = {}
    exec(compile(_WORKER, "worker", "exec"), worker)  # the child runs the same code
    child = subprocess.Popen(
        [sys.executable, "-c", _WORKER, *map(str, paths)],
        env=os.environ | {"OVERFLIGHT_CACHE": str(cache.parent)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"  # imported: now both start together
        child.stdin.write("go\n")
        child.stdin.flush()
        here = worker["load_at_once"](paths)
        there = json.loads(child.communicate(timeout=120)[0])
    finally:
        child.kill()
    assert child.returncode == 0
    expected = worker["digest"](wb._read_source(sources["a"]))
    assert here == there == [expected] * len(paths)
    # both checkouts' files are whole and in place; no temporary file is left
    assert sorted(p.suffix for p in cache.iterdir()) == [".parquet", ".parquet"]
    _no_parsing(monkeypatch)
    assert [worker["digest"](read_layer("land", p)) for p in paths[:2]] == [expected] * 2


def test_prune_keeps_the_recent_and_the_in_use(tmp_path: Path) -> None:
    now = time.time()
    ages_h = {"land-a": 0, "land-b": 5, "land-c": 0.5, "land-d": 30, "land-e": 9, "land-f": 70}
    for stem, age in ages_h.items():
        p = tmp_path / f"{stem}.parquet"
        p.write_bytes(b"")
        os.utime(p, (now - age * 3600, now - age * 3600))
    (tmp_path / "territory-x.parquet").write_bytes(b"")
    os.utime(tmp_path / "territory-x.parquet", (now - 1e6, now - 1e6))
    leftovers = {".land-a.1.tmp": 2.0, ".land-a.2.tmp": 0.1}
    for name, age in leftovers.items():
        (tmp_path / name).write_bytes(b"")
        os.utime(tmp_path / name, (now - age * 3600, now - age * 3600))
    removed = wb.prune_cache(tmp_path, "land", keep=2, grace_s=3600, now_s=now)
    by_age = sorted(ages_h, key=lambda s: ages_h[s])
    expected = {f"{s}.parquet" for s in by_age[2:] if ages_h[s] > 1}
    expected |= {n for n, age in leftovers.items() if age > 1}
    assert {p.name for p in removed} == expected
    assert {p.name for p in tmp_path.iterdir()} == (
        {f"{s}.parquet" for s in ages_h} | set(leftovers) | {"territory-x.parquet"}
    ) - expected
