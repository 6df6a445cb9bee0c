"""Custom vocabulary through the API on the local stack: a job's ``prompt`` or ``hotwords`` make the real
job spell rare names and terms it gets wrong without them (espeak-ng speech, tiny.en)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.integration.test_api import new_client, upload_via_api, wait_for
from tests.support.voices import RATE, synthesize

pytestmark = pytest.mark.integration
TERMS = ("Siobhan", "Kubernetes", "Grafana")


def test_a_prompt_or_hotwords_teach_the_job_rare_terms(stack, tmp_path: Path):
    gap = np.zeros(RATE // 2, np.float32)
    sentences = ("Please ask Siobhan to restart the Kubernetes cluster tonight.", "Then check the Grafana dashboard.")
    samples = np.concatenate([gap, *(np.concatenate([0.5 * synthesize("bob", s), gap]) for s in sentences)])
    path = tmp_path / "terms.wav"
    soundfile.write(str(path), samples, RATE, subtype="PCM_16")
    client = new_client(stack)
    texts = {}
    runs: dict[str, dict[str, object]] = {
        "plain": {"notes": False},
        "prompt": {"notes": False, "prompt": "Glossary: Siobhan, Kubernetes, Grafana."},
        "hotwords": {"notes": False, "hotwords": "Siobhan, Kubernetes, Grafana"},
    }
    for name, options in runs.items():
        job = wait_for(client, upload_via_api(client, path, "audio/wav", options)["job_id"])
        assert job["status"] == "done", job
        transcript = client.call("GET", f"/v1/jobs/{job['id']}/transcript").json()
        assert transcript["options"]["job_options"].get("prompt", "") == options.get("prompt", "")
        texts[name] = transcript["text"]
    assert sum(term in texts["plain"] for term in TERMS) <= 1, texts["plain"]  # what tiny.en hears on its own
    assert all(term in texts["prompt"] for term in TERMS), texts["prompt"]
    assert sum(term in texts["hotwords"] for term in TERMS) >= 2, texts["hotwords"]


def test_the_owners_glossary_reaches_every_new_job(stack, audio_dir: Path):
    client = new_client(stack)
    assert client.call("GET", "/v1/glossary").json() == {"terms": []}
    glossary = {"terms": [{"term": "Mariah", "spellings": ["Maria"]}, {"term": "budget review", "spellings": ["the budget"]}]}
    stored = client.call("PUT", "/v1/glossary", json=glossary)
    assert stored.status_code == 200 and stored.json()["terms"][0] == {"term": "Mariah", "spellings": ["Maria"]}
    job = wait_for(client, upload_via_api(client, audio_dir / "speech.wav", "audio/wav", {"notes": False})["job_id"])
    assert job["status"] == "done" and [t["term"] for t in job["options"]["glossary"]] == ["Mariah", "budget review"]
    transcript = client.call("GET", f"/v1/jobs/{job['id']}/transcript").json()
    text = transcript["text"]
    assert "Mariah will send" in text and "budget review" in text and "the budget" not in text, text
    assert any(w["word"].strip() == "Mariah" for s in transcript["segments"] for w in s["words"])
    srt = client.call("GET", f"/v1/jobs/{job['id']}/transcript?format=srt").text
    assert "Mariah" in srt and "Maria " not in srt

    assert client.call("PUT", "/v1/glossary", json={"terms": []}).json() == {"terms": []}
    plain = wait_for(client, upload_via_api(client, audio_dir / "speech.wav", "audio/wav", {"notes": False})["job_id"])
    assert plain["options"]["glossary"] == []
    assert "Maria will send" in client.call("GET", f"/v1/jobs/{plain['id']}/transcript").json()["text"]
    for bad in ({"terms": [{"term": ""}]}, {"terms": [{"term": "a"}, {"term": "A"}]}, {"terms": "Kafka"}, {}):
        refused = client.call("PUT", "/v1/glossary", json=bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_request", bad
