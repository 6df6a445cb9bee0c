"""Where audio comes from: the mixer (sounddevice/PortAudio), a file replay, or a test tone.

Every source delivers int32 blocks shaped ``(frames, channels)`` — 24-bit samples in the high
bytes, as PortAudio delivers 24-bit input — to ``on_block``. The device callback only copies the
block into the agent's queue: no I/O, no allocation beyond the copy, never blocking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mixscribe.logs import fields

from .config import AgentConfig

log = logging.getLogger("edge.sources")
BLOCK_FRAMES = 4800  # 100 ms at 48 kHz
OnBlock = Callable[[np.ndarray], None]


class Source:
    """Base: ``start`` begins delivering blocks; ``done`` is set when a finite source ends."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self._stop = threading.Event()
        self.overflows = 0

    def start(self, on_block: OnBlock) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()


class FileSource(Source):
    """Replays a WAV/FLAC file (its rate and channels must match the configuration)."""

    def __init__(self, path: str, config: AgentConfig) -> None:
        super().__init__()
        import soundfile

        self.path = path
        self.realtime = config.realtime
        info = soundfile.info(path)
        if info.samplerate != config.sample_rate or info.channels != config.channels:
            raise ValueError(
                f"{path} is {info.samplerate} Hz × {info.channels} channels; "
                f"the agent records {config.sample_rate} Hz × {config.channels}"
            )
        self.rate = info.samplerate

    def start(self, on_block: OnBlock) -> None:
        threading.Thread(target=self._run, args=(on_block,), name="file-source", daemon=True).start()

    def _run(self, on_block: OnBlock) -> None:
        import soundfile

        started = time.monotonic()
        sent = 0
        with soundfile.SoundFile(self.path) as handle:
            for block in handle.blocks(blocksize=BLOCK_FRAMES, dtype="int32", always_2d=True):
                if self._stop.is_set():
                    break
                if self.realtime:
                    ahead = started + sent / self.rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                on_block(np.ascontiguousarray(block))
                sent += block.shape[0]
        self.done.set()


class ToneSource(Source):
    """A different sine on each channel (440 Hz, 660 Hz, …) at -12 dBFS, endless."""

    def __init__(self, config: AgentConfig) -> None:
        super().__init__()
        self.config = config

    def start(self, on_block: OnBlock) -> None:
        threading.Thread(target=self._run, args=(on_block,), name="tone-source", daemon=True).start()

    def _run(self, on_block: OnBlock) -> None:
        rate, channels = self.config.sample_rate, self.config.channels
        freqs = np.array([440.0 * (1 + 0.5 * c) for c in range(channels)])
        amplitude = 0.25 * (2**31 - 2**8)
        started, sent = time.monotonic(), 0
        while not self._stop.is_set():
            t = (sent + np.arange(BLOCK_FRAMES))[:, None] / rate
            block = (amplitude * np.sin(2 * np.pi * freqs[None, :] * t)).astype(np.int32) & ~0xFF
            if self.config.realtime:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            on_block(block)
            sent += BLOCK_FRAMES


class DeviceSource(Source):
    """The mixer, found by a substring of its PortAudio name (e.g. ``AG06``), 24-bit input."""

    def __init__(self, config: AgentConfig) -> None:
        super().__init__()
        self.config = config
        self._stream: Any = None

    @staticmethod
    def find(match: str) -> tuple[int, str]:
        import sounddevice

        for index, device in enumerate(sounddevice.query_devices()):
            if match.lower() in device["name"].lower() and device["max_input_channels"] > 0:
                return index, device["name"]
        raise RuntimeError(f"no input device matches {match!r}: is the mixer plugged in and in 'to PC' mode?")

    def start(self, on_block: OnBlock) -> None:
        import sounddevice

        index, name = self.find(self.config.device_match)

        def callback(indata: np.ndarray, frames: int, time_info: object, status: sounddevice.CallbackFlags) -> None:
            if status.input_overflow:
                self.overflows += 1
            on_block(indata.copy())

        self._stream = sounddevice.InputStream(
            device=index,
            samplerate=self.config.sample_rate,
            channels=self.config.channels,
            dtype="int32",
            blocksize=BLOCK_FRAMES,
            latency="high",
            callback=callback,
        )
        self._stream.start()
        log.info("recording from device", extra=fields(device=name, rate=self.config.sample_rate))

    def stop(self) -> None:
        super().stop()
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()


def source_for(config: AgentConfig) -> Source:
    if config.source == "device":
        return DeviceSource(config)
    if config.source == "tone":
        return ToneSource(config)
    return FileSource(config.source, config)
