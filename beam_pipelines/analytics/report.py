"""``query NAME`` prints an example query's result as Markdown; ``report`` renders a PNG and a table.

python -m beam_pipelines.analytics query daily_volume --warehouse .local/warehouse.duckdb
python -m beam_pipelines.analytics report --warehouse .local/warehouse.duckdb --out .local/report
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import warehouse

QUERIES = Path(__file__).resolve().parent / "queries"


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERIES.glob("*.sql"))


def run_named(warehouse_path: str | Path, name: str) -> tuple[list[str], list[tuple]]:
    if name not in query_names():
        raise SystemExit(f"unknown query {name!r}; one of {', '.join(query_names())}")
    return warehouse.run_query(warehouse_path, (QUERIES / f"{name}.sql").read_text())


def markdown(columns: list[str], rows: list[tuple]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(warehouse_path: str | Path, out: Path) -> tuple[Path, Path]:
    """``daily.png`` (jobs and audio hours per day, failure rate) and ``report.md``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    columns, rows = run_named(warehouse_path, "daily_volume")
    data = [dict(zip(columns, row)) for row in rows]
    days = [str(d["day"]) for d in data]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.bar(days, [d["jobs"] for d in data], color="#4c72b0", label="jobs")
    top.set_ylabel("jobs")
    twin = top.twinx()
    twin.plot(days, [d["audio_hours"] for d in data], color="#dd8452", marker="o", label="audio hours")
    twin.set_ylabel("audio hours")
    twin.set_ylim(bottom=0)
    top.set_title("mixscribe: jobs and audio hours per day")
    bottom.plot(days, [d["failure_rate"] or 0 for d in data], color="#c44e52", marker="o")
    bottom.set_ylabel("failure rate")
    bottom.set_ylim(0, 1)
    fig.autofmt_xdate()
    fig.tight_layout()
    png = out / "daily.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    sections = ["# mixscribe report", "", f"![jobs per day]({png.name})", ""]
    arms = _arms_panel(warehouse_path, out)
    if arms is not None:
        sections += [f"![rollout arms]({arms.name})", ""]
    for name in query_names():
        sections += [f"## {name.replace('_', ' ')}", "", markdown(*run_named(warehouse_path, name))]
    md = out / "report.md"
    md.write_text("\n".join(sections))
    return png, md


def _arms_panel(warehouse_path: str | Path, out: Path) -> Path | None:
    """``arms.png``: each rollout arm's real-time factor, mean log-probability and hallucination share."""
    import matplotlib.pyplot as plt

    columns, rows = run_named(warehouse_path, "rollout_arms")
    data = [dict(zip(columns, row)) for row in rows]
    if not data:
        return None
    labels = [f"{d['arm']}\n{d['model']}" for d in data]
    metrics = (
        ("real_time_factor", "real-time factor"),
        ("mean_logprob", "mean log-prob"),
        ("hallucination_share", "hallucination share"),
    )
    fig, axes = plt.subplots(1, len(metrics), figsize=(10, 3.5))
    for axis, (key, title) in zip(axes, metrics):
        axis.bar(labels, [d[key] or 0 for d in data], color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(data)])
        axis.set_title(title)
        axis.tick_params(axis="x", labelsize=7)
    fig.suptitle("mixscribe: rollout arms")
    fig.tight_layout()
    png = out / "arms.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.analytics", description=__doc__)
    parser.add_argument("command", choices=("query", "report"))
    parser.add_argument("name", nargs="?", help="query: one of the files in queries/")
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--out", type=Path, default=Path(".local/report"))
    args = parser.parse_args(argv)
    if args.command == "query":
        print(markdown(*run_named(args.warehouse, args.name or "daily_volume")), end="")
        return 0
    png, md = render(args.warehouse, args.out)
    print(f"wrote {png} and {md}")
    return 0
