"""API keys on an in-memory fake of the document store: shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from mixscribe.api_keys import APIKEYS, MAX_KEYS_PER_OWNER, ApiKeys, Authenticator, KeyRefused
from mixscribe.auth import AuthError, Caller
from tests.fakes import FakeDocuments


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeTokens:
    """Stands in for the ID-token verifier: every non-key credential is the token of ``token-user``."""

    def verify(self, token: str) -> Caller:
        if token != "good-token":
            raise AuthError("invalid token")
        return Caller(uid="token-user")


def test_a_key_is_stored_as_a_hash_and_verifies_to_its_owner():
    docs, clock = FakeDocuments(), Clock()
    keys = ApiKeys(docs, clock)
    record, key = keys.create("alice", "  ci   deploys ")
    assert record.name == "ci deploys" and key.startswith(record.prefix) and record.prefix.startswith("msk_")
    stored = docs.docs[f"{APIKEYS}/{record.key_id}"]
    assert key not in repr(stored) and stored["hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert keys.verify(key) == Caller(uid="alice", via="key")
    assert [k.key_id for k in keys.list("alice")] == [record.key_id] and keys.list("bob") == []
    assert keys.list("alice")[0].last_used_at == clock.now


def test_last_used_is_written_at_most_once_a_minute():
    docs, clock = FakeDocuments(), Clock()
    keys = ApiKeys(docs, clock)
    record, key = keys.create("alice", "k")
    keys.verify(key)
    first = clock.now
    clock.now += timedelta(seconds=30)
    keys.verify(key)
    assert keys.list("alice")[0].last_used_at == first
    clock.now += timedelta(seconds=31)
    keys.verify(key)
    assert keys.list("alice")[0].last_used_at == clock.now


@pytest.mark.parametrize(
    "credential",
    ["msk_", "msk_0123456789abcdef_short", "msk_0123456789abcdef_" + "A" * 43, "msk_ZZ23456789abcdef_" + "A" * 43],
)
def test_malformed_or_unknown_keys_are_refused(credential):
    with pytest.raises(AuthError, match="invalid API key"):
        ApiKeys(FakeDocuments()).verify(credential)


def test_a_tampered_secret_with_a_real_id_is_refused():
    keys = ApiKeys(FakeDocuments())
    _, key = keys.create("alice", "k")
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(AuthError):
        keys.verify(forged)


def test_revoking_is_the_owners_alone_and_takes_effect_at_once():
    keys = ApiKeys(FakeDocuments())
    record, key = keys.create("alice", "k")
    assert keys.revoke("bob", record.key_id) is False and keys.verify(key).uid == "alice"
    assert keys.revoke("alice", "../../x") is False
    assert keys.revoke("alice", record.key_id) is True
    with pytest.raises(AuthError):
        keys.verify(key)
    assert keys.revoke("alice", record.key_id) is False


def test_names_are_checked_and_keys_per_owner_are_capped():
    keys = ApiKeys(FakeDocuments())
    for bad in ("", "   ", "x" * 65, "tab\u0007bell"):
        with pytest.raises(KeyRefused):
            keys.create("alice", bad)
    for i in range(MAX_KEYS_PER_OWNER):
        keys.create("alice", f"k{i}")
    with pytest.raises(KeyRefused, match="at most"):
        keys.create("alice", "one more")
    keys.create("bob", "bob's first")  # the cap is per owner


def test_the_authenticator_takes_a_key_or_a_token():
    keys = ApiKeys(FakeDocuments())
    _, key = keys.create("alice", "k")
    auth = Authenticator(FakeTokens(), keys)  # type: ignore[arg-type]
    assert auth.verify_header(f"Bearer {key}") == Caller(uid="alice", via="key")
    assert auth.verify_header("bearer good-token") == Caller(uid="token-user", via="token")
    for header in (None, "", "Basic abc", "Bearer ", "Bearer bad-token", "Bearer msk_nope"):
        with pytest.raises(AuthError):
            auth.verify_header(header)
