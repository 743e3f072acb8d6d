"""Statistics shared by the benchmark reports in tests/bench/ (imported, not run)."""

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
