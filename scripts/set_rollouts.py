"""Set the rollouts in force (Firestore ``config/rollouts``, read by intake within MIXSCRIBE_ROLLOUT_CACHE_S).

    python scripts/set_rollouts.py rollouts.json     # {"rollouts": [{"name", "priority", "model", "percent"}]}
    python scripts/set_rollouts.py --show

Runs against the project in GOOGLE_CLOUD_PROJECT (or the Firestore emulator in FIRESTORE_EMULATOR_HOST),
with the registry in MIXSCRIBE_MODEL_REGISTRY. A file with an entry the registry refuses is not written:
intake would skip that entry, so the rollout would silently not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mixscribe.rollouts import ROLLOUTS_PATH, write_rollouts  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, help="JSON with the rollouts; [] in it turns them all off")
    parser.add_argument("--show", action="store_true", help="print the rollouts in force")
    args = parser.parse_args(argv)
    from mixscribe import gcp
    from mixscribe.config import Settings

    settings = Settings.from_env()
    documents = gcp.documents(settings)
    if args.show or args.file is None:
        print(json.dumps(documents.get(ROLLOUTS_PATH) or {"rollouts": []}, indent=2))
        return 0
    refused = write_rollouts(documents, settings.models(), json.loads(args.file.read_text()))
    if refused:
        print(f"set_rollouts: refused (see the log above): {', '.join(refused)}; nothing written", file=sys.stderr)
        return 1
    print(f"rollouts written to {ROLLOUTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
