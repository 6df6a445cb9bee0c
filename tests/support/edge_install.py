"""The edge agent installed exactly as README's install block says (``tests.support.package_install``), and its spool."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support import package_install

INSTALL_PREFIX = "/opt/mixscribe-edge"
MARKER = "edge-install"


def readme_install_block() -> list[str]:
    return package_install.readme_install_block(MARKER)


def installed_agent() -> Path:
    """The virtualenv README's lines make (``bin/mixscribe-edge`` inside)."""
    return package_install.installed_package(MARKER, INSTALL_PREFIX, ("edge_agent", "mixscribe"))


def spool_rows(spool: Path) -> list[dict]:
    """The agent's spool manifest, one dict per segment, in order."""
    with sqlite3.connect(spool / "manifest.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM segments ORDER BY session, seq")]
