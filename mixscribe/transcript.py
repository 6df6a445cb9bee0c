"""Transcript records and their renderings: JSON (contract), SRT, WebVTT and plain text."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None  # diarized jobs only (mixscribe.diarization)


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    flags: tuple[str, ...] = ()  # the hallucination guards' findings (mixscribe.transcription.guards)
    temperature: float = 0.0  # the decoding temperature that produced it (after fallbacks)
    compression_ratio: float = 0.0
    seek: int = 0  # the decoding window's start, in 10 ms frames (Whisper's ``seek``)


@dataclass(frozen=True)
class SpeakerSummary:
    """One speaker of a transcript: a stable ``id`` (``S1``… or the channel's name), the ``label`` the
    outputs show (the id until the owner renames it), talk time, words and share of the talk."""

    id: str
    label: str
    talk_time_s: float
    words: int
    share: float


@dataclass(frozen=True)
class Transcript:
    """A whole transcript with the options that produced it."""

    job_id: str
    language: str
    language_probability: float
    duration_s: float
    model: str
    options: dict[str, Any]
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    speakers: tuple[SpeakerSummary, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(seg.text.strip() for seg in self.segments if seg.text.strip())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for seg in data["segments"]:  # a word names its speaker only in diarized transcripts
            for word in seg["words"]:
                if word["speaker"] is None:
                    del word["speaker"]
        if not self.speakers:
            del data["speakers"]
        data["text"] = self.text
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        segments = tuple(
            Segment(
                **{k: v for k, v in seg.items() if k not in ("words", "flags")},
                words=tuple(Word(**w) for w in seg.get("words", ())),
                flags=tuple(seg.get("flags", ())),
            )
            for seg in data.get("segments", ())
        )
        return cls(
            job_id=data["job_id"],
            language=data["language"],
            language_probability=data["language_probability"],
            duration_s=data["duration_s"],
            model=data["model"],
            options=data.get("options", {}),
            segments=segments,
            speakers=tuple(SpeakerSummary(**s) for s in data.get("speakers", ())),
        )

    def renderings(self) -> dict[str, str]:
        """Every output format (``layout.TRANSCRIPT_FORMATS``) → its text."""
        return {"json": self.to_json(), "srt": self.to_srt(), "vtt": self.to_vtt(), "txt": self.to_txt()}

    def to_txt(self) -> str:
        lines = [_caption_text(seg) for seg in self.segments if seg.text.strip()]
        return "\n".join(lines) + ("\n" if lines else "")

    def to_srt(self) -> str:
        blocks = []
        for index, seg in enumerate(_captioned(self.segments), start=1):
            start, end = format_timestamp(seg.start, ","), format_timestamp(seg.end, ",")
            blocks.append(f"{index}\n{start} --> {end}\n{_caption_text(seg)}\n")
        return "\n".join(blocks)

    def to_vtt(self) -> str:
        blocks = ["WEBVTT\n"]
        for seg in _captioned(self.segments):
            start, end = format_timestamp(seg.start, "."), format_timestamp(seg.end, ".")
            blocks.append(f"{start} --> {end}\n{_caption_text(seg)}\n")
        return "\n".join(blocks)


def _captioned(segments: tuple[Segment, ...]) -> list[Segment]:
    """Segments worth a caption: non-empty text and a positive duration."""
    return [s for s in segments if s.text.strip() and s.end > s.start]


def _caption_text(seg: Segment) -> str:
    # A caption line never holds a blank line (it would end the cue) or the cue arrow.
    text = " ".join(seg.text.split()).replace("-->", "->")
    return f"{seg.speaker}: {text}" if seg.speaker else text


def format_timestamp(seconds: float, decimal_marker: str) -> str:
    """``HH:MM:SS,mmm`` (SRT) or ``HH:MM:SS.mmm`` (WebVTT) for a non-negative time."""
    millis = max(0, int(round(seconds * 1000)))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"
