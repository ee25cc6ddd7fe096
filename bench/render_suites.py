"""Markdown for the network, block-cutting and pharma sections of ``docs/benchmarks.md``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .render import render_disturbed, render_provenance

__all__ = [
    "render_blockcutting_section",
    "render_membership_section",
    "render_network_section",
    "render_pharma_section",
    "render_service_section",
]


SHARED_FRACTION = 0.15
"""Above this share of the machine used by other programs, a section says the machine was shared."""


def _head(meta: Mapping[str, Any]) -> list[str]:
    # The command, machine and network lines of the common provenance block (its first three lines);
    # these suites measure neither fixed windows nor one gateway peer, so each states its own method.
    return render_provenance(meta).splitlines()[:3]


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _goal(value: float | None, goal: float | None) -> str:
    if value is None or goal is None:
        return ""
    return "met" if value <= goal else "**missed**"


def render_network_section(figures: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The ``network`` section: up to joined, up to ready, restart, and the static install figure."""
    goals = figures.get("goals", {})
    install = figures.get("install")
    lines = [
        "## `fabrx network up`",
        "",
        *_head(meta),
        f"- Method: `ConsortiumNetwork.up()` from an empty run directory, median of fresh runs "
        f"({figures['runs']}); *joined* = the steps up to and including `channels` (every peer has "
        "joined the channel), *ready* = the whole `up` (chaincode deployed, gossip converged); "
        "*restart* = `down` without purge, then `up` again",
        "",
        "| measure | seconds | goal | |",
        "|---|---|---|---|",
        f"| up until every peer has joined | {_seconds(figures['up_joined_s'])} | "
        f"≤ {goals.get('up_joined_s', '–')} s | {_goal(figures['up_joined_s'], goals.get('up_joined_s'))} |",
        f"| up with the chaincode ready | {_seconds(figures['up_ready_s'])} | "
        f"≤ {goals.get('up_ready_s', '–')} s | {_goal(figures['up_ready_s'], goals.get('up_ready_s'))} |",
        f"| restart (down, up on kept ledgers) | {_seconds(figures['restart_s'])} | | |",
    ]
    if install:
        lines.append(
            f"| one-time install (`fabrx fabric install`, build from source) | "
            f"{_seconds(figures['install_s'])} | | measured once by hand, {install['date']} |"
        )
        note = f" — {install['note']}" if install.get("note") else ""
        lines += ["", f"Install figure: `{install['command']}`{note}"]
    else:
        lines += [
            "",
            "One-time install: not measured yet. Measure it once on a quiet machine with "
            "`FABRX_CACHE=$(mktemp -d) GOCACHE=$(mktemp -d) .venv/bin/fabrx fabric install` and record it in "
            "`bench/netup.py` (`INSTALL_COST`).",
        ]
    steps = figures.get("steps") or []
    if steps:
        first = steps[0]["up"]
        lines += [
            "",
            "Steps of the first fresh run: "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in first),
        ]
    return "\n".join(lines)


def render_blockcutting_section(
    figures: Mapping[str, Any], meta: Mapping[str, Any], details: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The ``blockcutting`` section: one row per batch timeout (``details`` name disturbed runs)."""
    low, high = meta["latency_concurrency"], meta["throughput_concurrency"]
    lines = [
        "## Block cutting: the batch timeout",
        "",
        *_head(meta),
        "- Method: one bench network per batch timeout (max 100 transactions per block), fabrx's client "
        "submitting `CreateAsset` to the fabrx Python chaincode in a closed loop, "
        f"{meta['duration_s']:.0f} s window after {meta['warmup_s']:.0f} s warmup "
        f"({meta['sample_duration_s']:.0f} s for Fabric's sample 2 s, at C=1 only)",
        *render_disturbed(details, meta),
        "",
        f"| batch timeout | C={low} p50 ms | C={low} p95 ms | C={low} submits/s | C={high} submits/s | "
        f"C={high} p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    for timeout, entry in figures.items():
        lines.append(
            f"| {timeout} | {entry.get(f'c{low}_p50_ms', '–')} | {entry.get(f'c{low}_p95_ms', '–')} | "
            f"{entry.get(f'c{low}_tps', '–')} | {entry.get(f'c{high}_tps', '–')} | "
            f"{entry.get(f'c{high}_p50_ms', '–')} |"
        )
    return "\n".join(lines)


def render_pharma_section(figures: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The ``pharma`` section: second invoices through ``fabrx.pharma`` against a bare public write."""
    lines = [
        "## Pharma: second invoices against a bare write",
        "",
        *_head(meta),
        f"- Method: {meta['method']}",
        "",
        "| workload | concurrency | transactions/s | invoice lines/s |",
        "|---|---|---|---|",
        f"| bare public write (`asset-py` `CreateAsset`, same endorsing organizations) | "
        f"{figures.get('bare_concurrency', '–')} | {figures.get('bare_tx_per_s', '–')} | |",
        f"| second invoice + shipment, {figures.get('lines_per_invoice', '–')} lines "
        f"(`fabrx.pharma`, private data) | {figures.get('invoice_concurrency', '–')} | "
        f"{figures.get('invoice_tx_per_s', '–')} | {figures.get('invoice_lines_per_s', '–')} |",
    ]
    ratio = figures.get("ratio_to_bare")
    if ratio is not None:
        lines += [
            "",
            f"Pharma/bare: {ratio:.2f} (goal ≥ 0.7); invoice lines/s goal ≥ 150.",
        ]
    cpu = figures.get("cpu_ms_per_tx") or {}
    cpu_lines = []
    for kind, key in (("bare", "bare_concurrency"), ("invoice", "invoice_concurrency")):
        per_process = cpu.get(str(figures.get(key)), {}).get(kind)
        if per_process:
            listed = ", ".join(f"{name} {ms}" for name, ms in per_process.items() if ms is not None)
            cpu_lines.append(f"- CPU ms per {kind} transaction at C={figures[key]}, per process: {listed}")
    if cpu_lines:
        lines += ["", *cpu_lines]
    if figures.get("note"):
        lines += ["", figures["note"]]
    return "\n".join(lines)


def render_scale_section(figures: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The ``scale`` section: invoice lines per second on the provincial ledger layout."""
    goals = figures.get("goals", {})
    rows = [
        ("invoice lines/s, many invoices per transaction", "lines_per_s_bulk", "≥"),
        ("invoice lines/s, one invoice per transaction", "lines_per_s_single", "≥"),
        (
            f"invoice lines/s, many per transaction, {figures.get('members')} member organizations",
            "lines_per_s_bulk_members",
            "",
        ),
        (
            f"invoice lines/s, many per transaction, {figures.get('members')} member organizations and "
            f"{figures.get('parties')} hosted parties",
            "lines_per_s_bulk_province",
            "",
        ),
        ("members ratio (province-sized / the default six, no extra parties)", "members_ratio", "≥"),
        ("a new hosted party, registration to first accepted invoice (s)", "join_s", "≤"),
    ]
    lines = [
        "## Scale: invoice lines per second on the provincial ledger layout",
        "",
        *_head(meta),
        f"- Method: {meta['method']}",
        "",
        "| measure | figure | goal |",
        "|---|---|---|",
    ]
    for label, key, sense in rows:
        value = figures.get(key)
        goal = goals.get(key)
        shown = "not measured" if value is None else f"{value:,}" if isinstance(value, int | float) else value
        lines.append(f"| {label} | {shown} | {f'{sense} {goal:,}' if goal is not None and sense else ''} |")
    if figures.get("cpu_ms_per_line"):
        lines.append("")
    for window, cpu in (figures.get("cpu_ms_per_line") or {}).items():
        listed = ", ".join(f"{name} {ms}" for name, ms in cpu.items() if ms is not None)
        lines.append(f"- CPU ms per invoice line, {window} window, per process: {listed}")
    default_rounds = figures.get("lines_per_s_bulk_rounds") or []
    province_rounds = figures.get("lines_per_s_bulk_province_rounds") or []
    if default_rounds and province_rounds:
        default, province = (
            ", ".join(f"{rate:,}" for rate in side) for side in (default_rounds, province_rounds)
        )
        lines.append(f"- Bulk rounds, lines/s: default {default}; province-sized {province}")
    errors = figures.get("errors") or {}
    if any(errors.values()):
        lines += ["", f"- Errors: {errors}; first: {figures.get('first_error')}"]
    if figures.get("note"):
        lines += ["", figures["note"]]
    return "\n".join(lines)


def render_membership_section(figures: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The ``membership`` section: a member's join under load, step by step, and its leave."""
    goals = figures.get("goals", {})
    join_goal = goals.get("join_s")
    failed_goal = goals.get("failed_during_join")
    failed = figures.get("failed_during_join")
    join_s = figures.get("join_s")
    join_goal_text = f"≤ {join_goal:g} s ({_goal(join_s, join_goal)})" if join_goal is not None else ""
    failed_goal_text = f"{failed_goal} ({_goal(failed, failed_goal)})" if failed_goal is not None else ""
    lines = [
        "## Membership: a hospital joins under load, and leaves",
        "",
        *_head(meta),
        f"- Method: {meta['method']}",
        "",
        "| measure | figure | goal |",
        "|---|---|---|",
        f"| join request to the new member's first accepted invoice | {_seconds(join_s)} "
        f"| {join_goal_text} |",
        f"| submits accepted during the join (C={figures.get('concurrency')}) | "
        f"{figures.get('submits_during_join')} | |",
        f"| submits failed during the join | {failed} | {failed_goal_text} |",
        f"| the new member's own deployment up (`fabrx member up`, before the request) | "
        f"{_seconds(figures.get('member_up_s'))} | |",
        "",
    ]
    steps = figures.get("steps_s") or {}
    if steps:
        lines.append(
            "- Steps of the join, seconds: " + ", ".join(f"{name} {s:g}" for name, s in steps.items())
        )
    commands_cpu = figures.get("commands_cpu_s") or {}
    if commands_cpu:
        lines.append(
            "- CPU seconds of the `fabrx` commands of each step (the same on a busy machine): "
            + ", ".join(f"{name} {s:g}" for name, s in commands_cpu.items())
        )
    busy, foreign = figures.get("machine_busy"), figures.get("foreign_fraction")
    if busy is not None and foreign is not None:
        shared = " (a shared machine: these figures are slower than the suite alone would be)"
        lines.append(
            f"- The machine during the join: {busy:.0%} busy; programs other than this suite's used "
            f"{foreign:.0%} of its capacity" + (shared if foreign > SHARED_FRACTION else "")
        )
    lines.append(
        f"- Load over the whole run: {figures.get('submits_total')} submits, "
        f"{figures.get('failed_total')} failed"
        + (f" (first: {figures['first_error']})" if figures.get("first_error") else "")
    )
    leave = figures.get("leave") or {}
    if leave:
        before, after = (leave.get("channel_height") or [None, None])[:2]
        lines += [
            "- Leave: removed from the channel configuration and made inactive in "
            f"{_seconds(leave.get('leave_s'))}; its own submit refused ({leave.get('own_submit_refused')}); "
            f"an invoice to it refused ({leave.get('invoice_to_member_refused')}); its peer stayed at "
            f"{leave.get('member_peer_height')} blocks while the channel grew from {before} to {after}; its "
            "trade still read by the distributor and the regulator; the compliance report ran in "
            f"{_seconds(leave.get('compliance_report_s'))} ({leave.get('findings')} findings"
            + (f"; {leave['compliance_report_note']}" if leave.get("compliance_report_note") else "")
            + ")",
        ]
    if figures.get("note"):
        lines += ["", figures["note"]]
    return "\n".join(lines)


def _cell(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value}{unit}"


def _met(value: float | None, goal: float, *, at_least: bool) -> str:
    if value is None:
        return ""
    return "met" if (value >= goal if at_least else value <= goal) else "**missed**"


def render_service_section(figures: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The ``service`` section: the member's HTTP service against the SDK on the same network."""
    c, lc = figures["concurrency"], figures["latency_concurrency"]
    goals = figures.get("goals", {})
    rates = figures["rates"]
    lines = [
        "## Service: `fabrx serve` against the SDK",
        "",
        *_head(meta),
        f"- Method: {meta['method']}",
        f"- The machine was shared: programs outside the benchmark used on average "
        f"{figures['foreign_fraction_mean']:.0%} of it during a window (at most "
        f"{figures['foreign_fraction_max']:.0%}); every window's share is in `bench/results.json`",
        "",
        f"| work | path | tx/s at C={c} | p50 ms at C={c} | p50 ms at C={lc} | p95 ms at C={lc} |",
        "|---|---|---|---|---|---|",
    ]
    for mode, label in (
        ("submit", "submit (second invoice)"),
        ("verify", "verify (with first-invoice copy)"),
    ):
        for path, path_label in (("sdk", "SDK (`fabrx.pharma`)"), ("service", "service (signed HTTPS)")):
            top, low = rates[mode][path][f"c{c}"], rates[mode][path][f"c{lc}"]
            lines.append(
                f"| {label} | {path_label} | {_cell(top['tps'])} | {_cell(top['p50_ms'])} | "
                f"{_cell(low['p50_ms'])} | {_cell(low['p95_ms'])} |"
            )
    submit, verify = figures.get(f"submit_ratio_c{c}"), figures.get(f"verify_ratio_c{c}")
    overhead = figures.get("p50_overhead_ms")
    by_mode = figures.get("p50_overhead_ms_by_mode", {})
    lines += [
        "",
        "| figure | value | goal | |",
        "|---|---|---|---|",
        f"| submits/s, service / SDK at C={c} | {_cell(submit)} | ≥ {goals.get('submit_ratio_c32')} | "
        f"{_met(submit, goals.get('submit_ratio_c32', 0.9), at_least=True)} |",
        f"| verifications/s, service / SDK at C={c} | {_cell(verify)} | ≥ {goals.get('verify_ratio_c32')} | "
        f"{_met(verify, goals.get('verify_ratio_c32', 0.9), at_least=True)} |",
        f"| p50 latency added by the service at C={lc} (larger of submit {_cell(by_mode.get('submit'))}, "
        f"verify {_cell(by_mode.get('verify'))}) | {_cell(overhead, ' ms')} | "
        f"≤ {goals.get('p50_overhead_ms')} ms | "
        f"{_met(overhead, goals.get('p50_overhead_ms', 5.0), at_least=False)} |",
    ]
    cpu = figures.get("cpu_ms_per_tx") or {}
    cpu_lines = []
    for mode in ("submit", "verify"):
        for path in ("sdk", "service"):
            per_process = (cpu.get(mode) or {}).get(path) or {}
            listed = ", ".join(f"{name} {ms}" for name, ms in per_process.items() if ms is not None)
            if listed:
                cpu_lines.append(f"- CPU ms per {mode} through the {path} at C={c}, per process: {listed}")
    if cpu_lines:
        lines += ["", *cpu_lines]
    return "\n".join(lines)
