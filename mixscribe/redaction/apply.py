"""A transcript with its findings replaced by their type: ``[PHONE_NUMBER]``, timestamps kept.

The whole transcript's words go to the engine as one text (spoken forms written out, ``spoken``), so
an entity spread over words or segments is found. Each finding's words become one word ``[TYPE]``
spanning their time (within each segment it touches); segment texts are rebuilt from their words,
so every rendering and the notes made from it carry the same tags. ``Redaction`` records where each
finding was said, for the audio.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from mixscribe.transcript import Segment, Transcript, Word

from .engines import Finding, RedactionEngine
from .spoken import normalize

RECORD = "redaction"  # the transcript option that says what was redacted


@dataclass(frozen=True)
class Redaction:
    """One finding on the audio's time line."""

    entity: str
    start: float
    end: float


def _tag(entity: str, first: Word, last: Word) -> str:
    lead = first.word[: len(first.word) - len(first.word.lstrip())]
    trail = last.word.rstrip()[-1:]
    return f"{lead}[{entity}]{trail if trail in ',.;:!?' else ''}"


def word_owners(count: int, spans: list[tuple[int, int, Finding]]) -> list[int | None]:
    """Which finding each word belongs to: the most confident, then the longest, wins an overlap."""
    owners: list[int | None] = [None] * count
    order = sorted(range(len(spans)), key=lambda k: (-spans[k][2].score, spans[k][0] - spans[k][1]))
    for k in order:
        first, last, _ = spans[k]
        if all(owners[i] is None for i in range(first, last + 1)):
            for i in range(first, last + 1):
                owners[i] = k
    return owners


def _redact_words(segment: Segment, owners: list[int | None], spans: list[tuple[int, int, Finding]]) -> Segment:
    out: list[Word] = []
    k = 0
    words = segment.words
    while k < len(words):
        owner = owners[k]
        if owner is None:
            out.append(words[k])
            k += 1
            continue
        j = k
        while j + 1 < len(words) and owners[j + 1] == owner:
            j += 1
        run = words[k : j + 1]
        entity = spans[owner][2].entity
        tag = _tag(entity, first=run[0], last=run[-1])
        out.append(Word(run[0].start, run[-1].end, tag, min(w.probability for w in run), run[0].speaker))
        k = j + 1
    return replace(segment, words=tuple(out), text="".join(w.word for w in out).strip())  # as the engine writes it


def _redact_text(text: str, findings: list[Finding]) -> str:
    """A segment without word timestamps: the findings' characters replaced (of overlapping findings,
    the one that starts first)."""
    kept: list[Finding] = []
    for found in sorted(findings, key=lambda f: (f.start, -f.end)):
        if not kept or found.start >= kept[-1].end:
            kept.append(found)
    for found in reversed(kept):
        text = text[: found.start] + f"[{found.entity}]" + text[found.end :]
    return text


def word_findings(words: list[str], engine: RedactionEngine, entities: tuple[str, ...]) -> list[tuple[int, int, Finding]]:
    """The findings in ``words`` (as Whisper writes them) as ``(first word, last word, finding)``."""
    if not words:
        return []
    normalized = normalize(words)
    spans = []
    for found in engine.find(normalized.text, entities):
        covered = normalized.words_of(found.start, found.end)
        if covered:
            spans.append((covered[0], covered[1], found))
    return spans


def redact_transcript(
    transcript: Transcript, engine: RedactionEngine, entities: tuple[str, ...]
) -> tuple[Transcript, list[Redaction]]:
    """``transcript`` with every finding of ``entities`` replaced, and where each was said."""
    all_words = [w for seg in transcript.segments for w in seg.words]
    spans = word_findings([w.word for w in all_words], engine, entities)
    owners = word_owners(len(all_words), spans)
    redactions = {
        owner: Redaction(spans[owner][2].entity, all_words[spans[owner][0]].start, all_words[spans[owner][1]].end)
        for owner in owners
        if owner is not None
    }
    segments: list[Segment] = []
    position = 0
    for segment in transcript.segments:
        if not segment.words:
            in_text = engine.find(segment.text, entities) if segment.text.strip() else []
            segments.append(replace(segment, text=_redact_text(segment.text, in_text)) if in_text else segment)
            for f in in_text:
                redactions[len(spans) + len(redactions)] = Redaction(f.entity, segment.start, segment.end)
            continue
        mine = owners[position : position + len(segment.words)]
        position += len(segment.words)
        segments.append(_redact_words(segment, mine, spans) if any(o is not None for o in mine) else segment)
    counts = Counter(r.entity for r in redactions.values())
    record = {"entities": list(entities), "engine": engine.name, "findings": dict(sorted(counts.items()))}
    redacted = replace(transcript, segments=tuple(segments), options={**transcript.options, RECORD: record})
    return redacted, sorted(redactions.values(), key=lambda r: r.start)
