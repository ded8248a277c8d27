"""live: watch Beast, AVR, SBS-1 and readsb feeds; alert; store in DuckDB.

``overflight watch`` (:func:`~overflight.live.commands.watch_command`) runs a
:class:`~overflight.live.watcher.Watcher`; ``overflight replay``
(:func:`~overflight.live.commands.replay_command`) serves a recording on a
port for tests and demos.  ``python -m overflight.live watch|replay`` runs
both without the main CLI.

Modules, in the order data flows through them:

:mod:`.feeds`       asyncio tasks per source, reconnecting with backoff
:mod:`.framing`     incremental Beast / line parsers (bounded, counting errors)
:mod:`.timebase`    receiver counters to UTC
:mod:`.decoder`     frames to messages with the file decoder, plus context
:mod:`.decoded`     SBS-1 and readsb text through the file readers
:mod:`.window`      per-aircraft context between ticks; live flight ids
:mod:`.analysis`    the pipeline stages run each tick and on the window
:mod:`.rules`       the rules file; :mod:`.episodes` one alert per episode
:mod:`.outputs`     log, stdout JSON lines, webhooks
:mod:`.sink`        DuckDB tables, batches, Parquet export by day
:mod:`.replay`      the replay server
:mod:`.watcher`     the loop that ties them together
"""

from __future__ import annotations

from overflight.live.commands import build_config, replay_command, watch_command
from overflight.live.feeds import FeedSpec, parse_feed
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.rules import Alert, Rule, load_rules, parse_rules
from overflight.live.sink import Sink, export_days
from overflight.live.watcher import WatchConfig, Watcher, WatchStats

__all__ = [
    "Alert",
    "FeedSpec",
    "ReplayServer",
    "Rule",
    "Sink",
    "WatchConfig",
    "WatchStats",
    "Watcher",
    "build_config",
    "export_days",
    "load_recording",
    "load_rules",
    "parse_feed",
    "parse_rules",
    "replay_command",
    "watch_command",
]
