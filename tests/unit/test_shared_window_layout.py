"""How requests' speech is laid out in shared windows (``shared_windows.lay_out``) and how a decoded window
is checked (``shared_windows.ran_together``): no model needed."""

from __future__ import annotations

from typing import cast

import numpy as np
from faster_whisper.transcribe import Segment, Word

from mixscribe.audio import MODEL_RATE
from mixscribe.jobs import JobOptions
from mixscribe.transcription.engine import SpeechModel
from mixscribe.transcription.shared_windows import GAP_S, WINDOW_REQUESTS, Piece, Waiting, lay_out, ran_together


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


# four copies of one 2.6 s sentence a second apart, as tiny.en decoded them on one 2-core machine: it heard
# the sentence three times and a bit; the second copy got "Welcome to", its "to" stretched over 3.9 s
FOUR_COPIES = [Piece(k, int((k * 3.576) * MODEL_RATE), int(2.576 * MODEL_RATE), 0) for k in range(4)]
# fmt: off
HEARD = [
    (" Welcome", 0.0, 0.42), (" to", 0.42, 0.78), (" the", 0.78, 0.94), (" weekly", 0.94, 1.2), (" planning", 1.2, 1.68),
    (" meeting", 1.68, 3.32), (" Welcome", 3.32, 3.98), (" to", 3.98, 7.88), (" the", 7.88, 8.42), (" weekly", 8.42, 8.44),
    (" planning", 8.44, 8.82), (" meeting", 8.82, 9.74), (" Welcome", 9.74, 9.74), (" to", 9.74, 10.18), (" the", 10.18, 10.68),
    (" weekly", 10.68, 10.68), (" planning", 10.68, 10.74), (" meeting", 10.74, 10.74), (" Welcome", 10.74, 11.12),
    (" to", 11.12, 11.5), (" the", 11.5, 11.8), (" weekly", 11.8, 12.04), (" planning", 12.04, 12.4), (" meeting", 12.4, 13.54),
]
# fmt: on


def segment(words: list[tuple[str, float, float]]) -> Segment:
    found = [Word(start, end, word, 0.9) for word, start, end in words]
    return Segment(0, 0, found[0].start, found[-1].end, "".join(w.word for w in found), [], -0.2, 1.5, 0.01, found, 0.0)


def test_a_window_whose_words_went_to_a_neighbour_is_found_though_a_stretched_word_covers_it():
    assert ran_together(FOUR_COPIES, [segment(HEARD)])  # 2 words for 2.6 s of speech: a third of the median rate


def test_a_window_heard_request_by_request_is_believed():
    sentence = [(" Welcome", 0.0, 0.42), (" to", 0.42, 0.78), (" the", 0.78, 0.94), (" weekly", 0.94, 1.2),
                (" planning", 1.2, 1.68), (" meeting", 1.68, 2.5)]  # fmt: skip
    each = [[(w, start + k * 3.576, end + k * 3.576) for w, start, end in sentence] for k in range(4)]
    assert not ran_together(FOUR_COPIES, [segment(words) for words in each])
    fewer = [(" Welcome", 0.0, 0.42), (" to", 0.42, 0.78), (" the", 0.78, 0.94), (" meeting", 0.94, 2.5)]
    slower = each[:3] + [[(w, start + 3 * 3.576, end + 3 * 3.576) for w, start, end in fewer]]  # 2/3 the rate
    assert not ran_together(FOUR_COPIES, [segment(words) for words in slower])
    silent = each[:3]  # the last request's speech got no words at all
    assert ran_together(FOUR_COPIES, [segment(words) for words in silent])
