"""Pulumi entry point: ``pulumi up`` in infra/pulumi builds the whole system for the selected stack."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # mixscribe/ (schemas, topology) and artifacts/ (function archives)

from mixscribe_infra.config import InfraConfig  # noqa: E402 (Pulumi runs this file directly: its package folder first)
from mixscribe_infra.program import build  # noqa: E402 (Pulumi runs this file directly: its package folder first)

build(InfraConfig.load())
