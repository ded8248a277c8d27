"""The ``overflight`` command line.

Every command prints ``overflight COMMAND: error: …`` on stderr and exits 1
when its input is wrong; the message names the file and the record.
The commands live in :mod:`~overflight.cli.analysis` (analyze, demo,
verify, keygen, trends, train), :mod:`~overflight.cli.scale` (store export)
and :mod:`~overflight.cli.service` (store, token, serve, watch, replay);
importing them registers them on :data:`app`.
"""

from __future__ import annotations

from overflight import memtune

memtune.apply()  # before Arrow loads: it reads the setting once

from overflight.cli import analysis, scale, service  # noqa: E402
from overflight.cli._common import app  # noqa: E402
from overflight.cli.analysis import DEMO_SAMPLES  # noqa: E402

__all__ = ["DEMO_SAMPLES", "analysis", "app", "main", "scale", "service"]


def main() -> None:  # pragma: no cover - console entry point
    app()
