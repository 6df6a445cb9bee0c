"""Device and compute-type choice, and model resolution, without loading a model."""

import pytest

from mixscribe.config import Settings
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.transcription.engine import Placement, available_cpus, choose_placement, resolve_model_path

AUTO = Settings()


def test_gpu_present_means_cuda_float16():
    assert choose_placement(AUTO, cuda_devices=1, cpus=16) == Placement("cuda", "float16", 0)


def test_no_gpu_means_cpu_int8_on_the_cpus_the_task_has():
    """Defect: threads were cores // task_count, right for tasks sharing one machine, wrong on Cloud Run
    where each of an execution's 20 tasks has its own 4 vCPUs (it got 1 thread, or 0 when rounded)."""
    assert choose_placement(AUTO, 0, cpus=4) == Placement("cpu", "int8", 4)
    assert choose_placement(Settings(cpu_threads=1), 0, cpus=4).cpu_threads == 1  # the local stack says its share


def test_a_tasks_cpus_come_from_its_cgroup_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("400000 100000\n")  # a Cloud Run task with 4 vCPUs on a bigger host
    assert available_cpus(tmp_path) == min(4, len(__import__("os").sched_getaffinity(0)))
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 vCPU: two threads
    assert available_cpus(tmp_path) == min(2, len(__import__("os").sched_getaffinity(0)))
    (tmp_path / "cpu.max").write_text("max 100000\n")  # no quota: the affinity
    assert available_cpus(tmp_path) == len(__import__("os").sched_getaffinity(0))


def test_explicit_settings_win():
    settings = Settings(device="cuda", compute_type="int8_float16")
    assert choose_placement(settings, 1, 4) == Placement("cuda", "int8_float16", 0)
    assert choose_placement(Settings(device="cpu"), 4, 4).device == "cpu"


def test_baked_models_resolve_and_others_are_unavailable(tmp_path):
    assert (resolve_model_path("tiny.en", AUTO) / "model.bin").is_file()  # baked by `make install`
    elsewhere = Settings(model_root=str(tmp_path))
    with pytest.raises(PermanentError) as info:
        resolve_model_path("large-v3", elsewhere)  # not in the registry
    assert info.value.code is ErrorCode.MODEL_UNAVAILABLE and "registry" in info.value.message
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "model.bin").write_bytes(b"x")  # in the registry, but not the files it declares
    with pytest.raises(PermanentError) as info:
        resolve_model_path("base", elsewhere)
    assert info.value.code is ErrorCode.MODEL_UNAVAILABLE and "model.bin" in info.value.message


def test_the_batch_rule_is_the_devices_from_the_settings():
    from mixscribe.config import Settings
    from mixscribe.transcription.engine import BatchRule

    settings = Settings()
    gpu, cpu = BatchRule.for_device(settings, "cuda"), BatchRule.for_device(settings, "cpu")
    assert gpu.batch_size(3600) == settings.gpu_batch_size and gpu.batch_size(settings.gpu_batch_min_s - 1) == 0
    assert cpu.batch_size(3600) == settings.cpu_batch_size and cpu.batch_size(settings.cpu_batch_min_s - 1) == 0
    never = BatchRule.for_device(Settings(cpu_batch_size=0), "cpu")
    assert never.batch_size(3600) == 0
