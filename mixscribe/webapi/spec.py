"""The API's contract: ``openapi.yaml`` (served at ``/openapi.yaml``, validated against by the tests),
its schema validators, and how a job is shown (the ``Job`` schema)."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..jobs import Job
from ..progress import public_progress

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
SPEC_URI = "urn:mixscribe:openapi"


@lru_cache(maxsize=1)
def openapi_spec() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(SPEC_PATH.read_text()))


@cache
def schema_validator(name: str) -> Validator:
    """A validator for ``#/components/schemas/<name>`` with the spec's references resolvable."""
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(openapi_spec(), DRAFT202012))
    return Draft202012Validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=registry)


def job_view(job: Job) -> dict[str, Any]:
    """A job as the API shows it (the ``Job`` schema): no bucket paths, no webhook URL."""
    metrics = job.metrics or {}
    return {
        "id": job.job_id,
        "status": job.status.value,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "source": {"name": job.source.name.rsplit("/", 1)[-1], "size": job.source.size, "content_type": job.source.content_type},
        "options": job.options.public_dict() if job.options else None,
        "attempts": job.attempts,
        "duration_s": metrics.get("duration_s") or (job.probe or {}).get("duration_s"),
        "language": metrics.get("language"),
        "metrics": job.metrics,
        "notes": job.notes,
        "error": job.error,
        "outputs": sorted(job.outputs),
        "webhook": {k: v for k, v in job.webhook.items() if k != "updated_at"} if job.webhook else None,
        "routing": job.routing,
        "cache_hit": job.cache_hit,
        "progress": public_progress(job.progress),
    }
