#!/usr/bin/env bash
# Prepares issue 23's GPU run here (bench/gpu/README.md): in .gpu/ (ignored), three folders that each
# travel under the device tool's 64 MiB with the working tree: the wheels the GPU machine lacks (pinned
# by this repository's requirement files, for its Python 3.12), the baked tiny.en in two parts, and
# the bench's decoded inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
pin() { grep -h -i -E "^$1==" jobs/transcribe/requirements.txt constraints.txt requirements-dev.txt | head -1; }

rm -rf .gpu/wheels .gpu/carry-1 .gpu/carry-2
mkdir -p .gpu/wheels .gpu/carry-1/tiny.en .gpu/carry-2
pins=()
for name in faster-whisper ctranslate2 pydantic pydantic_core pydantic-settings python-dotenv annotated-types \
  typing-inspection typing_extensions opentelemetry-api jiwer RapidFuzz; do
  line=$(pin "$name")
  [ -n "$line" ] || { echo "no pinned version of $name in the requirement files" >&2; exit 1; }
  pins+=("$line")
done
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
  platforms+=(--platform "$p")
done
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d .gpu/wheels "${pins[@]}"

model=$("$PY" -c 'from pathlib import Path; from mixscribe.config import Settings; print((Path(Settings().model_root) / "tiny.en").resolve())')
cp "$model"/config.json "$model"/tokenizer.json "$model"/vocabulary.txt "$model"/.baked.json .gpu/carry-1/tiny.en/
size=$(stat -c %s "$model/model.bin")
half=$((size / 2))
head -c "$half" "$model/model.bin" >.gpu/carry-1/model.bin.1
tail -c +"$((half + 1))" "$model/model.bin" >.gpu/carry-2/model.bin.2
"$PY" -m bench.gpu_batching --write-inputs .gpu/carry-2/inputs
du -sh .gpu/wheels .gpu/carry-1 .gpu/carry-2
