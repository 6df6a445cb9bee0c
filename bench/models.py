"""The two engines the transcription benchmarks compare: ours and bare faster-whisper, same settings."""

from __future__ import annotations

from typing import Any

from mixscribe.config import Settings
from mixscribe.transcription.engine import (
    BatchRule,
    Placement,
    SpeechModel,
    available_cpus,
    choose_placement,
    resolve_model_path,
)


def load_engines(model: str = "tiny.en", rule: BatchRule | None = None) -> tuple[Settings, Placement, SpeechModel, Any]:
    """Settings, the placement chosen for one task here, the pipeline's engine (with ``rule``, else the batch
    rule a task here ships with), a bare WhisperModel."""
    import ctranslate2
    from faster_whisper import WhisperModel

    settings = Settings.from_env()
    placement = choose_placement(settings, ctranslate2.get_cuda_device_count(), available_cpus())
    path = resolve_model_path(model, settings)
    ours = SpeechModel(model, path, placement, rule or BatchRule.for_device(settings, placement.device))
    bare = WhisperModel(
        str(path),
        device=placement.device,
        compute_type=placement.compute_type,
        cpu_threads=placement.cpu_threads,
        local_files_only=True,
    )
    return settings, placement, ours, bare
