"""OpenAI's audio fields checked into job options, and transcripts rendered in OpenAI's shapes."""

from __future__ import annotations

import json

import pytest

from mixscribe.config import Settings
from mixscribe.transcript import Segment, SpeakerSummary, Transcript, Word
from mixscribe.webapi.openai_audio import OpenAIError, parse_request, render, stream_events
from mixscribe.webapi.spec import schema_validator

SETTINGS = Settings()


def form(**fields: str | list[str]) -> dict[str, list[str]]:
    return {k.replace("__", "[]"): v if isinstance(v, list) else [v] for k, v in fields.items()}


def transcript(speakers: bool = False) -> Transcript:
    words = (Word(0.0, 0.4, " Hello", 0.9, "S1" if speakers else None), Word(0.4, 0.9, " there.", 0.8))
    segments = (
        Segment(0, 0.0, 0.9, "Hello there.", -0.2, 0.01, words, "S1" if speakers else None, (), 0.0, 1.1, 0),
        Segment(1, 1.0, 2.0, "General Kenobi.", -0.3, 0.02, (), "Obi-Wan" if speakers else None, (), 0.2, 1.2, 100),
    )
    summary = (SpeakerSummary("S1", "S1", 0.9, 2, 0.5), SpeakerSummary("S2", "Obi-Wan", 1.0, 2, 0.5)) if speakers else ()
    return Transcript("j" + "0" * 31, "en", 0.99, 2.0, "tiny.en", {}, segments, summary)


def test_openai_fields_become_job_options():
    request = parse_request(form(model="whisper-1", language="en", prompt="Kenobi", temperature="0.2"), SETTINGS, "transcribe")
    assert request.metadata == {
        "notes": "false",
        "language": "en",
        "prompt": "Kenobi",
        "temperature": "0.2",
        "task": "transcribe",
    }
    assert (request.response_format, request.words, request.stream) == ("json", False, False)
    named = parse_request(form(model="tiny.en", diarize="true", speakers="2", notes="true"), SETTINGS, "transcribe")
    assert named.metadata["model"] == "tiny.en" and named.metadata["speakers"] == "2" and named.metadata["notes"] == "true"
    diarized = parse_request(form(model="gpt-4o-transcribe-diarize", response_format="diarized_json"), SETTINGS, "transcribe")
    assert diarized.metadata["diarize"] == "true"
    words = parse_request(
        form(model="whisper-1", response_format="verbose_json", timestamp_granularities__=["word", "segment"]),
        SETTINGS,
        "transcribe",
    )
    assert words.words is True
    assert parse_request(form(model="whisper-1"), SETTINGS, "translate").metadata["task"] == "translate"


@pytest.mark.parametrize(
    ("fields", "task", "status", "param"),
    [
        ({"model": "whisper-9"}, "transcribe", 404, "model"),
        ({}, "transcribe", 400, "model"),
        ({"model": ["whisper-1", "tiny.en"]}, "transcribe", 400, "model"),
        ({"model": "whisper-1", "response_format": "diarized_json"}, "translate", 400, "response_format"),
        ({"model": "whisper-1", "language": "en"}, "translate", 400, "language"),
        ({"model": "whisper-1", "stream": "yes"}, "transcribe", 400, "stream"),
        ({"model": "whisper-1", "chunking_strategy": "server_vad"}, "transcribe", 400, "chunking_strategy"),
        ({"model": "whisper-1", "speakers": "3"}, "transcribe", 400, "speakers"),  # needs diarize: the trigger's own check
        ({"model": "whisper-1", "channels": "a,b", "task": "x"}, "transcribe", 400, "task"),
    ],
)
def test_bad_fields_name_the_field(fields, task, status, param):
    with pytest.raises(OpenAIError) as caught:
        parse_request(form(**fields), SETTINGS, task)
    assert (caught.value.status, caught.value.param) == (status, param)


def test_renderings_match_openais_shapes_and_the_spec():
    plain = parse_request(form(model="whisper-1"), SETTINGS, "transcribe")
    body, content_type = render(transcript(), plain)
    assert json.loads(body) == {"text": "Hello there. General Kenobi.", "usage": {"type": "duration", "seconds": 2.0}}
    schema_validator("OpenAITranscription").validate(json.loads(body))
    verbose = parse_request(
        form(model="whisper-1", response_format="verbose_json", timestamp_granularities__="word"), SETTINGS, "transcribe"
    )
    data = json.loads(render(transcript(), verbose)[0])
    schema_validator("OpenAIVerboseTranscription").validate(data)
    assert data["language"] == "english" and data["segments"][1]["seek"] == 100 and data["segments"][0]["text"] == " Hello there."
    assert data["words"] == [{"word": "Hello", "start": 0.0, "end": 0.4}, {"word": "there.", "start": 0.4, "end": 0.9}]
    diarized = parse_request(form(model="whisper-1", response_format="diarized_json"), SETTINGS, "transcribe")
    data = json.loads(render(transcript(speakers=True), diarized)[0])
    schema_validator("OpenAIDiarizedTranscription").validate(data)
    assert [s["speaker"] for s in data["segments"]] == ["A", "Obi-Wan"]  # unnamed speakers are lettered, renamed ones kept
    text = parse_request(form(model="whisper-1", response_format="text"), SETTINGS, "transcribe")
    assert render(transcript(), text) == ("Hello there. General Kenobi.\n", "text/plain; charset=utf-8")


def test_the_stream_is_deltas_then_the_whole_text():
    events = [json.loads(e.removeprefix("data: ")) for e in stream_events(transcript())]
    assert events == [
        {"type": "transcript.text.delta", "delta": "Hello there."},
        {"type": "transcript.text.delta", "delta": " General Kenobi."},
        {"type": "transcript.text.done", "text": "Hello there. General Kenobi."},
    ]


def test_the_stream_skips_what_was_streamed_live_and_stops_at_a_divergence():
    def decoded(sent: list[str]) -> list[dict]:
        return [json.loads(e.removeprefix("data: ")) for e in stream_events(transcript(), sent)]

    assert decoded(["Hello there."]) == [
        {"type": "transcript.text.delta", "delta": " General Kenobi."},
        {"type": "transcript.text.done", "text": "Hello there. General Kenobi."},
    ]
    # the final transcript no longer starts with what went out live: only the final text follows
    assert decoded(["Hello their."]) == [{"type": "transcript.text.done", "text": "Hello there. General Kenobi."}]
