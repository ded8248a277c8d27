"""``python -m overflight.live watch|replay ...``: the live commands without the main CLI.

The options are those of ``overflight watch`` and ``overflight replay``
(see :func:`overflight.live.commands.build_config`); tests run the watcher
as a real process through this entry point.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from overflight.errors import OverflightError
from overflight.live.commands import replay_command, setup_logging, watch_command


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m overflight.live")
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("watch", help="watch live feeds into a DuckDB file")
    w.add_argument("--db", type=Path, required=True)
    for kind in ("beast", "sbs", "avr", "readsb"):
        w.add_argument(f"--{kind}", action="append", default=[])
    w.add_argument("--rules", type=Path)
    w.add_argument("--webhook", action="append", default=[])
    w.add_argument("--tick-s", type=float, default=0.5)
    w.add_argument("--flush-s", type=float, default=1.0)
    w.add_argument("--patterns-every-s", type=float, default=15.0)
    w.add_argument("--window-s", type=float, default=1800.0)
    w.add_argument("--reference")
    w.add_argument("--clock", dest="clock_mode", default="12mhz")
    w.add_argument("--start-time")
    w.add_argument("--idle-exit-s", type=float)
    w.add_argument("--max-line-bytes", type=int, default=4096)
    w.add_argument("--poll-s", type=float, default=1.0)
    w.add_argument("--quiet", action="store_true")
    w.add_argument("--share-db", action="store_true")
    w.add_argument("--export-dir", type=Path)
    w.add_argument("--focus")
    w.add_argument("--boundaries", type=Path)
    w.add_argument("--aircraft-db", type=Path, action="append", default=[])
    w.add_argument("--authorisations", type=Path)
    w.add_argument("--verbose", action="store_true")
    r = sub.add_parser("replay", help="serve a recording on a TCP port")
    r.add_argument("file", type=Path)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--speed", type=float, default=1.0)
    r.add_argument("--loop", action="store_true")
    r.add_argument("--format", dest="fmt")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the command; errors print one line and return 1."""
    args = vars(_parser().parse_args(argv))
    command = args.pop("command")
    setup_logging(bool(args.pop("verbose", False)))
    try:
        if command == "watch":
            db = args.pop("db")
            return watch_command(db, **args)
        file, port = args.pop("file"), args.pop("port")
        return replay_command(file, port, **args)
    except OverflightError as exc:
        print(f"overflight {command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
