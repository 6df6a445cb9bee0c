#!/usr/bin/env bash
# Issue 23's GPU run on a lent machine, in three calls whose carried folders each fit the device tool
# (bench/gpu/README.md). A call does what its carried folder allows; what it builds stays in
# .gpu/there while the machine is warm. Once the wheels and both model parts are there, it runs
# bench/gpu_batching.py and leaves gpu_batching.json under $OUT (here: .gpu/).
set -uo pipefail
cd "$(dirname "$0")/../.."
there=.gpu/there
out=${OUT:-.gpu}
mkdir -p "$there/model/tiny.en"
if [ -d .gpu/wheels ]; then  # still there in the next calls (ignored files stay): installed once
  listing=$(ls .gpu/wheels | sha256sum)
  if [ "$(cat "$there/site/.wheels" 2>/dev/null)" != "$listing" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$there/site" .gpu/wheels/*.whl || exit 1
    echo "$listing" >"$there/site/.wheels"
    echo "wheels installed in $there/site"
  fi
fi
if [ -d .gpu/carry-1 ]; then
  cp .gpu/carry-1/tiny.en/* .gpu/carry-1/tiny.en/.baked.json "$there/model/tiny.en/" && cp .gpu/carry-1/model.bin.1 "$there/" || exit 1
  echo "model part 1 in place"
fi
if [ -d .gpu/carry-2 ]; then
  cp .gpu/carry-2/model.bin.2 "$there/" && rm -rf "$there/inputs" && cp -r .gpu/carry-2/inputs "$there/inputs" || exit 1
  echo "model part 2 and inputs in place"
fi
if [ -f "$there/model.bin.1" ] && [ -f "$there/model.bin.2" ]; then
  cat "$there/model.bin.1" "$there/model.bin.2" >"$there/model/tiny.en/model.bin" && rm "$there/model.bin.1" "$there/model.bin.2"
  python3 - "$there/model/tiny.en" <<'PY' || exit 1
import json, sys
from pathlib import Path
from scripts.bake_models import MARKER, sha256_of
folder = Path(sys.argv[1])
for name, digest in json.loads((folder / MARKER).read_text()).items():
    if sha256_of(folder / name) != digest:
        sys.exit(f"{name}: not the baked file (its SHA-256 differs)")
print("model assembled and checked")
PY
fi
if [ ! -f "$there/model/tiny.en/model.bin" ] || [ ! -d "$there/site" ] || [ ! -d "$there/inputs" ]; then
  echo "not complete yet: wheels $( [ -d "$there/site" ] && echo yes || echo no)," \
    "model $( [ -f "$there/model/tiny.en/model.bin" ] && echo yes || echo no), inputs $( [ -d "$there/inputs" ] && echo yes || echo no)"
  exit 0
fi
# CTranslate2 4.8 is built for CUDA 12 (cuBLAS 12, cuDNN 9). Where the machine has only CUDA 13's
# cuBLAS, its libraries answer to the CUDA 12 names (an experiment for a measurement, not a deployment
# recipe: the GPU image ships nvidia-cublas-cu12 and nvidia-cudnn-cu12, jobs/transcribe/requirements-gpu.txt).
mkdir -p "$there/lib"
nvidia=$(python3 -c 'import nvidia, os; print(os.pathsep.join(nvidia.__path__))' 2>/dev/null || true)
paths=""
for lib in libcublas libcublasLt libcudnn; do
  found=$(find ${nvidia//:/ } /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu -name "$lib.so.*" 2>/dev/null | sort | head -1)
  [ -n "$found" ] || { echo "no $lib found" >&2; continue; }
  paths="$paths:$(dirname "$found")"
  case "$lib" in
    libcudnn) ;;
    *) [ -e "$(dirname "$found")/$lib.so.12" ] || ln -sf "$found" "$there/lib/$lib.so.12" ;;
  esac
done
export LD_LIBRARY_PATH="$(realpath "$there/lib")$paths${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# PyAV is not on the machine and the bench never decodes audio there (its inputs are decoded arrays);
# faster-whisper and mixscribe.audio import it at load, so an empty stand-in module is put first.
mkdir -p "$there/stub/av"
echo '"""Stand-in for PyAV on the GPU machine: imported, never called (bench/gpu/run.sh)."""' >"$there/stub/av/__init__.py"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
PYTHONPATH="$there/stub:$there/site:." MIXSCRIBE_MODEL_ROOT="$there/model" PYTHONUNBUFFERED=1 \
  python3 -m bench.gpu_batching --inputs "$there/inputs" --json "$out/gpu_batching.json" "$@"
