"""Statistics shared by the benchmark reports in tests/bench/ (imported, not run)."""

import datetime
import json
import math
import statistics

# Two-sided 95 % Student t quantiles by degrees of freedom.
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
       10: 2.23, 15: 2.13, 20: 2.09, 30: 2.04}


def t95(n):
    """The t quantile for a mean of n values (conservative between tabulated df)."""
    df = n - 1
    return T95.get(df) or T95[max(k for k in T95 if k <= df)]


def mean_ci(values):
    """(mean, half-width of its 95 % confidence interval); the half-width is None for n < 2."""
    m = statistics.fmean(values)
    if len(values) < 2:
        return m, None
    return m, t95(len(values)) * statistics.stdev(values) / math.sqrt(len(values))


def fmt(values, digits):
    """'mean ± half-width', or just the mean of a single value."""
    m, ci = mean_ci(values)
    return f"{m:.{digits}f}" if ci is None else f"{m:.{digits}f} ± {ci:.{digits}f}"


def section_intro(rounds, duration, warmup, body_bytes, per):
    """The dated heading and the settings line that open a results section."""
    now = datetime.datetime.utcnow().strftime("%Y-%m-%d, %H:%M UTC")
    load = open("/proc/loadavg").read().split()[0]
    return [f"\n## {now}\n",
            f"Echo function (fn-test/fdk:latest, {body_bytes}-byte body), one function, warm; "
            f"{rounds} interleaved rounds of {duration} s per {per} after a {warmup} s "
            f"warm-up; closed loop. Means ± 95 % confidence half-width over the rounds. "
            f"Load average at the end: {load}.\n"]


# The measured columns of a results row, after the columns that name it.
RUN_COLUMNS = ("calls/s | p50 ms | p99 ms | errors | runner CPU ms/call | runner RSS MB | "
               "runner anon RSS MB")


def run_cells(rows):
    """RUN_COLUMNS for the runs of one path: means with CIs, summed errors, largest RSS."""
    errors = {}
    for r in rows:
        for status, n in r.get("errors_by_status", {}).items():
            errors[status] = errors.get(status, 0) + n
    error_text = ", ".join(f"{k}x{v}" for k, v in sorted(errors.items())) or "none"
    cpu = [r["runner_cpu_ms_per_call"] for r in rows if r.get("runner_cpu_ms_per_call")]
    rss = [r["runner_rss_mb"] for r in rows if r.get("runner_rss_mb")]
    anon = [r["runner_anon_mb"] for r in rows if r.get("runner_anon_mb")]
    return " | ".join([fmt([r["calls_per_second"] for r in rows], 0),
                       fmt([r["latency_ms"]["p50"] for r in rows], 3),
                       fmt([r["latency_ms"]["p99"] for r in rows], 2),
                       error_text,
                       fmt(cpu, 3) if cpu else "-",
                       f"{max(rss):.1f}" if rss else "-",
                       f"{max(anon):.1f}" if anon else "-"])


def round_pairs(runs, concurrency, a, b):
    """(run of `a`, run of `b`) for each round that measured both labels at `concurrency`."""
    rounds = {}
    for r in runs:
        if r["concurrency"] == concurrency:
            rounds.setdefault(r["round"], {})[r["label"]] = r
    return [(rnd[a], rnd[b]) for rnd in rounds.values() if a in rnd and b in rnd]


def raw_runs_block(runs):
    """The collapsed block of raw JSON lines that closes a results section."""
    return (["\n<details><summary>raw runs, one JSON line each</summary>\n\n```json"] +
            [json.dumps(r) for r in runs] + ["```\n</details>"])
