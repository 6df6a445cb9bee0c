"""A Cloud Storage front that enforces IAM: 403 to any JSON API call a role's permissions do not allow.

It sits before fake-gcs-server (which allows everything) and maps each request to the permission
Cloud Storage checks for it (``storage.objects.create`` for uploads and their resumable chunks,
``storage.objects.get`` for metadata and media reads, ``.list``, ``.delete``, ``.update``,
``storage.buckets.get``), optionally within an object-name prefix (an IAM condition), and answers
403 in Cloud Storage's error shape otherwise. ``fail_first_upload`` answers 503 to the first upload
request of each object (a multipart upload, or a resumable session's start), so a client has to
retry, as on a flaky uplink.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from local_emulators.processes import free_ports

OBJECT = re.compile(r"^/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<name>.+)$")
OBJECTS = re.compile(r"^/storage/v1/b/(?P<bucket>[^/]+)/o$")
UPLOAD = re.compile(r"^/upload/storage/v1/b/(?P<bucket>[^/]+)/o$")
BUCKET = re.compile(r"^/storage/v1/b/(?P<bucket>[^/]+)$")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


def permission_for(method: str, path: str, query: dict[str, list[str]], body: bytes, sessions: dict[str, str]) -> tuple[str, str]:
    """(the permission Cloud Storage checks, the object name it applies to, "" if none)."""
    if match := UPLOAD.match(path):
        if method == "PUT" and "upload_id" in query:  # a resumable session's chunk: the session's object
            return "storage.objects.create", sessions.get(query["upload_id"][0], "")
        name = (query.get("name") or [""])[0]
        if not name and body:  # multipart and resumable starts carry the object resource (JSON) first
            found = re.search(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"', body)
            name = json.loads(b'"' + found.group(1) + b'"') if found else ""
        return "storage.objects.create", name
    if match := OBJECT.match(path):
        name = unquote(match["name"])
        verb = {"GET": "get", "DELETE": "delete", "PATCH": "update", "PUT": "update"}.get(method, "get")
        return f"storage.objects.{verb}", name
    if OBJECTS.match(path):
        return "storage.objects.list", ""
    if BUCKET.match(path):
        return "storage.buckets.get", ""
    return "storage.unknown", ""


class IamStorage:
    def __init__(self, upstream: str, permissions: set[str], prefix: str = "", fail_first_upload: bool = False) -> None:
        self.upstream = upstream.rstrip("/")
        self.permissions = permissions
        self.prefix = prefix
        self.fail_first_upload = fail_first_upload
        self.denied: list[tuple[str, str]] = []  # (permission, object)
        self._sessions: dict[str, str] = {}  # resumable upload id → object name
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())

    def __enter__(self) -> IamStorage:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def allows(self, permission: str, name: str) -> bool:
        return permission in self.permissions and (not name or name.startswith(self.prefix))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        iam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                query = parse_qs(split.query)
                permission, name = permission_for(self.command, split.path, query, body, iam._sessions)
                if not iam.allows(permission, name):
                    iam.denied.append((permission, name))
                    message = f"edge@test does not have {permission} access to the Google Cloud Storage object."
                    self._reply(
                        403,
                        json.dumps(
                            {"error": {"code": 403, "message": message, "errors": [{"reason": "forbidden", "message": message}]}}
                        ).encode(),
                        {"Content-Type": "application/json"},
                    )
                    return
                if iam.fail_first_upload and permission == "storage.objects.create" and "upload_id" not in query:
                    with iam._lock:
                        first = name not in iam._failed
                        iam._failed.add(name)
                    if first:
                        self._reply(
                            503,
                            b'{"error": {"code": 503, "message": "backend unavailable"}}',
                            {"Content-Type": "application/json"},
                        )
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                upstream = requests.request(
                    self.command, iam.upstream + self.path, data=body, headers=headers, allow_redirects=False, timeout=60
                )
                reply_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
                location = upstream.headers.get("Location", "")
                if location:  # a resumable session: remember its object, keep the client talking to this front
                    upload_id = parse_qs(urlsplit(location).query).get("upload_id", [""])[0]
                    iam._sessions[upload_id] = name
                    reply_headers["Location"] = location.replace(iam.upstream, iam.url)
                self._reply(upstream.status_code, upstream.content, reply_headers)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815 (http.server's method names)

        return Handler
