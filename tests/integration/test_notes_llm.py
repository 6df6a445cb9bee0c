"""The notes LLM path with the real ``openai`` client against a loopback OpenAI-protocol server."""

from __future__ import annotations

import pytest

from mixscribe.notes.circuit import CircuitBreaker, CircuitState
from mixscribe.notes.llm import LLMConfig, LLMUnavailable, NotesLLM
from mixscribe.notes.service import NotesService
from tests.conftest import SAMPLE_TEXT
from tests.support.openai_protocol_server import OpenAIProtocolServer

TRANSCRIPT = {
    "duration_s": 8.4,
    "segments": [
        {"start": 0.0, "end": 2.38, "text": "Welcome to the weekly planning meeting."},
        {
            "start": 2.8,
            "end": 7.92,
            "text": "Today we will review the budget, and Maria will send the final report to the team by Friday.",
        },
    ],
}


@pytest.fixture(scope="module")
def server():
    with OpenAIProtocolServer() as srv:
        yield srv


@pytest.fixture()
def make(server):
    server.reset()
    sleeps: list[float] = []

    def build(**overrides) -> tuple[NotesService, CircuitBreaker, list[float]]:
        settings = {"timeout_s": 2, "max_retries": 2, "backoff_base_s": 0.01, **overrides}
        config = LLMConfig(base_url=server.base_url, model="gpt-4o-mini", api_key="test-key", **settings)
        breaker = CircuitBreaker(config.breaker_failures, config.breaker_reset_s)
        return NotesService(config, NotesLLM(config, breaker, sleep=sleeps.append)), breaker, sleeps

    return build


def test_good_response_is_validated_and_costed(server, make):
    service, _, _ = make()
    result = service.summarize(TRANSCRIPT)
    assert result.generator == "llm" and result.model == "gpt-4o-mini" and result.chunks == 1
    assert result.notes["key_points"][0]["start"] == 0.0
    assert result.usage.requests == 1 and result.usage.prompt_tokens > 0
    expected = (result.usage.prompt_tokens * 0.15 + result.usage.completion_tokens * 0.60) / 1e6
    assert result.cost_usd == pytest.approx(expected, abs=1e-6)
    request = server.requests[0]
    assert request["authorization"] == "Bearer test-key"
    assert request["response_format"]["type"] == "json_schema" and request["response_format"]["json_schema"]["strict"]


def test_malformed_json_is_retried_then_accepted(server, make):
    service, _, sleeps = make()
    server.queue({"malformed": True})
    result = service.summarize(TRANSCRIPT)
    assert result.generator == "llm" and len(server.requests) == 2 and len(sleeps) == 1


def test_429_honours_retry_after(server, make):
    service, _, sleeps = make()
    server.queue({"status": 429, "retry_after": "1.5"})
    assert service.summarize(TRANSCRIPT).generator == "llm"
    assert sleeps == [1.5]


def test_persistent_500s_fall_back_to_extractive_notes(server, make):
    service, _, sleeps = make()
    server.queue(*[{"status": 500}] * 3)
    result = service.summarize(TRANSCRIPT)
    assert result.generator == "extractive-fallback" and "gave up after 3 attempts" in result.fallback_reason
    assert len(server.requests) == 3 and len(sleeps) == 2 and all(s < 0.05 for s in sleeps)
    assert result.notes["action_items"][0]["owner"] == "Maria"


def test_timeout_is_retried(server, make):
    service, _, _ = make(timeout_s=0.3)
    server.queue({"delay_s": 1.0})
    assert service.summarize(TRANSCRIPT).generator == "llm"
    assert len(server.requests) == 2


def test_circuit_opens_after_failures_and_closes_after_a_success(server, make):
    service, breaker, _ = make(breaker_failures=3, breaker_reset_s=0.5, max_retries=0)
    server.queue(*[{"status": 503}] * 3)
    for _ in range(3):
        assert service.summarize(TRANSCRIPT).generator == "extractive-fallback"
    assert breaker.state is CircuitState.OPEN
    before = len(server.requests)
    skipped = service.summarize(TRANSCRIPT)
    assert skipped.generator == "extractive-fallback" and "circuit open" in skipped.fallback_reason
    assert len(server.requests) == before  # no call while open
    import time

    time.sleep(0.6)
    assert service.summarize(TRANSCRIPT).generator == "llm"  # the half-open probe succeeds
    assert breaker.state is CircuitState.CLOSED


def test_no_key_means_fallback_without_a_call(server):
    server.reset()
    config = LLMConfig(base_url=server.base_url, api_key="")
    llm = NotesLLM(config, CircuitBreaker())
    with pytest.raises(LLMUnavailable, match="no API key"):
        llm.complete("s", "u")
    result = NotesService(config, llm).summarize(TRANSCRIPT)
    assert result.generator == "extractive-fallback" and server.requests == []


def test_long_transcript_is_map_reduced_with_bounded_concurrency(server, make):
    service, _, _ = make(chunk_tokens=200, concurrency=2)
    server.default_delay_s = 0.2
    segments = [{"start": float(i * 8), "end": float(i * 8 + 7), "text": SAMPLE_TEXT} for i in range(40)]
    result = service.summarize({"duration_s": 320.0, "segments": segments})
    assert result.generator == "llm" and result.chunks >= 8
    assert len(server.requests) == result.chunks + 1 == result.usage.requests  # map calls plus one reduce
    assert server.peak_in_flight == 2
    starts = [kp["start"] for kp in result.notes["key_points"]]
    assert starts == sorted(starts) and len(starts) == result.chunks and starts[0] == 0.0
    assert all(s in {seg["start"] for seg in segments} for s in starts)
