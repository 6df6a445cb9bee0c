"""The storage gateway's V4 verifier accepts what google-cloud-storage signs and nothing else."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from local_emulators.gcs_gateway import SignatureError, verify_v4
from local_emulators.identity import generate_key_file
from mixscribe.gcp.url_signer import UrlSigner

ENDPOINT = "http://127.0.0.1:8123"
EMAIL = "api@mixscribe-test.iam.gserviceaccount.com"


@pytest.fixture()
def signer_and_keys(tmp_path: Path):
    record = generate_key_file(tmp_path / "raw.json")
    key_file = tmp_path / "signer.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": EMAIL,
                "private_key": record["private_key"],
                "private_key_id": record["kid"],
                "token_uri": "http://127.0.0.1:9/token",
                "project_id": "p",
            }
        )
    )
    client = storage.Client(project="p", credentials=AnonymousCredentials())
    signer = UrlSigner(client, ENDPOINT, 900, str(key_file))
    keys = {EMAIL: serialization.load_pem_public_key(record["public_key"].encode())}
    return signer, keys


def check(method: str, url: str, headers: dict[str, str], keys, now: float | None = None) -> dict[str, str]:
    parts = urlsplit(url)
    sent = {**headers, "Host": parts.netloc}
    return verify_v4(method, parts.path, parts.query, sent, keys, now or time.time())


def test_signed_resumable_start_verifies_and_exposes_its_signed_headers(signer_and_keys):
    signer, keys = signer_and_keys
    signed = signer.resumable_upload("b", "users/u/uploads/x/a file é.flac", "audio/flac", 1234, {"model": "tiny.en"})
    assert "Host" not in signed.headers
    params = check("POST", signed.url, signed.headers, keys)
    assert params["header:x-goog-content-length-range"] == "0,1234"
    assert params["header:x-goog-if-generation-match"] == "0"
    assert params["header:x-goog-meta-model"] == "tiny.en"


@pytest.mark.parametrize("tamper", ["other object", "bigger range", "dropped header", "method", "expired", "unknown signer"])
def test_tampered_or_expired_requests_are_refused(signer_and_keys, tamper):
    signer, keys = signer_and_keys
    signed = signer.resumable_upload("b", "users/u/uploads/x/a.flac", "audio/flac", 100, {})
    url, headers, method, now = signed.url, dict(signed.headers), "POST", None
    if tamper == "other object":
        url = url.replace("a.flac", "b.flac")
    elif tamper == "bigger range":
        headers["x-goog-content-length-range"] = "0,999999"
    elif tamper == "dropped header":
        headers.pop("x-goog-if-generation-match")
    elif tamper == "method":
        method = "PUT"
    elif tamper == "expired":
        now = time.time() + 901
    elif tamper == "unknown signer":
        keys = {}
    with pytest.raises(SignatureError):
        check(method, url, headers, keys, now)


def test_signed_download_verifies(signer_and_keys):
    signer, keys = signer_and_keys
    signed = signer.download("results", "jobs/j1/transcript.srt", "j1.srt")
    params = check("GET", signed.url, {}, keys)
    assert params["response-content-disposition"] == 'attachment; filename="j1.srt"'
