"""Custom vocabulary: the share of rare names and terms transcribed right, without and with the job
options ``prompt`` (Whisper's initial prompt) and ``hotwords``, and with an owner's glossary, on
espeak-ng speech (tiny.en, the pipeline's engine, as a job runs it).

A term counts when it appears in the transcript as a whole word, spelled as in the glossary (case
included). The prompt is ``Glossary: term, term, ….``; hotwords the terms, comma-separated. The
glossary is measured twice: its terms alone, and its terms with the spellings a team would have
collected — what tiny.en, decoding with the glossary's terms, wrote for a term when another voice ("cal")
said the same sentences, found by aligning that transcript with the sentence; like a team, the bench
keeps the capitalised inventions (names the model made up), not ordinary lower-case words. The
measured voice ("bob") is never used to collect them.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
from typing import Any

import numpy as np

from mixscribe.glossary import GlossaryTerm, InvalidGlossary, parse_glossary
from mixscribe.jobs import JobOptions
from tests.support.voices import RATE, synthesize

from .models import load_engines

SENTENCES = (
    ("Please ask Siobhan to restart the Kubernetes cluster tonight.", ("Siobhan", "Kubernetes")),
    ("Xiomara moved the Grafana dashboards to the new server.", ("Xiomara", "Grafana")),
    ("Our Terraform plan failed because of the Kafka topic.", ("Terraform", "Kafka")),
    ("Tell Nguyen that the PostgreSQL upgrade is done.", ("Nguyen", "PostgreSQL")),
    ("Aoife reviewed the Istio configuration with Oyelaran.", ("Aoife", "Istio", "Oyelaran")),
    ("The Zanzibar office uses Jira and Confluence.", ("Zanzibar", "Jira", "Confluence")),
    ("Dagny wrote the Ansible playbook for the Nginx proxy.", ("Dagny", "Ansible", "Nginx")),
)
TERMS = tuple(term for _, terms in SENTENCES for term in terms)
MODES = {  # mode → (prompt, hotwords)
    "none": ("", ""),
    "prompt": ("Glossary: " + ", ".join(TERMS) + ".", ""),
    "hotwords": ("", ", ".join(TERMS)),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text)


def collected_spellings(transcripts: list[str]) -> dict[str, list[str]]:
    """Term → what the model wrote in its place, from transcripts of the sentences aligned word by word."""
    found: dict[str, list[str]] = {}
    for (sentence, terms), heard in zip(SENTENCES, transcripts, strict=True):
        said, got = _words(sentence), _words(heard)
        matcher = difflib.SequenceMatcher(a=[w.casefold() for w in said], b=[w.casefold() for w in got], autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag != "replace" or b1 - b0 > 3:
                continue
            written = " ".join(got[b0:b1])
            for term in terms:
                if term in said[a0:a1] and written.casefold() != term.casefold() and written[:1].isupper():
                    found.setdefault(term, []).append(written)
    return found


def glossary_of(spellings: dict[str, list[str]]) -> tuple[GlossaryTerm, ...]:
    """The bench's glossary, as PUT /v1/glossary would store it (a spelling that is another term is dropped)."""
    terms = set(TERMS)
    entries = [{"term": t, "spellings": [s for s in spellings.get(t, [])[:5] if s not in terms]} for t in TERMS]
    try:
        return parse_glossary(entries)
    except InvalidGlossary as exc:
        raise SystemExit(f"the bench's glossary is refused: {exc}") from exc


def evaluate(voice: str = "bob", calibration_voice: str = "cal") -> dict[str, Any]:
    settings, _, engine, _ = load_engines()
    gap = np.zeros(RATE // 2, np.float32)
    clips = [np.concatenate([gap, 0.5 * synthesize(voice, text), gap]) for text, _ in SENTENCES]
    plain = JobOptions(model="tiny.en", language="en")
    engine.transcribe("warm-up", clips[0], plain, settings.beam_size)
    terms_only = JobOptions(model="tiny.en", language="en", glossary=tuple(GlossaryTerm(t) for t in TERMS))
    calibration = []
    for text, _ in SENTENCES:
        clip = np.concatenate([gap, 0.5 * synthesize(calibration_voice, text), gap])
        calibration.append(engine.transcribe("calibration", clip, terms_only, settings.beam_size)[0].text)
    glossary = glossary_of(collected_spellings(calibration))
    runs = {mode: JobOptions(model="tiny.en", language="en", prompt=p, hotwords=h) for mode, (p, h) in MODES.items()}
    runs["glossary terms"] = terms_only
    runs["glossary"] = JobOptions(model="tiny.en", language="en", glossary=glossary)
    results: dict[str, Any] = {}
    for mode, options in runs.items():
        right, seconds, missed = 0, 0.0, []
        for clip, (_, terms) in zip(clips, SENTENCES, strict=True):
            started = time.perf_counter()
            transcript, _ = engine.transcribe("vocabulary", clip, options, settings.beam_size)
            seconds += time.perf_counter() - started
            found = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", transcript.text)]
            right += len(found)
            missed += [t for t in terms if t not in found]
        results[mode] = {"right": right, "share": round(right / len(TERMS), 3), "seconds": round(seconds, 2), "missed": missed}
    collected = sum(len(t.spellings) for t in glossary)
    return {
        "terms": len(TERMS),
        "sentences": len(SENTENCES),
        "voice": voice,
        "calibration_voice": calibration_voice,
        "spellings": collected,
        "glossary": [t.to_dict() for t in glossary if t.spellings],
        "modes": results,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voice", default="bob")
    args = parser.parse_args(argv)
    result = evaluate(args.voice)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
