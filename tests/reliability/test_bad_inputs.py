"""A corpus of bad uploads, generated here, in one burst with good ones: every bad one ends
``failed`` with its stable code, the trigger never crash-loops, its memory stays bounded, and the
good uploads complete."""

from __future__ import annotations

import io
import struct
import subprocess
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import SAMPLE, write_wav

from .conftest import MAX_DURATION_S, MAX_UPLOAD_BYTES
from .helpers import rss_mb, stack_processes, wait_all


@dataclass(frozen=True)
class Case:
    kind: str
    filename: str  # the last part of the object name
    body: bytes
    expected: str  # error code, or "done" for a strange but valid input
    content_type: str | None = None
    metadata: dict | None = None


def wav_header(rate: int, channels: int, data_bytes: int, bits: int = 16) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block & 0xFFFFFFFF, block & 0xFFFF, bits)
    return (
        b"RIFF"
        + struct.pack("<I", (36 + data_bytes) & 0xFFFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes & 0xFFFFFFFF)
    )


def flac_claiming(flac: bytes, hours: int) -> bytes:
    """``flac`` with its STREAMINFO total-samples field rewritten to claim ``hours`` of audio."""
    body = bytearray(flac)
    packed = int.from_bytes(body[18:26], "big")  # rate (20 bits), channels, depth, total samples (36 bits)
    rate = packed >> 44
    body[18:26] = ((packed >> 36 << 36) | rate * 3600 * hours).to_bytes(8, "big")
    return bytes(body)


def ffmpeg_bytes(tmp: Path, name: str, *args: str) -> bytes:
    out = tmp / name
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args, str(out)], check=True)
    return out.read_bytes()


def corpus(tmp: Path) -> list[Case]:
    flac = SAMPLE.read_bytes()
    mp3 = ffmpeg_bytes(tmp, "s.mp3", "-i", str(SAMPLE), "-c:a", "libmp3lame")
    wav = ffmpeg_bytes(tmp, "s.wav", "-i", str(SAMPLE))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("meeting.txt", "not audio")
    eight = write_wav(
        tmp / "eight.wav", np.tile(np.frombuffer(wav[44:], "<i2")[: 16000 * 3, None] / 32768.0, (1, 8)), 16000
    ).read_bytes()
    silence = ffmpeg_bytes(
        tmp, "silence.flac", "-f", "lavfi", "-i", f"anullsrc=r=8000:cl=mono:d={MAX_DURATION_S + 600}", "-c:a", "flac"
    )
    return [
        Case("empty file", "empty.wav", b"", "empty_audio"),
        Case("one byte", "one.flac", b"\x00", "unsupported_format"),
        Case("truncated FLAC header", "truncated.flac", flac[:20], "corrupt_audio"),
        Case("truncated MP3", "truncated.mp3", mp3[:300], "corrupt_audio"),
        Case("truncated WAV header", "truncated.wav", wav[:30], "corrupt_audio"),
        Case("WAV header, no samples", "nosamples.wav", wav_header(16000, 1, 0), "empty_audio"),
        Case("WAV absurd sample rate", "rate.wav", wav_header(4_000_000_000, 1, 32000) + wav[44 : 44 + 32000], "corrupt_audio"),
        Case("WAV absurd channel count", "channels.wav", wav_header(16000, 65535, 32000) + wav[44 : 44 + 32000], "corrupt_audio"),
        Case("tiny file claiming hours", "claims.flac", flac_claiming(flac, hours=10), "too_long"),
        Case("text named .wav", "text.wav", b"this is a text file named like audio\n" * 40, "unsupported_format"),
        Case("HTML named .mp3", "page.mp3", b"<!doctype html><html><body>login</body></html>", "unsupported_format"),
        Case(
            "PDF named .m4a",
            "paper.m4a",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
            "unsupported_format",
        ),
        Case("zip named .ogg", "archive.ogg", zipped.getvalue(), "unsupported_format"),
        Case(
            "video without audio",
            "video.mp4",
            ffmpeg_bytes(tmp, "v.mp4", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", "-c:v", "mpeg4"),
            "no_audio_stream",
        ),
        Case("long silence over the limit", "silence.flac", silence, "too_long"),
        Case("executable extension", "clip.wav.exe", flac, "unsupported_format"),
        Case("no extension", "noextension", flac, "unsupported_format"),
        Case("path traversal name", "../../escape.flac", flac, "invalid_object_name"),
        Case("unicode bidi override name", "evil\u202egalf.flac", flac, "invalid_object_name"),
        Case("unicode not NFC name", "cafe\u0301.flac", flac, "invalid_object_name"),
        Case("oversize", "huge.wav", wav_header(16000, 1, MAX_UPLOAD_BYTES) + bytes(MAX_UPLOAD_BYTES), "file_too_large"),
        Case("wrong content type", "typed.flac", flac, "unsupported_content_type", content_type="text/html"),
        Case("option: unknown model", "model.flac", flac, "invalid_option", metadata={"model": "large-v9"}),
        Case("option: language for an English model", "lang.flac", flac, "invalid_option", metadata={"language": "de"}),
        Case("option: notes not a boolean", "notes.flac", flac, "invalid_option", metadata={"notes": "maybe"}),
        Case(
            "option: webhook with credentials",
            "hook.flac",
            flac,
            "invalid_option",
            metadata={"webhook": "https://u:p@example.com/x"},
        ),
        Case("8 channels", "eight.wav", eight, "done"),
        Case("unicode name (valid)", "réunion-会議.flac", flac, "done"),
    ]


def test_bad_input_corpus_ends_with_stable_codes(rstack, tmp_path, short_clip, report):
    cases = corpus(tmp_path)
    assert len([c for c in cases if c.expected != "done"]) >= 20
    function_pid = stack_processes(rstack.env, service="K_SERVICE=on_upload")
    assert function_pid, "the trigger function's process was not found"
    rss_before = sum(rss_mb(p) for p in function_pid)
    prefix = f"users/bad-{uuid.uuid4().hex[:6]}"

    def upload(item):
        name, body, content_type, metadata = item
        blob = rstack.uploads.blob(name)
        blob.metadata = metadata
        blob.upload_from_string(body, content_type=content_type or "application/octet-stream", if_generation_match=0)
        from mixscribe.jobs import job_id_for

        return job_id_for(blob.bucket.name, blob.name, blob.generation)

    items = [(f"{prefix}/{c.filename}", c.body, c.content_type or _content_type(c.filename), c.metadata) for c in cases]
    items += [(f"{prefix}/good-{i}.flac", short_clip.read_bytes(), "audio/flac", None) for i in range(4)]
    with ThreadPoolExecutor(12) as pool:
        job_ids = list(pool.map(upload, items))
    docs = wait_all(rstack, job_ids, timeout_s=240, labels={j: item[0] for j, item in zip(job_ids, items)})
    table = {}
    for case, job_id in zip(cases, job_ids):
        doc = docs[job_id]
        table[case.kind] = doc["error"]["code"] if doc["status"] == "failed" else doc["status"]
    good = [docs[j]["status"] for j in job_ids[len(cases) :]]
    rss_after = sum(rss_mb(p) for p in function_pid)
    report["bad_inputs"] = {"table": table, "function_rss_mb": [round(rss_before), round(rss_after)], "good_uploads": good}
    assert table == {c.kind: c.expected for c in cases}
    assert good == ["done"] * 4
    assert all(docs[j]["error"]["message"] for j, c in zip(job_ids, cases) if c.expected != "done")
    assert stack_processes(rstack.env, service="K_SERVICE=on_upload") == function_pid  # never restarted
    assert rss_after - rss_before < 150, (rss_before, rss_after)


def _content_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1] if "." in filename else ""
    return {
        "wav": "audio/wav",
        "flac": "audio/flac",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
        "ogg": "audio/ogg",
        "mp4": "video/mp4",
    }.get(ext, "application/octet-stream")
