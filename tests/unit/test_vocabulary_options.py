"""Custom vocabulary options: ``prompt`` and ``hotwords`` checked at the boundary, kept on the job, and
part of the result cache's key (another prompt is another transcript)."""

from __future__ import annotations

import pytest

from mixscribe.config import Settings
from mixscribe.errors import PermanentError
from mixscribe.jobs import Job, JobOptions, SourceObject
from mixscribe.store import utcnow
from mixscribe.transcript_cache import TranscriptCache
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
