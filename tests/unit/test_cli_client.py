"""The command-line client's pieces without a server: the stored login, and a resumable upload that
resumes where a fake storage server says it stopped (httpx's MockTransport plays the storage)."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from mixscribe_cli import client as client_module
from mixscribe_cli.client import ApiError, Client
from mixscribe_cli.config import ClientConfig, ConfigError, load, save


@pytest.fixture()
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MIXSCRIBE_CONFIG", "MIXSCRIBE_API_URL", "MIXSCRIBE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def test_the_login_is_stored_for_its_owner_only_and_the_environment_wins(config_home: Path, monkeypatch):
    with pytest.raises(ConfigError, match="mixscribe login"):
        load()
    path = save(ClientConfig("https://api.example/", 'msk_ab"c'))
    assert path == config_home / "mixscribe" / "client.toml" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load() == ClientConfig("https://api.example", 'msk_ab"c')  # quoted as TOML, trailing slash dropped
    monkeypatch.setenv("MIXSCRIBE_API_KEY", "msk_env")
    assert load().api_key == "msk_env"
    path.write_text("api_url = ")
    monkeypatch.delenv("MIXSCRIBE_API_KEY")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load()


class FakeResumableStorage:
    """A resumable upload session: holds what landed, drops the connection once mid-way when asked to."""

    def __init__(self, drop_at_chunk: int | None) -> None:
        self.received = bytearray()
        self.puts = 0
        self.drop_at_chunk = drop_at_chunk
        self.status_queries = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, headers={"Location": "https://storage.example/session/1"})
        content_range = request.headers["Content-Range"]
        if content_range.startswith("bytes */"):
            self.status_queries += 1
            return httpx.Response(308, headers={"Range": f"bytes=0-{len(self.received) - 1}"} if self.received else {})
        self.puts += 1
        span, total = content_range.removeprefix("bytes ").split("/")
        start = int(span.split("-")[0])
        assert start == len(self.received), "a chunk must start where the server stopped"
        body = request.content
        if self.puts == self.drop_at_chunk:
            self.received += body[: len(body) // 2]  # half of it landed, then the connection broke
            raise httpx.ReadError("connection reset")
        self.received += body
        if len(self.received) == int(total):
            return httpx.Response(200, json={"name": "done"})
        return httpx.Response(308, headers={"Range": f"bytes=0-{len(self.received) - 1}"})


@pytest.mark.parametrize("drop_at_chunk", [None, 2])
def test_an_upload_goes_in_chunks_and_resumes_where_the_storage_stopped(tmp_path: Path, monkeypatch, drop_at_chunk):
    monkeypatch.setattr(client_module, "CHUNK_BYTES", 256 * 1024)
    data = bytes(range(256)) * 3000  # 768,000 bytes: three chunks and a bit
    path = tmp_path / "a.flac"
    path.write_bytes(data)
    storage = FakeResumableStorage(drop_at_chunk)
    client = Client(ClientConfig("https://api.example", "msk_x"), sleep=lambda _: None)
    client.storage = httpx.Client(transport=httpx.MockTransport(storage.handle))
    progress: list[int] = []
    signed = {
        "upload": {"method": "POST", "url": "https://storage.example/upload?sig=1", "headers": {"x-goog-resumable": "start"}}
    }
    client.upload(signed, path, progress.append)
    assert bytes(storage.received) == data and sum(progress) == len(data)
    assert storage.status_queries == (1 if drop_at_chunk else 0)


def test_a_refused_call_carries_the_apis_code_and_a_rate_limit_is_waited_out():
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"code": "rate_limited", "message": "slow"}}),
            httpx.Response(404, json={"error": {"code": "not_found", "message": "no such job"}}),
        ]
    )
    slept: list[float] = []
    client = Client(ClientConfig("https://api.example", "msk_x"), sleep=slept.append)
    client.http = httpx.Client(base_url="https://api.example", transport=httpx.MockTransport(lambda request: next(answers)))
    with pytest.raises(ApiError) as refused:
        client.job("j" + "0" * 31)
    assert (refused.value.status, refused.value.code, refused.value.message) == (404, "not_found", "no such job")
    assert slept == [7.0]
