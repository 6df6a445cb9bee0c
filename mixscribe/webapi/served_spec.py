"""The OpenAPI document as a deployment serves it and checks requests against: ``openapi.yaml`` with the
lists declared elsewhere filled in (the registry's models, OpenAI's model names, Whisper's languages, the
redaction types) and the registry's rules between options (an English-only model takes English; a model
runs only on the job class its priority's queue feeds). The API validates bodies with these schemas, so
what the served file allows and what the server accepts are one thing.
"""

from __future__ import annotations

import copy
import re
from functools import cached_property
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..language_names import WHISPER_LANGUAGE_NAMES
from ..model_registry import ModelRegistry
from ..redaction.entities import ENTITIES
from ..topology import PRIORITIES, work_queue
from ..uploads import plain_text_pattern
from .openai_audio import OPENAI_MODELS
from .spec import SPEC_URI, openapi_spec

ENGLISH = ("auto", "en")
DEFAULT_PRIORITY = "normal"


def _any_case(word: str) -> str:
    """A regex matching ``word`` in any letter case (the server reads redaction types case-blind)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def redact_pattern() -> str:
    """``pii``, ``none`` or entity types, comma-separated with optional spaces, any case; or nothing."""
    word = "(?:" + "|".join(_any_case(w) for w in ("pii", "none", *(e.name.lower() for e in ENTITIES))) + ")"
    return rf"^ *(?:{word} *(?:, *{word} *)*)?$"


def _when_priority(priority: str) -> dict[str, Any]:
    """Holds for a request of ``priority`` (an absent priority is the default one)."""
    condition: dict[str, Any] = {"properties": {"priority": {"const": priority}}}
    if priority != DEFAULT_PRIORITY:
        condition["required"] = ["priority"]
    return condition


def registry_rules(registry: ModelRegistry, model_names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """JSON Schema rules of ``ModelRegistry.choose`` for an object with ``model``, ``priority`` and ``language``;
    ``model_names`` maps other names (OpenAI's) to the model they mean, "" for the priority's default."""
    names = model_names or {}
    rules: list[dict[str, Any]] = []
    not_english = {"required": ["language"], "properties": {"language": {"not": {"enum": list(ENGLISH)}}}}
    for priority in PRIORITIES:
        carried = [m for m, spec in registry.models.items() if work_queue(priority).job_class in spec.classes]
        default = registry.default_for(priority)

        def means(alias: str, priority: str = priority) -> str:
            return names[alias] or registry.default_for(priority)

        allowed = sorted([*carried, *(alias for alias in names if means(alias) in carried)])
        if len(allowed) < len(registry.models) + len(names):
            rules.append({"if": _when_priority(priority), "then": {"properties": {"model": {"enum": allowed}}}})
        multilingual = sorted(
            [m for m in carried if not registry.models[m].english_only]
            + [a for a in names if not registry.models[means(a)].english_only]
        )
        choices: list[dict[str, Any]] = [{"required": ["model"], "properties": {"model": {"enum": multilingual}}}]
        if not registry.models[default].english_only:
            choices.append({"not": {"required": ["model"]}})
        rules.append({"if": {"allOf": [_when_priority(priority), not_english]}, "then": {"anyOf": choices}})
    return rules


def served_spec(registry: ModelRegistry) -> dict[str, Any]:
    document = copy.deepcopy(openapi_spec())
    schemas = document["components"]["schemas"]
    models = sorted(registry.models)
    schemas["ModelName"]["enum"] = models
    schemas["OpenAIModelName"]["enum"] = [*OPENAI_MODELS, *models]
    schemas["Language"]["enum"] = ["auto", *sorted(WHISPER_LANGUAGE_NAMES)]
    schemas["OpenAILanguage"]["enum"] = sorted(WHISPER_LANGUAGE_NAMES)
    schemas["RedactList"]["pattern"] = redact_pattern()
    schemas["RedactType"]["enum"] = ["pii", "none", *(e.name.lower() for e in ENTITIES)]
    schemas["PlainText"]["pattern"] = plain_text_pattern()
    schemas["Options"]["allOf"] = [*schemas["Options"].get("allOf", []), *registry_rules(registry)]
    openai_names = {name: "" for name in OPENAI_MODELS}
    schemas["TranscriptionRequest"]["allOf"] = [
        *schemas["TranscriptionRequest"].get("allOf", []),
        *registry_rules(registry, openai_names),
    ]
    return document


class ApiSpec:
    """One served document: its YAML text and validators for its schemas."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registry = Registry().with_resource(SPEC_URI, Resource.from_contents(document, DRAFT202012))
        self._validators: dict[str, Validator] = {}

    @cached_property
    def text(self) -> str:
        return str(yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True))

    def validator(self, name: str) -> Validator:
        """A validator for ``#/components/schemas/<name>`` of this document."""
        if name not in self._validators:
            schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
            self._validators[name] = Draft202012Validator(schema, registry=self._registry)
        return self._validators[name]
