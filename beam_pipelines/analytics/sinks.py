"""Where rows go: a DuckDB file locally, BigQuery in the cloud (same tables, same columns)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import apache_beam as beam

from mixscribe.warehouse import Table

from . import warehouse


class _DuckDBWrite(beam.DoFn):
    """Buffers a bundle's rows and upserts them in one short connection."""

    def __init__(self, path: str, table: Table) -> None:
        self.path = path
        self.table = table
        self.rows: list[dict[str, Any]] = []

    def start_bundle(self) -> None:
        self.rows = []

    def process(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def finish_bundle(self) -> None:
        warehouse.write_rows(self.path, self.table, self.rows)
        self.rows = []


def _bigquery_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


class WriteTable(beam.PTransform):
    """Rows of ``table`` to DuckDB (``warehouse`` path) or BigQuery (``dataset`` as ``project:dataset``)."""

    def __init__(self, table: Table, warehouse_path: str | None = None, dataset: str | None = None) -> None:
        super().__init__()
        self.table = table
        self.warehouse_path = warehouse_path
        self.dataset = dataset

    def expand(self, rows):
        if self.warehouse_path:
            return rows | f"DuckDB_{self.table.name}" >> beam.ParDo(_DuckDBWrite(self.warehouse_path, self.table))
        from apache_beam.io.gcp.bigquery import BigQueryDisposition, WriteToBigQuery

        columns = {c.name for c in self.table.columns}
        return (
            rows
            | f"ToJson_{self.table.name}" >> beam.Map(lambda r: _bigquery_row({k: v for k, v in r.items() if k in columns}))
            | f"BigQuery_{self.table.name}"
            >> WriteToBigQuery(
                table=f"{self.dataset}.{self.table.name}",
                schema={"fields": self.table.bigquery_schema()},
                create_disposition=BigQueryDisposition.CREATE_NEVER,
                write_disposition=BigQueryDisposition.WRITE_APPEND,
                method=WriteToBigQuery.Method.STREAMING_INSERTS,
            )
        )
