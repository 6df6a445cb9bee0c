"""A per-owner glossary: terms every job of that owner should spell right, with the misspellings to fix.

``PUT /v1/glossary`` stores one document per owner (``glossaries/{owner}``). The upload trigger copies
the owner's glossary onto each new job's options, so a job keeps the glossary it ran with (its result
and cache key follow it). A job then decodes with the terms as hotwords (faster-whisper keeps them in
every window's prompt), and afterwards each listed spelling — a word or phrase the model wrote for the
term, matched whole and case-insensitively — is replaced by the term in the text and the words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .ports import Documents
from .transcript import Segment, Word

GLOSSARIES = "glossaries"
MAX_TERMS = 50
MAX_SPELLINGS = 5
MAX_TERM_CHARS = 64
MAX_HOTWORDS_CHARS = 600  # the terms as hotwords; Whisper's prompt holds 224 tokens in all
_TOKEN = re.compile(r"[\w'’-]+", re.UNICODE)


class InvalidGlossary(ValueError):
    """A glossary that cannot be stored (the message says which term and why)."""


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    spellings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"term": self.term, "spellings": list(self.spellings)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GlossaryTerm:
        return cls(str(data["term"]), tuple(str(s) for s in data.get("spellings") or ()))


def _clean(text: str, what: str) -> str:
    value = unicodedata.normalize("NFC", " ".join(str(text).split()))
    if not value or len(value) > MAX_TERM_CHARS or any(unicodedata.category(c).startswith("C") for c in value):
        raise InvalidGlossary(f"{what} must be 1 to {MAX_TERM_CHARS} printable characters")
    if not _TOKEN.search(value):
        raise InvalidGlossary(f"{what} {value!r} has no letters or digits")
    return value


def parse_glossary(entries: Iterable[Mapping[str, Any]]) -> tuple[GlossaryTerm, ...]:
    """Checked terms: at most ``MAX_TERMS``, no duplicates, a spelling is never another term."""
    terms: list[GlossaryTerm] = []
    for entry in entries:
        term = _clean(entry.get("term", ""), "a term")
        spellings = tuple(dict.fromkeys(_clean(s, f"a spelling of {term!r}") for s in entry.get("spellings") or ()))
        if len(spellings) > MAX_SPELLINGS:
            raise InvalidGlossary(f"{term!r} has more than {MAX_SPELLINGS} spellings")
        terms.append(GlossaryTerm(term, tuple(s for s in spellings if s.casefold() != term.casefold())))
    if len(terms) > MAX_TERMS:
        raise InvalidGlossary(f"a glossary has at most {MAX_TERMS} terms")
    folded = [t.term.casefold() for t in terms]
    if len(set(folded)) != len(folded):
        raise InvalidGlossary("a term is listed twice")
    clash = next((s for t in terms for s in t.spellings if s.casefold() in folded), None)
    if clash:
        raise InvalidGlossary(f"the spelling {clash!r} is itself a term")
    if len(hotwords_of(terms)) > MAX_HOTWORDS_CHARS:
        raise InvalidGlossary(f"the terms take more than {MAX_HOTWORDS_CHARS} characters as hotwords")
    return tuple(terms)


def hotwords_of(terms: Iterable[GlossaryTerm]) -> str:
    return ", ".join(t.term for t in terms)


def decoding_hotwords(hotwords: str, terms: tuple[GlossaryTerm, ...]) -> str:
    """A job's own hotwords followed by its glossary's terms."""
    return ", ".join(part for part in (hotwords, hotwords_of(terms)) if part)


class Glossaries:
    """The per-owner glossaries in ``glossaries/{owner}``."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    def get(self, owner: str) -> tuple[GlossaryTerm, ...]:
        doc = self.documents.get(f"{GLOSSARIES}/{owner}")
        return tuple(GlossaryTerm.from_dict(t) for t in (doc or {}).get("terms", ()))

    def put(self, owner: str, terms: tuple[GlossaryTerm, ...]) -> None:
        if not terms:
            self.documents.delete(f"{GLOSSARIES}/{owner}")
            return
        self.documents.set(f"{GLOSSARIES}/{owner}", {"terms": [t.to_dict() for t in terms], "updated_at": datetime.now(UTC)})


def _tokens(text: str) -> list[str]:
    return [t.casefold() for t in _TOKEN.findall(text)]


def _phrase_pattern(spelling: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in _TOKEN.findall(spelling)]
    return re.compile(r"(?<![\w'’-])" + r"[\s,]*".join(parts) + r"(?![\w'’-])", re.IGNORECASE)


def _correct_words(words: tuple[Word, ...], variants: list[tuple[list[str], str]]) -> tuple[Word, ...]:
    out: list[Word] = []
    i = 0
    while i < len(words):
        for tokens, term in variants:
            span = words[i : i + len(tokens)]
            if len(span) == len(tokens) and [" ".join(_tokens(w.word)) for w in span] == tokens:
                first, last = span[0], span[-1]
                lead = first.word[: len(first.word) - len(first.word.lstrip())]
                tail = re.sub(r"^.*?([^\w'’-]*)$", r"\1", last.word.rstrip())
                merged = replace(first, word=f"{lead}{term}{tail}", end=last.end, probability=min(w.probability for w in span))
                out.append(merged)
                i += len(tokens)
                break
        else:
            out.append(words[i])
            i += 1
    return tuple(out)


def correct_spellings(segments: list[Segment], terms: tuple[GlossaryTerm, ...]) -> list[Segment]:
    """Each listed spelling replaced by its term, in segment texts and in their words (longest first)."""
    variants = sorted(((_tokens(s), t.term) for t in terms for s in t.spellings), key=lambda v: len(v[0]), reverse=True)
    if not variants:
        return segments
    patterns = [(_phrase_pattern(" ".join(tokens)), term) for tokens, term in variants]
    corrected = []
    for seg in segments:
        text = seg.text
        for pattern, term in patterns:
            text = pattern.sub(term, text)
        corrected.append(replace(seg, text=text, words=_correct_words(seg.words, variants)))
    return corrected
