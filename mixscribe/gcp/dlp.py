"""Cloud DLP as a redaction engine (``MIXSCRIBE_REDACTION_ENGINE=dlp``): the transcript's text goes to
the project's DLP API, which returns findings as code-point ranges."""

from __future__ import annotations

from typing import Any

from mixscribe.redaction.engines import Finding
from mixscribe.redaction.entities import BY_DLP, BY_NAME


class DlpEngine:
    """Cloud DLP's ``inspect_content`` on the text (``google-cloud-dlp``); findings at ``POSSIBLE`` or
    above. ``client`` is a ``DlpServiceClient`` (or anything with its ``inspect_content``)."""

    name = "dlp"
    CHUNK = 400_000  # characters per request, under DLP's 0.5 MB content limit

    def __init__(self, project: str, client: Any = None) -> None:
        if client is None:
            from google.cloud import dlp_v2

            client = dlp_v2.DlpServiceClient()
        self.client, self.parent = client, f"projects/{project}/locations/global"

    def find(self, text: str, entities: tuple[str, ...]) -> list[Finding]:
        info_types = [{"name": BY_NAME[e].dlp} for e in entities]
        findings: list[Finding] = []
        for offset in range(0, len(text), self.CHUNK):
            chunk = text[offset : offset + self.CHUNK]
            response = self.client.inspect_content(
                request={
                    "parent": self.parent,
                    "inspect_config": {"info_types": info_types, "min_likelihood": "POSSIBLE", "include_quote": False},
                    "item": {"value": chunk},
                }
            )
            for found in response.result.findings:
                span = found.location.codepoint_range
                entity = BY_DLP.get(found.info_type.name)
                if entity is not None:
                    likelihood = int(getattr(found.likelihood, "value", found.likelihood))
                    findings.append(Finding(offset + int(span.start), offset + int(span.end), entity.name, likelihood / 5))
        return findings
