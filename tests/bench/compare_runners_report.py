#!/usr/bin/env python3
"""Summarises compare_runners.sh's rounds as a Markdown section (printed on stdout).

usage: compare_runners_report.py RESULTS_JSONL ROUNDS DURATION WARMUP BODY_BYTES NAME...

Each JSONL line is one `fnlb bench --json` run plus "label" (the runner's NAME),
"concurrency", "round", "runner_cpu_ms_per_call", "runner_rss_mb" and "runner_anon_mb" (the
largest over the rounds is reported). The first NAME is the
baseline: every other runner is compared with it within each round, then averaged.
"""

import json
import sys

from bench_stats import RUN_COLUMNS, fmt, raw_runs_block, round_pairs, run_cells, section_intro


def main():
    path, rounds, duration, warmup, body_bytes = sys.argv[1:6]
    names = sys.argv[6:]
    runs = [json.loads(line) for line in open(path)]
    concurrencies = sorted({r["concurrency"] for r in runs})

    out = section_intro(rounds, duration, warmup, body_bytes, "runner")
    out += [f"| runner | concurrency | {RUN_COLUMNS} |", "|---|---|---|---|---|---|---|---|---|"]
    for c in concurrencies:
        for name in names:
            rows = [r for r in runs if r["label"] == name and r["concurrency"] == c]
            if rows:
                out.append(f"| {name} | {c} | {run_cells(rows)} |")

    base = names[0]
    out += ["", f"Within-round ratios against {base} (mean ± 95 % half-width):", "",
            "| runner | concurrency | calls/s, x of " + base + " | p50, x of " + base +
            " | CPU per call, x of " + base + " |", "|---|---|---|---|---|"]
    for c in concurrencies:
        for name in names[1:]:
            rate, p50, cpu = [], [], []
            for a, b in round_pairs(runs, c, name, base):
                rate.append(a["calls_per_second"] / b["calls_per_second"])
                p50.append(a["latency_ms"]["p50"] / b["latency_ms"]["p50"])
                if a.get("runner_cpu_ms_per_call") and b.get("runner_cpu_ms_per_call"):
                    cpu.append(a["runner_cpu_ms_per_call"] / b["runner_cpu_ms_per_call"])
            if rate:
                out.append(f"| {name} | {c} | {fmt(rate, 2)} | {fmt(p50, 2)} | "
                           f"{fmt(cpu, 2) if cpu else '-'} |")

    out += raw_runs_block(runs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
