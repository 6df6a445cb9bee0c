"""The batched inference path (chosen on GPUs) run here on the CPU by forcing its rule: same words."""

from __future__ import annotations

import re

import pytest

from mixscribe.audio import decode_audio
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
from mixscribe.transcription import engine
from tests.conftest import SAMPLE, SAMPLE_TEXT


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def test_batched_path_transcribes_like_the_sequential_one(monkeypatch: pytest.MonkeyPatch):
    settings = Settings.from_env({})
    placement = engine.choose_placement(settings, 0, 2)
    model = engine.SpeechModel("tiny.en", engine.resolve_model_path("tiny.en", settings), placement)
    samples = decode_audio(str(SAMPLE), 600).samples
    options = JobOptions(model="tiny.en", language="en")
    sequential, _ = model.transcribe("seq", samples, options, 5)
    monkeypatch.setattr(engine, "batch_size_for", lambda device, audio_s: 4)
    batched, speech_s = model.transcribe("bat", samples, options, 5)
    assert sequential.options["inference"] == "sequential" and sequential.options["batch_size"] == 0
    assert batched.options["inference"] == "batched" and batched.options["batch_size"] == 4
    assert words(batched.text) == words(sequential.text) or len(set(words(batched.text)) ^ set(words(SAMPLE_TEXT))) <= 3
    assert all(w.start <= w.end for s in batched.segments for w in s.words) and speech_s > 5
