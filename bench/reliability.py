"""``python -m bench.reliability FIGURES``: record the figures of a ``make reliability`` run.

``make reliability`` runs the reliability suite (tests/reliability, fault injection included) with
``FABRX_RELIABILITY_FIGURES`` naming a JSON file the suite writes its counters to, then this module:
the summary goes to ``bench/results.json`` under ``"reliability"`` (``acked``, ``lost``, ``duplicates``,
``failed_but_committed``, ``hostile_cases``, ``unclear``, ``unauthorized``, and ``details``), the run's
command, date and machine under ``meta.reliability``, and a section rendered from them replaces the
``reliability`` section of ``docs/reliability.md``.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from .machine import machine_info
from .report import update_docs, update_results

__all__ = ["COMMAND", "SUMMARY_KEYS", "main", "render_reliability_section"]

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMAND = "make reliability"
SUMMARY_KEYS = (
    "acked",
    "lost",
    "duplicates",
    "failed_but_committed",
    "hostile_cases",
    "unclear",
    "unauthorized",
)


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in sorted(kinds.items())) or "none"


def render_reliability_section(figures: dict[str, Any], meta: dict[str, Any]) -> str:
    """The Markdown section of docs/reliability.md for one run's ``figures`` and ``meta``."""
    details = figures.get("details", {})
    machine = meta.get("machine", {})
    lines = [
        "## Figures of the last run",
        "",
        f"`{meta['command']}` on {meta['date']} (duration {meta['duration_s']} s of load per fault run), "
        f"{machine.get('nproc')} cores ({machine.get('cpu_model')}), kernel {machine.get('kernel')}; the "
        "machine was shared with other engineers' test runs.",
        "",
        "| " + " | ".join(SUMMARY_KEYS) + " |",
        "|" + "---|" * len(SUMMARY_KEYS),
        "| " + " | ".join(str(figures.get(key)) for key in SUMMARY_KEYS) + " |",
        "",
        "Fault runs (second invoices at C=8 through the SDK; the node killed with SIGKILL a third of the way "
        "in, brought back after 5 s):",
        "",
        "| scenario | node | consensus | submitted | acked | failed (kinds) | unknown outcomes | lost "
        "| duplicates | failed but committed | events missing / twice |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in details.get("faults", []):
        lines.append(
            f"| {run['scenario']} | {run['node']} | {run['consensus']} | {run['submitted']} | {run['acked']} "
            f"| {run['failed']} ({_kinds(run['failure_kinds'])}) | {run['unknown_outcomes']} | {run['lost']} "
            f"| {run['duplicates']} | {run['failed_but_committed']} "
            f"| {run['events_missing']} / {run['events_duplicated']} |"
        )
    lines += [
        "",
        "Hostile input, by where it was sent:",
        "",
        "| category | cases | unclear |",
        "|---|---|---|",
    ]
    for category, counts in sorted(details.get("hostile", {}).items()):
        lines.append(f"| {category} | {counts['cases']} | {counts['unclear']} |")
    lines += [
        "",
        f"Access matrix: {details.get('access_attempts', 0)} cells (identity × write or private read), "
        f"{details.get('access_forbidden', 0)} of them forbidden; unauthorized (a forbidden cell that "
        f"succeeded): {figures.get('unauthorized')}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m bench.reliability FIGURES.json (written by make reliability)", file=sys.stderr
        )
        return 2
    source = Path(args[0])
    try:
        figures = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read the suite's figures from {source}: {exc}", file=sys.stderr)
        return 1
    meta = {
        "command": COMMAND,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": float(os.environ.get("FABRX_RELIABILITY_SECONDS", "40")),
        "machine": machine_info(),
        "note": "the machine was shared with other engineers' test runs",
    }
    update_results(
        REPO_ROOT / "bench" / "results.json",
        {"reliability": figures, "meta": {"reliability": meta}},
        replace=("reliability",),
    )
    update_docs(
        REPO_ROOT / "docs" / "reliability.md", "reliability", render_reliability_section(figures, meta)
    )
    print(f"recorded: {', '.join(f'{key} {figures.get(key)}' for key in SUMMARY_KEYS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
