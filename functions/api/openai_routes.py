"""The OpenAI-compatible audio routes of the API (Flask): multipart in, OpenAI's shapes out.

``POST /v1/audio/transcriptions`` and ``POST /v1/audio/translations`` store the file as an ordinary job
of the caller, wait for its transcript up to ``MIXSCRIBE_OPENAI_WAIT_S`` and answer like OpenAI (JSON,
text, subtitles, or Server-Sent Events with ``stream=true``); a job that is still running then is
answered 202 with its id, to be followed at ``/v1/jobs/{id}``. Errors use OpenAI's error shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from flask import Flask, Response, g, jsonify, request

from mixscribe.config import Settings
from mixscribe.errors import ErrorCode
from mixscribe.jobs import Job, JobStatus
from mixscribe.logs import fields
from mixscribe.uploads import extension_of
from mixscribe.webapi import live, openai_audio
from mixscribe.webapi.openai_audio import OpenAIError
from mixscribe.webapi.service import EXTENSION_FOR_TYPE, ApiError, JobsService

log = logging.getLogger("api")
KEEPALIVE_S = 5.0
USER_ERRORS = {
    ErrorCode.UNSUPPORTED_FORMAT.value,
    ErrorCode.UNSUPPORTED_CONTENT_TYPE.value,
    ErrorCode.FILE_TOO_LARGE.value,
    ErrorCode.INVALID_OPTION.value,
    ErrorCode.EMPTY_AUDIO.value,
    ErrorCode.CORRUPT_AUDIO.value,
    ErrorCode.NO_AUDIO_STREAM.value,
    ErrorCode.TOO_LONG.value,
    ErrorCode.INVALID_OBJECT_NAME.value,
}
AUDIO_PATHS = ("/v1/audio/transcriptions", "/v1/audio/translations")


def openai_error(err: OpenAIError) -> Response:
    response = jsonify(openai_audio.error_body(err))
    response.status_code = err.status
    return response


def _job_error(job: Job) -> OpenAIError:
    error = job.error or {}
    code = str(error.get("code") or ErrorCode.TRANSCRIPTION_FAILED.value)
    status = 400 if code in USER_ERRORS else 500
    return OpenAIError(status, str(error.get("message") or "transcription failed"), "file" if status == 400 else None, code)


def add_openai_routes(app: Flask, settings: Settings, service: JobsService) -> None:
    def file_part() -> tuple[object, str, str]:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise OpenAIError(400, "you must provide a file (multipart field 'file' with a filename)", "file")
        if len(request.files) > 1 or len(request.files.getlist("file")) > 1:
            raise OpenAIError(400, "send exactly one file, in the field 'file'", "file")
        content_type = (upload.mimetype or "application/octet-stream").lower()
        filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "audio"
        if not extension_of(filename) and content_type in EXTENSION_FOR_TYPE:
            filename += EXTENSION_FOR_TYPE[content_type]
        return upload.stream, filename, content_type

    def handle(task: str) -> Response:
        try:
            form = {key: request.form.getlist(key) for key in request.form}
            audio = openai_audio.parse_request(form, settings, task)
            stream, filename, content_type = file_part()
            try:
                job_id = service.submit_file(g.caller, stream, filename, content_type, audio.metadata)  # type: ignore[arg-type]
            except ApiError as err:
                raise OpenAIError(err.status, err.message, "file", err.code) from err
        except OpenAIError as err:
            return openai_error(err)
        log.info("openai request", extra=fields(uid=g.caller.uid, job_id=job_id, task=task, format=audio.response_format))
        if audio.stream:
            return Response(_events(job_id, audio), mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"})
        job = service.wait_for_transcript(job_id, settings.openai_wait_s)
        if job is None or (job.status is not JobStatus.FAILED and "json" not in job.outputs):
            status = job.status.value if job else JobStatus.QUEUED.value
            accepted = {"job_id": job_id, "status": status, "url": f"/v1/jobs/{job_id}"}
            return Response(jsonify(accepted).get_data(), status=202, mimetype="application/json")
        if job.status is JobStatus.FAILED:
            return openai_error(_job_error(job))
        body, content_type = openai_audio.render(service.transcript(job), audio)
        return Response(body, content_type=content_type, headers={"X-Mixscribe-Job-Id": job_id})

    def _events(job_id: str, audio: openai_audio.AudioRequest) -> Iterator[str]:
        """Deltas as the model finds the text (the first piece's, in order; not for per-channel jobs, whose
        channels are transcribed one after the other), the rest once the transcript is written, then done."""
        live_text = not audio.metadata.get("channels")
        sent: list[str] = []
        job, last = None, time.monotonic()
        for change in live.follow(service.store, job_id, settings.events_poll_s, settings.openai_wait_s):
            if change is None:
                if time.monotonic() - last >= KEEPALIVE_S:
                    last = time.monotonic()
                    yield ": waiting\n\n"  # a comment: keeps proxies from closing an idle stream
                continue
            job = change.job
            if change.segment is not None and live_text and change.key.startswith("0."):
                text = change.segment.text
                yield openai_audio.sse({"type": "transcript.text.delta", "delta": " " + text if sent else text})
                sent.append(text)
                last = time.monotonic()
            if job.status is JobStatus.FAILED or "json" in job.outputs:
                break
        if job is None or (job.status is not JobStatus.FAILED and "json" not in job.outputs):
            err = OpenAIError(504, f"still transcribing; follow /v1/jobs/{job_id}", None, "timeout")
            yield openai_audio.sse(openai_audio.error_body(err))
        elif job.status is JobStatus.FAILED:
            yield openai_audio.sse(openai_audio.error_body(_job_error(job)))
        else:
            try:
                transcript = service.transcript(job)
            except ApiError as exc:
                yield openai_audio.sse(openai_audio.error_body(OpenAIError(exc.status, exc.message, None, exc.code)))
                return
            yield from openai_audio.stream_events(transcript, sent)

    @app.post("/v1/audio/transcriptions")
    def transcriptions() -> Response:
        return handle("transcribe")

    @app.post("/v1/audio/translations")
    def translations() -> Response:
        return handle("translate")
