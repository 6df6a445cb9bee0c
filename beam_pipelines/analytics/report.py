"""``query NAME`` prints an example query's result as Markdown; ``report`` renders plots and a table.

Both run the SQL files of ``queries/`` through ``google-cloud-bigquery``, as an analyst would: against
BigQuery, or the local stack's emulator when ``BIGQUERY_EMULATOR_HOST`` is set (``make up`` writes it to
``.local/env``; ``make report`` reads it from there).

python -m beam_pipelines.analytics query daily_volume
python -m beam_pipelines.analytics report --out .local/report
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud import bigquery

QUERIES = Path(__file__).resolve().parent / "queries"


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERIES.glob("*.sql"))


def query_sql(name: str) -> str:
    if name not in query_names():
        raise SystemExit(f"unknown query {name!r}; one of {', '.join(query_names())}")
    return (QUERIES / f"{name}.sql").read_text()


def run_sql(client: bigquery.Client, sql: str) -> tuple[list[str], list[tuple]]:
    result = client.query(sql).result()
    columns = [field.name for field in result.schema]
    return columns, [tuple(row.values()) for row in result]


def run_named(client: bigquery.Client, name: str) -> tuple[list[str], list[tuple]]:
    return run_sql(client, query_sql(name))


def records(client: bigquery.Client, name: str) -> list[dict[str, Any]]:
    columns, rows = run_named(client, name)
    return [dict(zip(columns, row)) for row in rows]


def markdown(columns: list[str], rows: list[tuple]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(client: bigquery.Client, out: Path) -> tuple[Path, Path]:
    """``daily.png`` (jobs and audio hours per day, failure rate), ``devices.png`` (levels per source over
    time), ``failures.png`` (failure reasons), ``arms.png`` (rollout arms, when there are any) and ``report.md``."""
    import matplotlib

    matplotlib.use("Agg")

    out.mkdir(parents=True, exist_ok=True)
    png = _daily_panel(records(client, "daily_volume"), out)
    sections = ["# mixscribe report", "", f"![jobs per day]({png.name})", ""]
    for panel, title in (
        (_devices_panel(records(client, "device_levels_daily"), out), "recording levels per source"),
        (_failures_panel(records(client, "failure_reasons"), out), "failure reasons"),
        (_arms_panel(records(client, "rollout_arms"), out), "rollout arms"),
    ):
        if panel is not None:
            sections += [f"![{title}]({panel.name})", ""]
    for name in query_names():
        sections += [f"## {name.replace('_', ' ')}", "", markdown(*run_named(client, name))]
    md = out / "report.md"
    md.write_text("\n".join(sections))
    return png, md


def _daily_panel(data: list[dict[str, Any]], out: Path) -> Path:
    import matplotlib.pyplot as plt

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
    return _save(fig, out / "daily.png")


def _devices_panel(data: list[dict[str, Any]], out: Path) -> Path | None:
    """One line per source (edge device, or uploads) over the days: loudness, worst clipping, speech share."""
    import matplotlib.pyplot as plt

    if not data:
        return None
    devices = sorted({d["device"] for d in data})
    metrics = (
        ("mean_lufs", "loudness (LUFS)"),
        ("worst_clipping_ratio", "worst clipping ratio"),
        ("mean_speech_ratio", "speech ratio"),
    )
    fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 7), sharex=True)
    for axis, (key, title) in zip(axes, metrics):
        for device in devices:
            points = [d for d in data if d["device"] == device]
            axis.plot([str(p["day"]) for p in points], [p[key] for p in points], marker="o", label=device)
        axis.set_ylabel(title)
    axes[0].set_title("mixscribe: recording levels per source")
    axes[0].legend(fontsize=7)
    fig.autofmt_xdate()
    return _save(fig, out / "devices.png")


def _failures_panel(data: list[dict[str, Any]], out: Path) -> Path | None:
    import matplotlib.pyplot as plt

    if not data:
        return None
    fig, axis = plt.subplots(figsize=(8, 3.5))
    axis.barh([str(d["error_code"]) for d in data][::-1], [d["jobs"] for d in data][::-1], color="#c44e52")
    axis.set_xlabel("failed jobs")
    axis.set_title("mixscribe: failure reasons")
    return _save(fig, out / "failures.png")


def _arms_panel(data: list[dict[str, Any]], out: Path) -> Path | None:
    """``arms.png``: each rollout arm's real-time factor, mean log-probability and hallucination share."""
    import matplotlib.pyplot as plt

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
    return _save(fig, out / "arms.png")


def _save(fig: Any, png: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def client_from_env() -> bigquery.Client:
    from mixscribe.config import Settings
    from mixscribe.gcp.bigquery import bigquery_client

    return bigquery_client(Settings.from_env())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.analytics", description=__doc__)
    parser.add_argument("command", choices=("query", "report"))
    parser.add_argument("name", nargs="?", help="query: one of the files in queries/")
    parser.add_argument("--out", type=Path, default=Path(".local/report"))
    args = parser.parse_args(argv)
    client = client_from_env()
    if args.command == "query":
        print(markdown(*run_named(client, args.name or "daily_volume")), end="")
        return 0
    png, md = render(client, args.out)
    print(f"wrote {png} and {md}")
    return 0
