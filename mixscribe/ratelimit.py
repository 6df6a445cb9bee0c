"""Per-caller rate limiting: two token buckets (per minute, per hour) in one Firestore document.

The document ``ratelimits/{uid}`` holds both bucket levels and the time they were computed, so
every API instance shares one budget per caller. Each request is one optimistic
compare-and-set (read, then write only if nobody wrote since): no locks are held, so a burst
from one caller costs re-reads, not lock waits (the emulator's pessimistic locks would time
out). A caller whose own requests still collide after the retries is told to slow down (429,
``Retry-After: 1``): contention on one document can only come from that caller's own burst.
A refusal is also remembered in memory until its ``Retry-After`` passes, so a caller hammering
an instance while limited costs no Firestore operations.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import TransientError
from .store import compare_and_set, utcnow

RATELIMITS = "ratelimits"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0
    remaining: int = 0


class RateLimiter:
    def __init__(self, client: Any, per_minute: int, per_hour: int, ttl: timedelta = timedelta(days=2)) -> None:
        self.client = client
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.ttl = ttl
        self._blocked_until: dict[str, float] = {}
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

    def take(self, uid: str) -> Decision:
        """Spend one token from both buckets, or say how long to wait."""
        with self._lock:
            blocked = self._blocked_until.get(uid, 0.0) - time.monotonic()
        if blocked > 0:
            return Decision(False, max(1, math.ceil(blocked)))
        outcome: dict[str, Decision] = {}

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            now = utcnow()
            minute, hour = self._levels(doc, now)
            if minute < 1 or hour < 1:
                outcome["d"] = Decision(False, self._wait_s(minute, hour))
                return None
            outcome["d"] = Decision(True, 0, int(min(minute - 1, hour - 1)))
            return {"minute": minute - 1, "hour": hour - 1, "at": now, "expires_at": now + self.ttl}

        try:
            compare_and_set(self.client, self.client.collection(RATELIMITS).document(uid), decide)
        except TransientError:
            return Decision(False, 1)
        decision = outcome["d"]
        if not decision.allowed:
            with self._lock:
                self._blocked_until[uid] = time.monotonic() + decision.retry_after_s
        return decision
