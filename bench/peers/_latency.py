"""How the peers' drivers measure enqueue→start latency, the way bench/jobs.py measures ours.

On an idle queue the driver enqueues one job and notes ``time.time()`` once the enqueue
has committed; the handler notes ``time.time()`` first thing. Our handler returns it as
the job's stored result; a peer's handler sends it back in one UDP datagram on loopback,
which the driver waits for instead of polling a result store (the delay is computed
from the two stamps either way, so how it travels does not count). Standard library
only: the peer drivers import this module from their own venvs.
"""

from __future__ import annotations

import socket
import statistics


def percentile(values: list[float], pct: int) -> float:
    """As bench/_common.percentile, which the peers' venvs cannot import."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[pct - 1]


class StampReceiver:
    """The driver's end: a socket bound to a free loopback port."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]

    def receive(self, timeout: float = 30.0) -> tuple[str, float]:
        """The next (tag, start time) a handler sent; TimeoutError after ``timeout``."""
        self._socket.settimeout(timeout)
        data = self._socket.recv(256).decode()
        tag, started = data.split(" ", 1)
        return tag, float(started)

    def close(self) -> None:
        self._socket.close()


class StampSender:
    """The handler's end."""

    def __init__(self, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._port = port

    def send(self, tag: str, started: float) -> None:
        self._socket.sendto(f"{tag} {started!r}".encode(), ("127.0.0.1", self._port))
