"""A small API client for tests: mints local tokens and checks every response against openapi.yaml."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from local_emulators.identity import issue_token
from mixscribe.webapi.spec import SPEC_URI, openapi_spec


def _template(path: str) -> str:
    """The spec path a concrete path matches (``/v1/jobs/j…/transcript`` → ``/v1/jobs/{job_id}/transcript``)."""
    for template in openapi_spec()["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in openapi.yaml")


def check_response(method: str, path: str, response: requests.Response) -> None:
    """The status is documented for the operation and a JSON body matches its schema."""
    spec = openapi_spec()
    operation = spec["paths"][_template(path.split("?")[0])][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {path} answered undocumented {response.status_code}: {response.text[:200]}"
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    content = documented.get("content") or {}
    if response.headers.get("Content-Type", "").startswith("application/json") and "application/json" in content:
        schema = content["application/json"]["schema"]
        registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, DRAFT202012))
        schema = json.loads(json.dumps(schema).replace('"#/components/', f'"{SPEC_URI}#/components/'))  # refs into the spec
        Draft202012Validator(schema, registry=registry).validate(response.json())
    for header in documented.get("headers") or {}:
        assert header in response.headers, f"{method} {path} {response.status_code} lacks header {header}"


@dataclass
class ApiClient:
    base: str
    key: dict[str, str]
    audience: str
    uid: str
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def for_stack(cls, env: dict[str, str], uid: str) -> ApiClient:
        key = json.loads(open(env["MIXSCRIBE_LOCAL_IDENTITY_KEY_FILE"], encoding="utf-8").read())
        return cls(env["MIXSCRIBE_API_URL"], key, env["MIXSCRIBE_AUTH_AUDIENCE"], uid)

    def token(self, **overrides: Any) -> str:
        args = {
            "private_key_pem": self.key["private_key"],
            "kid": self.key["kid"],
            "subject": self.uid,
            "audience": self.audience,
            **overrides,
        }
        return issue_token(**args)

    def call(self, method: str, path: str, token: str | None = "default", check: bool = True, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token == "default":
            token = self.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = self.session.request(method, self.base + path, headers=headers, timeout=60, **kwargs)
        if check:
            check_response(method, path, response)
        return response
