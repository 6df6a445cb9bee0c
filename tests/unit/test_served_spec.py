"""The served OpenAPI document says what the server accepts: the registry's models and rules, the
languages, the redaction types, the text pattern and the page tokens, each checked against the domain's
own checks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mixscribe.config import Settings
from mixscribe.errors import PermanentError
from mixscribe.jobs import Job, JobOptions, SourceObject
from mixscribe.store import utcnow
from mixscribe.uploads import parse_options, plain_text_pattern
from mixscribe.webapi.served_spec import ApiSpec, served_spec
from mixscribe.webapi.service import ApiError, decode_page_token, encode_page_token

SETTINGS = Settings()  # the local registry: tiny.en (English only, every default) and base (multilingual)
SPEC = ApiSpec(served_spec(SETTINGS.models()))


def spec_allows(schema: str, value: dict) -> bool:
    return SPEC.validator(schema).is_valid(value)


def domain_allows(options: dict) -> bool:
    try:
        parse_options({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()}, SETTINGS)
    except PermanentError:
        return False
    return True


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"model": "tiny.en"},
        {"model": "base"},
        {"language": "de"},
        {"language": "de", "model": "base"},
        {"language": "de", "model": "tiny.en"},
        {"language": "en", "priority": "batch"},
        {"language": "fr", "priority": "high", "model": "base"},
        {"model": "large-v3"},
        {"language": "xx"},
        {"speakers": 2},
        {"speakers": 2, "diarize": True},
        {"speakers": 2, "min_speakers": 1, "diarize": True},
        {"redact_audio": True},
        {"redact_audio": True, "redact": "PII, phone_number"},
        {"redact": "pii, bogus"},
        {"prompt": "Glossary: Siobhan"},
        {"prompt": "a\u200bb"},
    ],
)
def test_the_served_options_schema_agrees_with_the_option_checks(options: dict):
    assert spec_allows("Options", options) == domain_allows(options), options


def test_openai_names_follow_the_registry_default_and_models_are_listed():
    request = {"file": "x", "model": "whisper-1"}
    assert spec_allows("TranscriptionRequest", request)
    assert not spec_allows("TranscriptionRequest", {**request, "language": "de"})  # whisper-1 is tiny.en here
    assert spec_allows("TranscriptionRequest", {**request, "model": "base", "language": "de"})
    assert not spec_allows("TranscriptionRequest", {**request, "model": "whisper-2"})
    assert not spec_allows("TranscriptionRequest", {**request, "stream": True, "response_format": "srt"})
    granular = {**request, "timestamp_granularities[]": ["word"]}
    assert not spec_allows("TranscriptionRequest", granular)
    assert spec_allows("TranscriptionRequest", {**granular, "response_format": "verbose_json"})
    schemas = SPEC.document["components"]["schemas"]
    assert schemas["ModelName"]["enum"] == ["base", "tiny.en"] and "whisper-1" in schemas["OpenAIModelName"]["enum"]
    assert "served_spec" not in SPEC.text and "enum:\n      - base" in SPEC.text


@given(st.text(max_size=40))
def test_the_text_pattern_is_the_domains_check(text: str):
    try:
        parse_options({"prompt": text}, SETTINGS)
        accepted = True
    except PermanentError:
        accepted = False
    assert accepted == bool(re.match(plain_text_pattern(), " ".join(text.split())))


def test_page_tokens_round_trip_and_only_the_pattern_is_accepted():
    job = Job.new(SourceObject("b", "users/a/x.flac", 1, 1, "audio/flac"), JobOptions(model="tiny.en"), utcnow(), 1)
    token = encode_page_token(job)
    assert decode_page_token(token) == (job.created_at, job.job_id)
    pattern = SPEC.document["paths"]["/v1/jobs"]["get"]["parameters"][2]["schema"]["pattern"]
    assert re.match(pattern, token) and re.match(pattern, "0.j" + "0" * 31)
    decode_page_token("9999999999999999.j" + "f" * 31)  # the largest the pattern allows is a date
    for bad in ("%%%", "1.j123", "-1.j" + "0" * 31, token + "x"):
        assert not re.match(pattern, bad)
        with pytest.raises(ApiError):
            decode_page_token(bad)
