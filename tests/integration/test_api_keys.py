"""API keys through the API on the local stack: made when signed in, act for their owner, revoked for good."""

from __future__ import annotations

import pytest

from tests.integration.test_api import new_client, seed_jobs

pytestmark = pytest.mark.integration


def test_a_key_acts_for_its_owner_until_revoked(stack):
    alice, bob = new_client(stack, "alice"), new_client(stack, "bob")
    mine, theirs = seed_jobs(stack, alice.uid, 1)[0], seed_jobs(stack, bob.uid, 1)[0]
    created = alice.call("POST", "/v1/keys", json={"name": "nightly export"})
    assert created.status_code == 201, created.text
    made = created.json()
    key = made["key"]
    assert key.startswith(made["prefix"]) and made["last_used_at"] is None

    listed = alice.call("GET", "/v1/jobs", token=key)
    assert listed.status_code == 200 and [j["id"] for j in listed.json()["jobs"]] == [mine.job_id]
    assert alice.call("GET", f"/v1/jobs/{theirs.job_id}", token=key).status_code == 404  # owner isolation holds

    keys = alice.call("GET", "/v1/keys").json()["keys"]
    assert [k["id"] for k in keys] == [made["id"]] and "key" not in keys[0] and keys[0]["last_used_at"]
    assert bob.call("GET", "/v1/keys").json()["keys"] == []
    assert bob.call("DELETE", f"/v1/keys/{made['id']}").status_code == 404  # someone else's key: no hints

    for method, path, body in (("GET", "/v1/keys", None), ("POST", "/v1/keys", {"name": "x"})):
        refused = alice.call(method, path, token=key, json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    assert alice.call("DELETE", f"/v1/keys/{made['id']}").status_code == 204
    gone = alice.call("GET", "/v1/jobs", token=key)
    assert gone.status_code == 401 and "WWW-Authenticate" in gone.headers
    assert alice.call("DELETE", f"/v1/keys/{made['id']}").status_code == 404


def test_bad_key_requests_are_refused_with_reasons(stack):
    alice = new_client(stack, "alice")
    for body in ({}, {"name": ""}, {"name": "x" * 65}, {"name": "ok", "extra": 1}):
        refused = alice.call("POST", "/v1/keys", json=body)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_request", body
    assert alice.call("GET", "/v1/jobs", token="msk_0123456789abcdef_" + "A" * 43).status_code == 401
    assert alice.call("DELETE", "/v1/keys/not-a-key-id", check=False).status_code == 404
