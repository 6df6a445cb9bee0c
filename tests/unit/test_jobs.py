from datetime import UTC, datetime

import pytest

from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject, can_transition, job_id_for, owner_for

S = JobStatus
ORDER = [S.QUEUED, S.TRANSCRIBING, S.TRANSCRIBED, S.SUMMARIZING, S.DONE]


def test_job_id_is_deterministic_per_generation():
    first = job_id_for("uploads", "users/a/x.wav", 1)
    assert first == job_id_for("uploads", "users/a/x.wav", "1")
    assert first != job_id_for("uploads", "users/a/x.wav", 2)
    assert first != job_id_for("other", "users/a/x.wav", 1)
    assert len(first) == 32 and first.startswith("j") and first.isalnum()


@pytest.mark.parametrize("i", range(len(ORDER)))
def test_transitions_only_go_forward(i):
    for j, new in enumerate(ORDER):
        assert can_transition(ORDER[i], new) == (j > i and not ORDER[i].terminal)


def test_failed_is_reachable_from_every_live_state_and_terminal_states_never_move():
    for state in ORDER[:-1]:
        assert can_transition(state, S.FAILED)
    for terminal in (S.DONE, S.FAILED):
        for new in JobStatus:
            assert not can_transition(terminal, new)


def test_notes_off_may_skip_from_transcribed_to_done():
    assert can_transition(S.TRANSCRIBED, S.DONE)


@pytest.mark.parametrize(
    "name,owner",
    [("users/u1/a.wav", "u1"), ("edge/ag06-1/s/1.flac", "edge:ag06-1"), ("a.wav", "anonymous"), ("users//a.wav", "anonymous")],
)
def test_owner_from_prefix(name, owner):
    assert owner_for(name) == owner


def test_job_document_round_trip():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    source = SourceObject("b", "users/u/a.wav", 5, 10, "audio/wav")
    job = Job.new(source, JobOptions(model="tiny.en", channels=("host", "guest")), now, ttl_days=7)
    again = Job.from_document(job.to_document())
    assert again == job
    assert again.expires_at.day == 8 and again.status is S.QUEUED
