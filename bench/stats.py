"""Summary statistics of a benchmark run, defined once for both load drivers.

``tests/interop/bench-client.js`` computes the same percentiles (linear interpolation between the
closest ranks, numpy's default), so Python and Node figures are comparable.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["percentile", "summarize_latencies"]


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of ascending ``sorted_values``; ``None`` when there are none.

    Raises:
        ValueError: ``q`` is outside [0, 1].
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be between 0 and 1, got {q}")
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def summarize_latencies(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """p50, p95, mean and max of latencies in milliseconds (``None`` values when there are none)."""
    ordered = sorted(latencies_ms)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "p50": rounded(percentile(ordered, 0.5)),
        "p95": rounded(percentile(ordered, 0.95)),
        "mean": rounded(sum(ordered) / len(ordered) if ordered else None),
        "max": rounded(ordered[-1] if ordered else None),
    }
