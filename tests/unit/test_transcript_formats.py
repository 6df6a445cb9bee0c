import json

import pytest
import srt
import webvtt

from mixscribe.transcript import Segment, Transcript, Word, format_timestamp


def sample_transcript() -> Transcript:
    return Transcript(
        job_id="j1",
        language="en",
        language_probability=0.99,
        duration_s=3725.5,
        model="tiny.en",
        options={"beam_size": 5},
        segments=(
            Segment(0, 0.0, 2.38, "Welcome to the meeting.", words=(Word(0.0, 0.5, " Welcome", 0.9),)),
            Segment(1, 2.8, 7.921, "Line with --> arrow\n\nand blank line", speaker="guest"),
            Segment(2, 8.0, 8.0, "zero length"),
            Segment(3, 9.0, 9.5, "   "),
            Segment(4, 3723.004, 3725.5, "Over an hour in."),
        ),
    )


@pytest.mark.parametrize(
    "seconds,marker,text",
    [(0, ",", "00:00:00,000"), (3723.0046, ".", "01:02:03.005"), (59.9996, ",", "00:01:00,000"), (-1, ".", "00:00:00.000")],
)
def test_timestamps(seconds, marker, text):
    assert format_timestamp(seconds, marker) == text


def test_srt_parses_with_a_real_parser():
    cues = list(srt.parse(sample_transcript().to_srt()))
    assert [c.index for c in cues] == [1, 2, 3]
    assert cues[0].content == "Welcome to the meeting."
    assert cues[1].content == "guest: Line with -> arrow and blank line"
    assert cues[2].start.total_seconds() == pytest.approx(3723.004)


def test_vtt_parses_with_a_real_parser(tmp_path):
    path = tmp_path / "t.vtt"
    path.write_text(sample_transcript().to_vtt())
    cues = webvtt.read(str(path)).captions
    assert len(cues) == 3
    assert cues[0].start == "00:00:00.000" and cues[0].end == "00:00:02.380"
    assert cues[2].text == "Over an hour in."


def test_json_round_trip_and_text():
    t = sample_transcript()
    data = json.loads(t.to_json())
    assert data["text"].startswith("Welcome to the meeting. Line with")
    assert Transcript.from_dict(data) == t


def test_txt_has_one_line_per_spoken_segment():
    lines = sample_transcript().to_txt().splitlines()
    assert lines == ["Welcome to the meeting.", "guest: Line with -> arrow and blank line", "zero length", "Over an hour in."]
