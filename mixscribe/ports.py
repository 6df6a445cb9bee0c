"""The domain's ports: what it needs of the outside world, as small typed interfaces.

The Google Cloud implementations live in ``mixscribe.gcp``; in-memory ones (named as fakes) in
``tests/fakes.py`` serve the unit tests. Domain modules talk only to these.

``Documents`` is the document database (Firestore in the cloud): documents addressed by slash
paths (``jobs/{id}``, ``jobs/{id}/shards/{k}``), values that are JSON-like dicts with ``datetime``
values, equality queries, optimistic compare-and-set and single-document transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

Document = dict[str, Any]
Decide = Callable[[Document | None], Document | None]
"""Given the current document (``None`` when absent), the fields to write, or ``None`` to leave it."""


class DocumentMissing(LookupError):
    """The document to update does not exist."""


class Documents(Protocol):
    """A document database."""

    def get(self, path: str) -> Document | None:
        """The document's fields, or ``None`` when it does not exist."""
        ...

    def create(self, path: str, values: Document) -> bool:
        """Create the document unless it exists (atomically); ``False`` when it existed."""
        ...

    def set(self, path: str, values: Document, merge: bool = False) -> None:
        """Write the whole document (with ``merge``, only these top-level fields)."""
        ...

    def update(self, path: str, values: Document) -> None:
        """Set some top-level fields of an existing document; ``DocumentMissing`` if there is none."""
        ...

    def delete(self, path: str) -> None:
        """Remove the document (nothing happens when there is none)."""
        ...

    def compare_and_set(self, path: str, decide: Decide) -> bool:
        """Write ``decide(current)`` only if nobody wrote since it was read (re-read and re-decide
        on a collision, a bounded number of times, then ``TransientError``). True when it wrote."""
        ...

    def transact(self, path: str, compute: Callable[[Document], Document]) -> Document:
        """Read, ``compute`` the fields to set and write them in one transaction; returns the new
        document. ``DocumentMissing`` when it does not exist; exceptions from ``compute`` abort."""
        ...

    def query(
        self,
        collection: str,
        where: Sequence[tuple[str, Any]] = (),
        order_by: Sequence[str] = (),
        descending: bool = False,
        start_after: Sequence[Any] | None = None,
        limit: int | None = None,
        select: Sequence[str] | None = None,
    ) -> list[tuple[str, Document]]:
        """``(id, document)`` of a collection's documents whose fields (dotted paths) equal the
        ``where`` values, ordered by ``order_by`` (all ascending or all descending), after the
        ``start_after`` values of those fields, at most ``limit``; only the ``select`` fields
        (dotted paths, nested as stored) when given."""
        ...


class Future(Protocol):
    def result(self, timeout: float | None = None) -> Any: ...


class Publisher(Protocol):
    """Pub/Sub's publisher (``google.cloud.pubsub_v1.PublisherClient`` is one)."""

    def publish(self, topic: str, data: bytes, **attributes: Any) -> Future: ...  # Any: the client takes options too


class BlobMissing(LookupError):
    """The object (or that generation of it) does not exist."""


class BlobExists(Exception):
    """A write that may only create the object found it there (``if_absent``)."""


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    content_type: str
    generation: int


class Blobs(Protocol):
    """An object store (Cloud Storage in the cloud); ``generation`` pins one version of an object."""

    def open(self, bucket: str, name: str, generation: int | None = None, chunk_size: int = 256 * 1024) -> BinaryIO:
        """A reader of the object's bytes; ``BlobMissing`` when it does not exist."""
        ...

    def download(self, bucket: str, name: str, path: str, generation: int | None = None) -> None:
        """The object's bytes into the file ``path``; ``BlobMissing`` when it does not exist."""
        ...

    def read(self, bucket: str, name: str) -> bytes:
        """The object's bytes; ``BlobMissing`` when it does not exist."""
        ...

    def write(self, bucket: str, name: str, body: bytes, content_type: str) -> None:
        """Create or replace the object."""
        ...

    def delete(self, bucket: str, name: str) -> None:
        """Remove the object (nothing happens when there is none)."""
        ...

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        """The object's size, type and generation; ``None`` when it does not exist."""
        ...

    def names(self, bucket: str, prefix: str) -> list[str]:
        """The names of the objects under ``prefix``."""
        ...

    def copy(self, source: BlobInfo, source_bucket: str, bucket: str, name: str, metadata: dict[str, str]) -> None:
        """A new object ``name`` with ``source``'s bytes and type (``BlobExists`` if ``name`` exists;
        ``BlobMissing`` if the source went away)."""
        ...

    def upload(self, bucket: str, name: str, stream: BinaryIO, content_type: str, metadata: dict[str, str]) -> None:
        """A new object ``name`` from ``stream``, in chunks (``BlobExists`` if it exists)."""
        ...


@dataclass(frozen=True)
class SignedRequest:
    """A URL and the exact headers the client must send with it (they are part of the signature)."""

    url: str
    method: str
    headers: dict[str, str]
    expires_in_s: int


class UrlSigning(Protocol):
    """Short-lived URLs a web client uses to reach one object directly (V4 signed URLs on Cloud Storage)."""

    def resumable_upload(
        self, bucket: str, name: str, content_type: str, max_bytes: int, metadata: dict[str, str]
    ) -> SignedRequest:
        """A request that starts a resumable upload of a new object (never an overwrite) within ``max_bytes``."""
        ...

    def download(self, bucket: str, name: str, filename: str = "") -> SignedRequest:
        """A ``GET`` of one object (as an attachment named ``filename`` when given)."""
        ...
