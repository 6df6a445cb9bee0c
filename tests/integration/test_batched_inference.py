"""The batched inference paths against the sequential one on the CPU, each forced: the batched pipeline
on one file, and dynamic batching (several requests' windows in shared batches): same shape, close words."""

from __future__ import annotations

import difflib
import re
import threading

import numpy as np
import pytest

from mixscribe.audio import decode_audio
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
from mixscribe.transcription import engine
from mixscribe.transcription.dynamic_batching import DynamicBatcher, batchable
from tests.conftest import REPO, SAMPLE, SAMPLE_TEXT


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


@pytest.fixture(scope="module")
def model() -> engine.SpeechModel:
    settings = Settings.from_env({})
    placement = engine.choose_placement(settings, 0, 2)
    return engine.SpeechModel("tiny.en", engine.resolve_model_path("tiny.en", settings), placement, engine.BatchRule(4, 20.0))


def side_by_side(
    batcher: DynamicBatcher, model: engine.SpeechModel, files: list[np.ndarray], options: list[JobOptions], pack: str = ""
) -> list:
    """Each file as its own request thread (announced first, as the worker does); a result or the error."""
    results: list = [None] * len(files)

    def request(index: int) -> None:
        with batcher.request():
            try:
                results[index] = batcher.transcribe(model, f"job-{index}", files[index], options[index], 5, pack=pack)
            except Exception as exc:
                results[index] = exc

    threads = [threading.Thread(target=request, args=(i,)) for i in range(len(files))]
    for _ in threads:
        batcher.expect()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_dynamic_batches_transcribe_each_request_like_its_own_sequential_pass(model):
    samples = decode_audio(str(REPO / "samples" / "standup.opus"), 600).samples
    rate = 16000
    # three separate moments of one recording (consecutive cuts continue a sentence across requests: see below)
    files = [samples[: 6 * rate], samples[27 * rate : 34 * rate], np.zeros(3 * rate, np.float32), samples[56 * rate : 63 * rate]]
    options = JobOptions(model="tiny.en", language="en")
    assert all(batchable(model, f, options, 5) for f in files)
    assert not batchable(model, samples[: 31 * rate], options, 5)  # over one window: decoded alone, heard live
    batcher = DynamicBatcher(4, gather_s=5.0)
    results = side_by_side(batcher, model, files, [options] * len(files), pack="owner-a")  # one owner: shared windows
    assert batcher.batches == 1  # every request in one shared batch: none waited out the gather time
    for index, (audio, (dynamic, speech_s)) in enumerate(zip(files, results)):
        sequential, sequential_speech_s = model.transcribe(f"seq-{index}", audio, options, 5)
        assert dynamic.job_id == f"job-{index}" and dynamic.duration_s == sequential.duration_s
        assert dynamic.options["inference"] == "dynamic" and dynamic.options["batch_requests"] == 4
        assert dynamic.options["batch_size"] == 4 and dynamic.language == "en"
        assert dynamic.options["window_requests"] == (0 if index == 2 else 3)  # 20 s and two gaps: one window
        assert abs(speech_s - sequential_speech_s) < 0.5
        assert [s.id for s in dynamic.segments] == list(range(len(dynamic.segments)))
        for segment in dynamic.segments:  # the request's own timestamps, not the shared array's
            assert 0 <= segment.start <= segment.end <= dynamic.duration_s + 0.05
            assert all(segment.start - 0.05 <= w.start <= w.end <= segment.end + 0.05 for w in segment.words)
        heard, said = words(dynamic.text), words(sequential.text)
        # tiny.en's words move with the window around them (a single file's sequential and batched passes differ too)
        assert difflib.SequenceMatcher(None, heard, said).ratio() >= 0.6, (heard, said)
    assert results[2][0].segments == () and results[2][1] == 0.0  # silence: nothing, like the sequential pass


def test_a_bad_request_fails_alone_and_requests_that_decode_differently_never_share(model):
    samples = decode_audio(str(SAMPLE), 600).samples[: 6 * 16000]
    options = JobOptions(model="tiny.en", language="en")
    batcher = DynamicBatcher(4, gather_s=5.0)
    bad = np.stack([samples, samples])  # two rows: no model pass can take it
    results = side_by_side(batcher, model, [samples, bad, samples], [options] * 3)
    assert isinstance(results[1], Exception)
    assert [r[0].text for r in (results[0], results[2])] == [model.transcribe("s", samples, options, 5)[0].text] * 2

    prompted = JobOptions(model="tiny.en", language="en", prompt="Thursday stand-up.")
    batcher = DynamicBatcher(4, gather_s=5.0)
    results = side_by_side(batcher, model, [samples] * 3, [options, prompted, options])
    assert batcher.batches == 2
    assert [r[0].options["inference"] for r in results] == ["dynamic", "sequential", "dynamic"]
    assert [r[0].options.get("batch_requests") for r in results] == [2, None, 2]
    assert [results[k][0].options["window_requests"] for k in (0, 2)] == [1, 1]  # no pack given: a window each


def test_requests_the_model_runs_together_in_a_shared_window_are_decoded_again_apart(model):
    """Eight copies of one short sentence in one window: Whisper runs them together (one copy heard
    twice, another not at all); the check finds it and each request is decoded in a window of its own."""
    clip = decode_audio(str(SAMPLE), 600).samples[: int(2.6 * 16000)]
    options = JobOptions(model="tiny.en", language="en")
    alone = words(model.transcribe("alone", clip, options, 5)[0].text)
    results = side_by_side(DynamicBatcher(4, gather_s=5.0), model, [clip] * 8, [options] * 8, pack="owner-a")
    assert all(r[0].options["decoded_apart"] and r[0].options["window_requests"] == 1 for r in results)
    for transcript, _ in results:
        assert difflib.SequenceMatcher(None, words(transcript.text), alone).ratio() >= 0.8, transcript.text
