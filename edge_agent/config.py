"""Agent configuration: a TOML file (``/etc/mixscribe/edge.toml``) with command-line overrides."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class AgentConfig:
    """Every setting of the agent (README's edge section documents each); ``load`` is its one reader
    of files and the environment."""

    device_id: str = "ag06-1"  # names objects edge/{device_id}/{session}/{seq}.flac
    device_match: str = "AG06"  # substring of the PortAudio input device name (AG06 or AG03)
    source: str = "device"  # device | tone | path of a WAV/FLAC file to replay
    realtime: bool = True  # file/tone sources: pace like a live device, or as fast as possible
    sample_rate: int = 48000
    channels: int = 2
    channel_map: str = "host,guest"  # speaker of each input, sent as x-goog-meta-channels
    segment_s: float = 300.0
    quiet_window_s: float = 10.0  # split at the quietest moment of the segment's last seconds
    spool_dir: str = "/var/lib/mixscribe/spool"  # under the unit's StateDirectory (systemd creates it, writable)
    spool_budget_bytes: int = 2 * 1024**3
    spool_full_hold_s: float = 600.0  # spool full: keep uploading this long (or until half is free), then exit 3
    bucket: str = "mixscribe-uploads"
    project: str = ""
    events_topic: str = ""  # e.g. mixscribe-events; empty: no heartbeat/segment events
    heartbeat_s: float = 30.0
    bandwidth_bytes_s: int = 0  # 0: no cap
    upload_chunk_bytes: int = 8 * 1024 * 1024
    backoff_cap_s: float = 60.0
    options: dict[str, str] | None = None  # pipeline options: model, language, notes, priority
    exit_when_drained: bool = False  # finite sources: stop once everything is uploaded
    storage_emulator_host: str = ""  # a Cloud Storage emulator (anonymous credentials); STORAGE_EMULATOR_HOST

    @classmethod
    def load(cls, path: str | None, overrides: dict[str, Any] | None = None) -> AgentConfig:
        data: dict[str, Any] = {}
        if path:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
        data.setdefault("storage_emulator_host", os.environ.get("STORAGE_EMULATOR_HOST", ""))
        data.update({k: v for k, v in (overrides or {}).items() if v is not None})
        config = replace(cls(), **data)
        config.validate()
        return config

    def validate(self) -> None:
        if not _NAME.match(self.device_id):
            raise ValueError("device_id must be 1-64 of [A-Za-z0-9_-]")
        names = self.speakers
        if len(names) != self.channels or not all(_NAME.match(n) for n in names):
            raise ValueError(f"channel_map must name each of the {self.channels} channels, e.g. host,guest")
        if self.segment_s < 1 or not 0 <= self.quiet_window_s < self.segment_s:
            raise ValueError("segment_s must be ≥ 1 and quiet_window_s below it")
        if self.upload_chunk_bytes % (256 * 1024):
            raise ValueError("upload_chunk_bytes must be a multiple of 256 KiB")
        if not self.bucket:
            raise ValueError("bucket is required")

    @property
    def speakers(self) -> list[str]:
        return [n.strip() for n in self.channel_map.split(",") if n.strip()]

    @property
    def spool(self) -> Path:
        return Path(self.spool_dir)
