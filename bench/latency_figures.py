"""Latency figures the benchmarks print alike: nearest-rank percentiles and a summary."""

from __future__ import annotations

import statistics


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(fraction * len(sorted_values) + 0.999999) - 1))
    return sorted_values[rank]


def summarize(seconds: list[float]) -> dict[str, float | int]:
    """Count, mean, p50/p90/p95/p99 and max of durations given in seconds, in milliseconds."""
    values = sorted(x * 1000 for x in seconds)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(statistics.fmean(values), 2),
        "p50_ms": round(percentile(values, 0.50), 2),
        "p90_ms": round(percentile(values, 0.90), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(values[-1], 2),
    }
