"""Custom vocabulary and decoding options: ``prompt``, ``hotwords``, ``task`` and ``temperature`` checked at
the boundary, kept on the job, and part of the result cache's key (another prompt is another transcript)."""

from __future__ import annotations

import pytest

from mixscribe.config import Settings
from mixscribe.errors import PermanentError
from mixscribe.jobs import Job, JobOptions, SourceObject
from mixscribe.store import utcnow
from mixscribe.transcript_cache import TranscriptCache
from mixscribe.transcription.engine import temperatures_from
from mixscribe.uploads import MAX_VOCABULARY_CHARS, parse_options
from tests.fakes import FakeBlobs, FakeDocuments

SETTINGS = Settings()


def test_prompt_and_hotwords_are_one_line_of_printable_text_and_kept_on_the_job() -> None:
    options = parse_options({"prompt": "Glossary:  Siobhan,\n Kubernetes.", "hotwords": "Grafana, Kafka"}, SETTINGS)
    assert (options.prompt, options.hotwords) == ("Glossary: Siobhan, Kubernetes.", "Grafana, Kafka")
    assert JobOptions.from_dict(options.to_dict()) == options
    assert parse_options({}, SETTINGS).prompt == ""
    for key, value in (("prompt", "x" * (MAX_VOCABULARY_CHARS + 1)), ("hotwords", "Kafka\x00"), ("prompt", "a\u200bb")):
        with pytest.raises(PermanentError, match=f"{key} must be printable text") as caught:
            parse_options({key: value}, SETTINGS)
        assert caught.value.code.value == "invalid_option"


def test_another_prompt_or_hotwords_is_another_cache_entry() -> None:
    cache = TranscriptCache(FakeDocuments(), FakeBlobs(), SETTINGS)

    def key(prompt: str = "", hotwords: str = "") -> str | None:
        source = SourceObject("uploads", "users/alice/a.flac", 1, 10, "audio/flac", md5="abc")
        return cache.key_for(Job.new(source, JobOptions(model="tiny.en", prompt=prompt, hotwords=hotwords), utcnow(), 1))

    assert len({key(), key(prompt="Siobhan"), key(hotwords="Siobhan"), key(prompt="Aoife")}) == 4


def test_task_and_temperature_are_checked_kept_and_part_of_the_cache_key() -> None:
    options = parse_options({"task": "Translate", "temperature": "0.4"}, SETTINGS)
    assert (options.task, options.temperature) == ("translate", 0.4)
    assert JobOptions.from_dict(options.to_dict()) == options
    assert (parse_options({}, SETTINGS).task, parse_options({}, SETTINGS).temperature) == ("transcribe", 0.0)
    for key, value in (("task", "summarize"), ("temperature", "1.5"), ("temperature", "-0.1"), ("temperature", "warm")):
        with pytest.raises(PermanentError, match=f"{key} must be") as caught:
            parse_options({key: value}, SETTINGS)
        assert caught.value.code.value == "invalid_option"
    cache = TranscriptCache(FakeDocuments(), FakeBlobs(), SETTINGS)
    source = SourceObject("uploads", "users/alice/a.flac", 1, 10, "audio/flac", md5="abc")
    keys = {
        cache.key_for(Job.new(source, JobOptions(model="tiny.en", task=task, temperature=t), utcnow(), 1))
        for task, t in (("transcribe", 0.0), ("translate", 0.0), ("transcribe", 0.6))
    }
    assert len(keys) == 3


def test_the_temperature_schedule_climbs_from_the_first_value_to_one() -> None:
    assert temperatures_from(0.0) == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert temperatures_from(0.5) == (0.5, 0.7, 0.9)
    assert temperatures_from(1.0) == (1.0,)
