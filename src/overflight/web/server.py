"""Run the app under uvicorn, in the foreground (:func:`run`) or a thread (:class:`ServerThread`).

Both install :func:`overflight.web.auth.log_config`, so access-log lines carry
paths without query strings and no message carries a token.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from overflight.errors import InputError
from overflight.web.auth import log_config


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def check_listen(host: str, port: int) -> None:
    """Raise :class:`~overflight.errors.InputError` unless ``host:port`` can be listened on now.

    uvicorn would otherwise start the app, log a traceback-like error and
    exit with its own code; this names the address and the reason in one line.

    Examples
    --------
    >>> check_listen("127.0.0.1", 70000)
    Traceback (most recent call last):
    ...
    overflight.errors.InputError: --port 70000: expected 1 to 65535
    """
    if not 0 < port < 65536:
        raise InputError(f"--port {port}: expected 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(address)
        except OSError as exc:
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def config(app: Any, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's configuration for the app: token-free logs, no proxy headers trusted."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config(log_level),
        log_level=log_level,
        access_log=True,
        proxy_headers=False,
        server_header=False,
    )


def run(app: Any, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    """Serve ``app`` until interrupted."""
    uvicorn.Server(config(app, host, port, log_level)).run()


class ServerThread:
    """uvicorn serving ``app`` on ``host:port`` in a daemon thread.

    Use as a context manager, or :meth:`start` and :meth:`stop`.  ``url`` is
    the base URL once started.  Handy when the live watcher owns the main
    thread, and for tests.
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int | None = None, log_level: str = "info"
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.server = uvicorn.Server(config(app, host, self.port, log_level))
        self.thread = threading.Thread(target=self.server.run, name="overflight-web", daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> ServerThread:
        """Start serving; return once the socket accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout_s)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
