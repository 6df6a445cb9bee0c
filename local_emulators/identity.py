"""Local identity provider: issues ID tokens that only the local stack trusts.

Stands in for Google / Firebase sign-in. It publishes its verification key at ``/certs`` in the
same ``kid → PEM`` shape Google uses, so the API verifies local tokens with exactly the code it
uses for Google tokens (``mixscribe.auth``). ``POST /token`` with ``{"sub": "alice"}`` returns
``{"id_token": …}`` — a development convenience that exists only here, never in the cloud.

Keys are generated per stack (``keys.py``) and never leave its folder.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.auth import crypt, jwt

LOCAL_ISSUER = "https://identity.mixscribe.local"
TOKEN_LIFETIME_S = 3600
_SUBJECT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def issue_token(
    private_key_pem: str,
    kid: str,
    subject: str,
    audience: str,
    issuer: str = LOCAL_ISSUER,
    lifetime_s: int = TOKEN_LIFETIME_S,
    now: float | None = None,
    email: str = "",
) -> str:
    """An RS256 ID token for ``subject`` (tests pass odd values to exercise refusals)."""
    issued = int(now if now is not None else time.time())
    payload: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    if email:
        payload["email"] = email
    signer = crypt.RSASigner.from_string(private_key_pem, key_id=kid)
    return jwt.encode(signer, payload).decode()


class IdentityServer:
    """Serves ``/certs`` and ``/token`` on a loopback port."""

    def __init__(self, key_file: Path, audience: str, allowed_origin: str = "") -> None:
        key = json.loads(key_file.read_text())
        self.kid = key["kid"]
        self.private_key = key["private_key"]
        self.public_key = key["public_key"]
        self.audience = audience
        self.allowed_origin = allowed_origin

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if server.allowed_origin:
                    self.send_header("Access-Control-Allow-Origin", server.allowed_origin)
                    self.send_header("Access-Control-Allow-Headers", "Content-Type")
                    self.send_header("Access-Control-Allow-Methods", "POST")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:
                self._send(204, {})

            def do_GET(self) -> None:
                if self.path == "/certs":
                    self._send(200, {server.kid: server.public_key}, {"Cache-Control": "public, max-age=3600"})
                elif self.path == "/healthz":
                    self._send(200, {"status": "ok"})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                if self.path != "/token":
                    self._send(404, {"error": "not found"})
                    return
                length = min(int(self.headers.get("Content-Length") or 0), 4096)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    subject = str(body.get("sub") or "dev-user")
                except (ValueError, AttributeError):
                    self._send(400, {"error": "body must be JSON"})
                    return
                if not _SUBJECT.match(subject):
                    self._send(400, {"error": "sub must be 1-128 of [A-Za-z0-9_-]"})
                    return
                token = issue_token(server.private_key, server.kid, subject, server.audience)
                self._send(200, {"id_token": token, "expires_in": TOKEN_LIFETIME_S})

        return Handler


def generate_key_file(path: Path) -> dict[str, str]:
    """A fresh RSA key pair written as JSON (``kid``, ``private_key``, ``public_key``), mode 0600."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    record = {
        "kid": uuid.uuid4().hex,
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "public_key": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(record))
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--allowed-origin", default="")
    args = parser.parse_args(argv)
    identity = IdentityServer(args.key_file, args.audience, args.allowed_origin)
    ThreadingHTTPServer(("127.0.0.1", args.port), identity.handler()).serve_forever()


if __name__ == "__main__":
    main()
