"""The rate limiter and the long-file piece ledger on the ``Documents`` fake (no emulator)."""

from __future__ import annotations

from mixscribe.ratelimit import RateLimiter
from mixscribe.store import ClaimOutcome
from mixscribe.transcription.piece_store import PieceClaim, Plan, ShardStore
from tests.fakes import FakeDocuments


def test_instances_share_one_budget_per_caller_and_refusals_say_when():
    documents = FakeDocuments()
    first, second = (RateLimiter(documents, per_minute=4, per_hour=100) for _ in range(2))
    decisions = [limiter.take("alice").allowed for limiter in (first, second, first, second, first, second)]
    assert decisions.count(True) == 4  # never more than the shared per-minute budget
    refused = second.take("alice")
    assert not refused.allowed and 1 <= refused.retry_after_s <= 60
    assert first.take("bob").allowed  # another caller has a budget of its own


def test_pieces_are_claimed_once_renewed_by_their_holder_and_stitched_by_one():
    shards = ShardStore(FakeDocuments())
    shards.documents.create("jobs/j1", {"status": "transcribing"})
    plan = shards.save_plan("j1", Plan(2, [0, 5, 10], 16000, {"duration_s": 10.0}, "w0", 1.5, {"decode_s": 0.25}))
    assert shards.save_plan("j1", Plan(3, [0, 3, 6, 10], 16000, {}, "w1")) == plan == shards.plan("j1")  # the first stays
    assert plan.core_s(0) == (0.0, 5 / 16000) and plan.core_s(1) == (5 / 16000, float("inf"))
    assert shards.claim("j1", 0, "w0", lease_s=60) == PieceClaim(ClaimOutcome.CLAIMED, attempts=1)
    assert shards.claim("j1", 0, "w1", lease_s=60) == PieceClaim(ClaimOutcome.BUSY, attempts=1)
    assert shards.claim("j1", 0, "w0", lease_s=60) == PieceClaim(ClaimOutcome.CLAIMED, attempts=2)  # the holder again
    shards.renew("j1", 0, "w1", 60)  # not the holder: nothing changes
    assert shards.pieces("j1")[0]["worker"] == "w0"
    shards.finish("j1", 0, "gs://r/0.json", speech_s=4.0, transcribe_s=1.0)
    assert shards.claim("j1", 0, "w1", lease_s=60).outcome is ClaimOutcome.FINISHED
    assert [shards.begin_stitch("j1", w, 60) for w in ("w0", "w1")] == [True, False]
