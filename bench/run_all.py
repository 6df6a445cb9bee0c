"""``make bench``: every benchmark, each as a ratio against a baseline measured in the same run.

Prints a Markdown table and writes it to bench/results/latest.md. GPU figures cannot be measured
on a machine without a GPU; the table repeats the ones recorded in docs/measurements/ and says so.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from mixscribe.logs import setup_logging

from . import (
    analytics_throughput,
    api_latency,
    batched_inference,
    capacity_model,
    diarization,
    dynamic_batching,
    edge_agent_cost,
    openai_reference,
    redaction,
    stack_throughput,
    transcribe_memory,
    transcribe_overhead,
    transcribe_pieces,
    transcribe_silence,
    vocabulary,
)

RESULTS = Path(__file__).resolve().parent / "results"
MEASUREMENTS = Path(__file__).resolve().parent.parent / "docs" / "measurements"


def main() -> None:
    setup_logging("bench", "WARNING")
    events = int(os.environ.get("BENCH_EVENTS", "20000"))
    p1 = transcribe_overhead.main([])
    p2 = transcribe_silence.main([])
    pieces = transcribe_pieces.main([])
    batched = batched_inference.main([])
    dynamic = dynamic_batching.main([])
    stack = stack_throughput.main(["--skip-p4"] if os.environ.get("BENCH_SKIP_P4") else [])
    memory = transcribe_memory.main([])
    capacity = capacity_model.main([])
    analytics = analytics_throughput.main(["--events", str(events), "--streaming-events", str(events // 2)])
    api = api_latency.main([])
    edge = edge_agent_cost.main([])
    diar = diarization.main([])
    pii = redaction.main([])
    words = vocabulary.main([])
    oa = openai_reference.main([])
    job, health = api["get_job"], api["healthz"]
    rows = [
        (
            "P1 transcription: pipeline vs bare faster-whisper",
            f"{p1['pipeline_s']} s vs {p1['bare_s']} s ({p1['audio_s']} s of {p1['file']}, {p1['device']}/{p1['compute_type']})",
            f"{p1['overhead_ratio']} (target ≤ 1.05)",
        ),
        (
            "CPU real-time factor (pipeline)",
            f"{p1['pipeline_rtf']} ({os.cpu_count()} cores)",
            f"{round(1 / p1['pipeline_rtf'], 1)}× real time",
        ),
        *(
            (
                f"Analytics {mode} ({'DirectRunner' if mode == 'streaming' else 'FnApiRunner'}): into the local BigQuery API"
                " (Storage Write API) vs a DuckDB file (the former warehouse)",
                f"{analytics[f'bigquery_{mode}_events_per_s']} vs {analytics[f'duckdb_{mode}_events_per_s']} events/s"
                f" ({analytics['events' if mode == 'batch' else 'streaming_events']} events)",
                f"{round(analytics[f'bigquery_{mode}_events_per_s'] / analytics[f'duckdb_{mode}_events_per_s'], 3)}",
            )
            for mode in ("batch", "streaming")
        ),
    ]
    rows.append(
        (
            f"Long file, a piece task's audio: its saved samples vs the whole file fetched and decoded"
            f" ({pieces['minutes']:g} min 48 kHz stereo FLAC, {pieces['pieces']} pieces, objects in memory)",
            f"{pieces['piece_load_s']} s vs {pieces['whole_fetch_decode_s']} s"
            f" (the planner saves them in {pieces['planner_save_s']} s)",
            f"{pieces['piece_setup_ratio']}; {pieces['task_seconds_saved_per_job']} task-seconds saved per job",
        )
    )
    rows.append(
        (
            f"API GET /v1/jobs/{{id}} at {api['rate']:g} req/s for {api['seconds']:g} s vs GET /healthz",
            f"p50/p95/p99 {job['p50_ms']}/{job['p95_ms']}/{job['p99_ms']} ms, {job['errors']} errors vs "
            f"{health['p50_ms']}/{health['p95_ms']}/{health['p99_ms']} ms",
            f"p50 {api['p50_ratio']}× (target p50 < 10 ms, p99 < 50 ms)",
        )
    )
    ours, ref = oa["ours"], oa["reference_server"]
    rows.append(
        (
            f"OpenAI client transcriptions.create on a 10 s clip, one at a time: the local stack vs {oa['reference']}"
            f" ({oa['threads']} threads each)",
            f"median {ours['sequential']['median_s']} s vs {ref['sequential']['median_s']} s; same text: {oa['same_text']}",
            f"{oa['latency_ratio']}× latency (goal ≤ 1.3×)",
        )
    )
    rows.append(
        (
            "The same call from 20 concurrent callers (2 calls each): the local stack vs the reference server",
            f"{ours['concurrent']['requests_per_min']} vs {ref['concurrent']['requests_per_min']} requests/min"
            f" (p50 {ours['concurrent']['p50_s']} s vs {ref['concurrent']['p50_s']} s)",
            f"{oa['throughput_ratio']}× throughput",
        )
    )
    rows.append(
        (
            "Edge agent CPU per minute of 48 kHz/24-bit stereo (encode + levels + CRC32C + upload)",
            f"{edge['cpu_s_per_audio_minute']} CPU s per audio minute"
            f" ({edge['audio_minutes']:g} min, {edge['segments']} segments)",
            f"{edge['core_fraction']} of one core",
        )
    )
    rows.append(
        (
            "Edge agent upload vs plain google-cloud-storage upload (same files, local fake-gcs-server;"
            f" {edge['pairs']} pairs of uploads of a segment, which side first alternating: the median pair;"
            f" agent first {edge['throughput_ratio_by_order']['agent_first']},"
            f" plain first {edge['throughput_ratio_by_order']['plain_first']})",
            f"{edge['agent_upload_mb_s']} vs {edge['plain_upload_mb_s']} MB/s (rounds {edge['throughput_ratio_rounds']})",
            f"{edge['throughput_ratio']} (target ≥ 0.95)",
        )
    )
    for layout in p2["layouts"]:
        rows.append(
            (
                f"P2 {round(100 * layout['silent_share'])}% silence ({layout['gap_s']:g} s gaps):"
                " pipeline (VAD) vs bare faster-whisper without VAD",
                f"{layout['pipeline_s']} s vs {layout['bare_no_vad_s']} s ({layout['audio_s']} s); "
                f"WER {layout['pipeline_wer']} vs {layout['bare_no_vad_wer']}",
                f"{layout['speedup']}× faster, WER {layout['wer_delta_points']:+} points (target ≥ 2.2×, ≤ +1)",
            )
        )
    rows.append(
        (
            "Word error rate of the pipeline on the speech samples (jiwer)",
            ", ".join(f"{k} {v}" for k, v in p2["speech_samples_wer"].items()),
            "—",
        )
    )
    for group, figures in diar["groups"].items():
        goal = f"goal ≤ {figures['goal']:.0%}" if figures["goal"] is not None else "—"
        rows.append(
            (
                f"Diarization error rate, {group} (espeak-ng mixes, pyannote.metrics, collar {diar['collar_s']:g} s)",
                f"{figures['der']:.1%} DER; speaker count right in {figures['count_right']}/{figures['files']} files",
                goal,
            )
        )
    rows.append(
        (
            f"Diarizer (VAD + embeddings + clustering + word labels) vs transcription (tiny.en), same {diar['audio_s']:g} s",
            f"{diar['diarize_s']} s vs {diar['transcribe_s']} s; speaker count {diar['count_accuracy']:.0%} right,"
            f" words under the right speaker {diar['word_accuracy']:.1%}",
            f"{diar['cost_ratio']} (goal ≤ 0.20)",
        )
    )
    for entity, figures in pii["per_type"].items():
        goal = "goal recall ≥ 0.95" if entity in ("PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN") else "—"
        rows.append(
            (
                f"Redaction {entity} (Presidio + spaCy small, {pii['samples']} labelled sentences, written and spoken forms)",
                f"precision {figures['precision']}, recall {figures['recall']}, leak-free {figures['leak_free']}"
                f" ({figures['labelled']} labelled, {figures['found']} found)",
                goal,
            )
        )
    plain = words["modes"]["none"]
    for mode in ("prompt", "hotwords", "glossary terms", "glossary"):
        figures = words["modes"][mode]
        rows.append(
            (
                f"Custom vocabulary ({mode}): rare names and terms spelled right, {words['terms']} terms in"
                f" {words['sentences']} espeak-ng sentences (tiny.en)"
                + (f"; {words['spellings']} spellings from voice {words['calibration_voice']}" if mode == "glossary" else ""),
                f"{figures['right']}/{words['terms']} with {mode} vs {plain['right']}/{words['terms']} without"
                f" ({figures['seconds']} s vs {plain['seconds']} s)",
                f"{figures['share']:.0%} vs {plain['share']:.0%}",
            )
        )
    kinds = {
        "cold": "cold task (the trigger's instance up)",
        "warm": "warm task (median of 3 uploads in a row)",
        "fresh": "fresh stack (trigger and task both new)",
    }
    for kind, label in kinds.items():
        lat = stack["p3"][kind]
        start = ", ".join(f"{k.removesuffix('_s')} {v} s" for k, v in (lat.get("task_start") or {}).items())
        target = {"cold": " (target ≤ 2.0 s)", "warm": " (target ≤ 0.3 s)"}.get(kind, "")
        rows.append(
            (
                f"P3 upload → transcript.json, 10 s clip, {label}, minus model time",
                f"{lat['total_s']} s total − {lat['model_s']} s model"
                + (f"; the task's start: {start}" if start else "")
                + (f"; each: {lat['overheads_s']} s" if "overheads_s" in lat else ""),
                f"{lat['overhead_s']} s{target}",
            )
        )
    cache = stack["reupload"]
    rows.append(
        (
            "Re-upload of an already transcribed 1-minute file vs its first transcription (upload → done)",
            f"{cache['reupload_s']} s vs {cache['first_s']} s",
            f"{cache['ratio']} (target ≤ 0.05)",
        )
    )
    if "priority" in stack:
        prio = stack["priority"]
        rows.append(
            (
                "High-priority 10 s clip, upload → done: right after 50 batch uploads vs alone",
                f"{prio['behind_backlog_s']} s vs {prio['alone_s']} s",
                f"{prio['ratio']}× (target ≤ 1.2×)",
            )
        )
    if "p4" in stack:
        p4 = stack["p4"]
        rows.append(
            (
                "P4 burst of uploads: 2 tasks vs 1",
                f"{p4['two_tasks']['jobs_per_min']} vs {p4['one_task']['jobs_per_min']} jobs/min",
                f"{p4['burst_throughput_ratio']} (target ≥ 1.8)",
            )
        )
        rows.append(
            (
                f"P4 one long file: 2 tasks ({p4['two_tasks']['long_pieces']} pieces) vs 1",
                f"{p4['two_tasks']['long_s']} s vs {p4['one_task']['long_s']} s",
                f"{p4['long_file_speedup']}×",
            )
        )
    for row in batched["rows"]:
        size = batched["best_size"]
        rows.append(
            (
                f"Batched vs sequential inference, {row['audio_s']} s file (CPU, batch {size})",
                f"{row[f'batched_{size}_s']} s vs {row['sequential_s']} s",
                f"{row[f'speedup_{size}']}× (shipped rule: batch {batched['shipped_rule']['size']} "
                f"from {batched['shipped_rule']['min_s']} s)",
            )
        )
    wer, best_key = batched["wer"], f"batched_{batched['best_size']}"
    rows.append(
        (
            "Batched vs sequential WER, speech samples",
            ", ".join(f"{n} {w[best_key]} vs {w['sequential']}" for n, w in wer.items()),
            "target: no worse by more than 0.005",
        )
    )
    for corpus, label in (("voice_notes", "different voice notes"), ("repeated_clips", "6 s clips, 10 cuts × 5 (worst case)")):
        if corpus not in dynamic:
            continue
        base, ceiling = dynamic[corpus]["runs"][0], dynamic[corpus]["bare_batched"]
        for run in dynamic[corpus]["runs"][1:]:
            wer = f"; WER {run['wer']} vs {base['wer']}" if "wer" in run else ""
            rows.append(
                (
                    f"Dynamic batching, burst of {dynamic[corpus]['clips']} {label}, 1 task: "
                    f"{run['requests']} requests side by side vs 1",
                    f"{run['audio_s_per_s']} vs {base['audio_s_per_s']} audio-s/s{wer}",
                    f"{run['throughput_ratio']}× (target ≥ 1.5)",
                )
            )
            rows.append(
                (
                    f"Dynamic batching efficiency ({label}, {run['requests']} side by side) vs bare batched faster-whisper",
                    f"{run['audio_s_per_s']} vs {ceiling['audio_s_per_s']} audio-s/s",
                    f"{run['efficiency_vs_bare_batched']} (target ≥ 0.8)",
                )
            )
            rows.append(
                (
                    f"Dynamic batching CPU efficiency ({label}, {run['requests']} side by side): "
                    "bare batched faster-whisper's CPU seconds over the task's (its start included)",
                    f"{ceiling['cpu_s']} vs {run['cpu_s_by_part']['task']} CPU-s for {ceiling['audio_s']} audio-s",
                    f"{run['cpu_efficiency_vs_bare_batched']} (emulators' and functions' CPU left out)",
                )
            )
    pooled = dynamic["quality"]["pooled"]
    rows.append(
        (
            "Dynamic vs clip-by-clip WER, speech samples in 6 s clips (pooled)",
            f"{pooled['dynamic_wer']} vs {pooled['sequential_wer']}",
            "target: no worse by more than 0.005",
        )
    )
    rows.append(
        (
            f"Peak memory, transcription task, {memory['audio_s'] / 60:.0f}-minute file",
            f"{memory['peak_mb']} MB peak (after decode {memory['after_decode_mb']} MB, model {memory['after_model_mb']} MB; "
            f"{memory['transcribed_s'] / 60:g} min transcribed)",
            "—",
        )
    )
    for row in capacity["steady"]:
        rows.append(
            (
                f"Capacity model, 10,000 audio-h/h: {row['shape']}",
                f"{row['concurrent_tasks']} tasks, ${row['dollars_per_hour']}/h",
                f"${row['dollars_per_audio_hour']} per audio hour (docs/capacity.md)",
            )
        )
    for name, ms in analytics["bigquery_query_ms"].items():
        duck = analytics["duckdb_query_ms"][name]
        rows.append(
            (
                f"Query {name}: google-cloud-bigquery on the local BigQuery API vs DuckDB on a file",
                f"{ms} ms vs {duck} ms over the batch warehouse",
                f"{round(ms / duck, 2)}",
            )
        )
    for path in sorted(MEASUREMENTS.glob("*.json")):
        recorded = json.loads(path.read_text())
        rows.append(
            (
                f"recorded, not this run: {recorded['device_name']} {recorded['compute_type']}",
                f"real-time factor {recorded['rtf_best']} over {recorded['audio_s']} s",
                f"{recorded['speed_x_realtime']}× real time",
            )
        )
    table = ["| benchmark | measured | ratio |", "| --- | --- | --- |"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    header = f"# make bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores\n\n"
    text = header + "\n".join(table) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
