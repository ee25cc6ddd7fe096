"""Markdown for the sections of ``docs/benchmarks.md``: every figure with its command and machine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CLIENT_LABELS",
    "render_chaincode_section",
    "render_client_section",
    "render_disturbed",
    "render_provenance",
]

CLIENT_LABELS = {
    "fabrx": "fabrx (Python, `fabrx.aio`)",
    "node": "Node fabric-gateway, default signer (pure JS)",
    "node_openssl": "Node fabric-gateway, OpenSSL signer (`node:crypto`)",
}
CHAINCODE_LABELS = {
    "fabrx": "fabrx Python runtime (`fabrx_chaincode`)",
    "node": "Node `fabric-contract-api`",
}


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def render_provenance(meta: Mapping[str, Any]) -> str:
    """The command, date, machine and network lines that head every section."""
    machine = meta["machine"]
    software = ", ".join(
        f"{label} {machine[key]}"
        for key, label in (
            ("python", "Python"),
            ("node", "Node"),
            ("fabric", "Fabric"),
            ("fabric_gateway_node", "@hyperledger/fabric-gateway"),
            ("fabric_contract_api", "fabric-contract-api"),
        )
        if machine.get(key)
    )
    lines = [
        f"- Command: `{meta['command']}` (run {meta['date']})",
        f"- Machine: {machine['nproc']} × {machine['cpu_model']}, {_number(machine['memory_gib'])} GiB, "
        f"Linux {machine['kernel']}; {software}",
        f"- Network: {meta.get('network') or 'not described'}",
    ]
    rounds = int(meta.get("rounds", 1))
    if "duration_s" in meta and rounds > 1:
        window = _number(round(meta["duration_s"] / rounds, 1))
        lines.append(
            f"- Each figure: the median of {rounds} windows of {window} s, each after "
            f"{_number(meta['warmup_s'])} s of warmup, closed loop of C concurrent transactions, one gateway "
            "peer; p50/p95 latency in ms of that window. The clients take turns (each round starting with "
            "the next client): this machine's speed drifts more between consecutive windows than the "
            "clients differ"
        )
    elif "duration_s" in meta:
        lines.append(
            f"- Each figure: measured over {_number(meta['duration_s'])} s after "
            f"{_number(meta['warmup_s'])} s of warmup, closed loop of C concurrent transactions, "
            "one gateway peer; p50/p95 latency in ms"
        )
    if "max_foreign_fraction" in meta:
        lines.append(
            f"- A run is repeated (up to 3 times) when programs outside the benchmark used more than "
            f"{meta['max_foreign_fraction']:.0%} of the machine during its window; `details` in "
            "`bench/results.json` records each kept run's share"
        )
    return "\n".join(lines)


def render_disturbed(details: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> list[str]:
    """A line naming the kept runs that other programs still disturbed, if any."""
    limit = meta.get("max_foreign_fraction")
    if limit is None:
        return []
    disturbed = [
        f"{d['client']} {d['mode']} C={d['concurrency']} ({d['foreign_fraction']:.0%})"
        for d in details
        if d.get("foreign_fraction", 0.0) > limit
    ]
    if not disturbed:
        return []
    listed = ", ".join(disturbed)
    return [f"- Still disturbed by other programs after the repeats (share of the machine): {listed}"]


def _throughput_rows(
    throughput: Mapping[str, Mapping[str, float]],
    latency: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    cpu_per_tx: Mapping[str, float | None],
    concurrencies: Sequence[int],
) -> list[str]:
    rows = []
    for client, by_concurrency in throughput.items():
        cells = []
        for concurrency in concurrencies:
            key = str(concurrency)
            if key not in by_concurrency:
                cells.append("–")
                continue
            figures = latency.get(client, {}).get(key, {})
            p50, p95 = _number(figures.get("p50")), _number(figures.get("p95"))
            cells.append(f"{_number(by_concurrency[key], 0)} ({p50} / {p95})")
        label = CLIENT_LABELS.get(client, client)
        rows.append(f"| {label} | {' | '.join(cells)} | {_number(cpu_per_tx.get(client), 2)} |")
    return rows


def render_client_section(sections: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The client benchmark: throughput, latency, client and server CPU per transaction."""
    concurrencies: Sequence[int] = meta["concurrencies"]
    top = max(concurrencies)
    header = " | ".join(f"C={c}" for c in concurrencies)
    rule = "|".join("---" for _ in range(len(concurrencies) + 2))
    parts = [
        "## Gateway clients: submit and evaluate",
        "",
        render_provenance(meta),
        f"- Chaincode: {CHAINCODE_LABELS.get(meta['chaincode'], meta['chaincode'])}; client CPU per "
        f"transaction from the client process's own CPU time at C={top}",
        *render_disturbed(sections.get("details", {}).get("client", []), meta),
    ]
    for mode, noun in (("submit", "submits"), ("evaluate", "evaluates")):
        parts += [
            "",
            f"{noun.capitalize()}/s (p50 / p95 ms):",
            "",
            f"| client | {header} | client CPU ms per {mode} |",
            f"|{rule}|",
            *_throughput_rows(
                sections[mode],
                sections["latency_ms"][mode],
                sections.get(f"client_cpu_ms_per_{mode}", {}),
                concurrencies,
            ),
        ]
    server = sections.get("server_cpu_ms_per_submit", {})
    if server:
        names = list(next(iter(server.values())).keys())
        parts += [
            "",
            f"Server CPU ms per committed submit at C={top} (process CPU time over the window / submits):",
            "",
            f"| client | {' | '.join(names)} | total |",
            f"|{'|'.join('---' for _ in range(len(names) + 2))}|",
        ]
        for client, by_process in server.items():
            total = sum(v for v in by_process.values() if v is not None)
            cells = " | ".join(_number(by_process.get(n), 2) for n in names)
            parts.append(f"| {CLIENT_LABELS.get(client, client)} | {cells} | {_number(total, 2)} |")
    return "\n".join(parts)


def render_chaincode_section(sections: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """The chaincode benchmark: chaincode server CPU per transaction, evaluate throughput."""
    figures: Mapping[str, Mapping[str, Any]] = sections["chaincode"]
    top = max(meta["concurrencies"])
    client = meta["client"]
    parts = [
        "## Chaincode runtimes: the asset workload",
        "",
        render_provenance(meta),
        f"- Client: {CLIENT_LABELS.get(client, client)} at C={top}; chaincode CPU from the chaincode "
        "server process's CPU time (`/proc/<pid>/stat`) over the window, divided by the transactions",
        *render_disturbed(sections.get("details", {}).get("chaincode", []), meta),
        "",
        f"| chaincode | CPU ms per submit | CPU ms per evaluate | submits/s C={top} | evaluates/s C={top} |",
        "|---|---|---|---|---|",
    ]
    for name, figure in figures.items():
        cells = (
            _number(figure.get("cpu_ms_per_submit"), 3),
            _number(figure.get("cpu_ms_per_evaluate"), 3),
            _number(figure.get(f"submit_tps_c{top}"), 0),
            _number(figure.get(f"evaluate_tps_c{top}"), 0),
        )
        parts.append(f"| {CHAINCODE_LABELS.get(name, name)} | {' | '.join(cells)} |")
    return "\n".join(parts)
