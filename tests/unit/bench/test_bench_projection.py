"""The projection suite on a tiny province: every figure, on both backends, and its docs section."""

from __future__ import annotations

import pytest
from bench.machine import machine_info
from bench.projection import (
    ProjectionPlan,
    keep_other_backends,
    projection_suite,
    render_projection_section,
    size_label,
)
from bench.projection_lag import lag_samples
from bench.runner import BenchError

TINY = {"manufacturers": 4, "distributors": 12, "hospitals": 40, "products": 60}


def test_the_suite_measures_every_figure_on_both_backends() -> None:
    plan = ProjectionPlan(
        lines=(600, 1_500),
        traces=20,
        feed_lines=400,
        feed_block_writes=50,
        ledger_lines_per_s=100.0,
        spec_overrides=TINY,
        lag=None,
    )
    messages: list[str] = []
    section = projection_suite(plan, progress=messages.append)["projection"]
    for backend in ("sqlite", "postgresql"):
        figures = section[backend]
        for key in ("load_600_s", "reconcile_600_s", "load_1500_s", "reconcile_1500_s", "reevaluate_1500_s"):
            assert figures[key] >= 0, key
        assert figures["findings_1500"] > figures["findings_600"] > 0
        assert figures["trace_p99_ms"] >= figures["trace_p50_ms"] > 0
        assert figures["trace_lines"] >= 1_500
        assert figures["feed_lines"] >= 400 and figures["feed_lines_per_s"] > 0
        assert figures["feed_vs_ledger"] == round(figures["feed_lines_per_s"] / 100.0, 1)
        assert figures["lag_blocks_p95"] is None
    assert section["goals"]["reconcile_1m_s"] == 6.0
    assert any("postgresql re-evaluated" in m for m in messages)
    meta = {
        "command": "python -m bench --suite projection",
        "date": "today",
        "machine": machine_info(),
        "method": "tiny",
    }
    text = render_projection_section(section, meta)
    assert "| re-evaluation + the whole report, 1500 lines (s) |" in text
    assert "| feed lag p95 under the bulk write load (blocks) | not measured | not measured | ≤ 1.0 |" in text


def test_sizes_are_labelled_and_unknown_backends_refused() -> None:
    assert [size_label(n) for n in (10_000_000, 1_000_000, 250_000, 600)] == ["10m", "1m", "250k", "600"]
    with pytest.raises(BenchError, match="unknown backend 'oracle'"):
        projection_suite(ProjectionPlan(lines=(100,), backends=("oracle",)), progress=print)


def test_the_lag_is_the_peers_last_block_minus_the_stores_at_every_sample() -> None:
    delivered = [(1.0, 11), (2.0, 12), (2.5, 13), (4.0, 14)]
    applied = [(1.5, 11), (3.0, 13), (4.2, 14)]
    samples = lag_samples(delivered, applied, start=0.0, end=5.0, first=10, step=0.5)
    # instants 0.0 0.5 1.0 1.5 2.0 2.5 3.0 3.5 4.0 4.5 5.0
    assert samples == [0, 0, 1, 0, 1, 2, 0, 0, 1, 0, 0]


def test_a_store_ahead_of_the_listener_counts_as_no_lag() -> None:
    assert lag_samples([], [(0.5, 12)], start=0.0, end=1.0, first=10, step=0.5) == [0, 0, 0]


def test_a_run_of_one_backend_keeps_the_other_backends_figures_with_the_run_that_measured_them() -> None:
    earlier = {
        "projection": {
            "sqlite": {"reconcile_1m_s": 9.9},
            "postgresql": {"writes_1m": 9, "reconcile_1m_s": 3.5},
        },
        "meta": {
            "projection": {"command": "python -m bench --suite projection", "date": "2026-12-05 12:33 UTC"}
        },
    }
    meta = {
        "command": "python -m bench --suite projection --projection-backends sqlite",
        "date": "2026-12-05 16:00 UTC",
        "machine": machine_info(),
        "method": "tiny",
    }
    section, merged = keep_other_backends({"sqlite": {"writes_1m": 9, "reconcile_1m_s": 2.0}}, meta, earlier)
    assert section["sqlite"] == {"writes_1m": 9, "reconcile_1m_s": 2.0}, "the run's backend is replaced whole"
    assert section["postgresql"] == {"writes_1m": 9, "reconcile_1m_s": 3.5}
    assert merged["runs"] == {
        "sqlite": {"command": meta["command"], "date": "2026-12-05 16:00 UTC"},
        "postgresql": {"command": "python -m bench --suite projection", "date": "2026-12-05 12:33 UTC"},
    }
    text = render_projection_section(section, merged)
    assert "postgresql `python -m bench --suite projection` (2026-12-05 12:33 UTC)" in text
    assert "| re-evaluation + the whole report, 1m lines (s) | 2.0 | 3.5 |" in text
    # a later run of the other backend alone finds each backend's own run in meta
    again, both = keep_other_backends(
        {"postgresql": {"reconcile_1m_s": 3.0}},
        {**meta, "date": "later"},
        {
            "projection": section,
            "meta": {"projection": merged},
        },
    )
    assert again["sqlite"] == section["sqlite"]
    assert both["runs"]["sqlite"]["date"] == "2026-12-05 16:00 UTC"
    full, alone = keep_other_backends({"sqlite": {}, "postgresql": {}}, meta, earlier)
    assert "Columns from different runs" not in render_projection_section(full, alone)
