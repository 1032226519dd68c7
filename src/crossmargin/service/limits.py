"""Token buckets for failed authentication, per client address and per key id.

Every failed authentication takes a token from the client's bucket and, when the token names a
key id (``cm_<key id>_…``), from that key id's bucket. Buckets refill continuously. While either
bucket is empty, failures are answered 429 with ``Retry-After`` instead of 401. A valid key is
always served: verifying it costs an HMAC, and a flood from the same address must not lock a
legitimate client out. At most ``max_tracked`` buckets are kept per kind; the least recently
used go first (an emptied bucket lost this way only forgives an attacker, never blocks anyone).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from crossmargin.core.errors import InputError

__all__ = ["FAILURE_LIMITS_ENV", "FailureLimiter", "FailureLimits"]

#: Environment variable overriding the limits: ``client_burst=20,key_per_second=0.2``.
FAILURE_LIMITS_ENV = "CROSSMARGIN_AUTH_FAILURE_LIMITS"


@dataclass(frozen=True)
class FailureLimits:
    """Bucket sizes (failures allowed in a burst) and refill rates (failures per second)."""

    client_burst: float = 20.0
    client_per_second: float = 2.0
    key_burst: float = 5.0
    key_per_second: float = 0.2
    max_tracked: int = 10_000

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> FailureLimits:
        """The defaults, overridden by ``$CROSSMARGIN_AUTH_FAILURE_LIMITS`` (``name=value``
        pairs separated by commas; each value a positive number)."""
        text = (os.environ if environ is None else environ).get(FAILURE_LIMITS_ENV, "").strip()
        chosen: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in {f.name for f in fields(cls)}:
                raise InputError(FAILURE_LIMITS_ENV, part, "names no limit")
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not (math.isfinite(number) and number > 0):
                raise InputError(FAILURE_LIMITS_ENV, part, "must be a positive number")
            chosen[name] = number
        tracked = int(chosen.pop("max_tracked", cls.max_tracked))
        return cls(**chosen, max_tracked=tracked)


class _Buckets:
    def __init__(self, burst: float, rate: float, max_tracked: int) -> None:
        self.burst = burst
        self.rate = rate
        self.max_tracked = max_tracked
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, name: str, now: float) -> float:
        found = self._levels.get(name)
        if found is None:
            return self.burst
        level, stamp = found
        return min(self.burst, level + (now - stamp) * self.rate)

    def wait_seconds(self, name: str, now: float) -> float:
        """Seconds until one more failure is allowed (0 when it is now)."""
        level = self._level(name, now)
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate

    def take(self, name: str, now: float) -> None:
        self._levels[name] = (max(0.0, self._level(name, now) - 1.0), now)
        self._levels.move_to_end(name)
        while len(self._levels) > self.max_tracked:
            self._levels.popitem(last=False)


class FailureLimiter:
    """Counts failed authentications (see the module docstring); thread-safe."""

    def __init__(
        self,
        limits: FailureLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        chosen = limits or FailureLimits()
        self._clients = _Buckets(chosen.client_burst, chosen.client_per_second, chosen.max_tracked)
        self._keys = _Buckets(chosen.key_burst, chosen.key_per_second, chosen.max_tracked)
        self._clock = clock
        self._lock = threading.Lock()

    def record_failure(self, client: str, key_id: str | None) -> int:
        """Count a failure; returns 0 when it may be answered 401, else the whole seconds to
        put in ``Retry-After`` (the failure is then answered 429 and not counted)."""
        now = self._clock()
        with self._lock:
            wait = self._clients.wait_seconds(client, now)
            if key_id is not None:
                wait = max(wait, self._keys.wait_seconds(key_id, now))
            if wait > 0.0:
                return max(1, math.ceil(wait))
            self._clients.take(client, now)
            if key_id is not None:
                self._keys.take(key_id, now)
            return 0
