"""The allocator settings reach the processes that run the stages (overflight.memtune)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from overflight import memtune

PROBE = (
    "import json, os, sys; from overflight import cli; "
    "print(json.dumps({k: os.environ.get(k) for k in cli.memtune.SETTINGS}))"
)


def _probe(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, str] = json.loads(out.stdout)
    return result


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in memtune.SETTINGS}


def test_the_command_line_sets_them_before_arrow_loads() -> None:
    assert _probe(_clean_env()) == memtune.SETTINGS
    code = "from overflight import memtune; print(memtune.apply()); import pyarrow"
    out = subprocess.run(
        [sys.executable, "-c", code], env=_clean_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True"]


def test_a_value_the_user_set_is_kept() -> None:
    env = {**_clean_env(), "MIMALLOC_PURGE_DELAY": "250"}
    got = _probe(env)
    assert got == {**memtune.SETTINGS, "MIMALLOC_PURGE_DELAY": "250"}


def test_apply_reports_whether_this_process_is_affected() -> None:
    import pyarrow  # noqa: F401 (loaded: the settings can only reach child processes)

    before = {k: os.environ.get(k) for k in memtune.SETTINGS}
    try:
        assert memtune.apply() is False
        assert all(os.environ[k] for k in memtune.SETTINGS)
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
