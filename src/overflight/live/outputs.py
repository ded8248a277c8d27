"""Where alerts go besides the store: the log, stdout as JSON lines, webhooks.

Webhooks are posted by one worker thread from a bounded queue, so a slow or
dead endpoint never holds up the watcher: each alert is POSTed as JSON to
every URL with up to ``retries`` further attempts after
``backoff_s * 2**k`` seconds; when the queue is full the alert is dropped
from the webhook path (it is still logged, printed and stored) and counted.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from overflight.live.rules import Alert

log = logging.getLogger("overflight.live")


class WebhookPoster:
    """Post alerts to webhook URLs from a background thread (see the module docstring)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        max_queue: int = 10_000,
    ) -> None:
        self.urls = list(urls)
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.counts: Counter[str] = Counter()
        self._queue: queue.Queue[dict[str, object] | None] = queue.Queue(max_queue)
        self._thread: threading.Thread | None = None
        if self.urls:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` for every URL; never blocks."""
        if not self.urls:
            return
        try:
            self._queue.put_nowait(alert.to_json())
        except queue.Full:
            self.counts["dropped"] += 1

    def _post(self, url: str, body: bytes) -> bool:
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    if 200 <= resp.status < 300:
                        return True
            except (urllib.error.URLError, OSError, ValueError) as exc:
                log.debug("webhook %s attempt %d failed: %s", url, attempt + 1, exc)
            if attempt < self.retries:
                time.sleep(self.backoff_s * 2**attempt)
        return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            body = json.dumps(item).encode()
            for url in self.urls:
                ok = self._post(url, body)
                self.counts["sent" if ok else "failed"] += 1
                if not ok:
                    log.warning("webhook %s: alert %s not delivered", url, item.get("alert_id"))

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout_s``), then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout_s)


class AlertOutputs:
    """Send each alert to the log, to ``stream`` as one JSON line, and to webhooks."""

    def __init__(
        self, webhooks: Sequence[str] = (), stream: TextIO | None = None, echo: bool = True
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.echo = echo
        self.webhooks = WebhookPoster(webhooks)

    def emit(self, alerts: Sequence[Alert]) -> None:
        """Log, print and post ``alerts``."""
        for a in alerts:
            log.warning("ALERT %s", a.message)
            if self.echo:
                self.stream.write(json.dumps(a.to_json(), default=str) + "\n")
            self.webhooks.submit(a)
        if alerts and self.echo:
            self.stream.flush()

    def close(self) -> None:
        """Flush the webhook queue."""
        self.webhooks.close()
