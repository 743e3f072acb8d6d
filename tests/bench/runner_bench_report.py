#!/usr/bin/env python3
"""Summarises runner_bench.sh's rounds as a Markdown section (printed on stdout).

usage: runner_bench_report.py RESULTS_JSONL ROUNDS DURATION WARMUP BODY_BYTES

Each JSONL line is one run: fnlb bench --json (or grpc_floor_bench ping) output plus "label",
"concurrency", "round" and, for runs through the runner, its CPU per call and RSS. Means come
with the half-width of their 95 % confidence interval (Student's t over the rounds). Ratios
against the direct path are computed within each round first, so that load drifting between
rounds on this shared machine cancels out, and then averaged.
"""

import json
import sys

from bench_stats import RUN_COLUMNS, fmt, raw_runs_block, round_pairs, run_cells, section_intro

PATHS = [
    (("runner", 1), "fnlb -> fn-runner -> container"),
    (("runner", 8), "fnlb -> fn-runner -> container"),
    (("direct", 1), "direct to the container socket (physical limit)"),
    (("direct", 8), "direct to the container socket (physical limit)"),
    (("bare", 1), "bare gRPC: the Engage exchange alone, callback API"),
    (("hop", 1), "bare gRPC + one thread crossing, as fn-runner's agent"),
    (("refused", 1), "fnlb -> fn-runner, refused at admission"),
]


def main():
    path, rounds, duration, warmup, body_bytes = sys.argv[1:6]
    runs = [json.loads(line) for line in open(path)]
    by_key = {}
    for r in runs:
        by_key.setdefault((r["label"], r["concurrency"]), []).append(r)

    out = section_intro(rounds, duration, warmup, body_bytes, "path")
    out += [f"| path | concurrency | {RUN_COLUMNS} |", "|---|---|---|---|---|---|---|---|---|"]
    for key, name in PATHS:
        if key in by_key:
            out.append(f"| {name} | {key[1]} | {run_cells(by_key[key])} |")

    def compare(a, b):
        pairs = round_pairs(runs, 1, a, b)
        rates = [100.0 * x["calls_per_second"] / y["calls_per_second"] for x, y in pairs]
        added = [1000.0 * (x["latency_ms"]["p50"] - y["latency_ms"]["p50"]) for x, y in pairs]
        return rates, added

    out += ["", "Within-round comparisons at concurrency 1 (mean ± 95 % half-width):", "",
            "| path | vs | rate, % of vs | added p50, us |", "|---|---|---|---|"]
    for a, b, why in [("runner", "direct", "the issue's target: >= 60 %, <= 150 us"),
                      ("bare", "direct", "the most any gRPC runner can reach here"),
                      ("runner", "bare", ""),
                      ("runner", "hop", ""),
                      ("refused", "bare", "")]:
        rates, added = compare(a, b)
        if rates:
            note = f" ({why})" if why else ""
            out.append(f"| {a}{note} | {b} | {fmt(rates, 1)} | {fmt(added, 0)} |")

    out += raw_runs_block(runs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
