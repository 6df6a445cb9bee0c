"""Cloud Run jobs for transcription: an NVIDIA L4 GPU job and a CPU job for batch priority.

Images live in Artifact Registry; the GPU image bakes the model in (jobs/transcribe/Dockerfile).
Tasks pull from the work queue until idle, so an execution's task count is its parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mixscribe.config import Settings

from .config import InfraConfig
from .identity import Accounts, why

GPU_TASK_TIMEOUT_CAP_S = 3600  # Cloud Run: tasks that use GPUs may run at most 1 hour (GA; 12 h in preview)
GPU_ACCELERATOR = "nvidia-l4"


@dataclass(frozen=True)
class JobSpec:
    name: str
    image: str
    cpu: str
    memory: str
    gpu: bool
    timeout_s: int
    speed_x: float  # audio seconds a task transcribes per second: sizes dispatches (assumed, docs/capacity.md)
    max_retries: int = 3


class TranscriptionJobs(pulumi.ComponentResource):
    def __init__(
        self, name: str, cfg: InfraConfig, accounts: Accounts, settings: dict, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mixscribe:jobs:TranscriptionJobs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.registry = gcp.artifactregistry.Repository(
            f"{name}-registry",
            repository_id="mixscribe",
            format="DOCKER",
            location=cfg.region,
            project=cfg.project,
            description="mixscribe job images",
            opts=child,
        )
        names = Settings(**settings)
        specs = [JobSpec(names.cpu_job, cfg.image("transcribe-cpu"), "4", "8Gi", False, 4 * 3600, 12.0)]
        if cfg.gpu:
            specs.insert(0, JobSpec(names.gpu_job, cfg.image("transcribe-gpu"), "4", "16Gi", True, GPU_TASK_TIMEOUT_CAP_S, 30.0))
        self.specs = specs
        self.jobs: dict[str, gcp.cloudrunv2.Job] = {}
        for spec in specs:
            limits = {"cpu": spec.cpu, "memory": spec.memory}
            if spec.gpu:
                limits["nvidia.com/gpu"] = "1"
            job_env = Settings(**{**settings, **self.routing}).to_env()  # CLOUD_RUN_JOB tells each task its queues
            job = gcp.cloudrunv2.Job(
                f"{name}-{spec.name}",
                name=spec.name,
                location=cfg.region,
                project=cfg.project,
                deletion_protection=False,
                template=gcp.cloudrunv2.JobTemplateArgs(
                    task_count=1,
                    parallelism=cfg.max_tasks,
                    template=gcp.cloudrunv2.JobTemplateTemplateArgs(
                        service_account=accounts.emails["transcribe"],
                        timeout=f"{spec.timeout_s}s",
                        max_retries=spec.max_retries,
                        node_selector=gcp.cloudrunv2.JobTemplateTemplateNodeSelectorArgs(accelerator=GPU_ACCELERATOR)
                        if spec.gpu
                        else None,
                        gpu_zonal_redundancy_disabled=True if spec.gpu else None,
                        containers=[
                            gcp.cloudrunv2.JobTemplateTemplateContainerArgs(
                                image=spec.image,
                                commands=["python", "-m", "jobs.transcribe"],
                                resources=gcp.cloudrunv2.JobTemplateTemplateContainerResourcesArgs(limits=limits),
                                envs=[
                                    gcp.cloudrunv2.JobTemplateTemplateContainerEnvArgs(name=k, value=v)
                                    for k, v in sorted(job_env.items())
                                ],
                            )
                        ],
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.registry]),
            )
            self.jobs[spec.name] = job
            for role, suffix in (("roles/run.jobsExecutorWithOverrides", "dispatcher"), ("roles/run.viewer", "counter")):
                why("on-upload", role)
                gcp.cloudrunv2.JobIamMember(
                    f"{name}-{spec.name}-{suffix}",
                    name=job.name,
                    location=cfg.region,
                    project=cfg.project,
                    role=role,
                    member=accounts.member("on-upload"),
                    opts=child,
                )
        self.register_outputs({n: j.name for n, j in self.jobs.items()})

    @property
    def routing(self) -> dict[str, object]:
        """The settings that send each priority to its job: the GPU class to the GPU job, or to the CPU job
        in a deployment without GPUs; each job's speed for dispatch sizing."""
        gpu = next((spec for spec in self.specs if spec.gpu), None)
        cpu = next(spec for spec in self.specs if not spec.gpu)
        return {
            "gpu_job": (gpu or cpu).name,
            "cpu_job": cpu.name,
            "task_speed_x": (gpu or cpu).speed_x,
            "cpu_task_speed_x": cpu.speed_x,
        }
