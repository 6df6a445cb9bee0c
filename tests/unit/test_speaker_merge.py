"""Merging per-channel segments: time order, speaker labels, cross-talk resolved by loudness."""

from __future__ import annotations

from mixscribe.transcript import Segment
from mixscribe.transcription.speakers import merge_channels


def seg(start: float, end: float, text: str, speaker: str) -> Segment:
    return Segment(id=0, start=start, end=end, text=text, avg_logprob=-0.2, no_speech_prob=0.01, speaker=speaker)


def test_segments_interleave_by_time_with_their_speakers():
    merged = merge_channels(
        [
            (seg(5.0, 7.0, "Thanks, that works for me.", "guest"), 0.2),
            (seg(0.0, 2.5, "Welcome to the show.", "host"), 0.3),
            (seg(3.0, 4.5, "Tell us about your week.", "host"), 0.3),
        ]
    )
    assert [(s.id, s.speaker, s.text) for s in merged] == [
        (0, "host", "Welcome to the show."),
        (1, "host", "Tell us about your week."),
        (2, "guest", "Thanks, that works for me."),
    ]


def test_bleed_into_the_other_microphone_is_dropped_the_louder_copy_wins():
    merged = merge_channels(
        [
            (seg(0.0, 2.6, "Welcome to the weekly planning meeting.", "host"), 0.30),
            (seg(0.1, 2.5, "Welcome to the weekly planning meeting", "guest"), 0.02),  # heard through the guest's mic
            (seg(2.8, 4.0, "Good morning everyone.", "guest"), 0.25),
            (seg(2.9, 4.0, "Good morning, everyone.", "host"), 0.01),
        ]
    )
    assert [(s.speaker, s.text) for s in merged] == [
        ("host", "Welcome to the weekly planning meeting."),
        ("guest", "Good morning everyone."),
    ]


def test_overlapping_but_different_speech_is_kept():
    merged = merge_channels(
        [
            (seg(0.0, 3.0, "I think we should ship on Friday.", "host"), 0.3),
            (seg(1.0, 2.0, "Yes, absolutely.", "guest"), 0.2),
        ]
    )
    assert [s.speaker for s in merged] == ["host", "guest"]
