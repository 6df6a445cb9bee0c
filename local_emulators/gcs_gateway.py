"""Signed-URL gateway in front of fake-gcs-server (closes a gap of the emulator).

fake-gcs-server accepts any request and ignores V4 signatures, so on its own the local stack
could not show that a signed URL writes only the object it names, within its size bound. This
gateway plays the part of ``storage.googleapis.com`` for signed URLs, as Cloud Storage does:

- verifies ``GOOG4-RSA-SHA256`` query signatures (canonical request, signed headers, expiry)
  against the public keys of the signers it trusts; anything else is ``403``;
- ``POST`` + ``x-goog-resumable: start`` opens a resumable session upstream (JSON API) with the
  signed content type, metadata and ``ifGenerationMatch``; answers ``201`` with a session URL;
- ``PUT`` to the session URL forwards the bytes, refusing any upload that would exceed the
  signed ``x-goog-content-length-range`` (``400 EntityTooLarge``), as Cloud Storage does;
- signed ``GET`` streams the object (``Range`` honoured, ``response-content-disposition``);
- answers CORS preflights for the configured web origin, like a bucket CORS policy.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ALGORITHM = "GOOG4-RSA-SHA256"
CHUNK = 1024 * 1024


class SignatureError(Exception):
    """The request is not validly signed (answered 403)."""


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs) if k != "X-Goog-Signature")


def verify_v4(
    method: str, raw_path: str, query: str, headers: dict[str, str], keys: dict[str, Any], now: float
) -> dict[str, str]:
    """Check a V4 query-string signature; the decoded query parameters when it holds."""
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    if params.get("X-Goog-Algorithm") != ALGORITHM or "X-Goog-Signature" not in params:
        raise SignatureError("not a V4 signed request")
    email, _, scope = params.get("X-Goog-Credential", "").partition("/")
    key = keys.get(email)
    if key is None:
        raise SignatureError("unknown signer")
    stamp = params.get("X-Goog-Date", "")
    try:
        issued = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        expires = int(params.get("X-Goog-Expires", "0"))
    except ValueError as exc:
        raise SignatureError("bad X-Goog-Date or X-Goog-Expires") from exc
    if not 0 < expires <= 7 * 86400 or now > issued + expires or now < issued - 300:
        raise SignatureError("the signed URL has expired or is not yet valid")
    signed = params.get("X-Goog-SignedHeaders", "").split(";")
    lowered = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    if "host" not in signed or any(name not in lowered for name in signed):
        raise SignatureError("a signed header is missing from the request")
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in signed)
    canonical = "\n".join([method, raw_path, canonical_query(pairs), canonical_headers, ";".join(signed), "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    try:
        key.verify(bytes.fromhex(params["X-Goog-Signature"]), to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("SignatureDoesNotMatch") from exc
    return {**params, **{f"header:{k}": v for k, v in lowered.items() if k in signed}}


class Gateway:
    """State shared by request handlers: trusted keys, upstream address, open sessions."""

    def __init__(self, upstream: str, public_url: str, signers: dict[str, str], allowed_origin: str = "") -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.public_url = public_url.rstrip("/")
        self.keys = {email: serialization.load_pem_public_key(pem.encode()) for email, pem in signers.items()}
        self.allowed_origin = allowed_origin
        self.sessions: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def upstream(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)

    def exists(self, bucket: str, name: str) -> bool:
        """Whether the object exists upstream (fake-gcs ignores ``ifGenerationMatch`` on resumable
        sessions, so the gateway checks it at the start and again before the last chunk)."""
        conn = self.upstream()
        conn.request("GET", f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}")
        response = conn.getresponse()
        response.read()
        return response.status == 200


def make_handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            return

        def _cors(self) -> None:
            origin = self.headers.get("Origin", "")
            if gateway.allowed_origin and origin == gateway.allowed_origin:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Expose-Headers", "Location, Range, Content-Range, Content-Length")
                self.send_header("Vary", "Origin")

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self._cors()
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, code: str, message: str) -> None:
            body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            self._reply(status, body.encode(), {"Content-Type": "application/xml"})

        def _drain(self) -> None:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                remaining -= len(self.rfile.read(min(CHUNK, remaining)))

        def _verified(self, method: str) -> tuple[str, str, dict[str, str]] | None:
            raw_path, _, query = self.path.partition("?")
            try:
                params = verify_v4(method, raw_path, query, dict(self.headers.items()), gateway.keys, time.time())
            except SignatureError as exc:
                self._drain()
                self._error(403, "AccessDenied", str(exc))
                return None
            bucket, _, name = unquote(raw_path.lstrip("/")).partition("/")
            return bucket, name, params

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            if gateway.allowed_origin and self.headers.get("Origin") == gateway.allowed_origin:
                self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT")
                self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", ""))
                self.send_header("Access-Control-Max-Age", "3600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            verified = self._verified("POST")
            if verified is None:
                return
            bucket, name, params = verified
            self._drain()
            if params.get("header:x-goog-resumable") != "start" or "header:x-goog-content-length-range" not in params:
                self._error(400, "InvalidArgument", "only signed resumable starts with a length range are served")
                return
            _, _, high = params["header:x-goog-content-length-range"].partition(",")
            metadata = {k[len("header:x-goog-meta-") :]: v for k, v in params.items() if k.startswith("header:x-goog-meta-")}
            if params.get("header:x-goog-if-generation-match") == "0" and gateway.exists(bucket, name):
                self._error(412, "PreconditionFailed", "the object already exists")
                return
            resource = {
                "name": name,
                "contentType": params.get("header:content-type", "application/octet-stream"),
                "metadata": metadata,
            }
            query = f"uploadType=resumable&name={quote(name, safe='')}"
            if "header:x-goog-if-generation-match" in params:
                query += f"&ifGenerationMatch={params['header:x-goog-if-generation-match']}"
            conn = gateway.upstream()
            conn.request(
                "POST",
                f"/upload/storage/v1/b/{quote(bucket, safe='')}/o?{query}",
                json.dumps(resource),
                {"Content-Type": "application/json"},
            )
            response = conn.getresponse()
            body = response.read()
            if response.status not in (200, 201):
                self._reply(response.status, body, {"Content-Type": response.getheader("Content-Type", "text/plain")})
                return
            session = uuid.uuid4().hex
            with gateway.lock:
                gateway.sessions[session] = {
                    "location": response.getheader("Location"),
                    "max": int(high),
                    "received": 0,
                    "bucket": bucket,
                    "name": name,
                    "create_only": params.get("header:x-goog-if-generation-match") == "0",
                }
            self._reply(201, b"", {"Location": f"{gateway.public_url}/upload/resumable/{session}"})

        def do_PUT(self) -> None:
            session_id = self.path.split("?")[0].rsplit("/", 1)[-1]
            with gateway.lock:
                session = gateway.sessions.get(session_id) if self.path.startswith("/upload/resumable/") else None
            if session is None:
                self._drain()
                self._error(404, "NoSuchUpload", "unknown upload session")
                return
            length = int(self.headers.get("Content-Length") or 0)
            content_range = self.headers.get("Content-Range", f"bytes 0-{length - 1}/{length}" if length else "bytes */0")
            total = content_range.rsplit("/", 1)[-1]
            if session["received"] + length > session["max"] or (total != "*" and int(total) > session["max"]):
                self._drain()
                with gateway.lock:
                    gateway.sessions.pop(session_id, None)
                self._error(400, "EntityTooLarge", "the upload exceeds the signed x-goog-content-length-range")
                return
            last = total != "*" and content_range.split(" ")[-1].split("/")[0].endswith(f"-{int(total) - 1}")
            if last and session["create_only"] and gateway.exists(session["bucket"], session["name"]):
                self._drain()
                self._error(412, "PreconditionFailed", "the object was created meanwhile")
                return
            upstream = urlsplit(session["location"])
            conn = gateway.upstream()
            conn.putrequest("PUT", f"{upstream.path}?{upstream.query}")
            conn.putheader("Content-Length", str(length))
            conn.putheader("Content-Range", content_range)
            conn.endheaders()
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    break
                conn.send(chunk)
                remaining -= len(chunk)
            response = conn.getresponse()
            body = response.read()
            with gateway.lock:
                session["received"] += length - remaining
                if response.status in (200, 201):
                    gateway.sessions.pop(session_id, None)
            headers = {"Content-Type": response.getheader("Content-Type", "application/json")}
            if range_header := response.getheader("Range"):
                headers["Range"] = range_header
            self._reply(response.status, body, headers)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._reply(200, b"ok")
                return
            verified = self._verified("GET")
            if verified is None:
                return
            bucket, name, params = verified
            conn = gateway.upstream()
            headers = {"Range": self.headers["Range"]} if self.headers.get("Range") else {}
            conn.request("GET", f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}?alt=media", headers=headers)
            response = conn.getresponse()
            self.send_response(response.status)
            self._cors()
            for header in ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges"):
                if value := response.getheader(header):
                    self.send_header(header, value)
            if params.get("response-content-disposition") and response.status < 300:
                self.send_header("Content-Disposition", params["response-content-disposition"])
            self.end_headers()
            while chunk := response.read(CHUNK):
                self.wfile.write(chunk)

    return Handler


def signer_record(key_file: str) -> tuple[str, str]:
    """(client_email, public key PEM) of a local service-account key file."""
    info = json.loads(open(key_file, encoding="utf-8").read())
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    public = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return info["client_email"], public.decode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="fake-gcs-server URL")
    parser.add_argument("--signer-key-file", required=True)
    parser.add_argument("--allowed-origin", default="")
    args = parser.parse_args(argv)
    email, public = signer_record(args.signer_key_file)
    gateway = Gateway(args.upstream, f"http://127.0.0.1:{args.port}", {email: public}, args.allowed_origin)
    ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(gateway)).serve_forever()


if __name__ == "__main__":
    main()
