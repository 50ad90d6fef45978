"""Statistics both tools report with: percentiles (numpy's linear interpolation, without numpy),
means, ratios, and rounding for JSON reports."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between order statistics (numpy's
    default); None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {q}")
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | bool]) -> float | None:
    """The mean, or None for no values."""
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def p50_p95(values: Sequence[float], scale: float = 1.0) -> tuple[float | None, float | None]:
    """Median and 95th percentile, multiplied by `scale` (1000 for seconds → ms)."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return (None if p50 is None else p50 * scale, None if p95 is None else p95 * scale)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def rounded(value: Any, digits: int = 4) -> Any:
    """Round floats for the report, recursively; NaN/inf become None (JSON has no NaN)."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value
