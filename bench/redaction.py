"""Redaction on a labelled corpus (``tests/support/pii_corpus.py``): precision and recall per entity type.

Each sample's words go through what a redacted job runs (spoken forms written out, the engine, overlaps
resolved: ``word_findings`` and ``word_owners``). A labelled entity is recalled when every one of its
words is redacted as its type, and leak-free when every word is redacted as any type (what a reader
of the output cares about). A finding is correct when it overlaps a labelled entity of its type.
Also timed: the engine's load and its throughput in words per second.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

from mixscribe.redaction.apply import word_findings, word_owners
from mixscribe.redaction.engines import PresidioEngine
from mixscribe.redaction.entities import DEFAULT
from tests.support.pii_corpus import corpus


def evaluate(per_template: int = 10) -> dict[str, Any]:
    started = time.perf_counter()
    engine = PresidioEngine()
    load_s = time.perf_counter() - started
    samples = corpus(per_template=per_template)
    found_ok, found_all, recalled, leak_free, labelled = (
        Counter[str](),
        Counter[str](),
        Counter[str](),
        Counter[str](),
        Counter[str](),
    )
    words = 0
    started = time.perf_counter()
    for sample in samples:
        words += len(sample.words)
        spans = word_findings(list(sample.words), engine, DEFAULT)
        owners = word_owners(len(sample.words), spans)
        entity_of = [spans[o][2].entity if o is not None else None for o in owners]
        for entity, first, last in sample.labels:
            labelled[entity] += 1
            covered = entity_of[first : last + 1]
            recalled[entity] += all(e == entity for e in covered)
            leak_free[entity] += all(e is not None for e in covered)
        for owner in sorted({o for o in owners if o is not None}):
            first, last, finding = spans[owner]
            found_all[finding.entity] += 1
            found_ok[finding.entity] += any(
                entity == finding.entity and first <= b and a <= last for entity, a, b in sample.labels
            )
    analyse_s = time.perf_counter() - started
    per_type = {
        entity: {
            "labelled": labelled[entity],
            "found": found_all[entity],
            "precision": round(found_ok[entity] / found_all[entity], 3) if found_all[entity] else None,
            "recall": round(recalled[entity] / labelled[entity], 3) if labelled[entity] else None,
            "leak_free": round(leak_free[entity] / labelled[entity], 3) if labelled[entity] else None,
        }
        for entity in DEFAULT
    }
    false_on_clean = sum(found_all.values()) - sum(found_ok.values())
    return {
        "samples": len(samples),
        "words": words,
        "entities": sum(labelled.values()),
        "per_type": per_type,
        "false_findings": false_on_clean,
        "load_s": round(load_s, 2),
        "words_per_s": round(words / analyse_s),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-template", type=int, default=10)
    args = parser.parse_args(argv)
    result = evaluate(args.per_template)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
