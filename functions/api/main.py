"""Cloud Function (gen2, HTTPS): the public API for web clients and the web page at ``/``.

Thin handler: the Flask app of ``mixscribe.webapi`` is built once per instance and each
functions-framework request is dispatched into it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import flask
import functions_framework
from http_app import create_app  # beside main.py in the archive (functions-framework puts its folder on sys.path)

from mixscribe import gcp, telemetry
from mixscribe.api_keys import ApiKeys, Authenticator
from mixscribe.auth import CertificateCache, TokenVerifier
from mixscribe.config import Settings
from mixscribe.gcp.storage_blobs import StorageBlobs
from mixscribe.gcp.url_signer import UrlSigner
from mixscribe.logs import setup_logging
from mixscribe.ratelimit import RateLimiter
from mixscribe.store import JobStore
from mixscribe.webapi.service import JobsService

STATIC = Path(__file__).resolve().parent / "assets"
setup_logging("api")


@functools.lru_cache(maxsize=1)
def app() -> flask.Flask:
    """Clients, keys and the app are built once per instance, on first use."""
    settings = Settings.from_env()
    documents = gcp.documents(settings)
    storage = gcp.storage_client(settings)
    signer = UrlSigner(storage, settings.signed_url_endpoint, settings.signed_url_ttl_s, settings.signing_key_file)
    service = JobsService(settings, JobStore(documents), StorageBlobs(storage), signer)
    tokens = TokenVerifier(CertificateCache(settings.auth_certs_url), settings.auth_audience, settings.auth_issuers)
    keys = ApiKeys(documents)
    limiter = RateLimiter(documents, settings.rate_per_minute, settings.rate_per_hour)
    return create_app(settings, service, Authenticator(tokens, keys), keys, limiter, STATIC)


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    """Entry point: every path of the API and the page."""
    application = app()
    parent = request.headers.get(telemetry.TRACEPARENT)  # Cloud Run passes the caller's or its own
    with telemetry.span(f"api {request.method}", parent, **{"http.request.method": request.method}) as current:
        with application.request_context(request.environ):
            response = application.full_dispatch_request()
        current.set_attribute("http.response.status_code", response.status_code)
    telemetry.flush()
    return response
