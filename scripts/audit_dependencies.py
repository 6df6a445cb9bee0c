"""Audit every pinned package (constraints.txt, the full lock) with pip-audit.

Exit 1 on a known vulnerability that ``audit-exceptions.toml`` does not document. When the
vulnerability service cannot be reached (this build machine has no internet beyond the package
index), pip-audit skips every package: that is reported as NOT AUDITED, loudly, and exits 0 only
because there is no finding to act on; ``--strict`` makes it fail instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# every set of pins the project installs: the development lock (which every artifact installs with) and the
# local stack's BigQuery emulator, a venv of its own whose pins differ (duckdb, grpcio)
PINNED_SETS = ("constraints.txt", "local_emulators/bigquery/requirements.txt")


def pinned_requirements(rel: str = "constraints.txt") -> str:
    lines = [line for line in (REPO / rel).read_text().splitlines() if line and not line.startswith("#")]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strict", action="store_true", help="fail when packages could not be audited")
    parser.add_argument("--service", default="pypi", choices=("pypi", "osv"))
    args = parser.parse_args()
    exceptions = tomllib.loads((REPO / "audit-exceptions.toml").read_text()).get("exception", [])
    documented = {(e["package"].lower(), e["id"]) for e in exceptions}
    dependencies: list[dict] = []
    for rel in PINNED_SETS:
        audited = audit(pinned_requirements(rel), args.service)
        if audited is None:
            return 1 if args.strict else 0
        seen = {(d["name"].lower(), d.get("version") or d.get("skip_reason")) for d in dependencies}
        dependencies += [d for d in audited if (d["name"].lower(), d.get("version") or d.get("skip_reason")) not in seen]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    findings = [(d["name"], d["version"], v["id"], v.get("fix_versions", [])) for d in dependencies for v in d.get("vulns", [])]
    undocumented = [f for f in findings if (f[0].lower(), f[2]) not in documented]
    print(
        f"pip-audit ({args.service}): {len(dependencies)} pinned packages, {len(dependencies) - len(skipped)} audited, "
        f"{len(skipped)} skipped, {len(findings)} findings ({len(findings) - len(undocumented)} documented)"
    )
    for name, version, vuln, fixes in findings:
        state = "documented" if (name.lower(), vuln) in documented else "UNDOCUMENTED"
        print(f"  {name} {version}: {vuln} fixed in {', '.join(fixes) or 'no release'} [{state}]")
    if skipped and len(skipped) == len(dependencies):
        print(f"NOT AUDITED: the vulnerability service answered for none of the packages ({skipped[0]['skip_reason']})")
        return 1 if args.strict else 0
    return 1 if undocumented or (args.strict and skipped) else 0


def audit(requirements_text: str, service: str) -> list[dict] | None:
    """pip-audit's dependency records for one set of pins; ``None`` (and why, printed) when it could not run."""
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(requirements_text)
        report = Path(tmp) / "audit.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--no-deps",
                "--disable-pip",
                "-r",
                str(requirements),
                "-s",
                service,
                "--progress-spinner",
                "off",
                "--format",
                "json",
                "--output",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if not report.exists():
            print(f"NOT AUDITED: pip-audit failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
            return None
        records: list[dict] = json.loads(report.read_text())["dependencies"]
        return records


if __name__ == "__main__":
    sys.exit(main())
