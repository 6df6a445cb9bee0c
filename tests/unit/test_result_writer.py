"""The result writer on a fake bucket: a transcript's renderings go to storage side by side, in the
caller's context, and a failed write fails the call only after every write has ended."""

from __future__ import annotations

import contextvars
import threading

import pytest

from mixscribe.transcription.outputs import ResultWriter
from tests.fakes import FakeBlobs
from tests.unit.test_transcript_formats import sample_transcript

CALLER = contextvars.ContextVar("caller", default="none")


class RendezvousFakeBlobs(FakeBlobs):
    """A fake bucket whose writes each wait until four are in progress at once (or time out), noting
    the context each ran in; writes of names ending in ``fail_suffix`` then raise."""

    def __init__(self, fail_suffix: str = "") -> None:
        super().__init__()
        self.meeting = threading.Barrier(4, timeout=10)
        self.contexts: list[str] = []
        self.fail_suffix = fail_suffix

    def write(self, bucket: str, name: str, body: bytes, content_type: str) -> None:
        self.meeting.wait()  # BrokenBarrierError unless the four renderings are written side by side
        self.contexts.append(CALLER.get())
        if self.fail_suffix and name.endswith(self.fail_suffix):
            raise ConnectionError(f"storage refused {name}")
        super().write(bucket, name, body, content_type)


def test_the_four_renderings_are_written_side_by_side_in_the_callers_context() -> None:
    blobs = RendezvousFakeBlobs()
    CALLER.set("job j1")
    uris = ResultWriter(blobs, "results").transcript("j1", sample_transcript())
    assert sorted(uris) == ["json", "srt", "txt", "vtt"]
    assert uris["json"] == "gs://results/jobs/j1/transcript.json"
    assert {name for _, name in blobs.objects} == {f"jobs/j1/transcript.{fmt}" for fmt in ("json", "srt", "txt", "vtt")}
    assert blobs.contexts == ["job j1"] * 4


def test_a_failed_write_is_raised_after_the_others_end() -> None:
    blobs = RendezvousFakeBlobs(fail_suffix=".srt")
    with pytest.raises(ConnectionError, match="transcript.srt"):
        ResultWriter(blobs, "results").transcript("j2", sample_transcript(), original=True)
    assert {name for _, name in blobs.objects} == {f"jobs/j2/original/transcript.{fmt}" for fmt in ("json", "txt", "vtt")}
