"""A loopback HTTP server that speaks OpenAI's chat-completions protocol, for tests only.

The real ``openai`` client talks to it. By default it answers with schema-valid notes derived from
the request (key points carry the ``[start-end]`` times of the lines they quote; a reduce request,
whose input is a JSON list of partial notes, is merged). Tests script failures by queueing
behaviours: ``{"status": 429, "retry_after": "1"}``, ``{"status": 500}``, ``{"malformed": True}``,
``{"delay_s": 2}``. It records every request and the peak number served at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LINE = re.compile(r"^\[(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\]\s*(.+)$")


def notes_for(user: str) -> dict[str, Any]:
    """Deterministic, schema-valid notes for a map request (transcript lines) or a reduce request."""
    try:
        partials = json.loads(user)
    except json.JSONDecodeError:
        partials = None
    if isinstance(partials, list):
        return {
            "title": partials[0]["title"],
            "summary": " ".join(p["summary"] for p in partials)[:2000],
            "key_points": [kp for p in partials for kp in p["key_points"]],
            "decisions": [d for p in partials for d in p["decisions"]],
            "action_items": [a for p in partials for a in p["action_items"]],
            "topics": sorted({t for p in partials for t in p["topics"]}),
            "questions": [q for p in partials for q in p["questions"]],
            "diary": partials[-1]["diary"],
        }
    lines = [m.groups() for m in (LINE.match(row) for row in user.splitlines()) if m]
    first = lines[0] if lines else ("0", "0", user[:80] or "(empty)")
    return {
        "title": f"Notes: {first[2][:60]}",
        "summary": " ".join(text for _, _, text in lines[:2]) or user[:200] or "(empty)",
        "key_points": [{"text": text, "start": float(s), "end": float(e)} for s, e, text in lines[:1]],
        "decisions": [],
        "action_items": [{"task": "send the final report", "owner": "Maria", "due": "Friday"}] if "Maria" in user else [],
        "topics": ["planning"],
        "questions": [],
        "diary": "We met and planned.",
    }


class OpenAIProtocolServer:
    def __init__(self) -> None:
        self.behaviours: deque[dict[str, Any]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.default_delay_s = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAIProtocolServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *behaviours: dict[str, Any]) -> None:
        self.behaviours.extend(behaviours)

    def reset(self) -> None:
        with self._lock:
            self.behaviours.clear()
            self.requests.clear()
            self.peak_in_flight = 0
            self.default_delay_s = 0.0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    outer.requests.append({**request, "authorization": self.headers.get("Authorization")})
                    behaviour = outer.behaviours.popleft() if outer.behaviours else {}
                    outer.in_flight += 1
                    outer.peak_in_flight = max(outer.peak_in_flight, outer.in_flight)
                try:
                    time.sleep(behaviour.get("delay_s", outer.default_delay_s))
                    if self.path != "/v1/chat/completions":
                        self._reply(404, b'{"error": {"message": "not found"}}')
                    elif "status" in behaviour:
                        headers = {"Retry-After": behaviour["retry_after"]} if "retry_after" in behaviour else {}
                        error = {"error": {"message": "scripted failure", "type": "server_error", "code": None}}
                        self._reply(behaviour["status"], json.dumps(error).encode(), headers)
                    else:
                        user = request["messages"][-1]["content"]
                        content = "{not json" if behaviour.get("malformed") else json.dumps(notes_for(user))
                        body = {
                            "id": f"chatcmpl-{len(outer.requests)}",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": request["model"],
                            "choices": [
                                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                            ],
                            "usage": {
                                "prompt_tokens": len(user) // 4,
                                "completion_tokens": len(content) // 4,
                                "total_tokens": len(user) // 4 + len(content) // 4,
                            },
                        }
                        self._reply(200, json.dumps(body).encode())
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

        return Handler
