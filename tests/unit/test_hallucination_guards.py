"""The hallucination guards: repetition loops flagged, text over silence dropped, both counted."""

from __future__ import annotations

import numpy as np

from mixscribe.transcript import Segment, Transcript
from mixscribe.transcription.guards import (
    OVER_SILENCE,
    REPETITION,
    GuardCounts,
    apply_guards,
    flag_segments,
    is_repetition,
    longest_repeat,
    speech_share,
)
from tests.conftest import SAMPLE, decode_mono


def test_repetition_loops_are_told_from_ordinary_speech():
    assert longest_repeat("thank you thank you thank you thank you") == 4
    assert is_repetition("Thank you. Thank you. Thank you. Thank you. Thank you.")
    assert is_repetition("the the the the the the the the the the the the the the the the the the")
    assert not is_repetition("We agreed to move the budget review to Thursday and Maria will send the figures.")
    assert not is_repetition("No, no, I said Tuesday.")  # a repeat or two is speech


def test_the_vad_hears_speech_in_speech_and_none_in_silence():
    speech = decode_mono(SAMPLE, 16000)
    assert speech_share(speech) > 0.5
    assert speech_share(np.zeros(16000 * 5, np.float32)) == 0.0


def test_doubted_text_over_silence_is_dropped_and_loops_flagged_and_counted():
    speech = decode_mono(SAMPLE, 16000)
    samples = np.concatenate([speech, np.zeros(16000 * 5, np.float32)])  # the meeting, then 5 s of silence
    end = speech.shape[0] / 16000
    segments = [
        Segment(0, 0.0, 4.0, "Let's start the planning meeting.", no_speech_prob=0.7),  # doubted, but speech is there
        Segment(1, 4.0, end, "Thank you. Thank you. Thank you. Thank you.", no_speech_prob=0.1),
        Segment(2, end + 0.5, end + 4.5, "Subtitles by the community.", no_speech_prob=0.8),  # over silence
    ]
    flagged = flag_segments(segments, samples)
    assert [s.flags for s in flagged] == [(), (REPETITION,), (OVER_SILENCE,)]
    transcript = Transcript("j", "en", 1.0, end + 5, "tiny.en", {}, tuple(flagged))
    kept, counts = apply_guards(transcript)
    assert counts == GuardCounts(repetition_flagged=1, over_silence_dropped=1)
    assert [s.id for s in kept.segments] == [0, 1] and "Subtitles" not in kept.text
    assert Transcript.from_dict(kept.to_dict()).segments[1].flags == (REPETITION,)  # the flag survives transcript.json
