"""Device and compute-type choice, and model resolution, without loading a model."""


import pytest

from jobs.transcribe.engine import Placement, choose_placement, resolve_model_path
from mixscribe.config import Settings
from mixscribe.errors import ErrorCode, PermanentError

AUTO = Settings()


def test_gpu_present_means_cuda_float16():
    assert choose_placement(AUTO, cuda_devices=1, cpu_count=16, task_count=1) == Placement("cuda", "float16", 0)


def test_no_gpu_means_cpu_int8_with_cores_shared_among_tasks():
    assert choose_placement(AUTO, 0, cpu_count=2, task_count=1) == Placement("cpu", "int8", 2)
    assert choose_placement(AUTO, 0, cpu_count=2, task_count=2) == Placement("cpu", "int8", 1)
    assert choose_placement(AUTO, 0, cpu_count=2, task_count=8).cpu_threads == 1


def test_explicit_settings_win():
    settings = Settings(device="cuda", compute_type="int8_float16")
    assert choose_placement(settings, 1, 4, 1) == Placement("cuda", "int8_float16", 0)
    assert choose_placement(Settings(device="cpu"), 4, 4, 1).device == "cpu"


def test_bundled_model_resolves_and_unknown_models_are_unavailable(tmp_path):
    assert (resolve_model_path("tiny.en", AUTO) / "model.bin").is_file()
    with pytest.raises(PermanentError) as info:
        resolve_model_path("large-v3", Settings(model_root=str(tmp_path)))
    assert info.value.code is ErrorCode.MODEL_UNAVAILABLE
    (tmp_path / "base.en").mkdir()
    (tmp_path / "base.en" / "model.bin").write_bytes(b"x")
    assert resolve_model_path("base.en", Settings(model_root=str(tmp_path))) == tmp_path / "base.en"


def test_batched_inference_only_on_a_gpu_with_enough_audio():
    from jobs.transcribe.engine import batch_size_for

    assert batch_size_for("cuda", 3600) == 16
    assert batch_size_for("cuda", 20) == 0  # would not fill a batch
    assert batch_size_for("cpu", 3600) == 0  # the cores already serve one sequence
