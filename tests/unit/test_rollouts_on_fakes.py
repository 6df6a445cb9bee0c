"""Rollouts: a share of a priority's jobs to another model, sticky per owner, changed at run time, recorded
on the job (intake on the ports' fakes); tests/integration/test_warehouse_semantics.py compares the arms in the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

from mixscribe.config import Settings
from mixscribe.intake import Intake
from mixscribe.model_registry import load_registry
from mixscribe.rollouts import ROLLOUTS_PATH, Rollout, Rollouts, parse_rollouts, write_rollouts
from mixscribe.store import JobStore
from tests.conftest import REPO, SAMPLE
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher
from tests.unit.test_intake_on_fakes import upload

LOCAL = load_registry("local")
OWNERS = [f"user-{k:03d}" for k in range(200)]


def trial(percent: float, name: str = "base-trial") -> dict:
    return {"rollouts": [{"name": name, "priority": "normal", "model": "base", "percent": percent}]}


def test_half_of_two_hundred_owners_within_a_few_points_and_each_owner_stays_in_their_arm():
    rollout = Rollout("base-trial", "normal", "base", 50)
    arms = [rollout.arm_of(owner) for owner in OWNERS]
    share = arms.count("treatment") / len(OWNERS)
    assert abs(share - 0.5) <= 0.05, share
    assert arms == [rollout.arm_of(owner) for owner in OWNERS]  # sticky
    wider = Rollout("base-trial", "normal", "base", 60)  # widening moves owners only from control to treatment
    assert all(wider.arm_of(o) == "treatment" for o, arm in zip(OWNERS, arms) if arm == "treatment")
    assert [Rollout("b", "normal", "base", p).arm_of("x") for p in (0, 100)] == ["control", "treatment"]


def test_entries_that_contradict_the_registry_are_skipped():
    document = {
        "rollouts": [
            {"name": "ok", "priority": "normal", "model": "base", "percent": 10},
            {"name": "unknown-model", "priority": "high", "model": "large-v9", "percent": 10},
            {"name": "too-much", "priority": "batch", "model": "base", "percent": 140},
            {"name": "second", "priority": "normal", "model": "tiny.en", "percent": 10},
            {"priority": "batch"},
        ]
    }
    assert list(parse_rollouts(document, LOCAL).values()) == [Rollout("ok", "normal", "base", 10.0)]
    cloud = load_registry("cloud")  # large-v3-turbo runs on the gpu class only: not for batch
    assert (
        parse_rollouts({"rollouts": [{"name": "x", "priority": "batch", "model": "large-v3-turbo", "percent": 5}]}, cloud) == {}
    )


def test_intake_honours_a_fifty_percent_rollout_and_a_change_without_redeploy():
    documents, blobs = FakeDocuments(), FakeBlobs()
    use_case = Intake(Settings(upload_bucket="uploads"), JobStore(documents), blobs, FakePublisher(), FakeEventSink(), None)
    now = [0.0]
    use_case.rollouts = Rollouts(documents, LOCAL, ttl_s=30, clock=lambda: now[0])
    documents.set(ROLLOUTS_PATH, trial(50))
    body = SAMPLE.read_bytes()
    jobs = [use_case.handle(upload(blobs, f"users/{o}/a.flac", body, "audio/flac", {"notes": "false"})) for o in OWNERS]
    by_arm: dict[str, list[str]] = {}
    for job in jobs:
        assert job is not None and job.options is not None
        by_arm.setdefault(job.options.arm, []).append(job.options.model)
    assert set(by_arm) == {"base-trial:treatment", "base-trial:control"}
    assert set(by_arm["base-trial:treatment"]) == {"base"} and set(by_arm["base-trial:control"]) == {"tiny.en"}
    assert abs(len(by_arm["base-trial:treatment"]) / len(OWNERS) - 0.5) <= 0.05

    named = use_case.handle(upload(blobs, "users/user-001/b.flac", body, "audio/flac", {"model": "tiny.en"}))
    assert named is not None and named.options is not None and (named.options.model, named.options.arm) == ("tiny.en", "")
    high = use_case.handle(upload(blobs, "users/user-001/c.flac", body, "audio/flac", {"priority": "high"}))
    assert high is not None and high.options is not None and high.options.arm == ""  # the rollout is for normal

    documents.set(ROLLOUTS_PATH, trial(0))  # turned off: cached for ttl_s, then read again
    late = use_case.handle(upload(blobs, "users/user-002/d.flac", body, "audio/flac"))
    treated = next(o for o, j in zip(OWNERS, jobs) if j and j.options and j.options.arm.endswith("treatment"))
    now[0] = 31.0
    off = use_case.handle(upload(blobs, f"users/{treated}/e.flac", body, "audio/flac"))
    assert late is not None and late.options is not None and late.options.arm.startswith("base-trial:")
    assert (
        off is not None and off.options is not None and (off.options.arm, off.options.model) == ("base-trial:control", "tiny.en")
    )


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_the_operator_script_writes_only_rollouts_the_registry_accepts():
    """scripts/set_rollouts.py's write: all or nothing."""
    documents = FakeDocuments()
    bad = {"rollouts": [trial(10)["rollouts"][0], {"name": "nope", "priority": "normal", "model": "large-v9", "percent": 5}]}
    assert write_rollouts(documents, LOCAL, bad) == ["nope"] and documents.get(ROLLOUTS_PATH) is None
    assert write_rollouts(documents, LOCAL, trial(10)) == [] and documents.get(ROLLOUTS_PATH) == trial(10)
    assert write_rollouts(documents, LOCAL, {"rollouts": []}) == [] and documents.get(ROLLOUTS_PATH) == {"rollouts": []}


def test_the_comparison_query_prices_tasks_as_the_capacity_model_does():
    """The query cannot import the capacity model; this keeps its two task prices in step with it."""
    from bench.capacity_model import TaskShape

    sql = (REPO / "beam_pipelines" / "analytics" / "queries" / "rollout_arms.sql").read_text()
    l4, cpu = TaskShape("l4", 4, 16, True, 1, 0), TaskShape("cpu", 4, 8, False, 1, 0)
    assert f"THEN {round(cpu.dollars_per_s * 3600, 4)} ELSE {round(l4.dollars_per_s * 3600, 4)} END" in sql
