"""Custom vocabulary: the share of rare names and terms transcribed right, without and with the job
options ``prompt`` (Whisper's initial prompt) and ``hotwords``, on espeak-ng speech (tiny.en, the
pipeline's engine, as a job runs it).

A term counts when it appears in the transcript as a whole word, spelled as in the glossary (case
included). The prompt is ``Glossary: term, term, ….``; hotwords the terms, comma-separated.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any

import numpy as np

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


def evaluate(voice: str = "bob") -> dict[str, Any]:
    settings, _, engine, _ = load_engines()
    gap = np.zeros(RATE // 2, np.float32)
    clips = [np.concatenate([gap, 0.5 * synthesize(voice, text), gap]) for text, _ in SENTENCES]
    engine.transcribe("warm-up", clips[0], JobOptions(model="tiny.en", language="en"), settings.beam_size)
    results: dict[str, Any] = {}
    for mode, (prompt, hotwords) in MODES.items():
        options = JobOptions(model="tiny.en", language="en", prompt=prompt, hotwords=hotwords)
        right, seconds, missed = 0, 0.0, []
        for clip, (_, terms) in zip(clips, SENTENCES, strict=True):
            started = time.perf_counter()
            transcript, _ = engine.transcribe("vocabulary", clip, options, settings.beam_size)
            seconds += time.perf_counter() - started
            found = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", transcript.text)]
            right += len(found)
            missed += [t for t in terms if t not in found]
        results[mode] = {"right": right, "share": round(right / len(TERMS), 3), "seconds": round(seconds, 2), "missed": missed}
    return {"terms": len(TERMS), "sentences": len(SENTENCES), "voice": voice, "modes": results}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voice", default="bob")
    args = parser.parse_args(argv)
    result = evaluate(args.voice)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
