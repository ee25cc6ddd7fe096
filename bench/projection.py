"""The projection suite: the supervision store at provincial scale, on SQLite and on PostgreSQL.

For each backend (an SQLite file in a temporary folder; a throwaway PostgreSQL cluster started the way
the tests start it, :class:`fabrx_pharma_supervision.testing.TemporaryPostgres`) and each size in
``lines`` (invoice lines, first and second together):

* a fresh store is filled with a synthetic province of that size by the bulk writer
  (:func:`~fabrx_pharma_supervision.province.write_province`; ``load_<size>_s``, with its CPU seconds);
* ``reconcile_<size>_s``: a full re-evaluation of every whole-ledger rule (``SupervisionStore.reevaluate``)
  and the compliance report read whole, with the report's count per rule checked against the
  generator's known violations (a mismatch fails the suite);
* at the largest size, ``trace_p50_ms`` / ``trace_p99_ms``: ``trace_prescription`` of ``traces``
  prescriptions drawn at random, one call each.

``feed_lines_per_s``: a smaller province (``feed_lines`` lines) applied block by block through the feed's
own path (``SupervisionStore.apply``: every write checked by the domain's rules, the whole-ledger
findings of what each block touched recomputed, the checkpoint in the same transaction), blocks of
``feed_block_writes`` writes; invoice lines per second over the trade, with ``feed_vs_ledger``, the
ratio to the ledger's bulk write rate measured in the same run (the lag window's), or else the scale
suite's ``lines_per_s_bulk`` from ``bench/results.json``. Decoding the Fabric blocks is not part of that
figure.

``lag_blocks_p95`` and the other ``lag_*`` figures: the feed from a Regulator's peer under a steady bulk
write load, one store per backend fed side by side (bench/projection_lag.py).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .projection_lag import LagPlan, lag_figures
from .runner import BenchError

__all__ = ["GOALS", "ProjectionPlan", "projection_suite", "render_projection_section", "size_label"]

GOALS = {
    "reconcile_10m_s": 60.0,
    "reconcile_1m_s": 6.0,
    "trace_p50_ms": 5.0,
    "lag_blocks_p95": 1.0,
}
LEDGER_GOAL_RATIO = 5.0
"""``feed_lines_per_s`` goal: at least this many times the ledger's bulk write rate."""
_MOMENT = datetime(2026, 1, 1, tzinfo=UTC)
SECONDS_PER_MILLION_LINES = 240.0
"""Bulk write, re-evaluation and report of one million lines on one backend of an idle 2-core machine
(the bulk writer's CPU time per line, measured); the estimate scales it linearly. On a machine shared
with other work the wall time is longer (docs/benchmarks.md gives the suite's measured time)."""
FEED_SECONDS = 60.0


@dataclass(frozen=True)
class ProjectionPlan:
    lines: tuple[int, ...] = (1_000_000,)
    """The default keeps ``make bench`` inside its budget; 10 million lines is named explicitly
    (``--projection-lines 1000000,10000000``) and takes hours on a shared 2-core machine."""
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    traces: int = 1_000
    feed_lines: int = 20_000
    feed_block_writes: int = 200
    seed: int = 1
    ledger_lines_per_s: float | None = None
    """The ledger's bulk write rate to compare the feed with when the lag window does not run (the scale
    suite's figure), if known."""
    lag: LagPlan | None = field(default_factory=LagPlan)
    """The feed's lag behind a loaded ledger (a network beside the stores); ``None`` skips it."""
    spec_overrides: Mapping[str, int] = field(default_factory=dict)
    """``ProvinceSpec`` fields other than the defaults (smaller provinces for tests)."""

    def estimated_seconds(self) -> float:
        per_backend = sum(self.lines) / 1e6 * SECONDS_PER_MILLION_LINES + FEED_SECONDS
        lag = self.lag.estimated_seconds() if self.lag is not None else 0.0
        return per_backend * len(self.backends) + lag


def size_label(lines: int) -> str:
    """``1m`` for a million lines, ``10m``, ``250k``, ``600``: the suffix of the size's keys."""
    if lines % 1_000_000 == 0:
        return f"{lines // 1_000_000}m"
    if lines % 1_000 == 0:
        return f"{lines // 1_000}k"
    return str(lines)


@contextmanager
def _store_urls(backend: str) -> Iterator[Callable[[], str]]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="fabrx-projection-") as folder:
            count = iter(range(1_000_000))
            yield lambda: f"sqlite:///{Path(folder) / f'store{next(count)}.db'}"
    elif backend == "postgresql":
        from fabrx_pharma_supervision.testing import TemporaryPostgres

        with TemporaryPostgres() as server:
            yield server.create_database
    else:
        raise BenchError(f"projection: unknown backend {backend!r}")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _spec(plan: ProjectionPlan, lines: int, **more: int) -> Any:
    from fabrx_pharma_supervision.province import ProvinceSpec

    return ProvinceSpec(invoice_lines=lines, seed=plan.seed, **{**plan.spec_overrides, **more})


def _size_figures(
    plan: ProjectionPlan, url: str, lines: int, *, trace: bool, progress: Callable[[str], None]
) -> dict[str, Any]:
    from fabrx_pharma_supervision import SupervisionStore
    from fabrx_pharma_supervision import schema as t
    from fabrx_pharma_supervision.province import Province, write_province

    label = size_label(lines)
    figures: dict[str, Any] = {}
    with SupervisionStore.open(url) as store:
        province = Province(_spec(plan, lines))
        wall, cpu = time.perf_counter(), time.process_time()
        result = write_province(store, province)
        figures[f"load_{label}_s"] = round(time.perf_counter() - wall, 1)
        figures[f"load_{label}_cpu_s"] = round(time.process_time() - cpu, 1)
        figures[f"writes_{label}"] = result.writes
        progress(
            f"projection: {store.backend} {result.invoice_lines:,} lines written in "
            f"{figures[f'load_{label}_s']} s"
        )
        wall, cpu = time.perf_counter(), time.process_time()
        store.reevaluate()
        figures[f"reevaluate_{label}_s"] = round(time.perf_counter() - wall, 2)
        report = store.compliance_report()
        figures[f"reconcile_{label}_s"] = round(time.perf_counter() - wall, 2)
        figures[f"reconcile_{label}_cpu_s"] = round(time.process_time() - cpu, 2)
        found = Counter(finding.rule for finding in report)
        if found != province.expected_findings:
            raise BenchError(
                f"projection: {store.backend} at {lines:,} lines reports {dict(found)}, "
                f"expected {dict(province.expected_findings)}"
            )
        figures[f"findings_{label}"] = len(report)
        progress(f"projection: {store.backend} re-evaluated in {figures[f'reconcile_{label}_s']} s")
        if trace:
            with store.transaction() as connection:
                ids = list(connection.execute(sa.select(t.prescription.c.prescription_id)).scalars())
            picked = random.Random(plan.seed).sample(ids, min(plan.traces, len(ids)))
            times = []
            for prescription_id in picked:
                started = time.perf_counter()
                store.trace_prescription(prescription_id=prescription_id)
                times.append((time.perf_counter() - started) * 1000)
            figures["trace_lines"] = result.invoice_lines
            figures["trace_p50_ms"] = round(statistics.median(times), 2)
            figures["trace_p99_ms"] = round(_percentile(times, 0.99), 2)
    return figures


def _feed_figures(plan: ProjectionPlan, url: str, ledger_rate: float | None) -> dict[str, Any]:
    from fabrx_pharma import Batch, Party, Product
    from fabrx_pharma_supervision import LedgerBlock, LedgerWrite, SupervisionStore
    from fabrx_pharma_supervision.province import Province

    spec = _spec(
        plan,
        plan.feed_lines,
        **{
            "products": 2_000,
            "manufacturers": 50,
            "distributors": 100,
            "hospitals": 600,
            **plan.spec_overrides,
        },
    )
    province = Province(spec)
    writes = [
        LedgerWrite(record, submitter, f"feed-{n:09d}", _MOMENT, n)
        for n, (submitter, record) in enumerate(province.writes(), start=1)
    ]
    setup = [w for w in writes if isinstance(w.record, Party | Product | Batch)]
    trade = writes[len(setup) :]
    size = plan.feed_block_writes
    with SupervisionStore.open(url) as store:
        number = 0
        for at in range(0, len(setup), 5_000):
            store.apply(LedgerBlock(number, tuple(setup[at : at + 5_000])))
            number += 1
        wall, cpu = time.perf_counter(), time.process_time()
        for at in range(0, len(trade), size):
            store.apply(LedgerBlock(number, tuple(trade[at : at + size])))
            number += 1
        elapsed, used = time.perf_counter() - wall, time.process_time() - cpu
    lines = province.invoice_lines
    figures: dict[str, Any] = {
        "feed_lines": lines,
        "feed_block_writes": size,
        "feed_lines_per_s": round(lines / elapsed),
        "feed_lines_per_cpu_s": round(lines / used),
        "feed_blocks_per_s": round(len(range(0, len(trade), size)) / elapsed, 1),
    }
    if ledger_rate:
        figures["feed_ledger_lines_per_s"] = ledger_rate
        figures["feed_vs_ledger"] = round(figures["feed_lines_per_s"] / ledger_rate, 1)
    return figures


def projection_suite(plan: ProjectionPlan, *, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run the plan; return ``{"projection": {backend: figures, ...}}``.

    The lag window runs first (a fresh store per backend, fed side by side); its ledger rate is the one
    ``feed_vs_ledger`` compares the feed with, else ``plan.ledger_lines_per_s``.

    Raises:
        BenchError: a backend or the network could not be started, a feed failed, or a report differs
            from the known violations.
    """
    section: dict[str, Any] = {backend: {} for backend in plan.backends}
    ledger_rate = plan.ledger_lines_per_s
    if plan.lag is not None:
        started = time.perf_counter()
        with ExitStack() as stack:
            urls = {backend: stack.enter_context(_store_urls(backend))() for backend in plan.backends}
            lag = lag_figures(plan.lag, urls, progress=progress)
        for backend, figures in lag.items():
            section[backend].update(figures)
            ledger_rate = figures["lag_ledger_lines_per_s"] or ledger_rate
            progress(
                f"projection: {backend} feed lag p95 {figures['lag_blocks_p95']} blocks at "
                f"{figures['lag_ledger_lines_per_s']} ledger lines/s"
            )
        section["lag_suite_s"] = round(time.perf_counter() - started)
    for backend in plan.backends:
        started = time.perf_counter()
        figures = section[backend]
        with _store_urls(backend) as new_url:
            for lines in sorted(plan.lines):
                figures.update(
                    _size_figures(plan, new_url(), lines, trace=lines == max(plan.lines), progress=progress)
                )
            figures.update(_feed_figures(plan, new_url(), ledger_rate))
        figures["suite_s"] = round(time.perf_counter() - started)
        figures.setdefault("lag_blocks_p95", None)
    section["goals"] = {**GOALS, "feed_vs_ledger": LEDGER_GOAL_RATIO}
    return {"projection": section}


def _label_lines(label: str) -> int:
    scale = {"m": 1_000_000, "k": 1_000}.get(label[-1:], 1)
    return int(label.rstrip("mk")) * scale


BACKENDS = ("sqlite", "postgresql")


def keep_other_backends(
    section: dict[str, Any], meta: dict[str, Any], earlier: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``section`` and ``meta`` of this run with the backends it did not run kept from ``earlier`` (the
    results file as it was), each backend with the command and date of the run that measured it
    (``meta["runs"]``). A backend's figures are always one run's: a run replaces every figure of the
    backends it runs and none of the others'."""
    old = earlier.get("projection", {})
    old_meta = earlier.get("meta", {}).get("projection", {})
    section, runs = dict(section), {}
    for backend in BACKENDS:
        if backend in section:
            runs[backend] = {"command": meta["command"], "date": meta["date"]}
        elif isinstance(old.get(backend), dict):
            section[backend] = old[backend]
            runs[backend] = old_meta.get("runs", {}).get(backend) or {
                "command": old_meta.get("command"),
                "date": old_meta.get("date"),
            }
    return section, {**meta, "runs": runs}


def render_projection_section(figures: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The ``projection`` section of docs/benchmarks.md."""
    from .render_suites import _head

    backends = [name for name in BACKENDS if name in figures]
    goals = figures.get("goals", {})
    keys: list[tuple[str, str, str]] = []
    sizes = sorted(
        {
            key[len("writes_") :]
            for backend in backends
            for key in figures[backend]
            if key.startswith("writes_")
        },
        key=_label_lines,
    )
    for label in sizes:
        keys.append((f"bulk write of {label} lines (s; CPU s)", f"load_{label}_s", ""))
        keys.append(
            (f"re-evaluation of every whole-ledger rule, {label} lines (s)", f"reevaluate_{label}_s", "")
        )
        keys.append((f"re-evaluation + the whole report, {label} lines (s)", f"reconcile_{label}_s", "≤"))
    keys += [
        ("traces taken at (invoice lines)", "trace_lines", ""),
        ("trace p50 (ms)", "trace_p50_ms", "≤"),
        ("trace p99 (ms)", "trace_p99_ms", ""),
        ("feed, invoice lines/s through the checked ingest", "feed_lines_per_s", ""),
        ("feed / ledger bulk write rate", "feed_vs_ledger", "≥"),
        ("feed lag p95 under the bulk write load (blocks)", "lag_blocks_p95", "≤"),
        ("feed lag, largest sample (blocks)", "lag_blocks_max", ""),
        ("ledger's rate in the lag window (invoice lines/s)", "lag_ledger_lines_per_s", ""),
        ("blocks the peer delivered in the lag window", "lag_window_blocks", ""),
        ("live feed, invoice lines per second spent applying", "lag_feed_lines_per_busy_s", ""),
        ("live feed / ledger rate, same window", "lag_feed_vs_ledger", ""),
        ("suite time on this backend (s)", "suite_s", ""),
    ]
    lines = [
        "## Projection: the supervision store at provincial scale",
        "",
        *_head(meta),
        f"- Method: {meta['method']}",
        *_runs(meta.get("runs", {}), meta),
        "",
        "| measure | " + " | ".join(backends) + " | goal |",
        "|---|" + "---|" * len(backends) + "---|",
    ]
    for text, key, sense in keys:
        cells = []
        for backend in backends:
            value = figures[backend].get(key)
            cpu_key = f"{key[:-2]}_cpu_s" if key.startswith("load_") else None
            shown = "not measured" if value is None else f"{value:,}"
            if cpu_key and figures[backend].get(cpu_key) is not None:
                shown += f" ({figures[backend][cpu_key]:,} CPU)"
            cells.append(shown)
        goal = goals.get(key)
        lines.append(
            f"| {text} | "
            + " | ".join(cells)
            + f" | {f'{sense} {goal:,}' if goal is not None and sense else ''} |"
        )
    return "\n".join(lines) + "\n"


def _runs(runs: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> list[str]:
    """A line naming the run behind each backend's column, when one was kept from an earlier run."""
    if all(run.get("date") == meta.get("date") for run in runs.values()):
        return []
    said = "; ".join(f"{backend} `{run['command']}` ({run['date']})" for backend, run in runs.items())
    return [f"- Columns from different runs (each column is one run's, on the machine above): {said}"]
