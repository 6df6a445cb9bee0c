"""The HTTP adapter of the API: routing, authentication, rate limits, validation, headers (Flask).

``create_app`` builds a Flask app around the domain's ``JobsService``; ``main.py`` dispatches each
functions-framework request into it. Request bodies are validated against the schemas of
``openapi.yaml`` (``mixscribe.webapi.spec``, the same file the tests validate responses against).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

from flask import Flask, Response, g, jsonify, request, send_from_directory
from jsonschema import ValidationError as SchemaError
from openai_routes import AUDIO_PATHS, add_openai_routes  # beside this file in the archive
from werkzeug.exceptions import HTTPException

from mixscribe import telemetry
from mixscribe.api_keys import ApiKeys, Authenticator, KeyRefused
from mixscribe.auth import AuthError
from mixscribe.config import Settings
from mixscribe.errors import TransientError
from mixscribe.glossary import Glossaries, InvalidGlossary, parse_glossary
from mixscribe.jobs import JobStatus
from mixscribe.logs import fields
from mixscribe.ratelimit import RateLimiter
from mixscribe.webapi import live
from mixscribe.webapi.openai_audio import OpenAIError as OpenAIStyle
from mixscribe.webapi.openai_audio import error_body
from mixscribe.webapi.served_spec import ApiSpec, served_spec
from mixscribe.webapi.service import ApiError, JobsService
from mixscribe.webapi.spec import job_view

log = logging.getLogger("api")
FORM_FIELDS_BYTES = 64 * 1024  # what multipart fields besides the file may add
STATUSES = {s.value for s in JobStatus}
KEEPALIVE_S = 15.0  # an event stream with nothing to say sends a comment this often
RECORD_WAIT_S = 30.0  # an event stream opened right after an upload waits for the job's record (its trigger may be busy)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The Error schema; on OpenAI's routes OpenAI's error shape (the same two fields, plus type and param)."""
    if request.path in AUDIO_PATHS:
        response = jsonify(error_body(OpenAIStyle(status, message, None, code)))
    else:
        response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _bool(raw: str | None) -> bool:
    if raw in (None, "", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise ApiError(400, "invalid_request", "boolean parameters are true or false")


def create_app(
    settings: Settings,
    service: JobsService,
    verifier: Authenticator,
    keys: ApiKeys,
    limiter: RateLimiter,
    static_dir: Path,
) -> Flask:
    app = Flask("mixscribe-api", static_folder=None)
    api_spec = ApiSpec(served_spec(settings.models()))  # what /openapi.yaml says is what bodies are checked against
    glossaries = Glossaries(service.store.documents)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    connect = " ".join(filter(None, ["'self'", settings.signed_url_endpoint, _origin(settings.dev_token_url)]))
    csp = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; media-src {settings.signed_url_endpoint} blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )

    @app.before_request
    def authenticate() -> Response | None:
        g.started = time.perf_counter()
        g.uid = None
        if request.method == "OPTIONS" or not request.path.startswith("/v1/"):
            return None
        limit = settings.max_body_bytes
        if request.path in AUDIO_PATHS:  # a file in the body: its own limit, enforced while parsing too
            limit = settings.openai_max_file_bytes + FORM_FIELDS_BYTES
            request.max_content_length, request.max_form_parts = limit, 64  # fields: Flask's 500 kB cap
        if (request.content_length or 0) > limit:
            return _error(413, "payload_too_large", f"the body is larger than {limit} bytes")
        try:
            g.caller = verifier.verify_header(request.headers.get("Authorization"))
        except AuthError as exc:
            return _error(401, "unauthenticated", str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        g.uid = g.caller.uid
        decision = limiter.take(g.caller.uid)
        if not decision.allowed:
            return _error(429, "rate_limited", "too many requests", {"Retry-After": str(decision.retry_after_s)})
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.path.startswith("/v1/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = csp
        if settings.signed_url_endpoint.startswith("https://"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        origin = request.headers.get("Origin")
        if settings.web_origin and origin == settings.web_origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
                response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                response.headers["Access-Control-Max-Age"] = "3600"
        elapsed_s = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        telemetry.API_SECONDS.record(
            elapsed_s, {"route": route, "method": request.method, "status_class": f"{response.status_code // 100}xx"}
        )
        log.info(
            "request",
            extra=fields(
                method=request.method,
                path=request.path,
                status=response.status_code,
                latency_ms=round(elapsed_s * 1000, 2),
                uid=g.get("uid"),
            ),
        )
        return response

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Response:
        return _error(err.status, err.code, err.message, err.headers)

    @app.errorhandler(SchemaError)
    def schema_error(err: SchemaError) -> Response:
        where = "/".join(str(p) for p in err.absolute_path) or "body"
        if list(err.absolute_path)[:1] == ["options"]:  # the option checks' own code and words, as every door answers
            options = (request.get_json(silent=True) or {}).get("options")
            try:
                service.check_options(options if isinstance(options, dict) else {})
            except ApiError as refused:
                return _error(refused.status, refused.code, refused.message)
            except (TypeError, ValueError):  # options of the wrong shapes: the schema's words below
                pass
            return _error(400, "invalid_option", f"{where}: {err.message}"[:300])
        return _error(400, "invalid_request", f"{where}: {err.message}"[:300])

    @app.errorhandler(TransientError)
    def transient(err: TransientError) -> Response:
        return _error(503, "unavailable", "a dependency is unavailable; retry", {"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        allow = {k: v for k, v in err.get_headers() if k == "Allow"}  # a 405 names the methods that work (RFC 9110)
        return _error(err.code or 500, codes.get(err.code or 500, "invalid_request"), err.description or err.name, allow)

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        log.error("unhandled error", exc_info=err, extra=fields(path=request.path))
        return _error(500, "internal", "internal error")

    def body(schema: str) -> dict[str, Any]:
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError(400, "invalid_request", "the body must be a JSON object (Content-Type: application/json)")
        api_spec.validator(schema).validate(data)
        return cast(dict[str, Any], data)  # every body schema is an object

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/")
    def page() -> Response:
        return send_from_directory(static_dir, "index.html")

    @app.get("/assets/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(static_dir, name)

    @app.get("/openapi.yaml")
    def spec() -> Response:
        return Response(api_spec.text, mimetype="application/yaml")

    @app.get("/config.json")
    def page_config() -> Response:
        return jsonify({"dev_token_url": settings.dev_token_url or None})

    @app.route("/v1/<path:_>", methods=["OPTIONS"])
    def preflight(_: str) -> Response:
        return Response(status=204)

    @app.post("/v1/uploads")
    def create_upload() -> tuple[Response, int]:
        return jsonify(service.create_upload(g.caller, body("CreateUpload"))), 201

    def signed_in() -> str:
        if g.caller.via != "token":
            raise ApiError(403, "forbidden", "API keys are managed when signed in (ID token), not with an API key")
        return str(g.caller.uid)

    @app.post("/v1/keys")
    def create_key() -> tuple[Response, int]:
        owner = signed_in()
        try:
            record, key = keys.create(owner, str(body("CreateApiKey")["name"]))
        except KeyRefused as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        log.info("api key created", extra=fields(uid=owner, key_id=record.key_id))
        return jsonify({**record.view(), "key": key}), 201

    @app.get("/v1/keys")
    def list_keys() -> Response:
        return jsonify({"keys": [record.view() for record in keys.list(signed_in())]})

    @app.delete("/v1/keys/<key_id>")
    def revoke_key(key_id: str) -> Response:
        owner = signed_in()
        if not keys.revoke(owner, key_id):
            raise ApiError(404, "not_found", "no such key")
        log.info("api key revoked", extra=fields(uid=owner, key_id=key_id))
        return Response(status=204)

    @app.get("/v1/glossary")
    def get_glossary() -> Response:
        return jsonify({"terms": [t.to_dict() for t in glossaries.get(g.caller.uid)]})

    @app.put("/v1/glossary")
    def put_glossary() -> Response:
        try:
            terms = parse_glossary(body("Glossary")["terms"])
        except InvalidGlossary as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        glossaries.put(g.caller.uid, terms)
        log.info("glossary stored", extra=fields(uid=g.caller.uid, terms=len(terms)))
        return jsonify({"terms": [t.to_dict() for t in terms]})

    @app.get("/v1/models")
    def list_models() -> Response:
        return jsonify(settings.models().public())

    @app.post("/v1/jobs")
    def create_job() -> tuple[Response, int]:
        return jsonify(service.import_source(g.caller, body("CreateJob"))), 202

    @app.get("/v1/jobs")
    def list_jobs() -> Response:
        status = request.args.get("status")  # given means given: an empty value is refused like any other
        if status is not None and status not in STATUSES:
            raise ApiError(400, "invalid_request", f"status must be one of {', '.join(sorted(STATUSES))}")
        raw_limit = request.args.get("limit", "20")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            raise ApiError(400, "invalid_request", "limit must be an integer from 1 to 100")
        jobs, token = service.list(g.caller, status, int(raw_limit), request.args.get("page_token"))
        return jsonify({"jobs": [job_view(job) for job in jobs], "next_page_token": token})

    @app.get("/v1/jobs/<job_id>")
    def get_job(job_id: str) -> Response:
        return jsonify(job_view(service.get(g.caller, job_id)))

    @app.get("/v1/jobs/<job_id>/events")
    def job_events(job_id: str) -> Response:
        service.get_when_recorded(g.caller, job_id, RECORD_WAIT_S)  # the caller's job, or 404 before the stream starts
        changes = live.follow(service.store, job_id, settings.events_poll_s, settings.events_max_s)
        stream = live.event_stream(changes, KEEPALIVE_S)
        return Response(stream, mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"})

    @app.delete("/v1/jobs/<job_id>")
    def delete_job(job_id: str) -> Response:
        service.delete(g.caller, job_id)
        return Response(status=204)

    @app.get("/v1/jobs/<job_id>/audio")
    def audio(job_id: str) -> Response:
        return jsonify(service.audio_url(g.caller, job_id, _bool(request.args.get("original"))))

    def output(job_id: str, kind: str, formats: tuple[str, ...]) -> Response:
        fmt = request.args.get("format", "json")
        if fmt not in formats:
            raise ApiError(400, "invalid_request", f"format must be one of {', '.join(formats)}")
        delivery = request.args.get("delivery", "stream")
        if delivery not in ("stream", "url"):
            raise ApiError(400, "invalid_request", "delivery must be stream or url")
        download = _bool(request.args.get("download"))
        original = _bool(request.args.get("original"))
        bucket, path, content_type = service.output(g.caller, job_id, kind, fmt, original)
        filename = f"{job_id}-{kind}{'-original' if original else ''}.{fmt}"
        if delivery == "url":
            return jsonify(service.signed_download(bucket, path, filename if download else ""))
        response = Response(service.stream(bucket, path), content_type=content_type)
        if download:
            response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @app.get("/v1/jobs/<job_id>/transcript")
    def transcript(job_id: str) -> Response:
        return output(job_id, "transcript", ("json", "srt", "vtt", "txt"))

    @app.patch("/v1/jobs/<job_id>/speakers")
    def rename_speakers(job_id: str) -> Response:
        return jsonify(service.rename_speakers(g.caller, job_id, body("SpeakerNames")))

    @app.get("/v1/jobs/<job_id>/notes")
    def notes(job_id: str) -> Response:
        return output(job_id, "notes", ("json", "md"))

    add_openai_routes(app, settings, service)
    return app


def _origin(url: str) -> str:
    if not url:
        return ""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
