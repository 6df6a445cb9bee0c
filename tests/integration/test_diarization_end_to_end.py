"""Speaker diarization through the API on the local stack: mono files of espeak-ng voices with known
turns (tests/support/voices.py), the real transcription job, the notes step and speaker renames."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from tests.integration.test_api import new_client, upload_via_api, wait_for
from tests.support.voices import Reference, conversation

pytestmark = pytest.mark.integration


def written(reference: Reference, folder: Path) -> Path:
    path = folder / f"{reference.name}.wav"
    soundfile.write(str(path), reference.samples, 16000, subtype="PCM_16")
    return path


def speakers_of_turns(transcript: dict, reference: Reference) -> list[set[str]]:
    """For each reference turn, the speakers of the words whose middle lies inside it (edges trimmed)."""
    words = [w for seg in transcript["segments"] for w in seg["words"]]
    found = []
    for start, end, _ in reference.turns:
        inside = {w["speaker"] for w in words if start + 0.15 <= (w["start"] + w["end"]) / 2 <= end - 0.15}
        found.append(inside)
    return found


def test_two_voices_come_back_as_two_speakers_in_every_output_and_can_be_renamed(stack, llm_server, tmp_path: Path):
    reference = conversation("api-two", ["ava", "cal"], 6, 2)
    client = new_client(stack)
    upload = upload_via_api(client, written(reference, tmp_path), "audio/wav", {"diarize": True, "notes": True})
    job = wait_for(client, upload["job_id"])
    assert job["status"] == "done", job
    transcript = client.call("GET", f"/v1/jobs/{job['id']}/transcript").json()

    assert [s["id"] for s in transcript["speakers"]] == ["S1", "S2"]
    per_turn = speakers_of_turns(transcript, reference)
    assert all(len(found) == 1 for found in per_turn), per_turn  # every turn under one speaker
    owner: dict[str, str] = {}
    for found, (_, _, voice) in zip(per_turn, reference.turns, strict=True):
        assert owner.setdefault(voice, next(iter(found))) == next(iter(found))  # the same label each time
    assert sorted(owner.values()) == ["S1", "S2"] and owner[reference.turns[0][2]] == "S1"  # by first appearance
    assert all(w["speaker"] == seg["speaker"] for seg in transcript["segments"] for w in seg["words"])
    assert sum(s["share"] for s in transcript["speakers"]) == pytest.approx(1.0, abs=1e-3)
    assert sum(s["words"] for s in transcript["speakers"]) == sum(len(seg["words"]) for seg in transcript["segments"])
    record = transcript["options"]["diarization"]
    assert record["windows"] > 10 and "centroids" not in record

    srt = client.call("GET", f"/v1/jobs/{job['id']}/transcript?format=srt").text
    assert "S1: " in srt and "S2: " in srt
    # the notes step got the speaker-labelled text (the loopback LLM records what it was sent)
    opening = transcript["segments"][0]["text"][:24]
    sent = [m["content"] for r in llm_server.requests for m in r["messages"] if opening in m["content"]]
    assert sent and f"S1: {opening}" in sent[-1] and "S2: " in sent[-1]

    renamed = client.call("PATCH", f"/v1/jobs/{job['id']}/speakers", json={"S1": "Ava", "S2": "Cal"})
    assert renamed.status_code == 200, renamed.text
    assert [(s["id"], s["label"]) for s in renamed.json()["speakers"]] == [("S1", "Ava"), ("S2", "Cal")]
    for fmt in ("txt", "srt", "vtt"):
        text = client.call("GET", f"/v1/jobs/{job['id']}/transcript?format={fmt}").text
        assert "Ava: " in text and "Cal: " in text and "S1:" not in text and "S2:" not in text
    after = client.call("GET", f"/v1/jobs/{job['id']}/transcript").json()
    assert {w["speaker"] for seg in after["segments"] for w in seg["words"]} == {"Ava", "Cal"}
    notes = client.call("GET", f"/v1/jobs/{job['id']}/notes?format=md").text
    assert "S1" not in notes and "S2" not in notes

    for bad in ({"S3": "Nobody"}, {"S1": "Cal"}, {"S1": "a:b"}):
        refused = client.call("PATCH", f"/v1/jobs/{job['id']}/speakers", json=bad, check=False)
        assert refused.status_code == 400, (bad, refused.text)
    refused = client.call("PATCH", f"/v1/jobs/{job['id']}/speakers", json={"S1": 3}, check=False)
    assert refused.status_code == 400
    other = new_client(stack)
    assert other.call("PATCH", f"/v1/jobs/{job['id']}/speakers", json={"S1": "X"}, check=False).status_code == 404

    transcribed = [e for e in stack.drain_events() if e["type"] == "job.transcribed" and e["job_id"] == job["id"]]
    assert transcribed and transcribed[-1]["attributes"]["speakers"] == 2
    assert sum(transcribed[-1]["attributes"]["speaker_shares"]) == pytest.approx(1.0, abs=1e-3)


def test_one_voice_is_one_speaker_and_an_undiarized_job_has_none(stack, tmp_path: Path):
    reference = conversation("api-one", ["bob"], 4, 9)
    client = new_client(stack)
    path = written(reference, tmp_path)
    diarized = upload_via_api(client, path, "audio/wav", {"diarize": True, "notes": False})
    plain = upload_via_api(client, path, "audio/wav", {"notes": False})
    one = client.call("GET", f"/v1/jobs/{wait_for(client, diarized['job_id'])['id']}/transcript").json()
    assert [s["id"] for s in one["speakers"]] == ["S1"]
    assert {w["speaker"] for seg in one["segments"] for w in seg["words"]} == {"S1"}
    none = client.call("GET", f"/v1/jobs/{wait_for(client, plain['job_id'])['id']}/transcript").json()
    assert "speakers" not in none and all(seg["speaker"] is None for seg in none["segments"])
    assert all("speaker" not in w for seg in none["segments"] for w in seg["words"])
    assert "diarization" not in none["options"]


def test_invalid_speaker_options_are_refused(stack, tmp_path: Path):
    client = new_client(stack)
    body = {"filename": "a.wav", "content_type": "audio/wav", "size": 1000, "options": {"diarize": True, "speakers": 11}}
    assert client.call("POST", "/v1/uploads", json=body, check=False).status_code == 400
    body["options"] = {"speakers": 2}  # without diarize
    refused = client.call("POST", "/v1/uploads", json=body, check=False)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_option"
    path = written(conversation("bucket-bad", ["bob"], 1), tmp_path)
    _, job_id = stack.upload(
        path, f"bad-speakers-{tmp_path.name}.wav", "audio/wav", {"diarize": "true", "min_speakers": "3", "max_speakers": "2"}
    )
    job = stack.wait(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_option"
