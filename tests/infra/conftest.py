"""Builds the whole Pulumi program once under ``pulumi.runtime.set_mocks`` and records every resource."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "infra" / "pulumi"))

import pulumi  # noqa: E402 (after the program's folder is on sys.path, as Pulumi puts it)


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like GCP would (service-account emails, ids) and keeps what was asked for."""

    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ == "gcp:serviceaccount/account:Account":
            outputs["email"] = f"{args.inputs['accountId']}@{args.inputs.get('project', 'p')}.iam.gserviceaccount.com"
        if args.typ == "gcp:cloudfunctionsv2/function:Function":
            outputs["url"] = f"https://{args.inputs['name']}-abc123-uc.a.run.app"
        if args.typ == "gcp:serviceaccount/account:Account":
            outputs["name"] = f"projects/{args.inputs.get('project', 'p')}/serviceAccounts/{outputs['email']}"
        if args.typ == "gcp:projects/iAMCustomRole:IAMCustomRole":
            outputs["name"] = f"projects/{args.inputs['project']}/roles/{args.inputs['roleId']}"
        if args.typ == "gcp:bigquery/dataset:Dataset":
            outputs.setdefault("datasetId", args.inputs.get("datasetId"))
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": "123456789", "projectId": args.args.get("projectId")}
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            return {"emailAddress": "service-123456789@gs-project-accounts.iam.gserviceaccount.com"}
        return {}


def build_under_mocks(**overrides: Any) -> list[Recorded]:
    """Every resource the program registers for a stack configured with ``overrides``."""
    from mixscribe_infra.config import InfraConfig
    from mixscribe_infra.program import build

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="mixscribe", stack="test", preview=False)
    cfg = InfraConfig(
        project="mixscribe-test",
        region="us-central1",
        uploads_bucket="t-uploads",
        results_bucket="t-results",
        sources_bucket="t-sources",
        gpu=True,
        web_origin="https://app.example",
        upload_retention_days=14,
    )
    cfg = replace(cfg, **overrides)

    @pulumi.runtime.test
    def run():
        build(cfg)

    run()
    return mocks.resources


@pytest.fixture(scope="session")
def infra() -> list[Recorded]:
    """The resources of a prod-like stack (GPU on), built once."""
    return build_under_mocks()


def of_type(resources: list[Recorded], suffix: str) -> list[Recorded]:
    return [r for r in resources if r.type.endswith(suffix)]
