"""The writer thread: blocks from the source's queue become sealed FLAC segments in the spool.

Segments are ``segment_s`` long, cut at the quietest 20 ms of their last ``quiet_window_s``
(the tail is held in memory until the cut is chosen), so words are rarely split; the cut is
sample-exact, so the segments stitched together are the recording. Each segment gets its levels
(peak, RMS, LUFS, clipped samples). Before every block the spool's size is checked against its
budget: when it would be exceeded the current segment is sealed and recording stops with
``SpoolFull`` — audio already captured is kept, nothing unuploaded is ever deleted.
"""

from __future__ import annotations

import json
import logging
import queue
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import soundfile

from mixscribe.levels import LevelMeter
from mixscribe.logs import fields

from .config import AgentConfig
from .spool import Spool

log = logging.getLogger("edge.recorder")
FULL_SCALE = float(2**31)
QUIET_HOP_S = 0.02


class SpoolFull(RuntimeError):
    """The spool reached its disk budget: recording stopped (uploads are not keeping up)."""


class _Segment:
    def __init__(self, spool: Spool, config: AgentConfig, session: str, seq: int, started_at: datetime) -> None:
        self.seq = seq
        tmp = spool.begin(session, seq, started_at.isoformat(), config.sample_rate, config.channels)
        self.file = soundfile.SoundFile(
            str(tmp), "w", samplerate=config.sample_rate, channels=config.channels, format="FLAC", subtype="PCM_24"
        )
        self.meter = LevelMeter(config.sample_rate, config.channels)
        self.frames = 0
        self.clipped = 0

    def write(self, block: np.ndarray) -> None:
        self.file.write(block)
        as_float = block.astype(np.float32) / FULL_SCALE
        self.meter.feed(as_float)
        self.clipped += int(np.count_nonzero(np.abs(block) >= 2**31 - 2**8))
        self.frames += block.shape[0]

    def close(self) -> str:
        self.file.close()
        report = self.meter.report()
        return json.dumps(
            {
                "peak_dbfs": report.sample_peak_dbfs,
                "rms_dbfs": report.rms_dbfs,
                "lufs": report.integrated_lufs,
                "true_peak_dbtp": report.true_peak_dbtp,
                "clipped_samples": self.clipped,
            }
        )


def quietest_cut(tail: np.ndarray, rate: int) -> int:
    """Frame index of the quietest 20 ms hop in ``tail`` (its start), never 0."""
    hop = max(1, int(rate * QUIET_HOP_S))
    hops = tail.shape[0] // hop
    if hops < 2:
        return tail.shape[0]
    energy = (tail[: hops * hop].astype(np.float64) ** 2).reshape(hops, hop, -1).mean(axis=(1, 2))
    return int(np.argmin(energy[1:]) + 1) * hop


class Recorder:
    def __init__(self, config: AgentConfig, spool: Spool, session: str, started_at: datetime) -> None:
        self.config = config
        self.spool = spool
        self.session = session
        self.started_at = started_at
        self.blocks: queue.Queue[np.ndarray | None] = queue.Queue()
        self.error: BaseException | None = None
        self.live_peaks_dbfs: list[float | None] = [None] * config.channels
        self.captured_frames = 0
        self._segment: _Segment | None = None
        self._tail: list[np.ndarray] = []
        self._seq = 0
        self._sealed_total = 0  # frames in sealed segments: the next segment starts there

    # -- source side --------------------------------------------------------------------
    def on_block(self, block: np.ndarray) -> None:
        """Called by the source (the device callback): only enqueue."""
        self.blocks.put(block)

    def finish(self) -> None:
        self.blocks.put(None)

    # -- writer thread ------------------------------------------------------------------
    def run(self) -> None:
        try:
            while (block := self.blocks.get()) is not None:
                self._check_budget()
                self._consume(block)
            self._seal_current(flush_tail=True)
        except BaseException as exc:  # the agent reports it and stops
            self.error = exc
            try:
                self._seal_current(flush_tail=True)
            except Exception:
                log.exception("could not seal the last segment")

    def _check_budget(self) -> None:
        used = self.spool.used_bytes()
        if used >= self.config.spool_budget_bytes:
            raise SpoolFull(
                f"spool is full: {used} of {self.config.spool_budget_bytes} bytes in {self.config.spool_dir}; "
                "uploads are not keeping up (offline?). Recording stopped; nothing was deleted."
            )

    def _consume(self, block: np.ndarray) -> None:
        peaks = np.abs(block).max(axis=0) / FULL_SCALE
        self.live_peaks_dbfs = [round(20 * np.log10(p), 1) if p > 0 else None for p in peaks]
        if self._segment is None:
            self._open()
        rate = self.config.sample_rate
        segment_frames = int(self.config.segment_s * rate)
        window_frames = int(self.config.quiet_window_s * rate)
        assert self._segment is not None
        held = sum(t.shape[0] for t in self._tail)
        if self._segment.frames + held + block.shape[0] <= segment_frames - window_frames:
            self._segment.write(block)
        else:
            self._tail.append(block)
            if self._segment.frames + held + block.shape[0] >= segment_frames:
                self._cut()
        self.captured_frames += block.shape[0]

    def _open(self, first: np.ndarray | None = None) -> None:
        started = self.started_at + timedelta(seconds=self._sealed_total / self.config.sample_rate)
        self._segment = _Segment(self.spool, self.config, self.session, self._seq, started)
        self._seq += 1
        if first is not None and first.shape[0]:
            self._segment.write(first)

    def _cut(self) -> None:
        tail = np.concatenate(self._tail)
        self._tail = []
        assert self._segment is not None
        room = int(self.config.segment_s * self.config.sample_rate) - self._segment.frames
        cut = min(quietest_cut(tail[:room], self.config.sample_rate), room) if room > 0 else 0
        if cut > 0:
            self._segment.write(tail[:cut])
        self._seal_current(flush_tail=False)
        self._open(tail[cut:])

    def _seal_current(self, flush_tail: bool) -> None:
        segment = self._segment
        if segment is None:
            return
        if flush_tail and self._tail:
            segment.write(np.concatenate(self._tail))
            self._tail = []
        levels = segment.close()
        self._segment = None
        if segment.frames == 0:
            self.spool.discard(self.session, segment.seq)
            return
        record = self.spool.seal(self.session, segment.seq, segment.frames, levels)
        self._sealed_total += segment.frames
        log.info(
            "segment sealed",
            extra=fields(
                session=self.session,
                seq=record.seq,
                duration_s=round(record.duration_s, 3),
                size=record.size,
                crc32c=record.crc32c,
                levels=json.loads(levels),
            ),
        )

    def status(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "live_peaks_dbfs": self.live_peaks_dbfs,
            "segments_started": self._seq,
            "captured_s": round(self.captured_frames / self.config.sample_rate, 2),
            "at": datetime.now(UTC).isoformat(),
        }
