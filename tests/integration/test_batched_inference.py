"""The batched inference path against the sequential one on the CPU, each forced by its rule: same words."""

from __future__ import annotations

import re

from mixscribe.audio import decode_audio
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
from mixscribe.transcription import engine
from tests.conftest import SAMPLE, SAMPLE_TEXT


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def test_batched_path_transcribes_like_the_sequential_one():
    settings = Settings.from_env({})
    placement = engine.choose_placement(settings, 0, 2)
    path = engine.resolve_model_path("tiny.en", settings)
    model = engine.SpeechModel("tiny.en", path, placement, engine.BatchRule(0, 0.0))
    samples = decode_audio(str(SAMPLE), 600).samples
    options = JobOptions(model="tiny.en", language="en")
    sequential, _ = model.transcribe("seq", samples, options, 5)
    model.rule = engine.BatchRule(4, 1.0)
    batched, speech_s = model.transcribe("bat", samples, options, 5)
    assert sequential.options["inference"] == "sequential" and sequential.options["batch_size"] == 0
    assert batched.options["inference"] == "batched" and batched.options["batch_size"] == 4
    assert batched.options["batch_min_s"] == 1.0
    assert words(batched.text) == words(sequential.text) or len(set(words(batched.text)) ^ set(words(SAMPLE_TEXT))) <= 3
    assert all(w.start <= w.end for s in batched.segments for w in s.words) and speech_s > 5
