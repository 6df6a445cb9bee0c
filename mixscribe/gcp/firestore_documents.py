"""``Documents`` on Firestore (``google-cloud-firestore``): the domain's document database in the cloud."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_query import FieldFilter

from ..errors import TransientError
from ..ports import Decide, Document, DocumentMissing

CAS_ATTEMPTS = 8


class FirestoreDocuments:
    """Documents of one Firestore database (paths as Firestore writes them: ``collection/id/...``)."""

    def __init__(self, client: firestore.Client) -> None:
        self.client = client

    def get(self, path: str) -> Document | None:
        """One unary ``GetDocument`` call: about half the latency of ``DocumentReference.get()``,
        which streams ``BatchGetDocuments`` (measured on the emulator: 2.4 ms against 4.7 ms). It
        uses the client's GAPIC stub, a private attribute of the pinned google-cloud-firestore;
        when that is absent it falls back to the public call."""
        api = getattr(self.client, "_firestore_api", None)
        if api is None or not hasattr(self.client, "_rpc_metadata"):
            snap = self.client.document(path).get()
            return _fields(snap) if snap.exists else None
        name = f"{self.client._database_string}/documents/{path}"
        try:
            document = api.get_document(request={"name": name}, metadata=self.client._rpc_metadata)
        except gexc.NotFound:
            return None
        return cast(Document, _helpers.decode_dict(document.fields, self.client))

    def create(self, path: str, values: Document) -> bool:
        try:
            self.client.document(path).create(values)
            return True
        except (gexc.Conflict, gexc.AlreadyExists):
            return False

    def set(self, path: str, values: Document, merge: bool = False) -> None:
        self.client.document(path).set(values, merge=merge)

    def update(self, path: str, values: Document) -> None:
        try:
            self.client.document(path).update(values)
        except gexc.NotFound as exc:
            raise DocumentMissing(path) from exc

    def delete(self, path: str) -> None:
        self.client.document(path).delete()

    def compare_and_set(self, path: str, decide: Decide) -> bool:
        """Hot documents use this instead of a transaction: no locks are held, so contention costs a
        re-read rather than a lock timeout (the emulator locks pessimistically)."""
        ref = self.client.document(path)
        for _ in range(CAS_ATTEMPTS):
            snap = ref.get()
            values = decide(_fields(snap) if snap.exists else None)
            if values is None:
                return False
            try:
                if snap.exists:
                    ref.update(values, option=self.client.write_option(last_update_time=snap.update_time))
                else:
                    ref.create(values)
                return True
            except (gexc.FailedPrecondition, gexc.Conflict, gexc.AlreadyExists, gexc.NotFound):
                continue
        raise TransientError(f"{path} is contended; retry later")

    def transact(self, path: str, compute: Callable[[Document], Document]) -> Document:
        ref = self.client.document(path)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> Document:
            snap = ref.get(transaction=tx)
            if not snap.exists:
                raise DocumentMissing(path)
            doc = _fields(snap)
            values = compute(doc)
            tx.update(ref, values)
            return {**doc, **values}

        return cast(Document, run(self.client.transaction()))

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
        query: Any = self.client.collection(collection)
        if select is not None:
            query = query.select(list(select))
        for field, value in where:
            query = query.where(filter=FieldFilter(field, "==", value))
        direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
        for field in order_by:
            query = query.order_by(field, direction=direction)
        if start_after is not None:
            query = query.start_after(dict(zip(order_by, start_after)))
        if limit is not None:
            query = query.limit(limit)
        return [(snap.id, _fields(snap)) for snap in query.stream()]


def _fields(snap: Any) -> Document:
    """A snapshot's fields (an existing document's: ``{}`` never stands in for a missing one)."""
    doc = snap.to_dict()
    if doc is None:
        raise DocumentMissing(snap.reference.path)
    return cast(Document, doc)
