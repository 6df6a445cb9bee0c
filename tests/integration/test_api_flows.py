"""Whole flows through the API on the local stack: signed uploads, imports, deletion, webhooks."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from mixscribe.webhooks import SIGNATURE_HEADER, verify
from tests.integration.test_api import new_client, upload_via_api, wait_for

pytestmark = pytest.mark.integration


class LoopbackServer:
    """Serves one file at ``/<name>`` and records POSTs; answers POSTs with ``post_status``."""

    def __init__(self, files: dict[str, tuple[bytes, str]] | None = None, post_status: int = 200) -> None:
        self.files = files or {}
        self.post_status = post_status
        self.posts: list[tuple[dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                return

            def do_GET(self):
                body, content_type = owner.files.get(self.path.lstrip("/"), (b"", ""))
                self.send_response(200 if content_type else 404)
                self.send_header("Content-Type", content_type or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                owner.posts.append((dict(self.headers.items()), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(owner.post_status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_webhook(stack, job_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = (stack.job(job_id) or {}).get("webhook")
        if record:
            return record
        time.sleep(0.3)
    raise AssertionError(f"no webhook outcome recorded for {job_id}")


def test_signed_upload_to_transcript_then_delete(stack, audio_dir: Path):
    client = new_client(stack)
    upload = upload_via_api(client, audio_dir / "first_sentence.flac", "audio/flac", {"notes": False})
    job = wait_for(client, upload["job_id"])
    assert job["status"] == "done" and job["language"] == "en" and job["duration_s"] > 2
    srt = client.call("GET", f"/v1/jobs/{job['id']}/transcript?format=srt&download=true")
    assert srt.status_code == 200 and "-->" in srt.text
    assert srt.headers["Content-Disposition"].startswith("attachment")
    link = client.call("GET", f"/v1/jobs/{job['id']}/transcript?format=txt&delivery=url").json()
    assert "welcome" in requests.get(link["url"], timeout=10).text.lower()
    audio = client.call("GET", f"/v1/jobs/{job['id']}/audio").json()
    assert requests.get(audio["url"], headers={"Range": "bytes=0-3"}, timeout=10).content == b"fLaC"

    assert client.call("DELETE", f"/v1/jobs/{job['id']}").status_code == 204
    assert client.call("DELETE", f"/v1/jobs/{job['id']}").status_code == 204  # idempotent for its owner
    assert new_client(stack).call("DELETE", f"/v1/jobs/{job['id']}").status_code == 404
    assert client.call("GET", f"/v1/jobs/{job['id']}").status_code == 404
    assert list(stack.results.list_blobs(prefix=f"jobs/{job['id']}/")) == []
    assert stack.uploads.get_blob(upload["object"].split("/", 3)[3]) is None


def test_a_signed_upload_writes_only_its_object_within_its_size_once(stack, audio_dir: Path):
    client = new_client(stack)
    path = audio_dir / "first_sentence.flac"
    body = {"filename": "small.flac", "content_type": "audio/flac", "size": 100}
    upload = client.call("POST", "/v1/uploads", json=body).json()["upload"]
    start = requests.post(upload["url"], headers=upload["headers"], timeout=10)
    too_big = requests.put(start.headers["Location"], data=path.read_bytes(), timeout=10)
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    elsewhere = upload["url"].replace(f"users/{client.uid}/", "users/victim/")
    assert requests.post(elsewhere, headers=upload["headers"], timeout=10).status_code == 403
    widened = {**upload["headers"], "x-goog-content-length-range": "0,999999999"}
    assert requests.post(upload["url"], headers=widened, timeout=10).status_code == 403

    done = upload_via_api(client, audio_dir / "second_sentence.flac", "audio/flac", {"notes": False})
    signed = client.call("POST", "/v1/uploads", json={"filename": "x.flac", "content_type": "audio/flac", "size": 10}).json()
    assert signed["job_id"] != done["job_id"]
    wait_for(client, done["job_id"])


def test_imports_from_a_url_and_from_the_callers_own_object(stack, audio_dir: Path):
    client = new_client(stack)
    flac = (audio_dir / "second_sentence.flac").read_bytes()
    with LoopbackServer({"talk.flac": (flac, "audio/flac"), "page.html": (b"<html></html>", "text/html")}) as server:
        accepted = client.call("POST", "/v1/jobs", json={"source": f"{server.url}/talk.flac", "options": {"notes": False}})
        assert accepted.status_code == 202, accepted.text
        html = client.call("POST", "/v1/jobs", json={"source": f"{server.url}/page.html"})
        assert html.status_code == 400 and html.json()["error"]["code"] == "unsupported_content_type"
        missing = client.call("POST", "/v1/jobs", json={"source": f"{server.url}/nothing.flac"})
        assert missing.status_code == 400 and missing.json()["error"]["code"] == "source_unreachable"
    job = wait_for(client, accepted.json()["job_id"])
    assert job["status"] == "done" and job["source"]["name"] == "talk.flac"

    for refused in ("http://169.254.169.254/computeMetadata/v1/", "https://10.0.0.1/a.flac", "ftp://example.com/a.flac"):
        response = client.call("POST", "/v1/jobs", json={"source": refused})
        assert response.status_code == 400, refused

    own = accepted.json()["object"]
    again = client.call("POST", "/v1/jobs", json={"source": own, "options": {"notes": False, "priority": "batch"}})
    assert again.status_code == 202 and again.json()["job_id"] != job["id"]
    assert wait_for(client, again.json()["job_id"])["options"]["priority"] == "batch"
    assert new_client(stack).call("POST", "/v1/jobs", json={"source": own}).status_code == 404


def test_webhooks_are_signed_and_failures_are_recorded(stack, audio_dir: Path):
    secret = Path(stack.env["MIXSCRIBE_WEBHOOK_SECRET_FILE"]).read_text().strip().encode()
    client = new_client(stack)
    with LoopbackServer() as good, LoopbackServer(post_status=500) as bad:
        ok = upload_via_api(
            client, audio_dir / "first_sentence.flac", "audio/flac", {"notes": False, "webhook": f"{good.url}/hook?token=abc"}
        )
        failing = upload_via_api(client, audio_dir / "corrupt.flac", "audio/flac", {"webhook": f"{bad.url}/hook"})
        assert wait_for(client, ok["job_id"])["status"] == "done"
        assert wait_for(client, failing["job_id"])["status"] == "failed"
        delivered, failed = wait_webhook(stack, ok["job_id"]), wait_webhook(stack, failing["job_id"])
        assert delivered["state"] == "delivered" and delivered["attempts"] == 1
        assert failed["state"] == "failed" and failed["attempts"] == 3 and failed["last_status"] == 500
        assert len(bad.posts) == 3
        ((headers, body),) = good.posts
        assert verify(secret, headers[SIGNATURE_HEADER], body)
        payload = json.loads(body)
        assert payload["job_id"] == ok["job_id"] and payload["type"] == "job.completed" and payload["status"] == "done"
        failed_payload = json.loads(bad.posts[0][1])
        assert failed_payload["type"] == "job.failed" and failed_payload["error"]["code"] == "corrupt_audio"
    view = client.call("GET", f"/v1/jobs/{ok['job_id']}").json()
    assert view["options"]["webhook"] == "127.0.0.1"  # the URL (and its token) never leaves Firestore
