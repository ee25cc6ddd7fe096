from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from bench.stats import percentile, summarize_latencies

UTIL_JS = Path(__file__).resolve().parents[3] / "tests" / "interop" / "bench-util.js"


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5, 5.5),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 9.55),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.0, 1),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1.0, 10),
        ([7.0], 0.95, 7.0),
        ([10, 20], 0.25, 12.5),
    ],
)
def test_percentile_interpolates_linearly_between_closest_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 0.5) is None


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_percentile_outside_zero_to_one_is_rejected(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], q)


def test_summarize_latencies_sorts_and_rounds() -> None:
    summary = summarize_latencies([30.0, 10.0, 20.0, 40.0])
    assert summary == {"p50": 25.0, "p95": 38.5, "mean": 25.0, "max": 40.0}
    assert summarize_latencies([]) == {"p50": None, "p95": None, "mean": None, "max": None}


def test_node_driver_uses_the_same_percentile_definition() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed: the Node bench driver is part of the benchmarks"
    samples = [3.2, 1.0, 9.9, 4.4, 2.5, 7.1, 8.0, 5.5, 6.6, 0.3, 12.0]
    script = (
        f"const u = require({json.dumps(str(UTIL_JS))});"
        "const v = JSON.parse(require('fs').readFileSync(0, 'utf8')).sort((a, b) => a - b);"
        "console.log(JSON.stringify([0.5, 0.95, 0.99].map((q) => u.percentile(v, q))));"
    )
    completed = subprocess.run(
        [node, "-e", script],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    ordered = sorted(samples)
    assert json.loads(completed.stdout) == pytest.approx([percentile(ordered, q) for q in (0.5, 0.95, 0.99)])
