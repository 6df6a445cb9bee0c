"""The ``Blobs`` port's contract, checked on the in-memory fake and on the Cloud Storage emulator alike.

Uses the results bucket (no upload trigger fires there) under a prefix of its own.
"""

from __future__ import annotations

import io
import uuid

import pytest

from mixscribe.gcp.storage_blobs import StorageBlobs
from mixscribe.ports import BlobExists, BlobMissing, Blobs
from tests.fakes import FakeBlobs


@pytest.fixture(params=["fake", "storage"])
def blobs(request) -> tuple[Blobs, str]:
    if request.param == "fake":
        return FakeBlobs(), "results"
    stack = request.getfixturevalue("stack")
    return StorageBlobs(stack.gcs), stack.env["MIXSCRIBE_RESULTS_BUCKET"]


def test_write_read_stat_list_open_delete(blobs):
    store, bucket = blobs
    prefix = f"contract-{uuid.uuid4().hex[:10]}/"
    assert store.stat(bucket, f"{prefix}a.json") is None
    store.write(bucket, f"{prefix}a.json", b'{"a": 1}', "application/json")
    store.write(bucket, f"{prefix}b/c.txt", b"hello", "text/plain")
    info = store.stat(bucket, f"{prefix}a.json")
    assert info is not None and (info.size, info.content_type) == (8, "application/json") and info.generation > 0
    assert store.read(bucket, f"{prefix}a.json") == b'{"a": 1}'
    assert store.names(bucket, prefix) == [f"{prefix}a.json", f"{prefix}b/c.txt"]
    with store.open(bucket, f"{prefix}b/c.txt", chunk_size=256 * 1024) as reader:
        assert reader.read() == b"hello"
    store.delete(bucket, f"{prefix}b/c.txt")
    store.delete(bucket, f"{prefix}b/c.txt")  # deleting what is gone is quiet
    assert store.names(bucket, prefix) == [f"{prefix}a.json"]
    for missing in (lambda: store.read(bucket, f"{prefix}b/c.txt"), lambda: store.open(bucket, f"{prefix}nope").read()):
        with pytest.raises(BlobMissing):
            missing()


def test_copy_and_upload_only_create(blobs):
    store, bucket = blobs
    prefix = f"contract-{uuid.uuid4().hex[:10]}/"
    store.write(bucket, f"{prefix}src.flac", b"fLaC-bytes", "audio/flac")
    source = store.stat(bucket, f"{prefix}src.flac")
    assert source is not None
    store.copy(source, bucket, bucket, f"{prefix}copy.flac", {"model": "tiny.en"})
    copied = store.stat(bucket, f"{prefix}copy.flac")
    assert (
        copied is not None and copied.content_type == "audio/flac" and store.read(bucket, f"{prefix}copy.flac") == b"fLaC-bytes"
    )
    # measured: fake-gcs-server 0.1.1 ignores ifGenerationMatch on rewrites and resumable uploads (Cloud
    # Storage answers 412, which the adapter turns into BlobExists); only the fake can show the refusal
    refuses_existing = isinstance(store, FakeBlobs)
    if refuses_existing:
        with pytest.raises(BlobExists):
            store.copy(source, bucket, bucket, f"{prefix}copy.flac", {})
    store.upload(bucket, f"{prefix}up.wav", io.BytesIO(b"RIFF" * 1000), "audio/wav", {"language": "en"})
    assert store.read(bucket, f"{prefix}up.wav") == b"RIFF" * 1000
    if refuses_existing:
        with pytest.raises(BlobExists):
            store.upload(bucket, f"{prefix}up.wav", io.BytesIO(b"again"), "audio/wav", {})
    store.delete(bucket, f"{prefix}src.flac")
    with pytest.raises(BlobMissing):
        store.copy(source, bucket, bucket, f"{prefix}late.flac", {})
