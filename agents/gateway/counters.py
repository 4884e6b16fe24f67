"""Figures of this process's gateway traffic, for the benchmark scripts: how many
connections were opened and how many requests each method sent."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrafficFigures:
    connections_opened: int
    rpcs_sent: dict[str, int]
    events_received: int
    events_missed: int

    @property
    def rpcs_total(self) -> int:
        return sum(self.rpcs_sent.values())


@dataclass
class GatewayCounters:
    connections_opened: int = 0
    rpcs_sent: Counter[str] = field(default_factory=Counter)
    events_received: int = 0
    # Gaps in an event sequence: the gateway dropped events for this connection.
    events_missed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def connection_opened(self) -> None:
        with self._lock:
            self.connections_opened += 1

    def rpc_sent(self, method: str) -> None:
        with self._lock:
            self.rpcs_sent[method] += 1

    def event_received(self, missed: int = 0) -> None:
        with self._lock:
            self.events_received += 1
            self.events_missed += missed

    def figures(self) -> TrafficFigures:
        with self._lock:
            return TrafficFigures(self.connections_opened, dict(self.rpcs_sent), self.events_received,
                                  self.events_missed)

    def reset(self) -> None:
        with self._lock:
            self.connections_opened = 0
            self.rpcs_sent.clear()
            self.events_received = 0
            self.events_missed = 0


# One set per process, shared by every client unless a test passes its own.
COUNTERS = GatewayCounters()
