#!/usr/bin/env python3
"""Summarises sparse_bench.sh's rounds as a Markdown section (printed on stdout).

usage: sparse_bench_report.py RESULTS_JSONL ROUNDS DURATION WARMUP THINK NAME...

Each JSONL line is one `fnlb bench --json` run plus "label" and "round". The first NAME
("warm") is the floor: each other runner's p50 minus the warm p50 is taken within each round,
then averaged.
"""

import datetime
import json
import sys

from bench_stats import fmt, raw_runs_block


def main():
    path, rounds, duration, warmup, think = sys.argv[1:6]
    names = sys.argv[6:]
    runs = [json.loads(line) for line in open(path)]
    now = datetime.datetime.utcnow().strftime("%Y-%m-%d, %H:%M UTC")
    load = open("/proc/loadavg").read().split()[0]
    out = [f"\n## {now}\n",
           f"Echo function (fn-test/fdk:latest), one function, one caller waiting {think} s "
           f"after every answer, so every call but on `warm` finds its container frozen; "
           f"{rounds} interleaved rounds of {duration} s per runner after a {warmup} s "
           f"warm-up. Means ± 95 % confidence half-width over the rounds. Load average at "
           f"the end: {load}.\n",
           "| runner | calls | p50 ms | p90 ms | p99 ms | max ms | errors |",
           "|---|---|---|---|---|---|---|"]
    for name in names:
        rows = [r for r in runs if r["label"] == name]
        if not rows:
            continue
        errors = sum(r["calls"] - r["ok"] for r in rows)
        out.append("| " + " | ".join([
            name, str(sum(r["calls"] for r in rows)),
            fmt([r["latency_ms"]["p50"] for r in rows], 2),
            fmt([r["latency_ms"]["p90"] for r in rows], 2),
            fmt([r["latency_ms"]["p99"] for r in rows], 2),
            f"{max(r['latency_ms']['max'] for r in rows):.1f}", str(errors)]) + " |")

    base = names[0]
    out += ["", f"Within-round p50 and p90 above {base}'s (ms, mean ± 95 % half-width):", "",
            "| runner | p50 − " + base + " | p90 − " + base + " |", "|---|---|---|"]
    by_round = {}
    for r in runs:
        by_round.setdefault(r["round"], {})[r["label"]] = r
    for name in names[1:]:
        p50, p90 = [], []
        for rnd in by_round.values():
            if name in rnd and base in rnd:
                p50.append(rnd[name]["latency_ms"]["p50"] - rnd[base]["latency_ms"]["p50"])
                p90.append(rnd[name]["latency_ms"]["p90"] - rnd[base]["latency_ms"]["p90"])
        if p50:
            out.append(f"| {name} | {fmt(p50, 2)} | {fmt(p90, 2)} |")
    out += raw_runs_block(runs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
