"""Bearer ID-token verification for the HTTPS API.

One code path for the cloud and the local stack: a token is an RS256 JWT whose signing key is
one of the certificates published at ``certs_url`` (Google: ``oauth2/v1/certs``; Firebase: the
``securetoken`` x509 URL; local stack: the local identity server). ``google.auth.jwt.decode``
checks signature, expiry and audience; the issuer is checked against an allow-list here.

Keys are cached in memory for the ``max-age`` the certs endpoint sends (Google sends hours),
at least ``min_cache_s``; a token signed by an unknown key id triggers at most one refetch per
``refetch_interval_s`` (key rotation) and is otherwise refused.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from google.auth import exceptions as auth_exceptions
from google.auth import jwt

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
_MAX_AGE = re.compile(r"max-age=(\d+)")
_SAFE_SUBJECT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
CLOCK_SKEW_S = 30


class CertsResponse(Protocol):
    """What the cache reads of a certs endpoint's answer (a ``requests.Response`` is one)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    def raise_for_status(self) -> Any: ...

    def json(self) -> Any: ...


class AuthError(Exception):
    """The request is not authenticated (answered with 401)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: ``uid`` names its prefix ``users/{uid}/`` and owns its jobs."""

    uid: str
    email: str = ""
    via: str = "token"  # "token" (an ID token) or "key" (an API key)


class CertificateCache:
    """Verification keys (``kid`` → PEM) fetched from a certs URL and cached by ``max-age``."""

    def __init__(
        self,
        certs_url: str,
        min_cache_s: float = 300.0,
        refetch_interval_s: float = 60.0,
        fetch: Callable[[str], CertsResponse] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.certs_url = certs_url
        self.min_cache_s = min_cache_s
        self.refetch_interval_s = refetch_interval_s
        self._fetch = fetch or (lambda url: requests.get(url, timeout=10))
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._expires = 0.0
        self._fetched_at = -1e18
        self.fetches = 0

    def _refresh(self) -> None:
        response = self._fetch(self.certs_url)
        response.raise_for_status()
        certs = response.json()
        if not isinstance(certs, dict) or not all(isinstance(v, str) for v in certs.values()):
            raise AuthError("the certs endpoint did not return a kid → PEM map")
        match = _MAX_AGE.search(response.headers.get("Cache-Control", ""))
        max_age = float(match.group(1)) if match else 0.0
        now = self._clock()
        self._certs, self._fetched_at = certs, now
        self._expires = now + max(max_age, self.min_cache_s)
        self.fetches += 1

    def certs_for(self, kid: str | None) -> dict[str, str]:
        """The cached keys, refreshed when stale or when ``kid`` is unknown (rate-limited)."""
        with self._lock:
            now = self._clock()
            stale = now >= self._expires
            unknown = kid is not None and kid not in self._certs
            if stale or (unknown and now - self._fetched_at >= self.refetch_interval_s):
                try:
                    self._refresh()
                except (requests.RequestException, ValueError) as exc:
                    if not self._certs:
                        raise AuthError("verification keys are unavailable") from exc
            return dict(self._certs)


def bearer_credential(header: str | None, what: str) -> str:
    """The credential of an ``Authorization: Bearer <credential>`` header; ``AuthError`` otherwise."""
    if not header:
        raise AuthError("missing Authorization header")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise AuthError(f"Authorization must be 'Bearer <{what}>'")
    return credential.strip()


class TokenVerifier:
    """Verifies ``Authorization: Bearer <ID token>`` headers into a ``Caller``."""

    def __init__(self, certs: CertificateCache, audience: str, issuers: tuple[str, ...]) -> None:
        if not audience:
            raise ValueError("MIXSCRIBE_AUTH_AUDIENCE must be set: tokens are checked against it")
        self.certs = certs
        self.audience = audience
        self.issuers = issuers

    def verify_header(self, header: str | None) -> Caller:
        return self.verify(bearer_credential(header, "ID token"))

    def verify(self, token: str) -> Caller:
        try:
            kid = jwt.decode_header(token).get("kid")
            claims = jwt.decode(
                token, certs=self.certs.certs_for(kid), audience=self.audience, clock_skew_in_seconds=CLOCK_SKEW_S
            )
        except (ValueError, auth_exceptions.GoogleAuthError) as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        if claims.get("iss") not in self.issuers:
            raise AuthError("invalid token: untrusted issuer")
        subject = str(claims.get("sub") or "")
        if not _SAFE_SUBJECT.match(subject):
            raise AuthError("invalid token: unsupported subject")
        return Caller(uid=subject, email=str(claims.get("email") or ""))
