"""Per-key request limits for recap's HTTP API, in the shape PostHog uses: a burst limit
per minute and a sustained limit per hour, both as token buckets held in memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Past this many tracked keys, idle (full) buckets are dropped: a full bucket is exactly
# what a new key starts with, so forgetting one changes no answer.
_MAX_TRACKED_KEYS = 10_000
# Refills are float arithmetic: a bucket 1e-16 short of a token has the token.
_EPSILON = 1e-9


@dataclass(frozen=True)
class RateLimits:
    burst_per_minute: int
    sustained_per_hour: int

    def __post_init__(self) -> None:
        if self.burst_per_minute < 1 or self.sustained_per_hour < 1:
            raise ValueError(
                f"rate limits must be at least 1 (got {self.burst_per_minute}/min, "
                f"{self.sustained_per_hour}/h)"
            )


@dataclass
class _Buckets:
    burst: float
    sustained: float
    updated: float


class RateLimiter:
    """Two token buckets per key; a request needs a token from both."""

    def __init__(
        self,
        limits: RateLimits,
        clock: Callable[[], float] = time.monotonic,
        max_tracked_keys: int = _MAX_TRACKED_KEYS,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._burst_rate = limits.burst_per_minute / 60.0
        self._sustained_rate = limits.sustained_per_hour / 3600.0
        self._buckets: dict[str, _Buckets] = {}
        self._lock = threading.Lock()
        self._max_tracked_keys = max_tracked_keys
        self._prune_at = max_tracked_keys

    def check(self, key: str) -> float | None:
        """Takes one request for `key`; None when allowed, else the seconds to wait
        (Retry-After)."""
        with self._lock:
            now = self._clock()
            buckets = self._buckets.get(key)
            if buckets is None:
                if len(self._buckets) >= self._prune_at:
                    self._forget_idle(now)
                buckets = self._buckets[key] = _Buckets(
                    float(self.limits.burst_per_minute),
                    float(self.limits.sustained_per_hour),
                    now,
                )
            else:
                self._refill(buckets, now)
            if buckets.burst >= 1 - _EPSILON and buckets.sustained >= 1 - _EPSILON:
                buckets.burst -= 1
                buckets.sustained -= 1
                return None
            wait = max(
                (1 - buckets.burst) / self._burst_rate,
                (1 - buckets.sustained) / self._sustained_rate,
            )
            # Float noise must not turn an exact 2.0 s into 3 s.
            return float(max(1, math.ceil(wait - _EPSILON)))

    def waiting(self, key: str) -> float | None:
        """Like `check`, without taking a request: the seconds `key` must wait, or None."""
        with self._lock:
            buckets = self._buckets.get(key)
            if buckets is None:
                return None
            self._refill(buckets, self._clock())
            if buckets.burst >= 1 - _EPSILON and buckets.sustained >= 1 - _EPSILON:
                return None
            wait = max(
                (1 - buckets.burst) / self._burst_rate,
                (1 - buckets.sustained) / self._sustained_rate,
            )
            return float(max(1, math.ceil(wait - _EPSILON)))

    def _refill(self, buckets: _Buckets, now: float) -> None:
        elapsed = max(0.0, now - buckets.updated)
        buckets.burst = min(
            float(self.limits.burst_per_minute), buckets.burst + elapsed * self._burst_rate
        )
        buckets.sustained = min(
            float(self.limits.sustained_per_hour),
            buckets.sustained + elapsed * self._sustained_rate,
        )
        buckets.updated = now

    def _forget_idle(self, now: float) -> None:
        for key, buckets in list(self._buckets.items()):
            self._refill(buckets, now)
            if (
                buckets.burst >= self.limits.burst_per_minute - _EPSILON
                and buckets.sustained >= self.limits.sustained_per_hour - _EPSILON
            ):
                del self._buckets[key]
        # When most keys are busy, scanning on every new key would be quadratic: wait
        # until the table doubles before scanning again.
        self._prune_at = max(self._max_tracked_keys, 2 * len(self._buckets))
