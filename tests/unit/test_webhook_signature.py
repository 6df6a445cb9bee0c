"""Webhook signing as a receiver verifies it (the documented scheme)."""

from __future__ import annotations

import time

import pytest

from mixscribe.config import Settings
from mixscribe.webhooks import sign, verify, webhook_secret

SECRET = b"s" * 32


def test_round_trip_and_tampering():
    body = b'{"job_id":"j1","status":"done"}'
    now = int(time.time())
    header = sign(SECRET, body, now)
    assert header.startswith(f"t={now},v1=")
    assert verify(SECRET, header, body)
    assert not verify(SECRET, header, body + b" ")
    assert not verify(b"x" * 32, header, body)
    assert not verify(SECRET, header.replace(f"t={now}", f"t={now + 1}"), body)
    assert not verify(SECRET, "garbage", body)


def test_stale_signatures_are_refused():
    body = b"{}"
    old = int(time.time()) - 3600
    assert not verify(SECRET, sign(SECRET, body, old), body)


def test_secret_comes_from_a_file_or_the_environment_and_must_be_long(tmp_path):
    path = tmp_path / "secret"
    path.write_text("f" * 40 + "\n")
    assert webhook_secret(Settings.from_env({"MIXSCRIBE_WEBHOOK_SECRET_FILE": str(path)})) == b"f" * 40
    assert webhook_secret(Settings.from_env({"MIXSCRIBE_WEBHOOK_SECRET": "e" * 20})) == b"e" * 20
    with pytest.raises(ValueError):
        webhook_secret(Settings.from_env({"MIXSCRIBE_WEBHOOK_SECRET": "short"}))
