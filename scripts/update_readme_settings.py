"""Rewrite README's configuration table from ``mixscribe.config.Settings`` (between its markers)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mixscribe.config import markdown_table  # noqa: E402 (run as a script: the repository goes on sys.path first)

START, END = "<!-- settings-table:start -->\n", "\n<!-- settings-table:end -->"


def main() -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + markdown_table() + END + tail)


if __name__ == "__main__":
    main()
