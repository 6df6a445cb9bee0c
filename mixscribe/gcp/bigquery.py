"""BigQuery: clients (the local stack's emulator honoured), the warehouse's creation, and rows appended
through the Storage Write API.

The writer appends to a table's default stream: at-least-once (a retried append may write a row twice),
committed as soon as the append returns, no stream to create, finalize or commit, and no per-stream
quota. Exactly-once would need an application-created stream per writer with offsets tracked across
retries; the warehouse does not need it, since every query reads views that keep one row per key
(``mixscribe.warehouse``). Rows are sent as protocol buffers described from the table's declared schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..logs import fields
from ..warehouse import DATASET, TABLES, VIEWS, Table

if TYPE_CHECKING:
    from google.cloud import bigquery, bigquery_storage_v1

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 8 * 1024 * 1024  # the API refuses appends over 10 MB; leave room for the envelope


class WriteFailed(RuntimeError):
    """An append the API refused (the whole request: nothing of it was written)."""


def bigquery_client(settings: Settings) -> bigquery.Client:
    from google.cloud import bigquery

    if settings.bigquery_emulator_host:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=settings.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=settings.bigquery_emulator_host),
        )
    return bigquery.Client(project=settings.project)


def write_client(settings: Settings) -> bigquery_storage_v1.BigQueryWriteClient:
    from google.cloud import bigquery_storage_v1

    if settings.bigquery_storage_emulator_host:
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_write.transports import BigQueryWriteGrpcTransport

        channel = grpc.insecure_channel(settings.bigquery_storage_emulator_host)  # type: ignore[no-untyped-call,unused-ignore]
        return bigquery_storage_v1.BigQueryWriteClient(transport=BigQueryWriteGrpcTransport(channel=channel))
    return bigquery_storage_v1.BigQueryWriteClient()


def provision(client: bigquery.Client, dataset: str = DATASET) -> None:
    """The dataset, its tables and views as ``mixscribe.warehouse`` declares them (what the Pulumi program
    creates in the cloud), for the local stack's emulator and the benchmarks. A table made before a column
    was declared gains it (nullable: a BigQuery schema may only grow so)."""
    from google.cloud import bigquery

    client.create_dataset(bigquery.Dataset(f"{client.project}.{dataset}"), exists_ok=True)
    for table in TABLES:
        declared = [bigquery.SchemaField.from_api_repr(field) for field in table.bigquery_schema()]
        spec = bigquery.Table(f"{client.project}.{dataset}.{table.name}", schema=declared)
        spec.description = table.description
        spec.time_partitioning = bigquery.TimePartitioning(field=table.partition_field)
        spec.clustering_fields = list(table.clustering)
        existing = client.create_table(spec, exists_ok=True)
        have = {field.name for field in existing.schema}
        missing = [field for field in declared if field.name not in have]
        if missing:
            existing.schema = [*existing.schema, *missing]
            client.update_table(existing, ["schema"])
    for view in VIEWS:
        spec = bigquery.Table(f"{client.project}.{dataset}.{view.name}")
        spec.view_query = view.sql
        spec.description = view.description
        existing = client.create_table(spec, exists_ok=True)
        if existing.view_query != view.sql:
            existing.view_query = view.sql
            client.update_table(existing, ["view_query"])


class TableWriter:
    """Appends rows (dicts of the table's columns) to one table's default stream."""

    def __init__(self, client: bigquery_storage_v1.BigQueryWriteClient, project: str, table: Table, dataset: str = DATASET):
        self.client = client
        self.table = table
        self.stream = f"projects/{project}/datasets/{dataset}/tables/{table.name}/streams/_default"
        self._message, self._schema = _row_message(table)

    def append(self, rows: Iterable[dict[str, Any]]) -> int:
        """Write ``rows`` (in requests under 8 MB); the count written.

        A row that cannot be written as it is (a required value missing, a value of the wrong type, or
        one the API refuses by index) is logged with its reason and left out, and the rest of its
        request is sent again without it: retrying cannot fix it, and it must not hold up the others.
        Anything else the API refuses raises ``WriteFailed`` (the runner retries the bundle)."""
        chunks = list(self._chunks(rows))
        return sum(self._send(chunk) for chunk in chunks)

    def _send(self, chunk: list[bytes]) -> int:
        from google.cloud.bigquery_storage_v1 import types

        for _ in range(2):  # the second time without the rows the API refused
            if not chunk:
                return 0
            request = types.AppendRowsRequest(
                write_stream=self.stream,
                proto_rows=types.AppendRowsRequest.ProtoData(
                    writer_schema=self._schema, rows=types.ProtoRows(serialized_rows=chunk)
                ),
            )
            response = next(iter(self.client.append_rows(iter([request]))))
            if response.row_errors:
                refused = {e.index for e in response.row_errors}
                for e in response.row_errors:
                    log.error("row refused by the Storage Write API", extra=fields(table=self.table.name, reason=e.message))
                chunk = [row for index, row in enumerate(chunk) if index not in refused]
                continue
            if response.error.code:
                raise WriteFailed(f"append to {self.table.name} refused: {response.error.message}")
            return len(chunk)
        raise WriteFailed(f"append to {self.table.name} refused rows twice")

    def _chunks(self, rows: Iterable[dict[str, Any]]) -> Iterator[list[bytes]]:
        chunk: list[bytes] = []
        size = 0
        for row in rows:
            try:
                encoded = self.encode(row)
            except (TypeError, ValueError) as exc:
                log.error("row left out: not writable", extra=fields(table=self.table.name, reason=str(exc)))
                continue
            if chunk and size + len(encoded) > MAX_REQUEST_BYTES:
                yield chunk
                chunk, size = [], 0
            chunk.append(encoded)
            size += len(encoded) + 8
        if chunk:
            yield chunk

    def encode(self, row: dict[str, Any]) -> bytes:
        message = self._message()
        for column in self.table.columns:
            value = row.get(column.name)
            if value is None:
                if column.mode == "REQUIRED":
                    raise ValueError(f"{self.table.name}.{column.name} is required")
                continue
            setattr(message, column.name, _proto_value(column.type, value))
        data: bytes = message.SerializeToString()
        return data


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PROTO_TYPES = {"STRING": "TYPE_STRING", "INT64": "TYPE_INT64", "FLOAT64": "TYPE_DOUBLE", "BOOL": "TYPE_BOOL"}
# TIMESTAMP as microseconds since the epoch, JSON as its text: the Write API's documented encodings
_PROTO_TYPES |= {"TIMESTAMP": "TYPE_INT64", "JSON": "TYPE_STRING"}


def _row_message(table: Table) -> tuple[Any, Any]:
    """A protocol buffer message class for the table's rows, and the ``ProtoSchema`` that describes it."""
    from google.cloud.bigquery_storage_v1 import types
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field_type = descriptor_pb2.FieldDescriptorProto  # type: ignore[attr-defined]
    file = descriptor_pb2.FileDescriptorProto(  # type: ignore[attr-defined]
        name=f"{table.name}.proto", package="mixscribe", syntax="proto2"
    )
    message = file.message_type.add(name=f"{table.name.title().replace('_', '')}Row")
    for number, column in enumerate(table.columns, start=1):
        label = field_type.LABEL_REQUIRED if column.mode == "REQUIRED" else field_type.LABEL_OPTIONAL
        message.field.add(name=column.name, number=number, type=getattr(field_type, _PROTO_TYPES[column.type]), label=label)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    descriptor = pool.FindMessageTypeByName(f"mixscribe.{message.name}")
    described = descriptor_pb2.DescriptorProto()  # type: ignore[attr-defined]
    descriptor.CopyToProto(described)
    return message_factory.GetMessageClass(descriptor), types.ProtoSchema(proto_descriptor=described)


def _proto_value(bigquery_type: str, value: Any) -> Any:
    if bigquery_type == "TIMESTAMP":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (moment - _EPOCH) // timedelta(microseconds=1)
    if bigquery_type == "JSON":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if bigquery_type == "FLOAT64":
        return float(value)
    if bigquery_type == "INT64":
        return int(value)
    if bigquery_type == "BOOL":
        return bool(value)
    return str(value)
