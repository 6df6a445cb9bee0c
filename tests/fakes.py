"""In-memory fakes of the domain's ports (``mixscribe.ports``), for unit tests.

They keep the ports' contracts (``tests/integration/test_documents_contract.py`` runs the same
checks on the fake and on Firestore's emulator) and nothing of Google Cloud.
"""

from __future__ import annotations

import copy
import io
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from mixscribe.events import Event
from mixscribe.ports import BlobExists, BlobInfo, BlobMissing, Decide, Document, DocumentMissing


def _field(doc: Document, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _project(doc: Document, fields: Sequence[str]) -> Document:
    out: Document = {}
    for dotted in fields:
        value = _field(doc, dotted)
        if value is None:
            continue
        *parents, last = dotted.split(".")
        target = out
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = copy.deepcopy(value)
    return out


class FakeDocuments:
    """``Documents`` in a dict, one lock around every call (so compare-and-set never collides)."""

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self._lock = threading.RLock()

    def get(self, path: str) -> Document | None:
        with self._lock:
            doc = self.docs.get(path)
            return copy.deepcopy(doc) if doc is not None else None

    def create(self, path: str, values: Document) -> bool:
        with self._lock:
            if path in self.docs:
                return False
            self.docs[path] = copy.deepcopy(values)
            return True

    def set(self, path: str, values: Document, merge: bool = False) -> None:
        with self._lock:
            base = self.docs.get(path, {}) if merge else {}
            self.docs[path] = {**base, **copy.deepcopy(values)}

    def update(self, path: str, values: Document) -> None:
        with self._lock:
            if path not in self.docs:
                raise DocumentMissing(path)
            self.docs[path].update(copy.deepcopy(values))

    def delete(self, path: str) -> None:
        with self._lock:
            self.docs.pop(path, None)

    def compare_and_set(self, path: str, decide: Decide) -> bool:
        with self._lock:
            current = self.get(path)
            values = decide(current)
            if values is None:
                return False
            if current is None:
                self.docs[path] = copy.deepcopy(values)
            else:
                self.docs[path].update(copy.deepcopy(values))
            return True

    def transact(self, path: str, compute: Callable[[Document], Document]) -> Document:
        with self._lock:
            current = self.get(path)
            if current is None:
                raise DocumentMissing(path)
            values = compute(current)
            self.docs[path].update(copy.deepcopy(values))
            return {**current, **values}

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
        with self._lock:
            depth = collection.count("/") + 2
            found = [
                (path.rsplit("/", 1)[1], copy.deepcopy(doc))
                for path, doc in self.docs.items()
                if path.startswith(collection + "/")
                and path.count("/") + 1 == depth
                and all(_field(doc, name) == value for name, value in where)
            ]
        found.sort(key=lambda item: (tuple(_field(item[1], name) for name in order_by), item[0]), reverse=descending)
        if start_after is not None:
            after = tuple(start_after)
            beyond = (lambda key: key < after) if descending else (lambda key: key > after)
            found = [item for item in found if beyond(tuple(_field(item[1], name) for name in order_by))]
        if limit is not None:
            found = found[:limit]
        return [(key, _project(doc, select)) if select is not None else (key, doc) for key, doc in found]


@dataclass
class FakeFuture:
    value: Any = None

    def result(self, timeout: float | None = None) -> Any:
        return self.value


@dataclass
class FakePublisher:
    """Records every message: ``(topic, data, attributes)``."""

    messages: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def publish(self, topic: str, data: bytes, **attributes: str) -> FakeFuture:
        self.messages.append((topic, data, attributes))
        return FakeFuture(str(len(self.messages)))


@dataclass
class FakeBlobs:
    """``Blobs`` in a dict keyed by ``(bucket, name)``; ``generation`` counts writes of a name from 1."""

    objects: dict[tuple[str, str], tuple[bytes, str, int]] = field(default_factory=dict)
    reads: list[tuple[str, str]] = field(default_factory=list)  # every download, open and read, in order
    metadata: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def put(self, bucket: str, name: str, body: bytes, content_type: str = "application/octet-stream") -> int:
        """Store an object as an upload would; its generation."""
        generation = self.objects.get((bucket, name), (b"", "", 0))[2] + 1
        self.objects[(bucket, name)] = (body, content_type, generation)
        return generation

    def _body(self, bucket: str, name: str, generation: int | None = None) -> bytes:
        self.reads.append((bucket, name))
        found = self.objects.get((bucket, name))
        if found is None or (generation is not None and found[2] != generation):
            raise BlobMissing(f"gs://{bucket}/{name}")
        return found[0]

    def open(self, bucket: str, name: str, generation: int | None = None, chunk_size: int = 256 * 1024) -> io.BytesIO:
        return io.BytesIO(self._body(bucket, name, generation))

    def download(self, bucket: str, name: str, path: str, generation: int | None = None) -> None:
        with open(path, "wb") as out:
            shutil.copyfileobj(io.BytesIO(self._body(bucket, name, generation)), out)

    def read(self, bucket: str, name: str) -> bytes:
        return self._body(bucket, name)

    def write(self, bucket: str, name: str, body: bytes, content_type: str) -> None:
        self.put(bucket, name, body, content_type)

    def delete(self, bucket: str, name: str) -> None:
        self.objects.pop((bucket, name), None)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        found = self.objects.get((bucket, name))
        return BlobInfo(name, len(found[0]), found[1], found[2]) if found else None

    def names(self, bucket: str, prefix: str) -> list[str]:
        return sorted(name for b, name in self.objects if b == bucket and name.startswith(prefix))

    def _create(self, bucket: str, name: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        if (bucket, name) in self.objects:
            raise BlobExists(f"gs://{bucket}/{name}")
        self.put(bucket, name, body, content_type)
        self.metadata[(bucket, name)] = dict(metadata)

    def copy(self, source: BlobInfo, source_bucket: str, bucket: str, name: str, metadata: dict[str, str]) -> None:
        self._create(bucket, name, self._body(source_bucket, source.name, source.generation), source.content_type, metadata)

    def upload(self, bucket: str, name: str, stream: BinaryIO, content_type: str, metadata: dict[str, str]) -> None:
        self._create(bucket, name, stream.read(), content_type, metadata)


@dataclass
class FakeEventSink:
    """Keeps every emitted event, in order."""

    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def types(self, job_id: str) -> list[str]:
        return [e.type for e in self.events if e.job_id == job_id]
