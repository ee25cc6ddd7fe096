"""Plain-text renderings of the regulator's results, for a person to read."""

from __future__ import annotations

from collections.abc import Iterable

from .analysis import Finding, RecallScope, Severity, Trace

__all__ = ["render_findings", "render_recall_scope", "render_trace"]


def render_findings(findings: Iterable[Finding]) -> str:
    """One line per finding (severity, rule, subject, reason), violations first, then a count."""
    ordered = sorted(findings, key=lambda f: f.severity is not Severity.VIOLATION)
    if not ordered:
        return "No findings: every record complies.\n"
    lines = [f"{f.severity.value.upper():9} {f.rule.value:22} {f.subject}: {f.reason}" for f in ordered]
    violations = sum(f.severity is Severity.VIOLATION for f in ordered)
    lines.append(
        f"{len(ordered)} finding(s): {violations} violation(s), {len(ordered) - violations} warning(s)"
    )
    return "\n".join(lines) + "\n"


def render_trace(trace: Trace) -> str:
    """The route of one dispensing, from raw materials to the patient's pseudonym."""
    lines = [
        f"Prescription {trace.prescription_id} at {trace.hospital}, {trace.prescribed_at.isoformat()}",
        f"  patient pseudonym {trace.patient_pseudonym[:16]}…",
        f"  dispensed {trace.quantity} × {trace.product_id} batch {trace.batch_number}",
    ]
    if trace.trace_codes:
        lines.append(f"  traceability codes: {', '.join(trace.trace_codes)}")
    if trace.batch is None:
        lines.append("  batch: NOT ON THE LEDGER")
    else:
        maker = trace.manufacturer.name if trace.manufacturer is not None else trace.batch.manufacturer
        lines.append(
            f"  batch produced {trace.batch.production_date} by {maker} ({trace.batch.manufacturer}), "
            f"expires {trace.batch.expiry_date}"
        )
        for lot in trace.raw_material_lots:
            lines.append(
                f"    raw material {lot.material}: lot {lot.lot} from {lot.supplier}, "
                f"{lot.quantity} {lot.unit}"
            )
    if not trace.chains:
        lines.append("  invoice chain: NONE FOUND")
    for n, chain in enumerate(trace.chains, 1):
        lines.append(f"  invoice chain {n}:")
        for hop in chain:
            received = hop.received_at.isoformat() if hop.received_at else "not received"
            lines.append(
                f"    {hop.kind.value:8} {hop.number} {hop.seller} → {hop.buyer} "
                f"on {hop.issue_date}, received {received}"
            )
    if trace.adverse_events:
        lines.append(f"  adverse events: {', '.join(trace.adverse_events)}")
    if trace.recall is not None:
        lines.append(
            f"  RECALLED {trace.recall.recalled_at.isoformat()} by {trace.recall.by}: {trace.recall.reason}"
        )
    return "\n".join(lines) + "\n"


def render_recall_scope(scope: RecallScope) -> str:
    """Who holds or received a batch, and which prescriptions dispensed it."""
    lines = [
        f"Batch {scope.product_id}/{scope.batch_number} of {scope.manufacturer}: {scope.produced} produced"
    ]
    if scope.recall is not None:
        lines.append(
            f"  recalled {scope.recall.recalled_at.isoformat()} by {scope.recall.by}: {scope.recall.reason}"
        )
    for title, holdings in (("distributors", scope.distributors), ("hospitals", scope.hospitals)):
        lines.append(f"  {title}:")
        for h in holdings:
            lines.append(
                f"    {h.party_id}: received {h.received}, passed on {h.passed_on}, on hand {h.on_hand}"
            )
    lines.append(f"  invoices: {', '.join(scope.invoices) or 'none'}")
    lines.append(f"  prescriptions ({len(scope.patients)} patient(s)):")
    for p in scope.prescriptions:
        lines.append(f"    {p.prescription_id} at {p.hospital}, {p.prescribed_at.isoformat()}: {p.quantity}")
    if scope.adverse_events:
        lines.append(f"  adverse events: {', '.join(scope.adverse_events)}")
    return "\n".join(lines) + "\n"
