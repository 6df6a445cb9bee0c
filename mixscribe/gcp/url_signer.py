"""V4 signed URLs: resumable uploads bound to one object, its type, size and metadata; downloads.

Signing needs a key. In the cloud the function's own service account signs through the IAM
``signBlob`` API (it holds ``roles/iam.serviceAccountTokenCreator`` on itself; no key file
exists). Locally the stack generates a service-account key that only its storage gateway
trusts (``MIXSCRIBE_SIGNING_KEY_FILE``).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

from ..ports import SignedRequest

SIGNED_UPLOAD_HEADERS = ("x-goog-resumable", "x-goog-content-length-range", "x-goog-if-generation-match")


class UrlSigner:
    """The ``UrlSigning`` port on Cloud Storage: V4 URLs against ``endpoint`` (``https://storage.googleapis.com``)."""

    def __init__(self, storage_client: Any, endpoint: str, ttl_s: int, key_file: str = "") -> None:
        self.storage = storage_client
        self.endpoint = endpoint.rstrip("/")
        self.ttl_s = ttl_s
        self.key_file = key_file
        self._lock = threading.Lock()
        self._credentials: Any = None

    def _signing_kwargs(self) -> dict[str, Any]:
        with self._lock:
            if self.key_file:
                if self._credentials is None:
                    from google.oauth2 import service_account

                    with open(self.key_file, encoding="utf-8") as handle:
                        info = json.load(handle)
                    self._credentials = service_account.Credentials.from_service_account_info(info)
                return {"credentials": self._credentials}
            import google.auth
            from google.auth.transport import requests as auth_requests

            if self._credentials is None:
                self._credentials, _ = google.auth.default()
            if not self._credentials.valid:
                self._credentials.refresh(auth_requests.Request())
            return {
                "service_account_email": self._credentials.service_account_email,
                "access_token": self._credentials.token,
            }

    def _sign(self, bucket: str, name: str, method: str, **options: Any) -> str:
        """A V4 URL for ``method`` on one object, valid ``ttl_s``, pointing at ``endpoint``."""
        blob = self.storage.bucket(bucket).blob(name)
        return str(
            blob.generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=self.ttl_s),
                method=method,
                api_access_endpoint=self.endpoint,
                **options,
                **self._signing_kwargs(),
            )
        )

    def resumable_upload(
        self, bucket: str, name: str, content_type: str, max_bytes: int, metadata: dict[str, str]
    ) -> SignedRequest:
        """A ``POST`` that starts a resumable session for a new object (never an overwrite)."""
        headers = {
            "x-goog-resumable": "start",
            "x-goog-content-length-range": f"0,{max_bytes}",
            "x-goog-if-generation-match": "0",
            **{f"x-goog-meta-{key}": value for key, value in sorted(metadata.items())},
        }
        # the library adds Host to the headers dict it gets: hand it a copy
        url = self._sign(bucket, name, "POST", content_type=content_type, headers=dict(headers))
        return SignedRequest(url, "POST", {"Content-Type": content_type, **headers}, self.ttl_s)

    def download(self, bucket: str, name: str, filename: str = "") -> SignedRequest:
        """A short-lived ``GET`` for one object (optionally served as an attachment)."""
        extra: dict[str, Any] = {}
        if filename:
            extra["response_disposition"] = f'attachment; filename="{filename}"'
        url = self._sign(bucket, name, "GET", **extra)
        return SignedRequest(url, "GET", {}, self.ttl_s)
