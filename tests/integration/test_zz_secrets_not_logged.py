"""No secret reaches a log line: runs a job that uses every secret, then reads every log of the stack.

Named to run after the other integration tests, so their traffic is in the logs too; it does not
depend on them — the job below uses the LLM key (notes), the webhook signing key (a webhook), an
ID token and the URL-signing key (a signed upload and download) and an API key by itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.integration.test_api import new_client, upload_via_api, wait_for
from tests.integration.test_api_flows import LoopbackServer, wait_webhook

pytestmark = pytest.mark.integration


def pem_body_lines(pem: str) -> list[str]:
    """Distinctive lines of a PEM key (its base64 body)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")][:3]


def test_secrets_never_reach_the_logs(stack, audio_dir: Path):
    root = Path(stack.env["MIXSCRIBE_TELEMETRY_DIR"]).parent
    client = new_client(stack)
    token = client.token()
    with LoopbackServer() as receiver:
        upload = upload_via_api(
            client,
            audio_dir / "second_sentence.flac",
            "audio/flac",
            {"webhook": f"{receiver.url}/hook?token=hook-url-secret-123"},
        )
        job = wait_for(client, upload["job_id"])
        assert job["status"] == "done" and "notes_json" in job["outputs"]
        wait_webhook(stack, upload["job_id"])
        link = client.call("GET", f"/v1/jobs/{job['id']}/transcript?format=txt&delivery=url", token=token).json()["url"]
        assert requests.get(link, timeout=10).status_code == 200
        api_key = client.call("POST", "/v1/keys", json={"name": "log check"}).json()["key"]
        assert client.call("GET", f"/v1/jobs/{job['id']}", token=api_key).status_code == 200
    keys = root / "keys"
    secrets = {
        "LLM API key": "test-only-key",
        "webhook signing key": (keys / "webhook-secret").read_text().strip(),
        "ID token": token,
        "API key": api_key,
        "API key secret": api_key.rsplit("_", 1)[1],
        "webhook URL token": "hook-url-secret-123",
        "signed URL signature": link.split("X-Goog-Signature=")[1],
    }
    for name, path in (("identity key", keys / "identity.json"), ("URL-signing key", keys / "signer.json")):
        for i, line in enumerate(pem_body_lines(json.loads(path.read_text())["private_key"])):
            secrets[f"{name} line {i}"] = line
    logs = [p for p in (root / "logs").rglob("*.log") if p.is_file()]
    assert len(logs) >= 10
    leaks = [(name, log.name) for log in logs for name, value in secrets.items() if value in log.read_text(errors="replace")]
    assert leaks == []
