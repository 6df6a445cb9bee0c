"""The HTTPS API against the local stack: every status code it documents, checked against openapi.yaml."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from local_emulators.identity import generate_key_file
from mixscribe.gcp.firestore_documents import FirestoreDocuments
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.store import JobStore, utcnow
from tests.support.api_client import ApiClient, check_response

pytestmark = pytest.mark.integration


def new_client(stack, prefix: str = "u") -> ApiClient:
    return ApiClient.for_stack(stack.env, f"{prefix}-{uuid.uuid4().hex[:10]}")


def seed_jobs(stack, uid: str, count: int, status: JobStatus = JobStatus.DONE) -> list[Job]:
    """Job records written straight to the Firestore emulator (what the pipeline would leave)."""
    store = JobStore(FirestoreDocuments(stack.db))
    base = utcnow() - timedelta(minutes=count)
    jobs = []
    for i in range(count):
        source = SourceObject(
            stack.env["MIXSCRIBE_UPLOAD_BUCKET"],
            f"users/{uid}/seed/{uuid.uuid4().hex[:8]}-{i}.flac",
            1000 + i,
            2048,
            "audio/flac",
        )
        job = Job.new(source, JobOptions(model="tiny.en"), base + timedelta(seconds=i), 1, status=status)
        store.create(job)
        jobs.append(job)
    return jobs


def wait_for(client: ApiClient, job_id: str, statuses=("done", "failed"), timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    body: dict = {}
    while time.monotonic() < deadline:
        response = client.call("GET", f"/v1/jobs/{job_id}", check=False)
        if response.status_code == 200:
            body = response.json()
            if body["status"] in statuses:
                check_response("GET", f"/v1/jobs/{job_id}", response)
                return body
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not in {statuses}: {body}")


def upload_via_api(client: ApiClient, path: Path, content_type: str, options: dict | None = None) -> dict:
    body = {"filename": path.name, "content_type": content_type, "size": path.stat().st_size, "options": options or {}}
    created = client.call("POST", "/v1/uploads", json=body)
    assert created.status_code == 201, created.text
    upload = created.json()
    start = requests.post(upload["upload"]["url"], headers=upload["upload"]["headers"], timeout=30)
    assert start.status_code == 201, start.text
    put = requests.put(start.headers["Location"], data=path.read_bytes(), timeout=60)
    assert put.status_code == 200, put.text
    return upload


def test_health_page_and_spec_are_public_with_security_headers(stack):
    client = new_client(stack)
    assert client.call("GET", "/healthz", token=None).json() == {"status": "ok"}
    page = requests.get(client.base + "/", timeout=10)
    assert page.status_code == 200 and "<title>mixscribe</title>" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert requests.get(client.base + "/openapi.yaml", timeout=10).text.startswith("openapi: 3.1")


def test_unauthenticated_requests_get_401(stack, tmp_path):
    client = new_client(stack)
    stranger_key = generate_key_file(tmp_path / "stranger.json")
    tokens = {
        "none": None,
        "garbage": "not-a-token",
        "expired": client.token(now=time.time() - 7200, lifetime_s=3600),
        "wrong audience": client.token(audience="some-other-api"),
        "wrong issuer": client.token(issuer="https://accounts.evil.example"),
        "unknown key": client.token(private_key_pem=stranger_key["private_key"], kid=stranger_key["kid"]),
    }
    for case, token in tokens.items():
        response = client.call("GET", "/v1/jobs", token=token)
        assert response.status_code == 401, case
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_models_lists_the_registry_with_each_priority_default(stack):
    response = new_client(stack).call("GET", "/v1/models")  # checked against the spec's ModelList
    models = {m["id"]: m for m in response.json()["data"]}
    assert set(models) == {"tiny.en", "base"}  # the local registry
    assert models["tiny.en"]["default_for"] == ["high", "normal", "batch"] and models["tiny.en"]["languages"] == "en"
    assert models["base"]["languages"] == "multilingual" and models["base"]["english_variant"] == "tiny.en"
    assert requests.get(stack.env["MIXSCRIBE_API_URL"] + "/v1/models", timeout=10).status_code == 401


def test_someone_elses_job_is_indistinguishable_from_a_missing_one(stack):
    alice, bob = new_client(stack, "alice"), new_client(stack, "bob")
    (job,) = seed_jobs(stack, alice.uid, 1)
    assert alice.call("GET", f"/v1/jobs/{job.job_id}").status_code == 200
    missing = "j" + "0" * 31
    for path in (
        f"/v1/jobs/{job.job_id}",
        f"/v1/jobs/{job.job_id}/transcript",
        f"/v1/jobs/{job.job_id}/audio",
        f"/v1/jobs/{missing}",
    ):
        response = bob.call("GET", path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", path
    assert bob.call("DELETE", f"/v1/jobs/{job.job_id}").status_code == 404
    assert alice.call("GET", f"/v1/jobs/{job.job_id}").status_code == 200  # untouched
    assert bob.call("GET", "/v1/jobs/not-a-job-id", check=False).status_code == 404


def test_listing_is_newest_first_with_cursor_pages_and_filters(stack):
    client = new_client(stack)
    jobs = seed_jobs(stack, client.uid, 5)
    seed_jobs(stack, new_client(stack).uid, 2)  # another caller's jobs never show
    seen, token = [], None
    while True:
        response = client.call("GET", "/v1/jobs?limit=2" + (f"&page_token={token}" if token else ""))
        assert response.status_code == 200
        page = response.json()
        seen += [j["id"] for j in page["jobs"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == [j.job_id for j in reversed(jobs)]
    failed = seed_jobs(stack, client.uid, 1, status=JobStatus.FAILED)
    only_failed = client.call("GET", "/v1/jobs?status=failed").json()["jobs"]
    assert [j["id"] for j in only_failed] == [failed[0].job_id]
    for bad in ("?limit=0", "?limit=101", "?limit=x", "?status=bogus", "?page_token=%25%25%25"):
        response = client.call("GET", "/v1/jobs" + bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", bad


def test_outputs_of_an_unfinished_job_are_409_and_formats_are_checked(stack):
    client = new_client(stack)
    (job,) = seed_jobs(stack, client.uid, 1, status=JobStatus.TRANSCRIBING)
    try:
        response = client.call("GET", f"/v1/jobs/{job.job_id}/transcript?format=srt")
        assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"
        assert client.call("GET", f"/v1/jobs/{job.job_id}/notes?format=md").status_code == 409
        assert client.call("GET", f"/v1/jobs/{job.job_id}/transcript?format=docx").status_code == 400
        assert client.call("GET", f"/v1/jobs/{job.job_id}/transcript?delivery=fax").status_code == 400
    finally:
        stack.db.collection("jobs").document(job.job_id).delete()  # a job in flight forever would stall wait_idle


@pytest.mark.parametrize(
    "body, code",
    [
        ({"filename": "a.flac", "content_type": "audio/flac"}, "invalid_request"),
        ({"filename": "a.flac", "content_type": "audio/flac", "size": 10, "extra": 1}, "invalid_request"),
        ({"filename": "a.flac", "content_type": "audio/flac", "size": 10, "options": {"model": "large-v3"}}, "invalid_option"),
        ({"filename": "a.flac", "content_type": "audio/flac", "size": 10, "options": {"language": "de"}}, "invalid_option"),
        (
            {"filename": "a.flac", "content_type": "audio/flac", "size": 10, "options": {"webhook": "https://169.254.169.254/x"}},
            "invalid_option",
        ),
        ({"filename": "notes.pdf", "content_type": "audio/flac", "size": 10}, "unsupported_format"),
        ({"filename": "../../etc/a.flac", "content_type": "audio/flac", "size": 10}, "invalid_object_name"),
        ({"filename": "a.flac", "content_type": "text/html", "size": 10}, "unsupported_content_type"),
        ({"filename": "a.flac", "content_type": "audio/flac", "size": 10**12}, "file_too_large"),
    ],
)
def test_upload_requests_are_validated(stack, body, code):
    response = new_client(stack).call("POST", "/v1/uploads", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code, response.text


def test_bodies_over_the_limit_are_413_and_non_json_is_400(stack):
    client = new_client(stack)
    big = {
        "filename": "a.flac",
        "content_type": "audio/flac",
        "size": 10,
        "options": {"webhook": "https://x.example/" + "a" * 20000},
    }
    response = client.call("POST", "/v1/uploads", json=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    response = client.call("POST", "/v1/uploads", data="not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400


def test_rate_limit_answers_429_with_retry_after(stack):
    client = new_client(stack)
    started, granted = time.monotonic(), 0
    while (response := client.call("GET", "/v1/jobs?limit=1", check=False)).status_code == 200 and granted < 300:
        granted += 1
    elapsed = time.monotonic() - started
    check_response("GET", "/v1/jobs", response)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    # a bucket of 60 that refills one token per second while the burst runs
    assert 60 <= granted <= 60 + int(elapsed) + 1
    assert new_client(stack).call("GET", "/v1/jobs").status_code == 200  # other callers unaffected


def test_rate_limit_never_over_grants_under_contention(stack):
    client = new_client(stack)
    token = client.token()
    started = time.monotonic()
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda _: client.call("GET", "/v1/jobs?limit=1", token=token, check=False), range(120)))
    elapsed = time.monotonic() - started
    granted = sum(r.status_code == 200 for r in responses)
    refused = [r for r in responses if r.status_code != 200]
    assert 0 < granted <= 60 + int(elapsed) + 1  # the bucket plus its refill during the burst, never more
    assert all(r.status_code == 429 and r.headers.get("Retry-After") for r in refused)


def test_cors_answers_only_the_web_origin(stack):
    client = new_client(stack)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = requests.options(client.base + "/v1/uploads", headers={"Origin": client.base, **preflight}, timeout=10)
    assert ok.headers.get("Access-Control-Allow-Origin") == client.base
    assert "Authorization" in ok.headers.get("Access-Control-Allow-Headers", "")
    evil = requests.options(client.base + "/v1/uploads", headers={"Origin": "https://evil.example", **preflight}, timeout=10)
    assert "Access-Control-Allow-Origin" not in evil.headers
