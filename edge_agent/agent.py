"""The agent: recover the spool, record, upload, report — until stopped or, for finite sources,
until everything is uploaded.

Threads: the source (device callback or replay), the recorder (queue → sealed segments), the
uploader (spool → bucket) and the reporter (``status.json`` every second for the ``status``
command, an ``edge.heartbeat`` event every ``heartbeat_s``). SIGTERM/SIGINT seal the segment in
progress and stop; a SIGKILL leaves a torn temporary file that the next start discards.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any

from mixscribe.event_types import EdgeHeartbeat
from mixscribe.events import EventSink, PubSubEventSink, make_event
from mixscribe.logs import fields

from .config import AgentConfig
from .recorder import Recorder, SpoolFull
from .sources import source_for
from .spool import Spool
from .uploader import SOURCE, Uploader

log = logging.getLogger("edge.agent")
# exit codes (edge_agent/deploy/mixscribe-edge.service acts on them; a test checks the unit against these)
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_SPOOL_FULL = 0, 1, 2, 3


def storage_client(config: AgentConfig) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    if config.storage_emulator_host:
        return storage.Client(project=config.project or "local", credentials=AnonymousCredentials())
    return storage.Client(project=config.project or None)


def event_sink(config: AgentConfig) -> EventSink | None:
    if not config.events_topic:
        return None
    from mixscribe.gcp import publisher_client

    return PubSubEventSink(publisher_client(), f"projects/{config.project}/topics/{config.events_topic}")


class Agent:
    def __init__(self, config: AgentConfig, storage: Any | None = None, events: EventSink | None = None) -> None:
        self.config = config
        self.spool = Spool(config.spool)
        self.stop = threading.Event()
        self.storage = storage if storage is not None else storage_client(config)
        self.events = events if events is not None else event_sink(config)
        self.uploader = Uploader(config, self.spool, self.storage, self.events, self.stop)
        self.recorder: Recorder | None = None

    def drain(self, timeout_s: float | None = None) -> bool:
        """Upload the backlog only (no recording); True when nothing is left."""
        recovered = self.spool.recover()
        log.info("spool recovered", extra=fields(**recovered, **self.spool.stats()))
        thread = threading.Thread(target=self.uploader.run, name="uploader", daemon=True)
        thread.start()
        drained = self._wait_drained(timeout_s)
        self.stop.set()
        thread.join(10)
        return drained

    def _wait_drained(self, timeout_s: float | None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.stop.is_set():
            if not self.spool.pending():
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            self.stop.wait(0.2)
        return not self.spool.pending()

    def run(self) -> int:
        recovered = self.spool.recover()
        session = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
        log.info("agent starting", extra=fields(session=session, device=self.config.device_id, **recovered))
        source = source_for(self.config)
        self.recorder = recorder = Recorder(self.config, self.spool, session, datetime.now(UTC))
        writer = threading.Thread(target=recorder.run, name="recorder", daemon=True)
        uploader = threading.Thread(target=self.uploader.run, name="uploader", daemon=True)
        reporter = threading.Thread(target=self._report, name="reporter", daemon=True)
        for thread in (writer, uploader, reporter):
            thread.start()
        self._handle_signals()
        source.start(recorder.on_block)
        while not self.stop.is_set() and not source.done.is_set() and writer.is_alive():
            self.stop.wait(0.2)
        source.stop()
        recorder.finish()
        writer.join()
        if isinstance(recorder.error, SpoolFull):
            log.critical(str(recorder.error), extra=fields(session=session, **self.spool.stats()))
            freed = self._hold_while_full()
            self.stop.set()
            uploader.join(30)
            log.warning(
                "leaving to restart recording" if freed else "spool still full; leaving for a later restart",
                extra=fields(session=session, **self.spool.stats()),
            )
            return EXIT_SPOOL_FULL
        if recorder.error is not None:
            log.critical("recording failed", exc_info=recorder.error, extra=fields(session=session))
            self.stop.set()
            return EXIT_FAILED
        if self.config.exit_when_drained or source.done.is_set():
            self._wait_drained(None)
        self.stop.set()
        uploader.join(30)
        self._write_status()
        log.info("agent stopped", extra=fields(session=session, **self.spool.stats()))
        return EXIT_OK

    def _hold_while_full(self) -> bool:
        """Recording stopped on a full spool: keep uploading for ``spool_full_hold_s`` or until half the
        budget is free (True), so a restart resumes recording instead of filling the spool again at once."""
        deadline = time.monotonic() + self.config.spool_full_hold_s
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self.spool.used_bytes() < self.config.spool_budget_bytes / 2:
                return True
            self.stop.wait(1.0)
        return self.spool.used_bytes() < self.config.spool_budget_bytes / 2

    def _handle_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())

    def status(self) -> dict[str, Any]:
        stats = self.spool.stats()
        return {
            **(self.recorder.status() if self.recorder else {}),
            **stats,
            "spool_budget_bytes": self.config.spool_budget_bytes,
            "uploaded_this_run": self.uploader.uploaded,
            "last_error": self.uploader.last_error,
            "device": self.config.device_id,
        }

    def _write_status(self) -> None:
        path = self.config.spool / "status.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.status()))
        os.replace(tmp, path)

    def _report(self) -> None:
        beats = 0
        next_beat = 0.0
        while not self.stop.wait(1.0):
            self._write_status()
            now = time.monotonic()
            if self.events is not None and now >= next_beat:
                beats += 1
                next_beat = now + self.config.heartbeat_s
                status = self.status()
                try:
                    self.events.emit(
                        make_event(
                            EdgeHeartbeat(
                                device=self.config.device_id,
                                session=status.get("session"),
                                spool_segments=status["spooled"],
                                spool_bytes=status["spool_bytes"],
                                last_upload_at=status["last_upload_at"],
                                live_peaks_dbfs=status.get("live_peaks_dbfs"),
                            ),
                            f"edge:{self.config.device_id}",
                            SOURCE,
                            discriminator=f"{status.get('session')}-{beats}",
                        )
                    )
                except Exception as exc:  # offline: heartbeats are best effort, audio is not
                    log.warning("heartbeat not sent", extra=fields(reason=str(exc)[:200]))
