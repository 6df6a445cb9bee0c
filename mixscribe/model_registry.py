"""The models a deployment offers, declared once (``mixscribe/registries/<name>.toml``).

Each model says where its CTranslate2 files come from (a model hub repository at a pinned revision,
or — test-only — packages on the package index that ship them), each file's SHA-256, its languages
(English only or multilingual), the job classes whose images carry it, and its English-only variant.
The registry also says the model a request gets, per priority, when it names none. Intake, the API
(``GET /v1/models``), the job (its start check, model folders, language routing), the image build
(``scripts/bake_models.py``) and the Pulumi program read this one declaration.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ErrorCode, PermanentError
from .topology import PRIORITIES, work_queue

REGISTRIES = Path(__file__).resolve().parent / "registries"
HUB, PYPI = "hub", "pypi"
ENGLISH, MULTILINGUAL = "en", "multilingual"
JOB_CLASSES = ("gpu", "cpu")


class RegistryError(ValueError):
    """The registry file contradicts itself or names something unknown."""


@dataclass(frozen=True)
class ModelFile:
    """One file of a model's folder; ``parts`` (PyPI sources): package files concatenated in order."""

    name: str
    sha256: str
    size: int
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    languages: str  # ENGLISH or MULTILINGUAL
    classes: tuple[str, ...]
    source: str  # HUB or PYPI
    repo: str = ""  # HUB: the repository of the published conversion
    revision: str = ""  # HUB: the commit (empty: not pinned yet)
    packages: tuple[str, ...] = ()  # PYPI: pinned requirements whose files make the model
    files: tuple[ModelFile, ...] = ()
    english_variant: str = ""

    @property
    def english_only(self) -> bool:
        return self.languages == ENGLISH

    @property
    def pinned(self) -> bool:
        """Every file's hash is known (and, from the hub, the revision): the model can be baked."""
        return bool(self.files) and (self.source != HUB or bool(self.revision))

    def missing_files(self, root: Path) -> list[str]:
        """The files of this model absent from ``root/<name>`` or of another size than declared."""
        folder = root / self.name
        if not self.files:
            return ["model.bin"] if not (folder / "model.bin").is_file() else []
        return [f.name for f in self.files if not (folder / f.name).is_file() or (folder / f.name).stat().st_size != f.size]

    def public(self, defaults: dict[str, str]) -> dict[str, Any]:
        """How ``GET /v1/models`` shows it (OpenAI's model object, plus what this deployment adds)."""
        return {
            "id": self.name,
            "object": "model",
            "owned_by": "mixscribe",
            "description": self.description,
            "languages": self.languages,
            "classes": list(self.classes),
            "default_for": [p for p in PRIORITIES if defaults.get(p) == self.name],
            "english_variant": self.english_variant or None,
        }


@dataclass(frozen=True)
class ModelRegistry:
    name: str
    models: dict[str, ModelSpec]
    defaults: dict[str, str] = field(default_factory=dict)

    def spec(self, model: str) -> ModelSpec:
        try:
            return self.models[model]
        except KeyError:
            raise PermanentError(ErrorCode.INVALID_OPTION, f"model {model!r} is not one of {', '.join(self.models)}") from None

    def default_for(self, priority: str) -> str:
        return self.defaults[priority]

    def carried_by(self, job_class: str) -> tuple[ModelSpec, ...]:
        return tuple(spec for spec in self.models.values() if job_class in spec.classes)

    def choose(self, model: str, priority: str, language: str) -> str:
        """The model a request gets: the one it names or the priority's default, checked against the
        priority's job class and the language (``INVALID_OPTION`` otherwise)."""
        chosen = model or self.default_for(priority)
        spec = self.spec(chosen)
        job_class = work_queue(priority).job_class
        if job_class not in spec.classes:
            raise PermanentError(
                ErrorCode.INVALID_OPTION,
                f"model {chosen} runs on the {'/'.join(spec.classes)} job, not on {job_class} (priority {priority})",
            )
        if spec.english_only and language not in ("auto", ENGLISH):
            raise PermanentError(ErrorCode.INVALID_OPTION, f"model {chosen} only transcribes English")
        return chosen

    def english_route(self, model: str) -> str | None:
        """The English-only model English speech detected under ``model`` goes to (None: stay)."""
        variant = self.models[model].english_variant if model in self.models else ""
        return variant or None

    def missing(self, root: Path, job_class: str | None) -> dict[str, list[str]]:
        """Model → its missing files, for every model ``job_class`` carries (None: every class)."""
        specs = self.models.values() if job_class is None else self.carried_by(job_class)
        return {spec.name: gone for spec in specs if (gone := spec.missing_files(root))}

    def public(self) -> dict[str, Any]:
        return {"object": "list", "data": [spec.public(self.defaults) for spec in self.models.values()]}


def _file(name: str, raw: dict[str, Any]) -> ModelFile:
    return ModelFile(name, str(raw["sha256"]), int(raw["size"]), tuple(raw.get("parts", ())))


def _spec(name: str, raw: dict[str, Any]) -> ModelSpec:
    spec = ModelSpec(
        name=name,
        description=str(raw.get("description", "")),
        languages=str(raw["languages"]),
        classes=tuple(raw["classes"]),
        source=str(raw["source"]),
        repo=str(raw.get("repo", "")),
        revision=str(raw.get("revision", "")),
        packages=tuple(raw.get("packages", ())),
        files=tuple(_file(k, v) for k, v in sorted(raw.get("files", {}).items())),
        english_variant=str(raw.get("english_variant", "")),
    )
    if spec.languages not in (ENGLISH, MULTILINGUAL):
        raise RegistryError(f"{name}: languages must be {ENGLISH!r} or {MULTILINGUAL!r}")
    if not spec.classes or not set(spec.classes) <= set(JOB_CLASSES):
        raise RegistryError(f"{name}: classes must be among {JOB_CLASSES}")
    if spec.source == HUB and not spec.repo:
        raise RegistryError(f"{name}: a hub model names its repo")
    if spec.source == PYPI and not (spec.packages and spec.files and all(f.parts for f in spec.files)):
        raise RegistryError(f"{name}: a pypi model names its packages and each file's parts")
    if spec.source not in (HUB, PYPI):
        raise RegistryError(f"{name}: source must be {HUB!r} or {PYPI!r}")
    return spec


def parse_registry(text: str, name: str = "") -> ModelRegistry:
    raw = tomllib.loads(text)
    models = {key: _spec(key, value) for key, value in raw.get("models", {}).items()}
    defaults = {str(k): str(v) for k, v in raw.get("defaults", {}).items()}
    registry = ModelRegistry(str(raw.get("name", name)), models, defaults)
    if set(defaults) != set(PRIORITIES):
        raise RegistryError(f"defaults must name a model for each priority: {', '.join(PRIORITIES)}")
    for priority in PRIORITIES:
        registry.choose("", priority, "auto")  # each default exists and runs on its priority's class
    for spec in models.values():
        variant = models.get(spec.english_variant) if spec.english_variant else None
        if spec.english_variant and (variant is None or not variant.english_only):
            raise RegistryError(f"{spec.name}: english_variant {spec.english_variant!r} is not an English-only model here")
        if variant is not None and not set(spec.classes) <= set(variant.classes):
            raise RegistryError(f"{spec.name}: its english_variant must run on every class it runs on")
    return registry


def registry_path(name_or_path: str) -> Path:
    """``local``/``cloud`` (the packaged registries) or a path to a registry file."""
    if "/" not in name_or_path and not name_or_path.endswith(".toml"):
        return REGISTRIES / f"{name_or_path}.toml"
    return Path(name_or_path)


@functools.lru_cache(maxsize=8)
def load_registry(name_or_path: str) -> ModelRegistry:
    path = registry_path(name_or_path)
    try:
        text = path.read_text()
    except OSError as err:
        raise RegistryError(f"model registry {name_or_path!r} cannot be read: {err}") from err
    return parse_registry(text, path.stem)
