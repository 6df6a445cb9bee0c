"""The local DuckDB warehouse: the BigQuery tables of mixscribe.warehouse, same names and columns.

Tables live in schema ``mixscribe`` so the same ``mixscribe.<table>`` names work in BigQuery
(dataset) and DuckDB (schema). Writers connect per batch and retry while another process holds
the file, so a reader (a query, the report) can get in between.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mixscribe.warehouse import EVENTS, HOURLY, JOBS, TABLES, Table, duckdb_type

from .records import STATUS_RANK

SCHEMA = "mixscribe"
PRIMARY_KEYS = {EVENTS.name: ("event_id",), JOBS.name: ("job_id",), HOURLY.name: ("window_start", "dimension", "key")}
# The fold's status ranking, as SQL, so an upsert never moves a job's status backwards either.
_STATUS_RANK_SQL = "CASE {col} " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items()) + " ELSE 0 END"


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


_READY: set[tuple[str, int]] = set()  # (file, inode) whose schema this process has already created


def ensure_schema(con: Any, path: str | Path) -> None:
    """Create the schema, tables and view once per file per process (writes run per bundle).

    The key includes the inode, so a file deleted and created again is set up again.
    """
    key = (str(Path(path).resolve()), os.stat(path).st_ino)
    if key in _READY:
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table in TABLES:
        con.execute(ddl(table))
        for column in table.columns:  # a warehouse made before a column was declared gains it (nullable)
            if column.mode != "REQUIRED":
                con.execute(
                    f"ALTER TABLE {SCHEMA}.{table.name} ADD COLUMN IF NOT EXISTS {column.name} {duckdb_type(column.type)}"
                )
    con.execute(f"CREATE VIEW IF NOT EXISTS {SCHEMA}.jobs_current AS SELECT * FROM {SCHEMA}.{JOBS.name}")
    _READY.add(key)


def upsert_sql(table: Table, source: str = "batch_rows") -> str:
    """Upsert of every row of the registered relation ``source`` (one row per key)."""
    names = [c.name for c in table.columns]
    keys = PRIMARY_KEYS[table.name]
    insert = f"INSERT INTO {SCHEMA}.{table.name} ({', '.join(names)}) SELECT {', '.join(names)} FROM {source}"
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


def _latest_per_key(table: Table, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per primary key (the latest by ``updated_at``; events: the first), as one
    statement may not update a row twice."""
    keys = PRIMARY_KEYS[table.name]
    chosen: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row.get(k) for k in keys)
        current = chosen.get(key)
        if current is None or (table is not EVENTS and _newer(row, current)):
            chosen[key] = row
    return list(chosen.values())


def _newer(row: dict[str, Any], than: dict[str, Any]) -> bool:
    if row.get("updated_at") is None:
        return False
    return than.get("updated_at") is None or row["updated_at"] >= than["updated_at"]


def write_rows(path: str | Path, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert ``rows`` in one statement over an Arrow batch (row-by-row inserts are far slower)."""
    import pyarrow as pa

    batch = _latest_per_key(table, rows)
    if not batch:
        return 0
    arrays = {}
    for column in table.columns:
        values = [row.get(column.name) for row in batch]
        if column.type == "JSON":
            values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        arrays[column.name] = pa.array(values, type=_ARROW_TYPES[column.type])
    con = connect(path)
    try:
        ensure_schema(con, path)
        con.register("batch_rows", pa.table(arrays))
        con.execute(upsert_sql(table))
        con.unregister("batch_rows")
    finally:
        con.close()
    return len(batch)


_ARROW_TYPES: dict[str, Any] = {}


def _arrow_types() -> None:
    import pyarrow as pa

    _ARROW_TYPES.update(
        {
            "STRING": pa.string(),
            "INT64": pa.int64(),
            "FLOAT64": pa.float64(),
            "BOOL": pa.bool_(),
            "TIMESTAMP": pa.timestamp("us", tz="UTC"),
            "JSON": pa.string(),
        }
    )


_arrow_types()


def run_query(path: str | Path, sql: str) -> tuple[list[str], list[tuple]]:
    con = connect(path)
    try:
        ensure_schema(con, path)
        cursor = con.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        con.close()
