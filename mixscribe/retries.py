"""Retry policies, stated once, on tenacity: exponential backoff with full jitter, a bounded number of tries.

The window before try n + 1 is ``[0, min(cap_s, base_s * 2 ** (n - 1))]`` (AWS's "full jitter", which
spreads retries of uncoordinated callers). The LLM calls and the webhook deliveries retry this way;
a server's ``Retry-After`` replaces the drawn wait when given. The edge agent's uploader is the
exception: it retries every spooled segment for ever, with its attempts persisted in the spool so a
restart keeps them, which an in-memory retry loop cannot do (``edge_agent/uploader.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_random_exponential
from tenacity.retry import retry_base


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all, waiting with full jitter between them."""

    attempts: int
    base_s: float
    cap_s: float = float("inf")

    def wait(self) -> Callable[[RetryCallState], float]:
        """The drawn wait, or the failed try's ``retry_after`` (seconds, on its exception) when it has one."""
        drawn = wait_random_exponential(multiplier=self.base_s, max=self.cap_s)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            told = getattr(error, "retry_after", None)
            return float(told) if told is not None else float(drawn(state))

        return wait

    def retrying(
        self,
        retry: retry_base,
        sleep: Callable[[float], None],
        before_sleep: Callable[[RetryCallState], None] | None = None,
        **options: Any,
    ) -> Retrying:
        """A tenacity ``Retrying`` for this policy; ``retry`` says which outcomes are tried again."""
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self.wait(),
            retry=retry,
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
            **options,
        )
