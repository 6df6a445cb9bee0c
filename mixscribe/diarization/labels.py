"""Speaker labels of a transcript (pure Python: the API renames speakers without NumPy).

A diarized piece's words carry cluster indexes (``"0"``, ``"1"``, …, prefixed ``<channel>/`` when a
mixer channel was diarized; ``assign.label_words``); ``name_speakers`` turns the final transcript's
indexes into ``S1``, ``S2``, … in order of first appearance, and ``summarize`` counts each speaker's
talk time and words. ``rename`` applies the owner's names to every word, segment and the summary.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from mixscribe.transcript import SpeakerSummary, Transcript

MAX_NAME_CHARS = 64
SPEAKER_NAME = re.compile(r"^[^\x00-\x1f\x7f:<>]{1,64}$")  # no control characters, colons or markup


def relabel(transcript: Transcript, mapping: dict[str, str]) -> Transcript:
    """Every word's and segment's speaker through ``mapping`` (labels it lacks are kept)."""

    def to(label: str | None) -> str | None:
        return mapping.get(label, label) if label is not None else None

    segments = tuple(
        replace(seg, speaker=to(seg.speaker), words=tuple(replace(w, speaker=to(w.speaker)) for w in seg.words))
        for seg in transcript.segments
    )
    return replace(transcript, segments=segments)


def name_speakers(transcript: Transcript, keep: frozenset[str] = frozenset()) -> Transcript:
    """Cluster labels → ``S1``, ``S2``, … by first appearance (``prefix-1``, ``prefix-2`` for a diarized
    channel); labels in ``keep`` (a mixer channel's own name) stay as they are."""
    order: list[str] = []
    for seg in transcript.segments:
        for label in [seg.speaker, *(w.speaker for w in seg.words)]:
            if label is not None and label not in order and label not in keep:
                order.append(label)
    mapping: dict[str, str] = {}
    counters: dict[str, int] = {}
    for label in order:
        channel = label.rpartition("/")[0]
        counters[channel] = counters.get(channel, 0) + 1
        mapping[label] = f"{channel}-{counters[channel]}" if channel else f"S{counters[channel]}"
    return relabel(transcript, mapping)


def summarize(transcript: Transcript) -> tuple[SpeakerSummary, ...]:
    """Talk time (words' spans, segments' without words), words and share of talk per speaker."""
    talk: dict[str, float] = {}
    words: dict[str, int] = {}
    for seg in transcript.segments:
        if seg.words:
            for word in seg.words:
                if word.speaker is not None:
                    talk[word.speaker] = talk.get(word.speaker, 0.0) + max(0.0, word.end - word.start)
                    words[word.speaker] = words.get(word.speaker, 0) + 1
        elif seg.speaker is not None:
            talk[seg.speaker] = talk.get(seg.speaker, 0.0) + max(0.0, seg.end - seg.start)
            words[seg.speaker] = words.get(seg.speaker, 0) + len(seg.text.split())
    total = sum(talk.values()) or 1.0
    return tuple(
        SpeakerSummary(
            id=label, label=label, talk_time_s=round(talk[label], 3), words=words[label], share=round(talk[label] / total, 4)
        )
        for label in talk
    )


def with_summary(transcript: Transcript) -> Transcript:
    """The transcript with its ``speakers`` summary (empty when no word or segment has a speaker)."""
    return replace(transcript, speakers=summarize(transcript))


def relabel_text(text: str, mapping: dict[str, str]) -> str:
    """``text`` with every whole-word occurrence of a label replaced (notes written before a rename)."""
    if not mapping:
        return text
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)) + r")(?![\w-])")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def relabel_strings(value: Any, mapping: dict[str, str]) -> Any:
    """A JSON value with ``relabel_text`` applied to every string in it (keys left alone)."""
    if isinstance(value, str):
        return relabel_text(value, mapping)
    if isinstance(value, list):
        return [relabel_strings(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: relabel_strings(v, mapping) for k, v in value.items()}
    return value


class InvalidNames(ValueError):
    """A rename names an unknown speaker, an invalid or a duplicate label."""


def rename(transcript: Transcript, names: dict[str, str]) -> Transcript:
    """Speakers renamed by id (``{"S1": "Alice"}``): labels in every word, segment and the summary."""
    ids = {s.id: s for s in transcript.speakers}
    unknown = sorted(set(names) - set(ids))
    if unknown:
        raise InvalidNames(f"no speaker {', '.join(unknown)} in this transcript (it has {', '.join(ids) or 'none'})")
    for name in names.values():
        if not isinstance(name, str) or not SPEAKER_NAME.match(name.strip()) or name != name.strip():
            raise InvalidNames(f"a speaker name is 1-{MAX_NAME_CHARS} characters without control characters, ':' or '<>'")
    labels = {sid: names.get(sid, s.label) for sid, s in ids.items()}
    if len(set(labels.values())) != len(labels):
        raise InvalidNames("two speakers would share one name")
    mapping = {s.label: labels[sid] for sid, s in ids.items()}
    renamed = relabel(transcript, mapping)
    return replace(renamed, speakers=tuple(replace(s, label=labels[s.id]) for s in transcript.speakers))
