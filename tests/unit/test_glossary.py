"""The per-owner glossary on fakes: checked when stored, copied onto each new job, decoded with as hotwords
and applied as spelling fixes to texts and words."""

from __future__ import annotations

from typing import Any

import pytest

from mixscribe.glossary import Glossaries, GlossaryTerm, InvalidGlossary, correct_spellings, decoding_hotwords, parse_glossary
from mixscribe.jobs import Job, JobOptions, SourceObject
from mixscribe.store import utcnow
from mixscribe.transcript import Segment, Word
from mixscribe.transcript_cache import TranscriptCache
from tests.conftest import SAMPLE
from tests.fakes import FakeBlobs, FakeDocuments
from tests.unit.test_intake_on_fakes import SETTINGS, intake, upload

TERMS = (GlossaryTerm("Siobhan", ("Shivon", "Chevonne")), GlossaryTerm("Kubernetes", ("Cooper Netties",)))


def test_a_glossary_is_checked_when_stored():
    parsed = parse_glossary([{"term": " Siobhan ", "spellings": ["Shivon", "shivon", "Siobhan"]}, {"term": "Kafka"}])
    assert parsed == (GlossaryTerm("Siobhan", ("Shivon", "shivon")), GlossaryTerm("Kafka"))
    bad: list[list[dict[str, Any]]] = [
        [{"term": ""}],
        [{"term": "x" * 65}],
        [{"term": "..."}],
        [{"term": "Kafka"}, {"term": "kafka"}],
        [{"term": "Kafka", "spellings": ["Jira"]}, {"term": "Jira"}],
        [{"term": "Kafka", "spellings": [f"s{i}" for i in range(6)]}],
        [{"term": f"term{i}"} for i in range(51)],
        [{"term": "a\u0000b"}],
    ]
    for entries in bad:
        with pytest.raises(InvalidGlossary):
            parse_glossary(entries)


def test_spellings_are_replaced_whole_and_case_insensitively_in_text_and_words():
    words = (
        Word(0.0, 0.3, " Ask", 0.9),
        Word(0.3, 0.7, " shivon", 0.6),
        Word(0.7, 1.0, " about", 0.9),
        Word(1.0, 1.3, " Cooper", 0.5),
        Word(1.3, 1.8, " netties.", 0.4),
        Word(1.8, 2.2, " Shivonne", 0.9),
    )
    segment = Segment(0, 0.0, 2.2, "Ask shivon about Cooper netties. Shivonne", words=words)
    (fixed,) = correct_spellings([segment], TERMS)
    assert fixed.text == "Ask Siobhan about Kubernetes. Shivonne"  # "Shivonne" is not a listed spelling
    assert [w.word for w in fixed.words] == [" Ask", " Siobhan", " about", " Kubernetes.", " Shivonne"]
    assert (fixed.words[3].start, fixed.words[3].end, fixed.words[3].probability) == (1.0, 1.8, 0.4)
    assert correct_spellings([segment], ()) == [segment]


def test_the_terms_join_the_jobs_own_hotwords():
    assert decoding_hotwords("Grafana", TERMS) == "Grafana, Siobhan, Kubernetes"
    assert decoding_hotwords("", ()) == ""


def test_the_owners_glossary_is_copied_onto_each_new_job_and_kept_with_it():
    use_case, blobs, _, _ = intake()
    Glossaries(use_case.store.documents).put("alice", TERMS)
    job = use_case.handle(upload(blobs, "users/alice/a.flac", SAMPLE.read_bytes(), "audio/flac"))
    other = use_case.handle(upload(blobs, "users/bob/b.flac", SAMPLE.read_bytes(), "audio/flac"))
    assert job.options.glossary == TERMS and other.options.glossary == ()
    assert use_case.store.get(job.job_id).options.glossary == TERMS  # stored as maps (Firestore has no nested arrays)
    assert JobOptions.from_dict(job.options.to_dict()) == job.options
    Glossaries(use_case.store.documents).put("alice", ())
    assert Glossaries(use_case.store.documents).get("alice") == () and job.options.glossary == TERMS


def test_a_glossary_is_part_of_the_result_cache_key():
    cache = TranscriptCache(FakeDocuments(), FakeBlobs(), SETTINGS)
    source = SourceObject("uploads", "users/alice/a.flac", 1, 10, "audio/flac", md5="abc")
    keys = {cache.key_for(Job.new(source, JobOptions(model="tiny.en", glossary=g), utcnow(), 1)) for g in ((), TERMS, TERMS[:1])}
    assert len(keys) == 3
