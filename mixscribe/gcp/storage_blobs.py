"""``Blobs`` on Cloud Storage (``google-cloud-storage``)."""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from google.api_core import exceptions as gexc

from ..ports import BlobExists, BlobInfo, BlobMissing

UPLOAD_CHUNK = 8 * 1024 * 1024  # resumable upload chunk (a multiple of 256 KiB)


class StorageBlobs:
    """Objects of Cloud Storage buckets through one ``storage.Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _blob(self, bucket: str, name: str, generation: int | None = None) -> Any:
        return self.client.bucket(bucket).blob(name, generation=generation)

    def open(self, bucket: str, name: str, generation: int | None = None, chunk_size: int = 256 * 1024) -> BinaryIO:
        uri = f"gs://{bucket}/{name}"
        try:
            reader = self._blob(bucket, name, generation).open("rb", chunk_size=chunk_size)
        except gexc.NotFound as exc:
            raise BlobMissing(uri) from exc
        return cast(BinaryIO, _Reader(reader, uri))

    def download(self, bucket: str, name: str, path: str, generation: int | None = None) -> None:
        try:
            self._blob(bucket, name, generation).download_to_filename(path)
        except gexc.NotFound as exc:
            raise BlobMissing(f"gs://{bucket}/{name}") from exc

    def read(self, bucket: str, name: str) -> bytes:
        try:
            return cast(bytes, self._blob(bucket, name).download_as_bytes())
        except gexc.NotFound as exc:
            raise BlobMissing(f"gs://{bucket}/{name}") from exc

    def write(self, bucket: str, name: str, body: bytes, content_type: str) -> None:
        self._blob(bucket, name).upload_from_string(body, content_type=content_type)

    def delete(self, bucket: str, name: str) -> None:
        try:
            self._blob(bucket, name).delete()
        except gexc.NotFound:
            pass

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        blob = self.client.bucket(bucket).get_blob(name)
        if blob is None:
            return None
        return BlobInfo(blob.name, int(blob.size or 0), blob.content_type or "", int(blob.generation or 0))

    def names(self, bucket: str, prefix: str) -> list[str]:
        return [blob.name for blob in self.client.list_blobs(self.client.bucket(bucket), prefix=prefix)]

    def copy(self, source: BlobInfo, source_bucket: str, bucket: str, name: str, metadata: dict[str, str]) -> None:
        src = self._blob(source_bucket, source.name, source.generation)
        dest = self._blob(bucket, name)
        dest.metadata, dest.content_type = metadata, source.content_type
        token = None
        try:
            while True:  # large objects are rewritten in several calls
                token, _, _ = dest.rewrite(src, token=token, if_generation_match=0)
                if token is None:
                    return
        except gexc.PreconditionFailed as exc:
            raise BlobExists(f"gs://{bucket}/{name}") from exc
        except gexc.NotFound as exc:
            raise BlobMissing(f"gs://{source_bucket}/{source.name}") from exc

    def upload(self, bucket: str, name: str, stream: BinaryIO, content_type: str, metadata: dict[str, str]) -> None:
        blob = self.client.bucket(bucket).blob(name, chunk_size=UPLOAD_CHUNK)
        blob.metadata = metadata
        try:
            blob.upload_from_file(stream, content_type=content_type, if_generation_match=0)
        except gexc.PreconditionFailed as exc:
            raise BlobExists(f"gs://{bucket}/{name}") from exc


class _Reader:
    """A ``BlobReader`` whose reads and seeks say ``BlobMissing`` (it fetches lazily, so a deleted
    object shows only then); everything else is the reader's own."""

    def __init__(self, reader: Any, uri: str) -> None:
        self._reader = reader
        self._uri = uri

    def read(self, size: int = -1) -> bytes:
        try:
            return cast(bytes, self._reader.read(size))
        except gexc.NotFound as exc:
            raise BlobMissing(self._uri) from exc

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return cast(int, self._reader.seek(offset, whence))
        except gexc.NotFound as exc:
            raise BlobMissing(self._uri) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.close()
