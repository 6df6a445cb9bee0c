"""Notes pieces that need no server: circuit breaker states, fallback quality, schema, Markdown."""

import pytest

from mixscribe.notes.circuit import CircuitBreaker, CircuitState
from mixscribe.notes.extractive import extractive_notes
from mixscribe.notes.schema import InvalidNotes, render_markdown, validate_notes
from mixscribe.notes.service import chunk_lines, count_tokens
from tests.conftest import SAMPLE_TEXT

DEMO_SEGMENTS = [
    {"start": 0.0, "end": 2.38, "text": "Welcome to the weekly planning meeting."},
    {
        "start": 2.8,
        "end": 7.92,
        "text": "Today we will review the budget, and Maria will send the final report to the team by Friday.",
    },
]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_then_half_open_probe_closes_it():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN and not breaker.allow()
    clock.now = 10
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED and breaker.allow()


def test_failed_probe_reopens_the_circuit():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_s=5, clock=clock)
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.now = 9
    assert not breaker.allow()


def test_fallback_notes_on_the_demo_transcript_are_useful():
    notes = validate_notes(extractive_notes(DEMO_SEGMENTS, 8.4))
    assert any("Maria will send the final report" in p["text"] for p in notes["key_points"])
    assert notes["key_points"][0]["start"] == 2.8
    assert notes["action_items"] == [{"task": "send the final report to the team", "owner": "Maria", "due": "Friday"}]
    assert "budget" in notes["summary"] and "planning" in notes["topics"]
    assert notes["decisions"] == [] and notes["questions"] == []


def test_fallback_finds_decisions_questions_and_collective_tasks():
    segments = [
        {
            "start": 0,
            "end": 9,
            "text": "We need to book the venue before next Monday. Did we agree on the caterer? "
            "We decided to go with the blue design. Tom should update the roadmap by the end of the week.",
        }
    ]
    notes = validate_notes(extractive_notes(segments, 9))
    assert notes["decisions"] == ["We decided to go with the blue design."]
    assert notes["questions"] == ["Did we agree on the caterer?"]
    assert {"task": "book the venue", "owner": None, "due": "next Monday"} in notes["action_items"]
    assert {"task": "update the roadmap", "owner": "Tom", "due": "the end of the week"} in notes["action_items"]


def test_fallback_on_empty_transcript_still_follows_the_schema():
    assert validate_notes(extractive_notes([], None))["summary"] == "No speech was recognised."


def test_schema_rejects_missing_and_extra_fields():
    notes = extractive_notes(DEMO_SEGMENTS, 8.4)
    with pytest.raises(InvalidNotes, match="title"):
        validate_notes({k: v for k, v in notes.items() if k != "title"})
    with pytest.raises(InvalidNotes):
        validate_notes({**notes, "extra": 1})
    with pytest.raises(InvalidNotes, match="action_items/0"):
        validate_notes({**notes, "action_items": [{"task": "x"}]})


def test_markdown_names_the_generator_and_times_key_points():
    md = render_markdown(extractive_notes(DEMO_SEGMENTS, 8.4), "extractive-fallback")
    assert md.startswith("# ") and "[00:02] Today we will review" in md
    assert "owner: Maria — due: Friday" in md and "extractive-fallback" in md


def test_chunks_respect_the_token_budget_and_keep_order():
    lines = [f"[{i}.0-{i + 1}.0] {SAMPLE_TEXT}" for i in range(60)]
    chunks = chunk_lines(lines, 250)
    assert len(chunks) > 5 and [line for c in chunks for line in c] == lines
    assert all(sum(count_tokens(line) + 1 for line in c) <= 250 for c in chunks)
