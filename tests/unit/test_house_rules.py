"""The house's layout rules, read from the source: no import cycles; Google Cloud only in the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("mixscribe", "jobs", "beam_pipelines", "edge_agent", "artifacts", "local_emulators")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of ours that ``name`` imports, at any depth of its code (TYPE_CHECKING included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            targets |= {f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names}
        elif isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
    return {t for t in targets if t in modules and t != name}


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        trail.append(name)
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(trail[trail.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, trail)
        trail.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert cycles == []


FRAMEWORKS = ("flask", "werkzeug", "functions_framework", "apache_beam")  # framework code stays in the adapters


def test_google_cloud_only_in_the_adapter_package_and_no_framework_in_the_domain():
    offenders = []
    for path in (REPO / "mixscribe").rglob("*.py"):
        in_adapters = path.is_relative_to(REPO / "mixscribe" / "gcp")
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [
                f"{path.relative_to(REPO)}: {n}"
                for n in names
                if (n.startswith("google.cloud") and not in_adapters) or n.split(".")[0] in FRAMEWORKS
            ]
    assert offenders == []


def test_pyproject_declares_the_packages_and_each_deployables_dependencies():
    import warnings

    from setuptools.config.pyprojecttoml import read_configuration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls [tool.setuptools] "beta"
        config = read_configuration(REPO / "pyproject.toml", expand=True)
    declared = set(config["tool"]["setuptools"]["packages"])
    for package in (*PACKAGES, "functions"):
        for init in (REPO / package).rglob("__init__.py"):
            assert ".".join(init.parent.relative_to(REPO).parts) in declared, init
    extras = config["project"]["optional_dependencies"]

    def pins(rel: str) -> set[str]:
        lines = (REPO / rel).read_text().splitlines()
        return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}

    included = {line.removeprefix("-r ").strip() for line in pins("requirements.txt") if line.startswith("-r ")}
    by_file = {
        "functions/on_upload/requirements.txt": "on_upload",
        "functions/notes/requirements.txt": "notes",
        "functions/api/requirements.txt": "api",
        "functions/webhooks/requirements.txt": "webhooks",
        "functions/dead_letters/requirements.txt": "dead_letters",
        "jobs/transcribe/requirements.txt": "transcribe",
        "edge_agent/requirements.txt": "edge",
        "mixscribe_cli/requirements.txt": "cli",
        "beam_pipelines/requirements.txt": "analytics",
        "beam_pipelines/requirements-workers.txt": "analytics",
        "local_emulators/requirements.txt": "local",
        "infra/pulumi/requirements.txt": "infra",
        "requirements-dev.txt": "dev",
    }
    assert set(by_file) == included  # every file development installs is a declared extra
    for extra in set(by_file.values()):
        assert set(extras[extra]) == set().union(*(pins(rel) for rel, e in by_file.items() if e == extra)), extra
    gpu = pins("jobs/transcribe/requirements.txt") | pins("jobs/transcribe/requirements-gpu.txt")
    assert set(extras["transcribe_gpu"]) == gpu
