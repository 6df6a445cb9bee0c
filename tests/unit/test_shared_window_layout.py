"""How requests' speech is laid out in shared windows (``shared_windows.lay_out``): no model needed."""

from __future__ import annotations

from typing import cast

import numpy as np

from mixscribe.audio import MODEL_RATE
from mixscribe.jobs import JobOptions
from mixscribe.transcription.engine import SpeechModel
from mixscribe.transcription.shared_windows import GAP_S, WINDOW_REQUESTS, Waiting, lay_out


def waiting(index: int, pack: str, seconds: float) -> Waiting:
    samples = np.full(int(seconds * MODEL_RATE), index + 1, np.float32)  # each request's samples tell it apart
    no_model = cast(SpeechModel, None)  # laying out needs none
    return Waiting(no_model, f"job-{index}", samples, JobOptions(model="tiny.en", language="en"), 5, None, "key", pack, 0.0)


def whole(batch: list[Waiting]) -> list[list[dict[str, int]]]:
    return [[{"start": 0, "end": entry.samples.shape[0]}] for entry in batch]


def test_a_window_holds_at_most_window_requests_of_one_pack():
    batch = [waiting(i, "owner-a", 3.0) for i in range(10)] + [waiting(10, "owner-b", 3.0)]
    layout = lay_out(batch, whole(batch), range(len(batch)), share=True)
    per_window = [[p.request for p in pieces] for pieces in layout.pieces]
    assert per_window == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [10]]  # 4 of 3 s fit 30 s; another owner apart
    assert WINDOW_REQUESTS == 4
    for pieces, clip in zip(layout.pieces, layout.clips):
        assert clip["start"] == int(clip["start"])  # windows start on whole seconds
        assert clip["end"] - clip["start"] <= 30.0
        for piece in pieces:  # each piece holds its own request's samples, a gap between neighbours
            assert np.all(layout.samples[piece.shared_start : piece.shared_end] == piece.request + 1)
        for left, right in zip(pieces, pieces[1:]):
            assert right.shared_start - left.shared_end == int(GAP_S * MODEL_RATE)


def test_longer_speech_fills_windows_before_the_request_limit_and_apart_is_one_each():
    batch = [waiting(i, "owner-a", 9.0) for i in range(5)]
    shared = lay_out(batch, whole(batch), range(5), share=True)
    assert [[p.request for p in pieces] for pieces in shared.pieces] == [[0, 1, 2], [3, 4]]  # 3 × 9 s + 2 gaps ≤ 30 s
    alone = lay_out(batch, whole(batch), [1, 3], share=False)
    assert [[p.request for p in pieces] for pieces in alone.pieces] == [[1], [3]]
