"""The HTTPS API as the client uses it: jobs, outputs, signed resumable uploads, the job event stream.

Every call sends the API key (``Authorization: Bearer msk_…``); refusals become ``ApiError`` with the
API's stable code. A rate-limited call waits as ``Retry-After`` says and tries again (a few times).
Uploads go straight to the storage URL the API signs, in chunks that resume where the server says it
stopped after a dropped connection. The event stream reconnects until the job ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import SSEError, connect_sse

from . import __version__
from .config import ClientConfig

CHUNK_BYTES = 8 * 1024 * 1024  # resumable uploads take chunks in multiples of 256 KiB
RATE_LIMIT_TRIES = 4
UPLOAD_TRIES = 5
STREAM_READ_S = 60.0  # the event stream sends something at least every 15 s


class ApiError(Exception):
    """A refusal: HTTP status, the API's stable code and its message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            error = response.json()["error"]
            return cls(response.status_code, str(error.get("code") or "error"), str(error.get("message") or ""))
        except (ValueError, KeyError, TypeError):
            return cls(response.status_code, f"http_{response.status_code}", response.text[:200])


class Client:
    def __init__(self, config: ClientConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        headers = {"Authorization": f"Bearer {config.api_key}", "User-Agent": f"mixscribe-cli/{__version__}"}
        self.http = httpx.Client(base_url=config.api_url, headers=headers, timeout=httpx.Timeout(60.0, connect=10.0))
        self.storage = httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0))  # signed URLs: no API key sent there
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(RATE_LIMIT_TRIES):
            response = self.http.request(method, path, **kwargs)
            if response.status_code == 429 and attempt + 1 < RATE_LIMIT_TRIES:
                self.sleep(min(60.0, float(response.headers.get("Retry-After") or 5)))
                continue
            if response.status_code >= 400:
                raise ApiError.of(response)
            return response
        raise AssertionError("unreachable")

    # -- jobs ------------------------------------------------------------------------------
    def jobs(self, status: str | None = None, limit: int = 20) -> Iterator[dict[str, Any]]:
        """The caller's jobs, newest first, page after page up to ``limit``."""
        token, left = None, limit
        while left > 0:
            params: dict[str, Any] = {"limit": min(left, 100)}
            if status:
                params["status"] = status
            if token:
                params["page_token"] = token
            page = self.call("GET", "/v1/jobs", params=params).json()
            yield from page["jobs"]
            left -= len(page["jobs"])
            token = page.get("next_page_token")
            if not token or not page["jobs"]:
                return

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/v1/jobs/{job_id}").json())

    def delete(self, job_id: str) -> None:
        self.call("DELETE", f"/v1/jobs/{job_id}")

    def output(self, job_id: str, fmt: str) -> bytes:
        """The transcript in ``fmt`` (json, srt, vtt, txt) or the notes (``notes.md``, ``notes.json``)."""
        if fmt.startswith("notes."):
            return self.call("GET", f"/v1/jobs/{job_id}/notes", params={"format": fmt.removeprefix("notes.")}).content
        return self.call("GET", f"/v1/jobs/{job_id}/transcript", params={"format": fmt}).content

    def events(self, job_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(event, data)`` from ``GET /v1/jobs/{id}/events`` until the job ends (``end``), reconnecting
        when the stream closes early (it starts again with the job's current state)."""
        timeout = httpx.Timeout(STREAM_READ_S, connect=10.0)
        while True:
            try:
                with connect_sse(self.http, "GET", f"/v1/jobs/{job_id}/events", timeout=timeout) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        raise ApiError.of(source.response)
                    for event in source.iter_sse():
                        data = json.loads(event.data)
                        yield event.event, data
                        if event.event == "end":
                            return
            except (httpx.TransportError, SSEError):
                pass
            self.sleep(3.0)

    # -- uploads ---------------------------------------------------------------------------
    def create_upload(self, path: Path, content_type: str, options: dict[str, Any]) -> dict[str, Any]:
        body = {"filename": path.name, "content_type": content_type, "size": path.stat().st_size, "options": options}
        return dict(self.call("POST", "/v1/uploads", json=body).json())

    def upload(self, signed: dict[str, Any], path: Path, sent: Callable[[int], None]) -> None:
        """The file to the signed resumable URL, chunk by chunk; ``sent(n)`` after each ``n`` bytes landed."""
        request = signed["upload"]
        start = self.storage.request(request["method"], request["url"], headers=request["headers"])
        if start.status_code not in (200, 201) or "Location" not in start.headers:
            raise ApiError(start.status_code, "upload_refused", f"the storage refused to start the upload: {start.text[:200]}")
        session, size, offset = start.headers["Location"], path.stat().st_size, 0
        with path.open("rb") as source:
            while True:
                source.seek(offset)
                chunk = source.read(CHUNK_BYTES)
                last = offset + len(chunk) - 1
                landed = self._put_chunk(session, chunk, f"bytes {offset}-{last}/{size}", size)
                sent(landed - offset)
                if landed >= size:
                    return
                offset = landed

    def _put_chunk(self, session: str, chunk: bytes, content_range: str, size: int) -> int:
        """Bytes the server holds after sending ``chunk`` (asking it after a failure, then resending)."""
        for attempt in range(UPLOAD_TRIES):
            try:
                if attempt:  # where did the server stop? (resumable upload status query)
                    status = self.storage.put(session, headers={"Content-Range": f"bytes */{size}"})
                    if status.status_code in (200, 201):
                        return size
                    held = _held(status)
                    start = int(content_range.split()[1].split("-")[0])
                    if held > start:
                        return held  # part of this chunk landed: the caller sends the rest
                response = self.storage.put(session, content=chunk, headers={"Content-Range": content_range})
            except httpx.TransportError:
                self.sleep(min(30.0, 2.0**attempt))
                continue
            if response.status_code in (200, 201):
                return size
            if response.status_code == 308:
                return _held(response)
            if response.status_code < 500 and response.status_code != 429:
                raise ApiError(response.status_code, "upload_refused", f"the storage refused the upload: {response.text[:200]}")
            self.sleep(min(30.0, 2.0**attempt))
        raise ApiError(503, "upload_failed", f"the upload did not go through after {UPLOAD_TRIES} tries")


def _held(response: httpx.Response) -> int:
    """The bytes a 308 answer says the server holds (``Range: bytes=0-N``; none without the header)."""
    held = response.headers.get("Range")
    return int(held.rsplit("-", 1)[1]) + 1 if held else 0
