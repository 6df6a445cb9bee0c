"""Per-caller rate limiting: two token buckets (per minute, per hour) in one Firestore document.

The document ``ratelimits/{uid}`` holds both bucket levels and the time they were computed, so
every API instance shares one budget per caller. An instance does not spend a Firestore write on
every request: it *reserves* a few tokens at a time from the shared buckets (one optimistic
compare-and-set: read, then write only if nobody wrote since — no locks, so a burst costs
re-reads, not lock waits; the emulator's pessimistic locks would time out) and spends them from
memory. The reservation grows with the caller's pace (up to 1/20 of the per-minute budget, at
most 100) and lapses after ``lease_s``: tokens are taken from the shared buckets before they are
spent, so the limit is never exceeded; at worst a lapsed reservation under-grants a little.

A caller whose reservation still collides after the retries is told to slow down (429,
``Retry-After: 1``). A refusal is remembered in memory until its ``Retry-After`` passes.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import TransientError
from .ports import Documents
from .store import utcnow

RATELIMITS = "ratelimits"
MAX_BATCH = 100
MAX_CALLERS = 10_000  # callers remembered per instance before idle ones are forgotten


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


@dataclass
class _Local:
    """One caller's tokens reserved by this instance."""

    tokens: int = 0
    expires: float = 0.0
    blocked_until: float = 0.0
    spent_in_lease: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class RateLimiter:
    def __init__(
        self, documents: Documents, per_minute: int, per_hour: int, lease_s: float = 5.0, ttl: timedelta = timedelta(days=2)
    ) -> None:
        self.documents = documents
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.lease_s = lease_s
        self.ttl = ttl
        self.max_batch = max(1, min(MAX_BATCH, per_minute // 20))
        self._callers: dict[str, _Local] = {}
        self._lock = threading.Lock()

    def _levels(self, doc: dict[str, Any] | None, now: datetime) -> tuple[float, float]:
        if not doc:
            return float(self.per_minute), float(self.per_hour)
        elapsed = max(0.0, (now - doc["at"]).total_seconds())
        minute = min(self.per_minute, doc["minute"] + elapsed * self.per_minute / 60.0)
        hour = min(self.per_hour, doc["hour"] + elapsed * self.per_hour / 3600.0)
        return minute, hour

    def _wait_s(self, minute: float, hour: float) -> int:
        waits = [0.0]
        if minute < 1:
            waits.append((1 - minute) * 60.0 / self.per_minute)
        if hour < 1:
            waits.append((1 - hour) * 3600.0 / self.per_hour)
        return max(1, math.ceil(max(waits)))

    def _reserve(self, uid: str, wanted: int) -> tuple[int, int]:
        """Take up to ``wanted`` tokens from the shared buckets: (granted, retry-after when 0)."""
        outcome = {"granted": 0, "wait": 1}

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            now = utcnow()
            minute, hour = self._levels(doc, now)
            granted = min(wanted, int(minute), int(hour))
            outcome["granted"] = max(granted, 0)
            if granted < 1:
                outcome["wait"] = self._wait_s(minute, hour)
                return None
            return {"minute": minute - granted, "hour": hour - granted, "at": now, "expires_at": now + self.ttl}

        self.documents.compare_and_set(f"{RATELIMITS}/{uid}", decide)
        return outcome["granted"], outcome["wait"]

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for uid in [u for u, c in self._callers.items() if c.expires < now and c.blocked_until < now]:
            del self._callers[uid]

    def take(self, uid: str) -> Decision:
        """Spend one token from both buckets, or say how long to wait."""
        with self._lock:
            if len(self._callers) >= MAX_CALLERS:
                self._forget_idle()
            local = self._callers.setdefault(uid, _Local())
        with local.lock:
            now = time.monotonic()
            if local.blocked_until > now:
                return Decision(False, max(1, math.ceil(local.blocked_until - now)))
            if local.tokens > 0 and local.expires > now:
                local.tokens -= 1
                local.spent_in_lease += 1
                return Decision(True)
            wanted = min(self.max_batch, max(1, 2 * local.spent_in_lease))
            try:
                granted, wait = self._reserve(uid, wanted)
            except TransientError:
                return Decision(False, 1)
            if granted < 1:
                local.tokens, local.blocked_until = 0, time.monotonic() + wait
                return Decision(False, wait)
            local.tokens, local.expires, local.spent_in_lease = granted - 1, time.monotonic() + self.lease_s, 1
            return Decision(True)
