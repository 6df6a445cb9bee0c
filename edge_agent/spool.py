"""The durable spool: sealed FLAC segments on disk plus a SQLite manifest of their state.

A segment's life: a manifest row in state ``writing`` (before any byte) → audio written to
``<name>.flac.tmp`` → fsync → CRC32C and size computed → renamed to ``<name>.flac`` → directory
fsynced → row ``spooled`` → uploaded and confirmed by the bucket's CRC32C → row ``uploaded`` and
the file deleted. ``recover()`` at start finishes what a crash interrupted: a row still
``writing`` whose final file exists is sealed again (the crash came after the rename); one
without it is ``torn`` and its temporary file deleted. A torn segment is never uploaded.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google_crc32c

WRITING, SPOOLED, UPLOADED, TORN = "writing", "spooled", "uploaded", "torn"
SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    session TEXT NOT NULL, seq INTEGER NOT NULL, path TEXT NOT NULL, started_at TEXT NOT NULL,
    rate INTEGER NOT NULL, channels INTEGER NOT NULL, frames INTEGER, duration_s REAL,
    crc32c TEXT, size INTEGER, levels TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, object_name TEXT, uploaded_at REAL, PRIMARY KEY (session, seq)
)
"""


def crc32c_of(path: Path) -> str:
    """Base64 of the big-endian CRC32C, the form Cloud Storage reports."""
    checksum = google_crc32c.Checksum()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            checksum.update(chunk)
    return base64.b64encode(checksum.digest()).decode()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SegmentRecord:
    session: str
    seq: int
    path: Path
    started_at: str
    rate: int
    channels: int
    frames: int
    duration_s: float
    crc32c: str
    size: int
    levels: str
    state: str
    attempts: int


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(root / "manifest.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)

    def _exec(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def path_for(self, session: str, seq: int) -> Path:
        return self.root / f"{session}-{seq:06d}.flac"

    def begin(self, session: str, seq: int, started_at: str, rate: int, channels: int) -> Path:
        """Record that a segment is being written; its temporary path."""
        final = self.path_for(session, seq)
        self._exec(
            "INSERT INTO segments (session, seq, path, started_at, rate, channels, state) VALUES (?,?,?,?,?,?,?)",
            (session, seq, str(final), started_at, rate, channels, WRITING),
        )
        return final.with_suffix(".flac.tmp")

    def seal(self, session: str, seq: int, frames: int, levels: str) -> SegmentRecord:
        """fsync, checksum, rename into place and mark ``spooled``."""
        final = self.path_for(session, seq)
        tmp = final.with_suffix(".flac.tmp")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        crc, size = crc32c_of(tmp), tmp.stat().st_size
        os.replace(tmp, final)
        fsync_dir(self.root)
        rate = self._exec("SELECT rate FROM segments WHERE session=? AND seq=?", (session, seq))[0][0]
        self._exec(
            "UPDATE segments SET frames=?, duration_s=?, crc32c=?, size=?, levels=?, state=? WHERE session=? AND seq=?",
            (frames, frames / rate, crc, size, levels, SPOOLED, session, seq),
        )
        return self.get(session, seq)

    def discard(self, session: str, seq: int) -> None:
        """Forget a segment that received no audio (its row and empty temporary file)."""
        self.path_for(session, seq).with_suffix(".flac.tmp").unlink(missing_ok=True)
        self._exec("DELETE FROM segments WHERE session=? AND seq=? AND state=?", (session, seq, WRITING))

    def get(self, session: str, seq: int) -> SegmentRecord:
        rows = self._exec(
            "SELECT session, seq, path, started_at, rate, channels, frames, duration_s, crc32c, size, "
            "levels, state, attempts FROM segments WHERE session=? AND seq=?",
            (session, seq),
        )
        return _record(rows[0])

    def pending(self) -> list[SegmentRecord]:
        """Sealed segments not yet confirmed by the bucket, oldest first."""
        rows = self._exec(
            "SELECT session, seq, path, started_at, rate, channels, frames, duration_s, crc32c, size, "
            "levels, state, attempts FROM segments WHERE state=? ORDER BY rowid",
            (SPOOLED,),
        )
        return [_record(r) for r in rows]

    def mark_uploaded(self, record: SegmentRecord, object_name: str) -> None:
        self._exec(
            "UPDATE segments SET state=?, object_name=?, uploaded_at=? WHERE session=? AND seq=?",
            (UPLOADED, object_name, time.time(), record.session, record.seq),
        )
        record.path.unlink(missing_ok=True)

    def mark_failed_attempt(self, record: SegmentRecord, error: str) -> None:
        self._exec(
            "UPDATE segments SET attempts=attempts+1, last_error=? WHERE session=? AND seq=?",
            (error[:500], record.session, record.seq),
        )

    def recover(self) -> dict[str, int]:
        """Finish what a crash interrupted; counts of segments re-sealed and torn."""
        counts = {"resealed": 0, "torn": 0}
        for session, seq, path in self._exec("SELECT session, seq, path FROM segments WHERE state=?", (WRITING,)):
            final = Path(path)
            if final.exists():  # crashed after the rename: the file is whole
                import soundfile

                frames = soundfile.info(str(final)).frames
                final.rename(final.with_suffix(".flac.tmp"))
                self.seal(session, seq, frames, "{}")
                counts["resealed"] += 1
            else:
                final.with_suffix(".flac.tmp").unlink(missing_ok=True)
                self._exec("UPDATE segments SET state=? WHERE session=? AND seq=?", (TORN, session, seq))
                counts["torn"] += 1
        for stray in self.root.glob("*.flac.tmp"):  # every row in `writing` is settled: the rest never sealed
            stray.unlink(missing_ok=True)
        return counts

    def used_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*.flac*") if p.exists())

    def stats(self) -> dict[str, Any]:
        rows = dict(self._exec("SELECT state, count(*) FROM segments GROUP BY state"))
        last = self._exec("SELECT max(uploaded_at) FROM segments")[0][0]
        return {
            "spooled": rows.get(SPOOLED, 0),
            "uploaded": rows.get(UPLOADED, 0),
            "torn": rows.get(TORN, 0),
            "writing": rows.get(WRITING, 0),
            "spool_bytes": self.used_bytes(),
            "last_upload_at": last,
        }


def _record(row: tuple) -> SegmentRecord:
    session, seq, path, started_at, rate, channels, frames, duration, crc, size, levels, state, attempts = row
    return SegmentRecord(
        session,
        seq,
        Path(path),
        started_at,
        rate,
        channels,
        frames or 0,
        duration or 0.0,
        crc or "",
        size or 0,
        levels or "{}",
        state,
        attempts,
    )
