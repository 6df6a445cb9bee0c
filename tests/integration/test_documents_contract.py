"""The ``Documents`` port's contract, checked on the in-memory fake and on Firestore's emulator alike."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from mixscribe.errors import TransientError
from mixscribe.gcp.firestore_documents import FirestoreDocuments
from mixscribe.ports import DocumentMissing, Documents
from tests.fakes import FakeDocuments


@pytest.fixture(params=["fake", "firestore"])
def docs(request) -> Documents:
    if request.param == "fake":
        return FakeDocuments()
    return FirestoreDocuments(request.getfixturevalue("stack").db)


@pytest.fixture()
def coll() -> str:
    return f"contract-{uuid.uuid4().hex[:10]}"


def test_create_get_update_set_delete(docs, coll):
    at = datetime(2026, 12, 2, 12, 0, 0, 123000, tzinfo=UTC)
    path = f"{coll}/a"
    assert docs.get(path) is None
    assert docs.create(path, {"n": 1, "at": at, "nested": {"x": "y"}})
    assert not docs.create(path, {"n": 2})
    assert docs.get(path) == {"n": 1, "at": at, "nested": {"x": "y"}}
    docs.update(path, {"n": 3})
    assert docs.get(path) == {"n": 3, "at": at, "nested": {"x": "y"}}
    with pytest.raises(DocumentMissing):
        docs.update(f"{coll}/missing", {"n": 1})
    docs.set(path, {"only": True})
    assert docs.get(path) == {"only": True}
    docs.set(path, {"more": 1}, merge=True)
    assert docs.get(path) == {"only": True, "more": 1}
    docs.delete(path)
    docs.delete(path)
    assert docs.get(path) is None


def test_compare_and_set_decides_on_what_it_read_and_loses_no_increment(docs, coll):
    path = f"{coll}/counter"
    assert not docs.compare_and_set(path, lambda doc: None)
    assert docs.get(path) is None
    assert docs.compare_and_set(path, lambda doc: {"n": (doc or {}).get("n", 0) + 1})

    def bump(_: int) -> None:
        while True:
            try:
                docs.compare_and_set(path, lambda doc: {"n": (doc or {}).get("n", 0) + 1})
                return
            except TransientError:
                continue

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(bump, range(12)))
    assert docs.get(path) == {"n": 13}


def test_transact_writes_what_compute_returns_or_nothing(docs, coll):
    path = f"{coll}/job"
    with pytest.raises(DocumentMissing):
        docs.transact(path, lambda doc: {"n": 1})
    docs.create(path, {"n": 1, "keep": "me"})
    assert docs.transact(path, lambda doc: {"n": doc["n"] + 1}) == {"n": 2, "keep": "me"}

    def refuse(doc: dict) -> dict:
        raise ValueError("no")

    with pytest.raises(ValueError):
        docs.transact(path, refuse)
    assert docs.get(path) == {"n": 2, "keep": "me"}


def test_queries_filter_order_page_limit_and_project(docs, coll):
    start = datetime(2026, 12, 2, tzinfo=UTC)
    for i in range(6):
        docs.create(
            f"{coll}/d{i}",
            {"owner": "a" if i % 2 == 0 else "b", "at": start + timedelta(seconds=i), "probe": {"s": i, "codec": "flac"}},
        )
    docs.create(f"{coll}/d0/children/c1", {"owner": "a", "at": start})
    mine = docs.query(coll, [("owner", "a")], order_by=("at",), descending=True)
    assert [key for key, _ in mine] == ["d4", "d2", "d0"]
    after = docs.query(coll, [("owner", "a")], order_by=("at",), descending=True, start_after=[start + timedelta(seconds=4)])
    assert [key for key, _ in after] == ["d2", "d0"]
    ascending = docs.query(coll, order_by=("at",), limit=2)
    assert [key for key, _ in ascending] == ["d0", "d1"]
    assert [key for key, _ in docs.query(coll, [("probe.s", 3)])] == ["d3"]
    projected = docs.query(coll, [("owner", "b")], order_by=("at",), select=["probe.s"])
    assert projected == [("d1", {"probe": {"s": 1}}), ("d3", {"probe": {"s": 3}}), ("d5", {"probe": {"s": 5}})]
    assert docs.query(f"{coll}/d0/children") == [("c1", {"owner": "a", "at": start})]
