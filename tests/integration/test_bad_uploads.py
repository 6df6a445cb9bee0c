"""Bad uploads end ``failed`` with their stable code; good uploads in the same burst complete."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import SAMPLE

BAD = [
    # (fixture file, object name, content type, metadata, expected code)
    ("corrupt.flac", "users/bob/corrupt.flac", "audio/flac", None, "corrupt_audio"),
    ("empty.wav", "users/bob/empty.wav", "audio/wav", None, "empty_audio"),
    ("text.wav", "users/bob/text.wav", "audio/wav", None, "unsupported_format"),
    ("text.wav", "users/bob/notes.txt", "text/plain", None, "unsupported_format"),
    ("page.mp3", "users/bob/page.mp3", "audio/mpeg", None, "unsupported_format"),
    ("speech.wav", "users/bob/speech-as-text.wav", "text/plain", None, "unsupported_content_type"),
    ("video_only.mp4", "users/bob/video_only.mp4", "video/mp4", None, "no_audio_stream"),
    ("speech.wav", "users/bob/big-model.wav", "audio/wav", {"model": "large-v9"}, "invalid_option"),
    ("speech.wav", "users/bob/../escape.wav", "audio/wav", None, "invalid_object_name"),
]


def test_bad_uploads_fail_with_codes_and_good_ones_complete(stack, audio_dir):
    stack.drain_events(wait_s=0.2)
    uploads: list[tuple] = [(audio_dir / f, name, ctype, meta) for f, name, ctype, meta, _ in BAD]
    uploads.append((SAMPLE, "users/bob/good.flac", None, {"notes": "false"}))
    uploads.append((audio_dir / "speech.m4a", "users/bob/good.m4a", None, None))
    with ThreadPoolExecutor(8) as pool:
        job_ids = list(pool.map(lambda u: stack.upload(*u)[1], uploads))
    codes = {}
    for (_, name, _, _, _expected), job_id in zip(BAD, job_ids):
        doc = stack.wait(job_id, ("failed",), timeout_s=60)
        codes[name] = doc["error"]["code"]
        assert doc["error"]["message"]
    assert codes == {name: expected for _, name, _, _, expected in BAD}
    good_notes_off = stack.wait(job_ids[-2], ("done", "failed"))
    assert good_notes_off["status"] == "done", good_notes_off.get("error")
    good_m4a = stack.wait(job_ids[-1])
    assert good_m4a["status"] == "done" and good_m4a["probe"]["codec"] == "aac"
    assert "notes" not in good_notes_off and "notes_json" not in good_notes_off["outputs"]
    events = stack.drain_events()
    rejected = {e["job_id"]: e["attributes"]["code"] for e in events if e["type"] == "upload.rejected"}
    assert sorted(rejected.values()) == sorted(codes.values())
    completed = sorted(e["job_id"] for e in events if e["type"] == "job.completed")
    assert completed == sorted(job_ids[-2:])
    notes_ready = [e["job_id"] for e in events if e["type"] == "job.notes_ready"]
    assert notes_ready == [job_ids[-1]]  # notes=false skipped the notes step
