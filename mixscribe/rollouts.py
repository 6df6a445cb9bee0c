"""Rollouts: a share of one priority's jobs goes to another model, changed at run time.

The rollouts live in one Firestore document, ``config/rollouts``::

    {"rollouts": [{"name": "turbo-v2", "priority": "normal", "model": "base", "percent": 10}]}

Intake reads it through a short cache (``MIXSCRIBE_ROLLOUT_CACHE_S``), so an edit takes effect within
seconds, without a redeploy. An upload that names no model and whose priority has a rollout is placed
in an arm by a stable hash of the rollout's name and the owner: the same owner stays in one arm for
the rollout's life, and changing the percentage moves only the owners between the old and new cut.
``treatment`` gets the rollout's model, ``control`` the registry's default; both record the arm on
the job (``options.arm``), hence in ``transcript.json``, the events and the warehouse. An entry
that contradicts the registry (an unknown model, one the priority's job class lacks, a percentage
outside 0–100, a second rollout for the same priority) is skipped and logged; intake goes on.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import PermanentError
from .logs import fields
from .model_registry import ModelRegistry
from .ports import Documents
from .topology import PRIORITIES

log = logging.getLogger(__name__)
ROLLOUTS_PATH = "config/rollouts"
BUCKETS = 10_000  # a percentage's resolution: 0.01 %
TREATMENT, CONTROL = "treatment", "control"


@dataclass(frozen=True)
class Rollout:
    name: str
    priority: str
    model: str  # the treatment arm's model
    percent: float  # share of the priority's jobs (that name no model) in the treatment arm

    def bucket(self, owner: str) -> int:
        digest = hashlib.sha256(f"{self.name}\0{owner}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % BUCKETS

    def arm_of(self, owner: str) -> str:
        return TREATMENT if self.bucket(owner) < round(self.percent * BUCKETS / 100) else CONTROL


@dataclass(frozen=True)
class Assignment:
    rollout: str
    arm: str
    model: str

    @property
    def label(self) -> str:
        """What the job records: ``<rollout>:<arm>``."""
        return f"{self.rollout}:{self.arm}"


def parse_rollouts(document: dict[str, Any] | None, registry: ModelRegistry) -> dict[str, Rollout]:
    """Priority → its rollout; entries that contradict the registry are logged and left out."""
    found: dict[str, Rollout] = {}
    for raw in (document or {}).get("rollouts") or []:
        try:
            rollout = Rollout(str(raw["name"]), str(raw["priority"]), str(raw["model"]), float(raw["percent"]))
            if rollout.priority not in PRIORITIES or not 0 <= rollout.percent <= 100 or not rollout.name:
                raise ValueError("a name, a priority of high/normal/batch and a percent from 0 to 100")
            registry.choose(rollout.model, rollout.priority, "auto")  # in the registry, on the priority's class
            if rollout.priority in found:
                raise ValueError(f"priority {rollout.priority} already has rollout {found[rollout.priority].name}")
        except (KeyError, TypeError, ValueError, PermanentError) as err:
            log.error("rollout skipped", extra=fields(rollout=raw, reason=str(err)))
            continue
        found[rollout.priority] = rollout
    return found


class Rollouts:
    """The rollouts in force, read from ``config/rollouts`` at most every ``ttl_s`` seconds."""

    def __init__(
        self,
        documents: Documents,
        registry: ModelRegistry,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.documents = documents
        self.registry = registry
        self.ttl_s = ttl_s
        self.clock = clock
        self._cached: dict[str, Rollout] = {}
        self._read_at: float | None = None

    def current(self) -> dict[str, Rollout]:
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.ttl_s:
            self._cached = parse_rollouts(self.documents.get(ROLLOUTS_PATH), self.registry)
            self._read_at = now
        return self._cached

    def assign(self, owner: str, priority: str, language: str) -> Assignment | None:
        """The arm of an upload that names no model (None: no rollout for its priority, or its language
        rules the treatment model out)."""
        rollout = self.current().get(priority)
        if rollout is None:
            return None
        try:
            self.registry.choose(rollout.model, priority, language)
        except PermanentError:
            return None
        arm = rollout.arm_of(owner)
        model = rollout.model if arm == TREATMENT else self.registry.default_for(priority)
        return Assignment(rollout.name, arm, model)


def write_rollouts(documents: Documents, registry: ModelRegistry, document: dict[str, Any]) -> list[str]:
    """Write ``document`` to ``config/rollouts`` if the registry accepts every entry; else the refused
    entries' names (nothing written: intake would skip them, so the rollout would silently not run)."""
    entries = document.get("rollouts")
    if not isinstance(entries, list):
        return ["(the document needs a 'rollouts' list)"]
    accepted = {r.name for r in parse_rollouts(document, registry).values()}
    names = [str(e.get("name", "(unnamed)")) if isinstance(e, dict) else repr(e) for e in entries]
    refused = [name for name in names if name not in accepted]
    if not refused:
        documents.set(ROLLOUTS_PATH, {"rollouts": entries})
    return refused
