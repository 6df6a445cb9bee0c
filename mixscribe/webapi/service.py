"""What the HTTPS API does, without HTTP: uploads, imports, reading, listing, renaming speakers and deleting jobs.

Every method takes the authenticated ``Caller``; a job of someone else is ``not_found``, exactly
like a job that does not exist. Upload options go through the same allow-list as the upload
trigger (``uploads.parse_options``), so both doors accept the same things.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, cast

from .. import layout, safe_http, telemetry
from ..auth import Caller
from ..config import Settings
from ..diarization.labels import InvalidNames, relabel_strings, relabel_text, rename
from ..errors import ErrorCode, PermanentError
from ..jobs import Job, JobStatus, job_id_for
from ..logs import fields
from ..ports import BlobMissing, Blobs, SignedRequest, UrlSigning
from ..store import JobStore
from ..transcript import Transcript
from ..transcript_cache import TranscriptCache
from ..uploads import parse_options, validate_content_type, validate_extension, validate_object_name, validate_size

log = logging.getLogger(__name__)
MAX_PAGE = 100
JOB_ID = re.compile(r"^j[0-9a-f]{31}$")
EXTENSION_FOR_TYPE = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/webm": ".webm",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
}


@dataclass
class ApiError(Exception):
    """A refusal with an HTTP status and a stable code (rendered as the Error schema)."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def not_found() -> ApiError:
    return ApiError(404, "not_found", "no such job")


def invalid(err: PermanentError) -> ApiError:
    return ApiError(400, err.code.value, err.message)


def options_metadata(options: dict[str, Any]) -> dict[str, str]:
    """API options as the ``x-goog-meta-*`` strings the upload trigger reads."""
    meta: dict[str, str] = {}
    for key, value in options.items():
        if key in ("notes", "diarize", "redact_audio", "keep_original"):
            meta[key] = "true" if value else "false"
        elif key == "channels" or (key == "redact" and isinstance(value, list)):
            meta[key] = ",".join(value)
        else:
            meta[key] = str(value)
    return meta


PAGE_TOKEN = re.compile(r"^[0-9]{1,16}\.j[0-9a-f]{31}$")  # openapi.yaml states the same pattern
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_page_token(job: Job) -> str:
    """The cursor after ``job``: its creation time in microseconds since the epoch and its id."""
    return f"{(job.created_at - EPOCH) // timedelta(microseconds=1)}.{job.job_id}"


def decode_page_token(token: str) -> tuple[datetime, str]:
    """(created_at, job_id) the next page starts after; any token of the pattern is a valid cursor."""
    if not PAGE_TOKEN.match(token):
        raise ApiError(400, "invalid_request", "page_token is not one this API issued")
    micros, job_id = token.split(".")
    return EPOCH + timedelta(microseconds=int(micros)), job_id


class JobsService:
    def __init__(self, settings: Settings, store: JobStore, blobs: Blobs, signer: UrlSigning) -> None:
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.signer = signer

    # -- creating -------------------------------------------------------------------------
    def check_options(self, options: dict[str, Any]) -> dict[str, str]:
        """The options as upload metadata (with the trace), after the checks every door applies."""
        metadata = options_metadata(options)
        try:
            parsed = parse_options(metadata, self.settings)
            if parsed.webhook:
                safe_http.vet_url(parsed.webhook, self.settings.allow_private_networks)
        except PermanentError as err:
            raise invalid(err) from err
        except safe_http.UrlRefused as exc:
            raise ApiError(400, ErrorCode.INVALID_OPTION.value, f"webhook refused: {exc}") from exc
        return _with_trace(metadata)

    def _promise(self, caller: Caller, name: str) -> str:
        """The job id the new object ``name`` will become, remembered as the caller's until the signed
        URL and an hour more have passed (so its events can be followed before the job is recorded)."""
        job_id = job_id_for(self.settings.upload_bucket, name, 0)
        self.store.promise(job_id, caller.uid, self.settings.signed_url_ttl_s + 3600)
        return job_id

    def _object_name(self, caller: Caller, filename: str) -> str:
        base = unicodedata.normalize("NFC", filename.strip())
        if "/" in base or "\\" in base:
            raise ApiError(400, ErrorCode.INVALID_OBJECT_NAME.value, "filename may not contain path separators")
        name = f"users/{caller.uid}/uploads/{uuid.uuid4().hex}/{base}"
        try:
            validate_object_name(name)
            validate_extension(name)
        except PermanentError as err:
            raise invalid(err) from err
        return name

    def create_upload(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """A signed resumable upload for a new object, and the job id it will become."""
        metadata = self.check_options(body.get("options") or {})
        name = self._object_name(caller, body["filename"])
        try:
            validate_content_type(body["content_type"])
            validate_size(int(body["size"]), self.settings)
        except PermanentError as err:
            raise invalid(err) from err
        bucket = self.settings.upload_bucket
        signed = self.signer.resumable_upload(bucket, name, body["content_type"], int(body["size"]), metadata)
        log.info("upload url issued", extra=fields(uid=caller.uid, object=name, size=body["size"]))
        return {
            "job_id": self._promise(caller, name),
            "object": layout.gs_uri(bucket, name),
            "max_bytes": int(body["size"]),
            "upload": _signed_view(signed),
        }

    def import_source(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Copy a ``gs://`` object or fetch an ``https://`` URL into the caller's prefix."""
        metadata = self.check_options(body.get("options") or {})
        source = str(body["source"])
        if source.startswith("gs://"):
            name = self._copy_object(caller, source, metadata)
        else:
            name = self._fetch_url(caller, source, metadata)
        log.info("source imported", extra=fields(uid=caller.uid, object=name))
        return {"job_id": self._promise(caller, name), "object": layout.gs_uri(self.settings.upload_bucket, name)}

    def _copy_object(self, caller: Caller, source: str, metadata: dict[str, str]) -> str:
        bucket_name, _, object_name = source[len("gs://") :].partition("/")
        own = bucket_name == self.settings.upload_bucket and object_name.startswith(f"users/{caller.uid}/")
        if not own and bucket_name not in self.settings.import_buckets:
            raise not_found()  # someone else's object or a bucket we do not import from: no hints
        src = self.blobs.stat(bucket_name, object_name) if object_name else None
        if src is None:
            raise not_found()
        name = self._object_name(caller, object_name.rsplit("/", 1)[-1])
        try:
            validate_content_type(src.content_type)
            validate_size(src.size, self.settings)
        except PermanentError as err:
            raise invalid(err) from err
        try:
            self.blobs.copy(src, bucket_name, self.settings.upload_bucket, name, metadata)
        except BlobMissing as exc:
            raise not_found() from exc
        return name

    def _fetch_url(self, caller: Caller, url: str, metadata: dict[str, str]) -> str:
        settings = self.settings
        try:
            response = safe_http.request("GET", url, settings.allow_private_networks, settings.fetch_timeout_s)
        except safe_http.UrlRefused as exc:
            raise ApiError(400, ErrorCode.SOURCE_REFUSED.value, str(exc)) from exc
        except safe_http.FetchFailed as exc:
            raise ApiError(400, ErrorCode.SOURCE_UNREACHABLE.value, str(exc)) from exc
        try:
            if response.status != 200:
                raise ApiError(400, ErrorCode.SOURCE_UNREACHABLE.value, f"the source answered HTTP {response.status}")
            content_type = (response.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
            try:
                validate_content_type(content_type)
            except PermanentError as err:
                raise invalid(err) from err
            filename = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "source"
            if "." not in filename and content_type in EXTENSION_FOR_TYPE:
                filename += EXTENSION_FOR_TYPE[content_type]
            name = self._object_name(caller, filename)
            body = safe_http.CappedBody(
                response, min(settings.fetch_max_bytes, settings.max_upload_bytes), settings.fetch_timeout_s
            )
            self.blobs.upload(settings.upload_bucket, name, cast(BinaryIO, body), content_type, metadata)
            if body.read_bytes == 0:
                self.blobs.delete(settings.upload_bucket, name)
                raise ApiError(400, ErrorCode.EMPTY_AUDIO.value, "the source is empty")
            return name
        except safe_http.FetchFailed as exc:
            raise ApiError(400, ErrorCode.SOURCE_UNREACHABLE.value, str(exc)) from exc
        finally:
            response.release_conn()

    def submit_file(self, caller: Caller, stream: BinaryIO, filename: str, content_type: str, metadata: dict[str, str]) -> str:
        """A file sent in the request (OpenAI's multipart door) stored as an upload of the caller: its job id.
        ``metadata`` are option strings already checked by ``uploads.parse_options``."""
        name = self._object_name(caller, filename)
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        try:
            validate_content_type(content_type)
            validate_size(size, self.settings)
        except PermanentError as err:
            raise invalid(err) from err
        job_id = self._promise(caller, name)
        self.blobs.upload(self.settings.upload_bucket, name, stream, content_type, _with_trace(dict(metadata)))
        log.info("file received", extra=fields(uid=caller.uid, object=name, size=size))
        return job_id

    def wait_for_transcript(
        self,
        job_id: str,
        timeout_s: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Job | None:
        """The job once its transcript is written or it failed; as it stands (or None) after ``timeout_s``.
        Looked at every 0.1 s for the first 20 s (a short clip's caller learns of its transcript within a
        tenth of a second: one document read each time), then every 0.5 s."""
        start = clock()
        deadline = start + timeout_s
        while True:
            job = self.store.get(job_id)
            if job is not None and (job.status is JobStatus.FAILED or "json" in job.outputs):
                return job
            now = clock()
            if now >= deadline:
                return job
            sleep(max(0.0, min(0.1 if now - start < 20 else 0.5, deadline - now)))

    def transcript(self, job: Job) -> Transcript:
        """A job's transcript (the redacted one when the job redacts)."""
        try:
            data = self.blobs.read(self.settings.results_bucket, layout.transcript_path(job.job_id, "json"))
        except BlobMissing as exc:
            raise ApiError(409, "not_ready", "the transcript was removed") from exc
        return Transcript.from_dict(json.loads(data))

    # -- reading --------------------------------------------------------------------------
    def get(self, caller: Caller, job_id: str) -> Job:
        if not JOB_ID.match(job_id):
            raise not_found()
        job = self.store.get(job_id)
        if job is None or job.owner != caller.uid:
            raise not_found()
        return job

    def get_when_recorded(self, caller: Caller, job_id: str, wait_s: float, sleep: Callable[[float], None] = time.sleep) -> Job:
        """The caller's job, waiting up to ``wait_s`` for the record of a job id this API handed the caller
        (a signed upload's job id is known before the upload trigger records the job); ``not_found`` at
        once for any other id."""
        if not JOB_ID.match(job_id):
            raise not_found()
        deadline = time.monotonic() + wait_s
        while True:
            job = self.store.get(job_id)  # read once a round: the record may appear between two reads
            if job is not None:
                if job.owner != caller.uid:
                    raise not_found()
                return job
            promised = self.store.promised_to(job_id) == caller.uid and self.store.deleted_owner(job_id) is None
            if not promised or time.monotonic() >= deadline:
                raise not_found()
            sleep(0.5)

    def list(self, caller: Caller, status: str | None, limit: int, page_token: str | None) -> tuple[list[Job], str | None]:
        after = decode_page_token(page_token) if page_token is not None else None
        wanted = JobStatus(status) if status else None
        jobs, more = self.store.list_for_owner(caller.uid, min(limit, MAX_PAGE), wanted, after)
        return jobs, (encode_page_token(jobs[-1]) if more and jobs else None)

    def output(self, caller: Caller, job_id: str, kind: str, fmt: str, original: bool = False) -> tuple[str, str, str]:
        """(bucket, path, content type) of a ready output; ``not_ready`` while it is not. ``original``:
        a redacted job's unredacted transcript, when its owner kept it."""
        job = self.get(caller, job_id)
        if original:
            if kind != "transcript":
                raise ApiError(400, "invalid_request", "original=true is for the transcript")
            if f"original_{fmt}" not in job.outputs:
                raise ApiError(404, "not_found", f"no unredacted transcript kept as {fmt} (redact with keep_original=true)")
            path = layout.original_transcript_path(job_id, fmt)
            return self.settings.results_bucket, path, layout.CONTENT_TYPES.get(fmt, "application/json")
        key = fmt if kind == "transcript" else f"notes_{fmt}"
        if key not in job.outputs:
            state = job.error["code"] if job.error else job.status.value
            raise ApiError(409, "not_ready", f"no {kind} available (job is {state})")
        path = layout.transcript_path(job_id, fmt) if kind == "transcript" else layout.notes_path(job_id, fmt)
        content_type = (
            layout.CONTENT_TYPES.get(fmt, "application/json")
            if kind == "transcript"
            else ("application/json" if fmt == "json" else "text/markdown; charset=utf-8")
        )
        return self.settings.results_bucket, path, content_type

    def stream(self, bucket: str, path: str) -> Iterator[bytes]:
        try:
            reader = self.blobs.open(bucket, path, chunk_size=256 * 1024)
        except BlobMissing as exc:
            raise ApiError(409, "not_ready", "the output was removed") from exc

        def chunks() -> Iterator[bytes]:
            with reader:
                while chunk := reader.read(256 * 1024):
                    yield chunk

        return chunks()

    def signed_download(self, bucket: str, path: str, filename: str = "") -> dict[str, Any]:
        signed = self.signer.download(bucket, path, filename)
        return {"url": signed.url, "expires_in_s": signed.expires_in_s}

    def audio_url(self, caller: Caller, job_id: str, original: bool = False) -> dict[str, Any]:
        """A signed URL of the redacted audio when the job wrote one (unless ``original``), else the upload."""
        job = self.get(caller, job_id)
        redacted = job.outputs.get("audio_redacted")
        if redacted and not original:
            bucket, _, path = redacted.removeprefix("gs://").partition("/")
            return {**self.signed_download(bucket, path), "redacted": True}
        return self.signed_download(job.source.bucket, job.source.name)

    # -- renaming speakers ----------------------------------------------------------------
    def rename_speakers(self, caller: Caller, job_id: str, names: dict[str, str]) -> dict[str, Any]:
        """Speakers renamed by id in every transcript rendering and in the notes; the new summary."""
        job = self.get(caller, job_id)
        if "json" not in job.outputs:
            state = job.error["code"] if job.error else job.status.value
            raise ApiError(409, "not_ready", f"no transcript to rename speakers in (job is {state})")
        bucket = self.settings.results_bucket
        try:
            transcript = Transcript.from_dict(json.loads(self.blobs.read(bucket, layout.transcript_path(job_id, "json"))))
            renamed = rename(transcript, names)
        except BlobMissing as exc:
            raise ApiError(409, "not_ready", "the transcript was removed") from exc
        except InvalidNames as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        mapping = {
            old.label: new.label for old, new in zip(transcript.speakers, renamed.speakers, strict=True) if old.label != new.label
        }
        for fmt, text in renamed.renderings().items():
            self.blobs.write(bucket, layout.transcript_path(job_id, fmt), text.encode("utf-8"), layout.CONTENT_TYPES[fmt])
        if "notes_json" in job.outputs:
            notes = relabel_strings(json.loads(self.blobs.read(bucket, layout.notes_path(job_id, "json"))), mapping)
            body = json.dumps(notes, indent=2, ensure_ascii=False).encode("utf-8")
            self.blobs.write(bucket, layout.notes_path(job_id, "json"), body, "application/json")
        if "notes_md" in job.outputs:
            markdown = relabel_text(self.blobs.read(bucket, layout.notes_path(job_id, "md")).decode("utf-8"), mapping)
            self.blobs.write(bucket, layout.notes_path(job_id, "md"), markdown.encode("utf-8"), "text/markdown; charset=utf-8")
        log.info("speakers renamed", extra=fields(job_id=job_id, uid=caller.uid, renamed=len(mapping)))
        return {"speakers": [asdict(s) for s in renamed.speakers]}

    # -- deleting -------------------------------------------------------------------------
    def delete(self, caller: Caller, job_id: str) -> None:
        """Outputs, upload, then the record (a retry after a crash finds the record and goes on)."""
        job = self.store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            if JOB_ID.match(job_id) and self.store.deleted_owner(job_id) == caller.uid:
                return
            raise not_found()
        if job.owner != caller.uid:
            raise not_found()
        results = self.settings.results_bucket
        for name in self.blobs.names(results, layout.job_prefix(job_id)):
            self.blobs.delete(results, name)
        self.blobs.delete(job.source.bucket, job.source.name)
        TranscriptCache(self.store.documents, self.blobs, self.settings).forget(job)  # no later upload reuses it
        self.store.delete(job, self.settings.job_ttl_days)
        log.info("job deleted", extra=fields(job_id=job_id, uid=caller.uid))


def _with_trace(metadata: dict[str, str]) -> dict[str, str]:
    """``metadata`` plus the request's trace: the upload's trace continues in the trigger (not an option)."""
    trace = telemetry.current_traceparent()
    if trace:
        metadata["traceparent"] = trace
    return metadata


def _signed_view(signed: SignedRequest) -> dict[str, Any]:
    return {"url": signed.url, "method": signed.method, "headers": signed.headers, "expires_in_s": signed.expires_in_s}
