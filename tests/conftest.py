"""Shared fixtures: where the real test data lives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def _traffic_samples() -> Path | None:
    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "samples"
    return p if p.is_dir() else None


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
