"""The local DuckDB warehouse: the BigQuery tables of mixscribe.warehouse, same names and columns.

Tables live in schema ``mixscribe`` so the same ``mixscribe.<table>`` names work in BigQuery
(dataset) and DuckDB (schema). Writers connect per batch and retry while another process holds
the file, so a reader (a query, the report) can get in between.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable

from mixscribe.warehouse import EVENTS, HOURLY, JOBS, TABLES, Table, duckdb_type

SCHEMA = "mixscribe"
PRIMARY_KEYS = {EVENTS.name: ("event_id",), JOBS.name: ("job_id",), HOURLY.name: ("window_start", "dimension", "key")}
_STATUS_RANK_SQL = "CASE {col} WHEN 'done' THEN 3 WHEN 'failed' THEN 3 WHEN 'transcribed' THEN 2 WHEN 'transcribing' THEN 1 ELSE 0 END"


def connect(path: str | Path, read_only: bool = False, timeout_s: float = 30.0) -> Any:
    """A connection, retried while another process holds the file's lock."""
    import duckdb

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def ddl(table: Table) -> str:
    columns = [f"{c.name} {duckdb_type(c.type)}{' NOT NULL' if c.mode == 'REQUIRED' else ''}" for c in table.columns]
    columns.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[table.name])})")
    return f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table.name} ({', '.join(columns)})"


def ensure_schema(con: Any) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table in TABLES:
        con.execute(ddl(table))
    con.execute(f"CREATE OR REPLACE VIEW {SCHEMA}.jobs_current AS SELECT * FROM {SCHEMA}.{JOBS.name}")


def _values(table: Table, row: dict[str, Any]) -> list[Any]:
    values = []
    for column in table.columns:
        value = row.get(column.name)
        if column.type == "JSON" and value is not None and not isinstance(value, str):
            value = json.dumps(value)
        values.append(value)
    return values


def upsert_sql(table: Table) -> str:
    names = [c.name for c in table.columns]
    keys = PRIMARY_KEYS[table.name]
    placeholders = ", ".join("?" for _ in names)
    insert = f"INSERT INTO {SCHEMA}.{table.name} ({', '.join(names)}) VALUES ({placeholders})"
    if table is EVENTS:
        return insert + " ON CONFLICT DO NOTHING"
    updates = []
    for name in names:
        if name in keys:
            continue
        if table is JOBS and name == "status":
            new, old = _STATUS_RANK_SQL.format(col="excluded.status"), _STATUS_RANK_SQL.format(col=f"{table.name}.status")
            updates.append(f"status = CASE WHEN {new} >= {old} THEN excluded.status ELSE {table.name}.status END")
        elif table is JOBS:
            updates.append(f"{name} = COALESCE(excluded.{name}, {table.name}.{name})")
        else:
            updates.append(f"{name} = excluded.{name}")
    return f"{insert} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(updates)}"


def write_rows(path: str | Path, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    batch = [_values(table, row) for row in rows]
    if not batch:
        return 0
    con = connect(path)
    try:
        ensure_schema(con)
        con.executemany(upsert_sql(table), batch)
    finally:
        con.close()
    return len(batch)


def run_query(path: str | Path, sql: str) -> tuple[list[str], list[tuple]]:
    con = connect(path)
    try:
        ensure_schema(con)
        cursor = con.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        con.close()
