"""Token verification with real RSA keys and JWTs; the certs endpoint is a fake (a function)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from local_emulators.identity import LOCAL_ISSUER, generate_key_file, issue_token
from mixscribe.auth import AuthError, CertificateCache, TokenVerifier

AUDIENCE = "mixscribe-test-api"


class FakeCertsResponse:
    def __init__(self, certs: dict[str, str], max_age: int) -> None:
        self._certs = certs
        self.headers = {"Cache-Control": f"public, max-age={max_age}"}

    def raise_for_status(self) -> None:
        return None

    def json(self) -> dict[str, str]:
        return self._certs


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[dict, dict]:
    return generate_key_file(tmp_path / "a.json"), generate_key_file(tmp_path / "b.json")


def make_verifier(published: dict[str, str], clock=time.monotonic) -> tuple[TokenVerifier, CertificateCache]:
    cache = CertificateCache(
        "https://certs.invalid",
        min_cache_s=300,
        refetch_interval_s=60,
        fetch=lambda url: FakeCertsResponse(dict(published), 3600),
        clock=clock,
    )
    return TokenVerifier(cache, AUDIENCE, (LOCAL_ISSUER,)), cache


def test_a_valid_token_names_its_caller(keys):
    key, _ = keys
    verifier, _ = make_verifier({key["kid"]: key["public_key"]})
    token = issue_token(key["private_key"], key["kid"], "alice", AUDIENCE, email="a@example.com")
    caller = verifier.verify_header(f"Bearer {token}")
    assert (caller.uid, caller.email) == ("alice", "a@example.com")


@pytest.mark.parametrize(
    "case",
    ["missing", "not bearer", "garbage", "expired", "wrong audience", "wrong issuer", "unknown key", "unsafe subject"],
)
def test_bad_tokens_are_refused(keys, case):
    key, other = keys
    verifier, _ = make_verifier({key["kid"]: key["public_key"]})
    good = dict(private_key_pem=key["private_key"], kid=key["kid"], subject="alice", audience=AUDIENCE)
    headers = {
        "missing": None,
        "not bearer": "Basic YWxpY2U6cHc=",
        "garbage": "Bearer not.a.jwt",
        "expired": "Bearer " + issue_token(**good, now=time.time() - 7200, lifetime_s=3600),
        "wrong audience": "Bearer " + issue_token(**{**good, "audience": "someone-else"}),
        "wrong issuer": "Bearer " + issue_token(**good, issuer="https://evil.example"),
        "unknown key": "Bearer " + issue_token(other["private_key"], other["kid"], "alice", AUDIENCE),
        "unsafe subject": "Bearer " + issue_token(**{**good, "subject": "../alice"}),
    }
    with pytest.raises(AuthError):
        verifier.verify_header(headers[case])


def test_keys_are_cached_and_unknown_kids_refetch_at_most_once_per_interval(keys):
    key, other = keys
    now = [1000.0]
    published = {key["kid"]: key["public_key"]}
    verifier, cache = make_verifier(published, clock=lambda: now[0])
    token = issue_token(key["private_key"], key["kid"], "alice", AUDIENCE)
    for _ in range(50):
        verifier.verify(token)
    assert cache.fetches == 1
    stranger = issue_token(other["private_key"], other["kid"], "alice", AUDIENCE)
    now[0] += 61
    for _ in range(5):
        with pytest.raises(AuthError):
            verifier.verify(stranger)
    assert cache.fetches == 2  # one refetch for the unknown kid, then rate-limited
    published[other["kid"]] = other["public_key"]  # the provider rotates keys
    now[0] += 61
    assert verifier.verify(stranger).uid == "alice"
    assert cache.fetches == 3
    now[0] += 3600
    verifier.verify(token)
    assert cache.fetches == 4  # max-age passed


def test_identity_key_file_is_private(tmp_path: Path):
    path = tmp_path / "k.json"
    generate_key_file(path)
    assert path.stat().st_mode & 0o077 == 0
    assert json.loads(path.read_text())["kid"]
