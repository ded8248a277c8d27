"""Cache files read in place (memory-mapped ``.npz``): the same arrays as
:func:`numpy.load`, and damage is refused, never crashes and never passes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.cachedir import load_arrays, map_npz, save_arrays


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "key": np.array("a key of the cache"),
        "xyz": rng.random((1000, 3)),
        "touch": rng.integers(-1, 500, (1000, 2)).astype(np.int32),
        "fortran": np.asfortranarray(rng.random((40, 7))),
        "empty": np.zeros((0, 3)),
        "bytes": rng.integers(0, 256, 333).astype(np.uint8),
    }


def test_mapped_arrays_equal_loaded_ones_and_are_read_only(tmp_path: Path) -> None:
    arrays = _arrays()
    save_arrays(tmp_path, "x", arrays)
    loaded = load_arrays(tmp_path, "x")
    mapped = load_arrays(tmp_path, "x", mapped=True)
    assert loaded is not None and mapped is not None
    assert list(mapped) == list(arrays)
    for name, want in arrays.items():
        got = mapped[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(loaded[name], want)
        assert not got.flags.writeable
    assert mapped["fortran"].flags.f_contiguous


def test_compressed_file_is_refused_with_a_warning(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "z.npz", a=np.arange(10))
    with pytest.raises(ValueError, match="compressed"):
        map_npz(tmp_path / "z.npz")
    with pytest.warns(UserWarning, match="unreadable"):
        assert load_arrays(tmp_path, "z", mapped=True) is None
    got = load_arrays(tmp_path, "z")  # read the usual way it is fine
    assert got is not None and got["a"].tolist() == list(range(10))


def test_arrays_outlive_the_file_being_replaced(tmp_path: Path) -> None:
    save_arrays(tmp_path, "x", {"a": np.arange(5)})
    first = map_npz(tmp_path / "x.npz")
    save_arrays(tmp_path, "x", {"a": np.arange(5) * 10})  # atomic replace
    (tmp_path / "x.npz").unlink()
    assert first["a"].tolist() == [0, 1, 2, 3, 4]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    at=st.floats(0.0, 1.0, allow_nan=False),
    width=st.integers(1, 64),
    value=st.integers(0, 255),
    cut=st.booleans(),
)
def test_damaged_files_are_refused_or_read_exactly(
    tmp_path: Path, at: float, width: int, value: int, cut: bool
) -> None:
    """Any damage (bytes overwritten or the file cut short) raises the errors
    :func:`load_arrays` turns into a warning, or leaves arrays that are exact
    (damage confined to bytes no array comes from, such as zip padding)."""
    arrays = _arrays()
    f = tmp_path / "d.npz"
    save_arrays(tmp_path, "d", arrays)
    data = bytearray(f.read_bytes())
    i = int(at * (len(data) - 1))
    if cut:
        data = data[:i]
    else:
        data[i : i + width] = bytes([value]) * len(data[i : i + width])
    f.write_bytes(bytes(data))
    try:
        got = map_npz(f)
    except (ValueError, zipfile.BadZipFile, OSError, EOFError):
        return
    assert list(got) == list(arrays)
    for name, want in arrays.items():
        np.testing.assert_array_equal(got[name], want)


def test_empty_file_is_refused_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "e.npz").write_bytes(b"")
    with pytest.warns(UserWarning, match="unreadable"):
        assert load_arrays(tmp_path, "e", mapped=True) is None
