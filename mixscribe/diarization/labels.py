"""Speaker labels on a transcript: words take the speaker of their time, segments split at changes.

A diarized piece's words carry cluster indexes (``"0"``, ``"1"``, …, prefixed by the channel when a
mixer channel was diarized); ``name_speakers`` turns the final transcript's indexes into ``S1``,
``S2``, … in order of first appearance, and ``summarize`` counts each speaker's talk time and words.
``rename`` applies the owner's names to every word, segment and the summary.
"""

from __future__ import annotations

import re
from dataclasses import replace

from mixscribe.transcript import Segment, SpeakerSummary, Transcript, Word

from .diarizer import Diarization

MAX_NAME_CHARS = 64
SPEAKER_NAME = re.compile(r"^[^\x00-\x1f\x7f:<>]{1,64}$")  # no control characters, colons or markup


def _split(segment: Segment, words: list[Word]) -> list[Segment]:
    """``segment`` cut where its words' speaker changes."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) <= 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker if words else segment.speaker)]
    return [
        replace(
            segment,
            start=run[0].start if k else segment.start,
            end=run[-1].end if k + 1 < len(runs) else segment.end,
            text="".join(w.word for w in run).strip(),
            words=tuple(run),
            speaker=run[0].speaker,
        )
        for k, run in enumerate(runs)
    ]


def label_words(transcript: Transcript, diarization: Diarization, prefix: str = "") -> Transcript:
    """Each word labelled with the speaker who talks most during it, segments split at changes (no
    speech long enough to tell a voice: one speaker, ``0``)."""
    segments: list[Segment] = []
    for segment in transcript.segments:
        if not segment.words:
            segments.append(replace(segment, speaker=f"{prefix}{diarization.speaker_at(segment.start, segment.end) or 0}"))
            continue
        words = [replace(w, speaker=f"{prefix}{diarization.speaker_at(w.start, w.end) or 0}") for w in segment.words]
        segments += _split(segment, words)
    renumbered = tuple(replace(seg, id=k) for k, seg in enumerate(segments))
    return replace(transcript, segments=renumbered)


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
