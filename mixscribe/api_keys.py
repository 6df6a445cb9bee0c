"""Long-lived API keys for server-to-server callers, and the authenticator that takes a key or an ID token.

A key reads ``msk_<id>_<secret>``: ``id`` (16 hex digits) names its document ``apikeys/{id}``, which
holds only the SHA-256 of the whole key (a 256-bit random secret needs no slow hash), the owner, a
name, the prefix shown to recognise it and when it was created and last used. The key itself is
shown once, when it is created. Revoking deletes the document, so the next request with it is
refused. ``last_used_at`` is written at most once per ``LAST_USED_EVERY_S`` per key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .auth import AuthError, Caller, TokenVerifier, bearer_credential
from .errors import TransientError
from .ports import Documents
from .store import utcnow

APIKEYS = "apikeys"
KEY_PREFIX = "msk_"
MAX_KEYS_PER_OWNER = 25
MAX_NAME_CHARS = 64
LAST_USED_EVERY_S = 60.0
_KEY = re.compile(r"^msk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


class KeyRefused(ValueError):
    """A key cannot be created (bad name, too many keys)."""


@dataclass(frozen=True)
class ApiKey:
    """What is kept and shown of a key (never the key itself)."""

    key_id: str
    owner: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None

    def view(self) -> dict[str, Any]:
        """The ``ApiKey`` schema of the API."""
        return {
            "id": self.key_id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _record(key_id: str, doc: dict[str, Any]) -> ApiKey:
    return ApiKey(key_id, str(doc["owner"]), str(doc["name"]), str(doc["prefix"]), doc["created_at"], doc.get("last_used_at"))


class ApiKeys:
    """Creating, listing, revoking and checking keys in the ``apikeys`` collection."""

    def __init__(self, documents: Documents, clock: Callable[[], datetime] = utcnow) -> None:
        self.documents = documents
        self.clock = clock

    def create(self, owner: str, name: str) -> tuple[ApiKey, str]:
        """A new key of ``owner``: its record and the key (the only time it is seen)."""
        clean = unicodedata.normalize("NFC", " ".join(name.split()))
        if not clean or len(clean) > MAX_NAME_CHARS or any(unicodedata.category(c).startswith("C") for c in clean):
            raise KeyRefused(f"name must be 1 to {MAX_NAME_CHARS} printable characters")
        if len(self.list(owner)) >= MAX_KEYS_PER_OWNER:
            raise KeyRefused(f"an owner has at most {MAX_KEYS_PER_OWNER} keys; revoke one first")
        key_id = secrets.token_hex(8)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id, owner, clean, key[: len(KEY_PREFIX) + 8], self.clock())
        values = {"owner": owner, "name": clean, "prefix": record.prefix, "created_at": record.created_at, "hash": _digest(key)}
        if not self.documents.create(f"{APIKEYS}/{key_id}", values):
            raise TransientError("api key id collision; retry")  # 64 random bits: not expected to happen
        return record, key

    def list(self, owner: str) -> list[ApiKey]:
        shown = ["owner", "name", "prefix", "created_at", "last_used_at"]
        found = self.documents.query(APIKEYS, where=[("owner", owner)], select=shown)
        return sorted((_record(key_id, doc) for key_id, doc in found), key=lambda k: (k.created_at, k.key_id))

    def revoke(self, owner: str, key_id: str) -> bool:
        """Delete the owner's key; False when the owner has no such key."""
        path = f"{APIKEYS}/{key_id}"
        doc = self.documents.get(path) if re.fullmatch(r"[0-9a-f]{16}", key_id) else None
        if doc is None or doc.get("owner") != owner:
            return False
        self.documents.delete(path)
        return True

    def verify(self, key: str) -> Caller:
        """The owner of a live key; ``AuthError`` for a malformed, unknown or revoked one."""
        match = _KEY.match(key)
        if not match:
            raise AuthError("invalid API key")
        path = f"{APIKEYS}/{match.group(1)}"
        doc = self.documents.get(path)
        if doc is None or not hmac.compare_digest(str(doc.get("hash", "")), _digest(key)):
            raise AuthError("invalid API key")
        now = self.clock()
        last = doc.get("last_used_at")
        if last is None or (now - last).total_seconds() >= LAST_USED_EVERY_S:
            try:
                self.documents.set(path, {"last_used_at": now}, merge=True)
            except TransientError:
                pass  # bookkeeping only: the request goes on
        return Caller(uid=str(doc["owner"]), via="key")


class Authenticator:
    """``Authorization: Bearer …`` with an API key (``msk_…``) or an ID token, into a ``Caller``."""

    def __init__(self, tokens: TokenVerifier, keys: ApiKeys) -> None:
        self.tokens = tokens
        self.keys = keys

    def verify_header(self, header: str | None) -> Caller:
        credential = bearer_credential(header, "ID token or API key")
        if credential.startswith(KEY_PREFIX):
            return self.keys.verify(credential)
        return self.tokens.verify(credential)
