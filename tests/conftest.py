"""Shared fixtures: where the real test data lives, and what several test modules build from it.

The builders live in ``tests/support`` (importable as ``support``: pyproject.toml
puts tests/ on pytest's pythonpath); they are imported inside the fixtures so
that a run which needs none of them does not load them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from overflight.airspace import Boundaries
    from support.report_sample import Sample
    from support.web_store import Built

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def _traffic_samples() -> Path | None:
    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "samples"
    return p if p.is_dir() else None


@pytest.fixture(scope="session")
def boundaries() -> Boundaries:
    """The default boundaries (npm packages), loaded once per run, or skip with the reason."""
    from overflight.airspace import load_boundaries
    from overflight.errors import BoundaryError

    try:
        return load_boundaries()
    except BoundaryError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test data at {SHARED_DATA} (not present on this machine)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def traffic_samples() -> Path:
    """The sample trajectories shipped in the traffic package (pip install --no-deps traffic)."""
    p = _traffic_samples()
    if p is None:
        pytest.skip("needs the traffic package's samples: pip install --no-deps traffic==2.13")
    return p


@pytest.fixture(scope="session")
def report_sample(traffic_samples: Path) -> Sample:
    """The report tables built from three real flights (support.report_sample), once a session."""
    from support.report_sample import build, shared_or_none

    return build(traffic_samples, shared_or_none())


@pytest.fixture(scope="session")
def web_store(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, traffic_samples: Path
) -> Built:
    """The web tests' DuckDB store (support.web_store), built once a session; copy it to write."""
    from support.web_store import build

    return build(tmp_path_factory.mktemp("webstore"), shared_data, traffic_samples)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless system Chromium (support.browser), one per module; skips when absent."""
    from support.browser import launch

    with launch() as b:
        yield b
