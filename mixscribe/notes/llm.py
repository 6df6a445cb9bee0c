"""Calls to any OpenAI-compatible chat-completions server, with timeouts, retries and a breaker.

Retries cover 429, 5xx, timeouts and connection errors, with the shared policy (``mixscribe.retries``:
exponential backoff, full jitter), honouring ``Retry-After`` (capped). A reply that is not valid
notes JSON counts as a failure too.
The ``openai`` client's own retries are off so that this one policy applies everywhere.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryCallState, retry_if_exception_type

from ..config import Settings
from ..logs import fields
from ..retries import RetryPolicy
from .circuit import CircuitBreaker
from .schema import NOTES_SCHEMA, InvalidNotes, validate_notes

log = logging.getLogger(__name__)
DEFAULT_PRICES = {  # USD per 1M tokens (input, output); configurable with MIXSCRIBE_LLM_PRICES
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to reach the model; the key comes from the environment or a mounted secret file."""

    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key: str = field(default="", repr=False)
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_base_s: float = 1.0
    concurrency: int = 4
    chunk_tokens: int = 3000
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig:
        """The LLM part of the settings; the key from ``MIXSCRIBE_LLM_API_KEY`` or the file ``…_FILE`` names."""
        key = settings.llm_api_key
        if not key and settings.llm_api_key_file and os.path.isfile(settings.llm_api_key_file):
            with open(settings.llm_api_key_file, encoding="utf-8") as handle:
                key = handle.read().strip()
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            backoff_base_s=settings.llm_backoff_s,
            concurrency=settings.llm_concurrency,
            chunk_tokens=settings.llm_chunk_tokens,
            breaker_failures=settings.llm_breaker_failures,
            breaker_reset_s=settings.llm_breaker_reset_s,
            prices={**DEFAULT_PRICES, **settings.llm_price_table()},
        )

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated cost from the price table; ``None`` for models it does not list."""
        if self.model not in self.prices:
            return None
        inp, out = self.prices[self.model]
        return round((prompt_tokens * inp + completion_tokens * out) / 1e6, 6)


class LLMUnavailable(RuntimeError):
    """No notes from the model: circuit open, no key, or retries exhausted."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.requests += other.requests


class NotesLLM:
    """Structured notes from one chat completion, validated against the notes schema."""

    def __init__(self, config: LLMConfig, breaker: CircuitBreaker, sleep: Callable[[float], None] = time.sleep) -> None:
        import openai

        self.config = config
        self.breaker = breaker
        self._sleep = sleep
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=config.api_key or "unset", timeout=config.timeout_s, max_retries=0
        )

    def complete(self, system: str, user: str) -> tuple[dict[str, Any], Usage]:
        """One validated notes object; raises ``LLMUnavailable`` when the model cannot give one."""
        if not self.config.api_key:
            raise LLMUnavailable("no API key configured")
        policy = RetryPolicy(self.config.max_retries + 1, self.config.backoff_base_s)
        last_error = "circuit open"

        def one_try() -> tuple[dict[str, Any], Usage]:
            nonlocal last_error
            if not self.breaker.allow():
                raise LLMUnavailable(f"circuit {self.breaker.state.value}; last error: {last_error}")
            try:
                result = self._call(system, user)
            except _Retryable as exc:
                self.breaker.record_failure()
                last_error = str(exc)
                raise
            self.breaker.record_success()
            return result

        def log_retry(state: RetryCallState) -> None:
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "LLM call failed; retrying",
                extra=fields(attempt=state.attempt_number - 1, delay_s=round(delay, 2), reason=last_error),
            )

        try:
            for attempt in policy.retrying(retry_if_exception_type(_Retryable), self._sleep, log_retry):
                with attempt:
                    return one_try()
        except _Retryable as exc:
            raise LLMUnavailable(f"gave up after {policy.attempts} attempts: {exc}") from exc
        raise AssertionError("tenacity returns the result or re-raises the last error")

    def _call(self, system: str, user: str) -> tuple[dict[str, Any], Usage]:
        oa = self._openai
        try:
            response = self._client.chat.completions.create(
                model=self.config.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "meeting_notes", "schema": NOTES_SCHEMA, "strict": True},
                },
                temperature=0.2,
            )
        except oa.RateLimitError as exc:
            raise _Retryable("429 rate limited", _retry_after(exc.response)) from exc
        except oa.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code in (408, 409):
                raise _Retryable(f"{exc.status_code} from the server", _retry_after(exc.response)) from exc
            raise LLMUnavailable(f"{exc.status_code} from the server: {exc.message}") from exc
        except (oa.APITimeoutError, oa.APIConnectionError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        usage = Usage(
            prompt_tokens=getattr(response.usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(response.usage, "completion_tokens", 0) or 0,
            requests=1,
        )
        try:
            content = response.choices[0].message.content or ""
            return validate_notes(json.loads(content)), usage
        except (json.JSONDecodeError, InvalidNotes, IndexError, AttributeError) as exc:
            raise _Retryable(f"unusable reply: {exc}") from exc


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: Any) -> float | None:
    raw = response.headers.get("retry-after") if response is not None else None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(raw))) if raw else None
    except ValueError:
        return None
