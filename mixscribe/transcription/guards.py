"""Hallucination guards: Whisper's two known failure modes, found per segment, dropped or flagged, counted.

- **Repetition loops**: the decoder repeating itself. A segment whose text compresses too well (zlib
  ratio above 2.4, Whisper's own ``compression_ratio_threshold``) or repeats one phrase of up to four
  words four times or more in a row is kept, flagged ``repetition``.
- **Text over silence**: words where nobody speaks. A segment the model itself doubts (no-speech
  probability above 0.6) is checked against the voice-activity detector's speech map of its own
  samples (Silero, as faster-whisper uses it); under 10 % speech, it is flagged ``over_silence`` and
  left out of the transcript. Only doubted segments are checked, so the VAD pass stays cheap.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from mixscribe.audio import MODEL_RATE
from mixscribe.transcript import Segment, Transcript

COMPRESSION_RATIO_MAX = 2.4
MIN_REPEATS = 4
MAX_PHRASE_WORDS = 4
NO_SPEECH_DOUBT = 0.6
MIN_SPEECH_SHARE = 0.1
REPETITION, OVER_SILENCE = "repetition", "over_silence"


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def longest_repeat(text: str) -> int:
    """How many times in a row the most repeated phrase of 1..4 words occurs."""
    words = [w.strip(".,!?;:").lower() for w in text.split()]
    best = 1
    for n in range(1, MAX_PHRASE_WORDS + 1):
        for start in range(n):
            run, previous = 1, None
            for i in range(start, len(words) - n + 1, n):
                phrase = tuple(words[i : i + n])
                run = run + 1 if phrase == previous else 1
                previous = phrase
                best = max(best, run)
    return best


def is_repetition(text: str) -> bool:
    return compression_ratio(text) > COMPRESSION_RATIO_MAX or longest_repeat(text) >= MIN_REPEATS


def speech_share(samples: np.ndarray) -> float:
    """The share of ``samples`` (16 kHz mono) that the VAD hears as speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if samples.shape[0] == 0:
        return 0.0
    spans = get_speech_timestamps(samples, VadOptions())
    speech = sum(int(span["end"]) - int(span["start"]) for span in spans)
    return float(speech / int(samples.shape[0]))


def flag_segments(
    segments: list[Segment], samples: np.ndarray, share: Callable[[np.ndarray], float] = speech_share
) -> list[Segment]:
    """``segments`` (timestamps within ``samples``) with the guards' flags set."""
    flagged = []
    for segment in segments:
        flags: list[str] = []
        if is_repetition(segment.text):
            flags.append(REPETITION)
        if segment.no_speech_prob > NO_SPEECH_DOUBT:
            low, high = int(segment.start * MODEL_RATE), int(segment.end * MODEL_RATE)
            if share(samples[low:high]) < MIN_SPEECH_SHARE:
                flags.append(OVER_SILENCE)
        flagged.append(replace(segment, flags=tuple(flags)) if flags else segment)
    return flagged


@dataclass(frozen=True)
class GuardCounts:
    repetition_flagged: int
    over_silence_dropped: int

    def share(self, kept_segments: int) -> float:
        """The share of the model's segments the guards flagged or dropped (``kept_segments``: after dropping)."""
        seen = kept_segments + self.over_silence_dropped
        return round((self.repetition_flagged + self.over_silence_dropped) / seen, 4) if seen else 0.0


def apply_guards(transcript: Transcript) -> tuple[Transcript, GuardCounts]:
    """The transcript without its over-silence segments (renumbered), and what the guards found."""
    kept = [s for s in transcript.segments if OVER_SILENCE not in s.flags]
    counts = GuardCounts(
        repetition_flagged=sum(REPETITION in s.flags for s in kept),
        over_silence_dropped=len(transcript.segments) - len(kept),
    )
    if counts.over_silence_dropped:
        transcript = replace(transcript, segments=tuple(replace(s, id=i) for i, s in enumerate(kept)))
    return transcript, counts
