"""Planning pieces at silences and stitching their transcripts without dropping or doubling words."""

from __future__ import annotations

import numpy as np

from mixscribe.transcript import Segment, Transcript, Word
from mixscribe.transcription.seams import plan_bounds, shift, stitch

RATE = 16000


def test_cuts_land_in_the_silences_near_each_mark():
    rng = np.random.default_rng(1)
    samples = rng.normal(0, 0.3, 120 * RATE).astype(np.float32)
    for quiet_s in (38.0, 83.0):  # the marks are 40 s and 80 s
        samples[int(quiet_s * RATE) : int((quiet_s + 1) * RATE)] = 0
    bounds = plan_bounds(samples, RATE, 3)
    assert bounds[0][0] == 0 and bounds[-1][1] == samples.shape[0]
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert 38.0 <= bounds[0][1] / RATE <= 39.0 and 83.0 <= bounds[1][1] / RATE <= 84.0


def words(*spec: tuple[float, float, str]) -> tuple[Word, ...]:
    return tuple(Word(a, b, f" {w}", 0.9) for a, b, w in spec)


def piece(job: str, segments: list[tuple[float, float, tuple[Word, ...]]]) -> Transcript:
    segs = tuple(Segment(i, a, b, "".join(w.word for w in ws).strip(), -0.2, 0.01, ws) for i, (a, b, ws) in enumerate(segments))
    return Transcript(job, "en", 0.99, 0.0, "tiny.en", {}, segs)


def test_words_in_the_overlap_are_kept_once_by_the_piece_that_owns_their_midpoint():
    seam = 10.0
    first = piece(
        "j",
        [
            (0.0, 4.0, words((0.0, 1.0, "alpha"), (1.0, 4.0, "beta"))),
            (9.0, 11.0, words((9.0, 9.8, "gamma"), (10.1, 10.9, "delta"))),
        ],
    )  # overlap: heard by both
    second = shift(
        piece("j", [(0.0, 2.0, words((0.0, 0.8, "gamma"), (1.1, 1.9, "delta"))), (3.0, 5.0, words((3.0, 5.0, "epsilon")))]), 9.0
    )
    merged = stitch([first, second], [(0.0, seam), (seam, float("inf"))], 14.0)
    assert " ".join(s.text for s in merged.segments).split() == ["alpha", "beta", "gamma", "delta", "epsilon"]
    assert [s.id for s in merged.segments] == list(range(len(merged.segments)))
    assert merged.duration_s == 14.0 and merged.options["shards"] == 2


def test_many_pieces_of_a_short_signal_stay_in_order_and_cover_it():
    rng = np.random.default_rng(2)
    samples = rng.normal(0, 0.3, 77 * RATE).astype(np.float32)
    for pieces in (2, 3, 8, 16):
        bounds = plan_bounds(samples, RATE, pieces)
        assert bounds[0][0] == 0 and bounds[-1][1] == samples.shape[0]
        assert all(start < end for start, end in bounds), pieces
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        assert all(
            abs(b[1] - (i + 1) * samples.shape[0] / pieces) <= samples.shape[0] / pieces / 3 + RATE
            for i, b in enumerate(bounds[:-1])
        )
