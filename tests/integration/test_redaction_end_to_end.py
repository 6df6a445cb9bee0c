"""Redaction through the API on the local stack: real speech with personal data (espeak-ng), the real
transcription job with Presidio, the notes step against the loopback OpenAI-protocol server, and the
redacted audio checked sample by sample."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile

from mixscribe.config import Settings
from tests.integration.test_api import new_client, upload_via_api, wait_for
from tests.support.voices import RATE, synthesize

pytestmark = pytest.mark.integration

SENTENCES = (
    "Hello, my name is John Smith.",
    "You can call me at 555 234 5678.",
    "My email is john.smith@yahoo.com.",  # tiny.en heard example.com as "mithatemple.com" on some CPUs
    "The meeting starts at three and the budget is twelve thousand dollars.",
)
# where each finding sits in what Whisper heard (the kept original): its words must not survive
SAID = {"PERSON": "name is", "PHONE_NUMBER": "call me at", "EMAIL_ADDRESS": "email is"}


def leaks_of(original: dict) -> set[str]:
    """The words (and their alphanumeric runs of 3+) of each finding in the original transcript."""
    leaks: set[str] = set()
    for lead in SAID.values():
        found = re.search(rf"{lead} (.+?)(?:\.\s|\.?$)", original["text"])
        if found:
            leaks |= {run for run in re.findall(r"[A-Za-z0-9]{3,}", found.group(1)) if run.lower() not in ("dot", "com")}
    return leaks


def speech(path: Path) -> np.ndarray:
    """The sentences by one voice, half a second apart, written as 16-bit WAV; the samples as written."""
    gap = np.zeros(RATE // 2, np.float32)
    samples = np.concatenate([gap, *(np.concatenate([0.5 * synthesize("bob", s), gap]) for s in SENTENCES)])
    soundfile.write(str(path), samples, RATE, subtype="PCM_16")
    return soundfile.read(str(path), dtype="int16")[0]


def test_a_redacted_job_leaks_no_finding_into_outputs_notes_llm_or_audio(stack, llm_server, tmp_path: Path):
    source = speech(tmp_path / "call.wav")
    client = new_client(stack)
    options = {"redact": "pii", "redact_audio": True, "keep_original": True, "notes": True}
    upload = upload_via_api(client, tmp_path / "call.wav", "audio/wav", options)
    job = wait_for(client, upload["job_id"], timeout_s=240)
    assert job["status"] == "done", job
    assert job["options"]["redact"][:3] == ["PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS"]
    assert {"original_json", "original_srt", "original_vtt", "original_txt", "audio_redacted"} <= set(job["outputs"])
    job_id = job["id"]

    # the owner kept the original, apart and on request only
    original = client.call("GET", f"/v1/jobs/{job_id}/transcript?format=json&original=true").json()
    assert "redaction" not in original["options"]
    leaks = leaks_of(original)
    assert len(leaks) >= 4, original["text"]  # a name, the number's groups, the address' parts
    original_txt = client.call("GET", f"/v1/jobs/{job_id}/transcript?format=txt&original=true").text
    assert original_txt.split() == original["text"].split()  # every format of the original, rendered alike

    transcript = client.call("GET", f"/v1/jobs/{job_id}/transcript").json()
    findings = transcript["options"]["redaction"]["findings"]
    assert all(findings.get(entity, 0) >= 1 for entity in SAID), (findings, original["text"])
    texts = {fmt: client.call("GET", f"/v1/jobs/{job_id}/transcript?format={fmt}").text for fmt in ("json", "srt", "vtt", "txt")}
    texts["notes_json"] = client.call("GET", f"/v1/jobs/{job_id}/notes?format=json").text
    texts["notes_md"] = client.call("GET", f"/v1/jobs/{job_id}/notes?format=md").text
    for name, text in texts.items():
        assert not [leak for leak in leaks if leak in text], (name, text)
    assert "[PHONE_NUMBER]" in texts["txt"] and "[EMAIL_ADDRESS]" in texts["srt"] and "budget" in texts["vtt"]
    # the LLM got the redacted text only (the loopback server records every request)
    sent = "\n".join(m["content"] for r in llm_server.requests for m in r["messages"] if "budget" in m["content"])
    assert "[PHONE_NUMBER]" in sent and not [leak for leak in leaks if leak in sent]

    # the audio: bleeped exactly over the findings' words (plus the margin), every other sample as uploaded
    signed = client.call("GET", f"/v1/jobs/{job_id}/audio").json()
    assert signed["redacted"] is True
    redacted, rate = soundfile.read(io.BytesIO(requests.get(signed["url"], timeout=30).content), dtype="int16")
    assert rate == RATE and redacted.shape == source.shape
    margin = Settings.from_env(stack.env).redaction_margin_s
    tagged = [w for seg in transcript["segments"] for w in seg["words"] if w["word"].strip().startswith("[")]
    assert len(tagged) >= 3
    inside = np.zeros(source.shape[0], bool)
    for word in tagged:
        a, b = round(max(0.0, word["start"] - margin) * RATE), round((word["end"] + margin) * RATE)
        inside[a:b] = True
        assert np.abs(redacted[a:b]).max() > 0.2 * 32767  # the tone
    assert np.array_equal(redacted[~inside], source[~inside])
    assert not np.array_equal(redacted[inside], source[inside])


def test_bad_redaction_options_are_refused_by_the_api(stack, tmp_path: Path):
    client = new_client(stack)
    body = {"filename": "a.wav", "content_type": "audio/wav", "size": 1000}
    for options in ({"redact": "pii,cats"}, {"redact_audio": True}, {"redact": 3}):
        response = client.call("POST", "/v1/uploads", json={**body, "options": options}, check=False)
        assert response.status_code == 400, (options, response.text)
