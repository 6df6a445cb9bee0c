"""OpenAI's audio API on the local stack, driven by the official ``openai`` client with an API key and by raw
multipart requests as OpenAI's docs show them: every response format, word timestamps, streaming,
translations and errors; every answer equals the job's own transcript and validates against openapi.yaml."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import openai
import pytest
import requests
import soundfile

from tests.integration.test_api import new_client
from tests.support.api_client import check_response
from tests.support.voices import RATE, synthesize

pytestmark = pytest.mark.integration


@pytest.fixture()
def caller(stack):
    """An API client (ID token) and the official OpenAI client with one of its API keys."""
    api = new_client(stack, "oai")
    key = api.call("POST", "/v1/keys", json={"name": "openai client"}).json()["key"]
    client = openai.OpenAI(base_url=f"{api.base}/v1", api_key=key, max_retries=0, timeout=120)
    return api, client, key


def job_output(api, job_id: str, fmt: str) -> str:
    response = api.call("GET", f"/v1/jobs/{job_id}/transcript?format={fmt}")
    assert response.status_code == 200, response.text
    return response.text


def test_every_response_format_equals_the_jobs_transcript(caller, audio_dir: Path):
    api, client, _ = caller
    speech = audio_dir / "speech.wav"
    raw = client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=speech.open("rb"))
    job_id = raw.headers["x-mixscribe-job-id"]
    job = api.call("GET", f"/v1/jobs/{job_id}").json()
    assert job["status"] == "done" and job["options"]["notes"] is False  # an ordinary job of the caller
    stored = api.call("GET", f"/v1/jobs/{job_id}/transcript").json()
    result = raw.parse()
    assert result.text == stored["text"] and "budget" in result.text.lower()
    assert result.usage is not None and result.usage.seconds == pytest.approx(stored["duration_s"])

    assert (
        client.audio.transcriptions.create(model="tiny.en", file=speech.open("rb"), response_format="text")
        == stored["text"] + "\n"
    )
    for fmt in ("srt", "vtt"):
        text = client.audio.transcriptions.create(model="whisper-1", file=speech.open("rb"), response_format=fmt)
        assert text == job_output(api, job_id, fmt)

    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=speech.open("rb"), response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    assert verbose.language == "english" and verbose.text == stored["text"] and verbose.duration == stored["duration_s"]
    assert [s.text.strip() for s in verbose.segments] == [s["text"] for s in stored["segments"]]
    assert all(s.tokens == [] and 0 <= s.temperature <= 1 and s.compression_ratio > 0 for s in verbose.segments)
    words = [w for s in stored["segments"] for w in s["words"]]
    assert [(w.word, w.start, w.end) for w in verbose.words] == [(w["word"].strip(), w["start"], w["end"]) for w in words]
    plain = client.audio.transcriptions.create(model="whisper-1", file=speech.open("rb"), response_format="verbose_json")
    assert plain.segments and plain.words is None  # words only when asked for

    with warnings.catch_warnings():  # the openai client marks its translations resource deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        translated = client.audio.translations.create(model="whisper-1", file=speech.open("rb"))
    assert translated.text == stored["text"]  # tiny.en hears English only: its translation is its transcript


def test_streaming_answers_openais_events(caller, audio_dir: Path):
    api, client, _ = caller
    events = list(client.audio.transcriptions.create(model="whisper-1", file=(audio_dir / "speech.mp3").open("rb"), stream=True))
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    assert deltas and events[-1].type == "transcript.text.done" and events[:-1] == deltas
    assert "".join(d.delta for d in deltas) == events[-1].text
    job_id = api.call("GET", "/v1/jobs?limit=1").json()["jobs"][0]["id"]
    assert events[-1].text == api.call("GET", f"/v1/jobs/{job_id}/transcript").json()["text"]


def test_diarized_json_labels_two_voices(caller, tmp_path: Path):
    _, client, _ = caller
    gap = np.zeros(RATE // 2, np.float32)
    turns = [("bob", "Good morning, shall we look at the budget first?"), ("ava", "Yes, the numbers arrived on Friday.")]
    mix = np.concatenate([gap, *(np.concatenate([0.5 * synthesize(v, t), gap]) for v, t in turns * 2)])
    path = tmp_path / "two.wav"
    soundfile.write(str(path), mix, RATE, subtype="PCM_16")
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize", file=path.open("rb"), response_format="diarized_json", extra_body={"speakers": "2"}
    )
    assert result.task == "transcribe" and {s.speaker for s in result.segments} == {"A", "B"}
    assert [s.speaker for s in result.segments][:2] == ["A", "B"] and all(
        s.type == "transcript.text.segment" for s in result.segments
    )


def test_raw_multipart_as_openais_docs_show_it(caller, audio_dir: Path):
    api, _, key = caller
    url = f"{api.base}/v1/audio/transcriptions"
    with (audio_dir / "second_sentence.flac").open("rb") as f:
        fields = [("model", "whisper-1"), ("response_format", "verbose_json"), ("timestamp_granularities[]", "word")]
        response = requests.post(url, headers={"Authorization": f"Bearer {key}"}, files={"file": f}, data=fields, timeout=120)
    assert response.status_code == 200, response.text
    check_response("POST", "/v1/audio/transcriptions", response)
    assert response.json()["words"] and response.json()["segments"]


@pytest.mark.parametrize(
    ("fields", "status", "param"),
    [
        ({"model": "whisper-9"}, 404, "model"),
        ({}, 400, "model"),
        ({"model": "whisper-1", "response_format": "xml"}, 400, "response_format"),
        ({"model": "whisper-1", "language": "xx"}, 400, "language"),
        ({"model": "whisper-1", "temperature": "2"}, 400, "temperature"),
        ({"model": "whisper-1", "timestamp_granularities[]": "word"}, 400, "timestamp_granularities[]"),
        ({"model": "whisper-1", "stream": "true", "response_format": "srt"}, 400, "stream"),
        ({"model": "whisper-1", "webhook_url": "https://x"}, 400, "webhook_url"),
    ],
)
def test_bad_fields_are_refused_in_openais_error_shape(caller, audio_dir: Path, fields, status, param):
    api, _, key = caller
    with (audio_dir / "first_sentence.flac").open("rb") as f:
        response = requests.post(
            f"{api.base}/v1/audio/transcriptions",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": f},
            data=fields,
            timeout=60,
        )
    assert response.status_code == status, response.text
    check_response("POST", "/v1/audio/transcriptions", response)
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


def test_the_client_sees_refusals_and_failed_jobs_as_its_errors(caller, audio_dir: Path):
    api, client, _ = caller
    with pytest.raises(openai.NotFoundError) as missing:
        client.audio.transcriptions.create(model="whisper-9", file=(audio_dir / "first_sentence.flac").open("rb"))
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as not_audio:
        client.audio.transcriptions.create(model="whisper-1", file=(audio_dir / "text.wav").open("rb"))
    assert not_audio.value.code in ("corrupt_audio", "unsupported_format", "no_audio_stream")
    with pytest.raises(openai.BadRequestError) as no_extension:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"hello", "text/plain"))
    assert no_extension.value.code in ("unsupported_format", "unsupported_content_type")
    stranger = openai.OpenAI(base_url=f"{api.base}/v1", api_key="msk_0123456789abcdef_" + "A" * 43, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.audio.transcriptions.create(model="whisper-1", file=(audio_dir / "first_sentence.flac").open("rb"))
