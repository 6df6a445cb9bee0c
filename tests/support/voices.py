"""A diarization corpus written here: mono mixes of espeak-ng voices with known turns.

Each voice is an espeak-ng voice with its own variant, pitch and speed (synthesised offline; the
system package is installed by ``scripts/install-system.sh``). A mix is a list of turns, each one
sentence by one voice; turns follow each other after a short pause, or overlap by ``overlap_s``
(the voices summed). The reference says who speaks when (``Reference.turns``), measured from each
turn's own samples (leading and trailing silence trimmed), so overlap and pauses are exact.
``CORPUS`` is the bench's set (two to four voices, overlap, one speaker); tests take single mixes.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000

VOICES = {  # espeak-ng arguments; chosen to differ in accent, sex and pitch
    "ava": ("-v", "en-us+f4", "-p", "80", "-s", "160"),
    "bob": ("-v", "en-us+m3", "-p", "35", "-s", "165"),
    "cal": ("-v", "en-gb-scotland+m7", "-p", "50", "-s", "175"),
    "dee": ("-v", "en-gb+f3", "-p", "70", "-s", "150"),
}

SENTENCES = (
    "Good morning, let's go through the release plan for the next two weeks.",
    "The mobile build passed every test last night, so we can ship it on Monday.",
    "I still see two open bugs on the dashboard, both about exporting reports.",
    "Can you take the export problem before the end of the week?",
    "Sure, I will look at it this afternoon and send you a note.",
    "The customers in the pilot liked the new search page a lot.",
    "Several people asked for darker colours in the night mode.",
    "We decided to keep the current design until the next quarter.",
    "Marketing wants a short video for the launch in January.",
    "The database migration finished on Tuesday without any downtime.",
    "Storage costs dropped by about twelve percent after the move.",
    "Should we keep the staging cluster running over the holidays?",
    "I think we can turn it off and save the money for training.",
    "Please send your opinions to the team by Wednesday evening.",
    "That sounds reasonable, let's decide at the next meeting.",
    "Thanks everyone, that's all for today, see you tomorrow.",
)


@dataclass(frozen=True)
class Reference:
    """A mix's samples (16 kHz mono float32) and who speaks when: ``(start_s, end_s, voice)``."""

    name: str
    samples: np.ndarray
    turns: tuple[tuple[float, float, str], ...]
    texts: tuple[str, ...]

    @property
    def voices(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(voice for _, _, voice in self.turns))

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / RATE


def synthesize(voice: str, text: str) -> np.ndarray:
    """``text`` spoken by ``voice`` at 16 kHz, leading and trailing silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "turn.wav"
        subprocess.run(["espeak-ng", *VOICES[voice], "-w", str(wav), text], check=True, capture_output=True)
        raw = subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-i", str(wav), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
            check=True,
            capture_output=True,
        ).stdout
    samples = np.frombuffer(raw, dtype="<f4").copy()
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def mix(name: str, turns: list[tuple[str, int]], pause_s: float = 0.5, overlap_s: float = 0.0) -> Reference:
    """Turns ``(voice, sentence index)`` one after another: a pause between them, or ``overlap_s`` of
    the next voice over the end of the previous one (a negative pause)."""
    clips = [
        (voice, synthesize(voice, SENTENCES[index % len(SENTENCES)]), SENTENCES[index % len(SENTENCES)]) for voice, index in turns
    ]
    lead = int(0.5 * RATE)
    shift = int((overlap_s if overlap_s else -pause_s) * RATE)
    starts, cursor = [], lead
    for k, (_, clip, _) in enumerate(clips):
        starts.append(cursor)
        cursor += clip.shape[0] - (shift if k + 1 < len(clips) else 0)
    total = max(s + c.shape[0] for s, (_, c, _) in zip(starts, clips, strict=True)) + lead
    samples = np.zeros(total, np.float32)
    reference = []
    for start, (voice, clip, _) in zip(starts, clips, strict=True):
        samples[start : start + clip.shape[0]] += 0.5 * clip
        reference.append((start / RATE, (start + clip.shape[0]) / RATE, voice))
    noise = np.random.default_rng(len(name)).normal(0, 2e-4, total).astype(np.float32)
    return Reference(name, samples + noise, tuple(reference), tuple(text for _, _, text in clips))


def conversation(name: str, voices: list[str], turns: int, first_sentence: int = 0, **kwargs: float) -> Reference:
    """``turns`` turns cycling through ``voices``, every fifth turn by the previous speaker again."""
    order: list[str] = []
    for k in range(turns):
        order.append(order[-1] if k % 5 == 4 else voices[k % len(voices)])
    return mix(name, [(voice, first_sentence + k) for k, voice in enumerate(order)], **kwargs)


def corpus() -> list[Reference]:
    """The bench's set: two, three and four voices, overlapping speech and single speakers."""
    return [
        conversation("two-ab", ["ava", "bob"], 8),
        conversation("two-cd", ["cal", "dee"], 8, 3),
        conversation("two-bc", ["bob", "cal"], 8, 6),
        conversation("two-overlap", ["ava", "cal"], 8, 2, overlap_s=0.8),
        conversation("three-abc", ["ava", "bob", "cal"], 9, 1),
        conversation("three-bcd", ["bob", "cal", "dee"], 9, 5),
        conversation("four-abcd", ["ava", "bob", "cal", "dee"], 12),
        conversation("four-overlap", ["dee", "cal", "bob", "ava"], 12, 4, overlap_s=0.6),
        conversation("one-bob", ["bob"], 5),
        conversation("one-dee", ["dee"], 5, 8),
    ]
