"""Where rows go: BigQuery, through the Storage Write API (``mixscribe.gcp.bigquery.TableWriter``).

The same code and client write to BigQuery in the cloud and to the local stack's BigQuery emulator
(``BIGQUERY_EMULATOR_HOST`` / ``BIGQUERY_STORAGE_EMULATOR_HOST``). Beam's own ``WriteToBigQuery`` with
``STORAGE_WRITE_API`` is a Java cross-language transform: its expansion service is a jar fetched from
Maven at pipeline construction, so it needs Java in the launcher and the internet at launch, and it
cannot run here at all. Appends go to each table's default stream, at-least-once; a retried bundle may
append a row twice, which the views drop (``mixscribe.warehouse``).
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from mixscribe.warehouse import Table

BATCH_ROWS = 500  # rows per append within a bundle; the writer also splits requests at 8 MB


class _StorageWrite(beam.DoFn):
    """Buffers rows and appends them at the bundle's end (or every ``BATCH_ROWS``); an append the API
    refuses as a whole fails the bundle, which the runner retries (rows it cannot take are left out:
    ``TableWriter.append``)."""

    def __init__(self, project: str, dataset: str, table: Table) -> None:
        self.project = project
        self.dataset = dataset
        self.table = table
        self.rows: list[dict[str, Any]] = []
        self.written = Metrics.counter("analytics", f"rows_written_{table.name}")

    def setup(self) -> None:
        from mixscribe.config import Settings
        from mixscribe.gcp.bigquery import TableWriter, write_client

        self.writer = TableWriter(write_client(Settings.from_env()), self.project, self.table, self.dataset)

    def start_bundle(self) -> None:
        self.rows = []

    def process(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS:
            self._flush()

    def finish_bundle(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.written.inc(self.writer.append(self.rows))
            self.rows = []


def split_dataset(dataset: str) -> tuple[str, str]:
    """``PROJECT:DATASET`` (or ``PROJECT.DATASET``) → its two parts."""
    project, sep, name = dataset.replace(".", ":", 1).partition(":")
    if not sep or not project or not name:
        raise ValueError(f"expected PROJECT:DATASET, got {dataset!r}")
    return project, name


class WriteTable(beam.PTransform):
    """Rows of ``table`` appended to ``dataset`` (``PROJECT:DATASET``) in BigQuery."""

    def __init__(self, table: Table, dataset: str) -> None:
        super().__init__()
        self.table = table
        self.project, self.dataset = split_dataset(dataset)

    def expand(self, rows):
        # the writer encodes the table's declared columns only; other keys of a row are not sent
        return rows | f"StorageWrite_{self.table.name}" >> beam.ParDo(_StorageWrite(self.project, self.dataset, self.table))
