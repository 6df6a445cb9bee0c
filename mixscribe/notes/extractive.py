"""Embedded fallback notes, no network: TextRank sentence ranking plus rule-based extraction.

Sentences keep the timestamps of the transcript segment they came from. Key points are the
top-ranked sentences (PageRank over word-overlap similarity, as in TextRank); action items,
decisions and questions come from plain-language cues ("Maria will send … by Friday").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    let me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves also okay ok yeah yes um uh like going get got
    really well today thing things lot one two""".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z][a-z'\-]+")
_DUE = re.compile(
    r"\b(?:by|before|on|until|due)\s+((?:next\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"tomorrow|tonight|(?:the\s+)?end of (?:the\s+)?(?:day|week|month|quarter)|week|month|\d{1,2}(?:st|nd|rd|th)?"
    r"(?:\s+of\s+\w+)?))\b",
    re.IGNORECASE,
)
_ACTION = re.compile(
    r"\b(?P<owner>[A-Z][a-z]+|I|We|we|you|You)\s+(?:will|'ll|is going to|are going to|need to|needs to|should|must|"
    r"has to|have to)\s+(?P<task>[^,;.!?]+)",
)
_ACTION_CUES = re.compile(r"\b(action item|to-?do|follow up|let's|please)\b", re.IGNORECASE)
_DECISION = re.compile(r"\b(decided|agreed|decision|approved|we will go with|settled on|chose|signed off)\b", re.IGNORECASE)
_NOT_OWNERS = frozenset({"Today", "Then", "So", "And", "But", "It", "This", "That", "There", "Here"})


@dataclass(frozen=True)
class Sentence:
    text: str
    start: float | None
    end: float | None


def split_sentences(segments: list[dict[str, Any]]) -> list[Sentence]:
    """Sentences from transcript segments, each carrying its segment's time span."""
    sentences = []
    for seg in segments:
        for part in _SENTENCE_END.split(seg.get("text", "").strip()):
            part = part.strip()
            if len(part.split()) >= 3:
                sentences.append(Sentence(part, seg.get("start"), seg.get("end")))
    return sentences


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2]


def textrank(sentences: list[Sentence], damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """A score per sentence: PageRank over the TextRank similarity (shared words / log lengths)."""
    bags = [set(_words(s.text)) for s in sentences]
    n = len(sentences)
    if n == 0:
        return np.zeros(0)
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            shared = len(bags[i] & bags[j])
            if shared and len(bags[i]) > 1 and len(bags[j]) > 1:
                sim[i, j] = sim[j, i] = shared / (math.log(len(bags[i])) + math.log(len(bags[j])))
    out_weight = sim.sum(axis=1)
    out_weight[out_weight == 0] = 1.0
    transition = sim / out_weight[:, None]
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        scores = (1 - damping) / n + damping * transition.T @ scores
    # Ties (e.g. no overlap at all) go to sentences with more content words.
    return scores + 1e-6 * np.array([len(b) for b in bags])


def action_items(sentences: list[Sentence]) -> list[dict[str, Any]]:
    """Tasks with an owner ("Maria will send …") and a due date when one is stated."""
    items = []
    for sentence in sentences:
        for match in _ACTION.finditer(sentence.text):
            owner = match.group("owner")
            if owner in _NOT_OWNERS:
                continue
            collective = owner.lower() in ("we", "you")
            if collective and not (_ACTION_CUES.search(sentence.text) or "need" in match.group(0)):
                continue  # "we will review the budget" is the agenda, not a task
            task = match.group("task").strip()
            due_match = _DUE.search(sentence.text)
            if due_match and due_match.group(0) in task:
                task = task[: task.find(due_match.group(0))].strip()
            if len(task.split()) < 2:
                continue
            items.append({"task": task, "owner": None if collective else owner, "due": due_match.group(1) if due_match else None})
    return items


def _length(duration_s: float | None) -> str:
    if not duration_s:
        return "A recording"
    amount = f"{duration_s:.0f}-second" if duration_s < 90 else f"{duration_s / 60:.0f}-minute"
    article = "An" if amount[0] == "8" or amount.startswith(("11-", "18-")) else "A"
    return f"{article} {amount} recording"


def extractive_notes(segments: list[dict[str, Any]], duration_s: float | None = None) -> dict[str, Any]:
    """Notes following the notes schema, built from the transcript alone."""
    sentences = split_sentences(segments)
    if not sentences:
        text = " ".join(seg.get("text", "").strip() for seg in segments).strip() or "No speech was recognised."
        sentences = [Sentence(text, None, None)]
    scores = textrank(sentences)
    k = max(1, min(7, round(len(sentences) / 4) or 1))
    top = sorted(np.argsort(-scores)[:k])
    best = int(np.argmax(scores))
    summary_ids = sorted(np.argsort(-scores)[: min(3, len(sentences))])
    counts = Counter(w for s in sentences for w in _words(s.text))
    title_words = sentences[best].text.rstrip(".!?").split()
    title = " ".join(title_words[:10]) + ("…" if len(title_words) > 10 else "")
    summary = " ".join(sentences[i].text for i in summary_ids)
    return {
        "title": title,
        "summary": summary,
        "key_points": [{"text": sentences[i].text, "start": sentences[i].start, "end": sentences[i].end} for i in top],
        "decisions": [s.text for s in sentences if _DECISION.search(s.text)],
        "action_items": action_items(sentences),
        "topics": [word for word, _ in counts.most_common(5)],
        "questions": [s.text for s in sentences if s.text.endswith("?")],
        "diary": f"{_length(duration_s)}. {sentences[best].text}",
    }
