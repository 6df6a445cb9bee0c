"""``language=auto``: the language of the whole file, from windows spread across it, and its routing.

Whisper (and faster-whisper's ``transcribe``) decides the language from the first 30 seconds of
speech, so a recording that opens with an English announcement and goes on in German is transcribed
as English. Here up to ``MAX_WINDOWS`` windows are spread evenly over the file; each keeps its speech
(Silero VAD) and votes with the model's language probabilities; the file's language is the highest
mean. English found under a multilingual model moves the job to the registry's English-only variant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from mixscribe.audio import MODEL_RATE

WINDOW_S = 30.0  # what the model hears per vote
SPAN_S = 60.0  # raw audio a window's speech is gathered from (pauses do not empty a vote)
MAX_WINDOWS = 5
MIN_SPEECH_S = 2.0


class LanguageVoter(Protocol):
    def language_probabilities(self, samples: np.ndarray) -> dict[str, float] | None:
        """Language → probability for one window's speech (None: no speech in it)."""
        ...


@dataclass(frozen=True)
class WindowVote:
    start_s: float
    language: str
    probability: float


@dataclass(frozen=True)
class LanguageDetection:
    language: str
    probability: float
    windows: tuple[WindowVote, ...]
    model: str  # the model that detected it
    routed_to: str | None = None  # the English-only model the job moved to

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["windows"] = [asdict(w) for w in self.windows]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageDetection:
        windows = tuple(WindowVote(float(w["start_s"]), str(w["language"]), float(w["probability"])) for w in data["windows"])
        return cls(str(data["language"]), float(data["probability"]), windows, str(data["model"]), data.get("routed_to"))


def window_starts(duration_s: float, max_windows: int = MAX_WINDOWS, span_s: float = SPAN_S) -> list[float]:
    """Where the windows begin: one for a short file, else evenly from the start to the last full span."""
    if duration_s <= span_s:
        return [0.0]
    count = min(max_windows, math.ceil(duration_s / span_s))
    last = duration_s - span_s
    return [round(last * k / (count - 1), 3) for k in range(count)] if count > 1 else [0.0]


def detect_language(voter: LanguageVoter, samples: np.ndarray, model: str) -> LanguageDetection | None:
    """The file's language by the windows' mean probabilities (None: no window had speech)."""
    duration_s = samples.shape[0] / MODEL_RATE
    votes: list[WindowVote] = []
    totals: dict[str, float] = {}
    for start in window_starts(duration_s):
        low = int(start * MODEL_RATE)
        probabilities = voter.language_probabilities(samples[low : low + int(SPAN_S * MODEL_RATE)])
        if not probabilities:
            continue
        top = max(probabilities, key=lambda lang: probabilities[lang])
        votes.append(WindowVote(start, top, round(probabilities[top], 4)))
        for language, probability in probabilities.items():
            totals[language] = totals.get(language, 0.0) + probability
    if not votes:
        return None
    language = max(totals, key=lambda lang: totals[lang])
    return LanguageDetection(language, round(totals[language] / len(votes), 4), tuple(votes), model)
