"""The speaker encoder: Resemblyzer's GE2E voice encoder, converted once to ONNX, on onnxruntime.

``voice_encoder.onnx`` sits beside this module (so every image that carries ``mixscribe/`` carries it)
and is checked against ``MODEL``'s size and SHA-256 when a task loads it, once. Its provenance:
``scripts/convert_voice_encoder.py`` (README, "Speaker diarization").
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mixscribe.logs import fields

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderFile:
    path: Path
    sha256: str
    size: int
    source: str


MODEL = EncoderFile(
    path=Path(__file__).resolve().parent / "voice_encoder.onnx",
    sha256="afd0d4b3c08695c5ad367ae66bfea68d5e853d07c87f4fa55e2ff7ac72d34ca5",
    size=5_700_111,
    source="resemblyzer==0.1.4 resemblyzer/pretrained.pt (wheel sha256 8f12eb2f…dd1f), torch 2.13.0 ONNX export",
)
EMBEDDING_SIZE = 256


class EncoderMissing(RuntimeError):
    """The voice encoder file is absent or not the declared one."""


def check_encoder(model: EncoderFile = MODEL) -> None:
    """Refuse an encoder file that is absent or differs from its declaration (size, then SHA-256)."""
    if not model.path.is_file() or model.path.stat().st_size != model.size:
        raise EncoderMissing(f"voice encoder {model.path} is missing or not {model.size} bytes")
    digest = hashlib.sha256(model.path.read_bytes()).hexdigest()
    if digest != model.sha256:
        raise EncoderMissing(f"voice encoder {model.path}: SHA-256 {digest}, declared {model.sha256}")


class VoiceEncoder:
    """Speaker embeddings (L2-normalised, 256 values) of mel-frame windows; loaded once per task."""

    def __init__(self, model: EncoderFile = MODEL, threads: int = 0) -> None:
        import onnxruntime

        started = time.monotonic()
        check_encoder(model)
        options = onnxruntime.SessionOptions()  # type: ignore[attr-defined,unused-ignore]
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session: Any = onnxruntime.InferenceSession(  # type: ignore[attr-defined,unused-ignore]
            str(model.path), options, providers=["CPUExecutionProvider"]
        )
        self.load_s = time.monotonic() - started
        log.info("voice encoder loaded", extra=fields(load_s=round(self.load_s, 3), sha256=model.sha256[:12]))

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``[n, frames, 40]`` mel windows → ``[n, 256]`` embeddings."""
        if windows.shape[0] == 0:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        out = self._session.run(["embeddings"], {"mels": np.ascontiguousarray(windows, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)
