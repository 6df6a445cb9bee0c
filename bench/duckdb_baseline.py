"""The analytics warehouse as it was before the BigQuery API: a DuckDB file, for ``make bench``'s baseline only.

Same tables (appended, as in BigQuery now) and the same views, the views' BigQuery SQL run by DuckDB
(one spelling differs: ``SELECT * EXCEPT`` is DuckDB's ``EXCLUDE``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import apache_beam as beam

from mixscribe.warehouse import DATASET, TABLES, VIEWS, Table

_DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
    "JSON": "JSON",
}


def create(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {DATASET}")
    for table in TABLES:
        columns = ", ".join(f"{c.name} {_DUCKDB_TYPES[c.type]}" for c in table.columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {DATASET}.{table.name} ({columns})")
    for view in VIEWS:
        con.execute(f"CREATE OR REPLACE VIEW {DATASET}.{view.name} AS {view.sql.replace('* EXCEPT (', '* EXCLUDE (')}")
    con.close()


def query(path: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class _Append(beam.DoFn):
    def __init__(self, path: str, table: Table) -> None:
        self.path, self.table = path, table

    def start_bundle(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def process(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def finish_bundle(self) -> None:
        import duckdb
        import pyarrow as pa

        if not self.rows:
            return
        arrays = {}
        for c in self.table.columns:
            values = [r.get(c.name) for r in self.rows]
            if c.type == "JSON":
                values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
            arrays[c.name] = pa.array(values, type=_arrow_type(c.type))
        batch = pa.table(arrays)  # noqa: F841 (read by name below)
        con = duckdb.connect(self.path)
        try:
            con.execute(f"INSERT INTO {DATASET}.{self.table.name} SELECT * FROM batch")
        finally:
            con.close()
        self.rows = []


def _arrow_type(bigquery_type: str) -> Any:
    import pyarrow as pa

    return {
        "STRING": pa.string(),
        "INT64": pa.int64(),
        "FLOAT64": pa.float64(),
        "BOOL": pa.bool_(),
        "TIMESTAMP": pa.timestamp("us", tz="UTC"),
        "JSON": pa.string(),
    }[bigquery_type]


class AppendToDuckDB(beam.PTransform):
    def __init__(self, table: Table, path: Path) -> None:
        super().__init__()
        self.table, self.path = table, str(path)

    def expand(self, rows):
        # _Append reads the table's declared columns only
        return rows | f"DuckDB_{self.table.name}" >> beam.ParDo(_Append(self.path, self.table))
