"""Convert Resemblyzer's pretrained voice encoder to ONNX, once (needs PyTorch; the job never does).

    python -m venv /tmp/convert && /tmp/convert/bin/pip install torch==2.13.0 numpy onnx librosa
    /tmp/convert/bin/python scripts/convert_voice_encoder.py --wheel Resemblyzer-0.1.4-py3-none-any.whl

The wheel (``pip download resemblyzer==0.1.4 --no-deps``) ships ``resemblyzer/pretrained.pt``: a GE2E
speaker encoder (3-layer LSTM over 40 mel channels, 256 hidden, a linear layer to 256, ReLU, L2 norm;
Resemble AI, Apache-2.0). This script checks the wheel's SHA-256, loads the weights with PyTorch, builds
the same network and exports it (input ``mels`` [batch, frames, 40] power mel frames at 100 frames/s,
output ``embeddings`` [batch, 256]) to ``mixscribe/diarization/voice_encoder.onnx``. It also writes
``tests/data/voice_encoder_reference.npz``: PyTorch's embeddings of seeded inputs, which a unit test
compares with onnxruntime's, so the committed file is checked against the network it came from, and
librosa's mel frames of a seeded signal, which the job's NumPy features must reproduce.
It prints the output's SHA-256 and size for ``mixscribe/diarization/encoder.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
WHEEL_SHA256 = "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f"  # pip download resemblyzer==0.1.4
WEIGHTS = "resemblyzer/pretrained.pt"
OUTPUT = REPO / "mixscribe" / "diarization" / "voice_encoder.onnx"
REFERENCE = REPO / "tests" / "data" / "voice_encoder_reference.npz"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    import librosa
    import torch
    from torch import nn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, required=True)
    args = parser.parse_args(argv)
    digest = sha256_of(args.wheel)
    if digest != WHEEL_SHA256:
        print(f"convert_voice_encoder: wheel SHA-256 {digest}, expected {WHEEL_SHA256}", file=sys.stderr)
        return 1
    work = OUTPUT.parent / ".pretrained.pt"
    with zipfile.ZipFile(args.wheel) as wheel:
        work.write_bytes(wheel.read(WEIGHTS))

    class VoiceEncoder(nn.Module):  # resemblyzer.voice_encoder.VoiceEncoder's network, without its I/O
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, 256)
            self.relu = nn.ReLU()

        def forward(self, mels: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True)

    model = VoiceEncoder()
    checkpoint = torch.load(work, map_location="cpu", weights_only=False)
    work.unlink()
    state = {k: v for k, v in checkpoint["model_state"].items() if k.split(".")[0] in ("lstm", "linear")}
    model.load_state_dict(state, strict=True)
    model.eval()
    example = torch.rand(2, 160, 40)
    torch.onnx.export(
        model,
        (example,),
        str(OUTPUT),
        input_names=["mels"],
        output_names=["embeddings"],
        dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    rng = np.random.default_rng(20)
    inputs = (rng.gamma(0.5, 0.02, (3, 160, 40))).astype(np.float32)  # power mel values of speech's order
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).numpy()
    # librosa's mel frames of a short seeded signal, for the job's NumPy features (features.py)
    wave = (0.1 * np.sin(np.linspace(0, 2000, 8000)) + rng.normal(0, 0.02, 8000)).astype(np.float32)
    mel = librosa.feature.melspectrogram(y=wave, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, mels=inputs, embeddings=expected, wave=wave, wave_mel=mel.astype(np.float32))
    print(f"{OUTPUT.relative_to(REPO)}: sha256={sha256_of(OUTPUT)} size={OUTPUT.stat().st_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
