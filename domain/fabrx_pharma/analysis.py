"""The regulator's side: compliance findings, traces from a prescription, and recall scope.

Everything here reads an :class:`~fabrx_pharma.ledger.InMemoryLedger` loaded with the records read
from the chain (``ledger.apply`` for each, in ledger order) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from .errors import RuleId, RuleViolation
from .ledger import InMemoryLedger
from .parties import Party, Role
from .production import Batch, RawMaterialLot
from .recalls import Recall
from .records import AnyRecord
from .rules import check_record
from .trade import Invoice, InvoiceKind, quantities

__all__ = [
    "DEFAULT_RECEIPT_DUE",
    "Finding",
    "Holding",
    "InvoiceHop",
    "PrescriptionHit",
    "RecallScope",
    "Severity",
    "Trace",
    "compliance_report",
    "recall_scope",
    "trace_prescription",
]

DEFAULT_RECEIPT_DUE = timedelta(days=7)
"""How long goods may be in transit before a missing or late receipt is reported."""


class Severity(StrEnum):
    VIOLATION = "violation"
    """A rule was broken: the record should have been refused, or the ledger shows a diversion."""
    WARNING = "warning"
    """Something to follow up that need not be a breach: a late or missing receipt, a shortfall."""


@dataclass(frozen=True)
class Finding:
    """One thing the regulator should look at."""

    rule: RuleId
    severity: Severity
    subject: str
    """The record concerned, as ``type key`` (e.g. ``invoice 24352000000000002001``)."""
    reason: str


def _subject(record: AnyRecord) -> str:
    return f"{record.RECORD_TYPE} {record.key}"


def compliance_report(
    ledger: InMemoryLedger, *, as_of: datetime | None = None, receipt_due: timedelta = DEFAULT_RECEIPT_DUE
) -> list[Finding]:
    """List every finding on the ledger, each with its reason.

    1. Every write is checked again, in ledger order, against the rules and the policy in force when it
       was written (``Entry.written_at``; the ledger's policy history): a record
       that got in despite breaking a rule (written before a rule existed, or by a faulty peer) is
       reported with the rule and field.
    2. After-the-fact checks that a write cannot prevent: goods shipped without a receipt (only when
       shipped more than ``receipt_due`` before ``as_of``, or always when ``as_of`` is ``None``),
       receipts later than ``receipt_due``, receipts short of the shipment.
    3. Diversion signals (串货): a hospital receiving a batch from a distributor that never received it;
       a traceability code dispensed at a hospital other than the one it was shipped to. A code dispensed
       twice is reported by step 1 (``TRACE_CODE_REUSED``).
    """
    findings = _replay(ledger)
    findings += _receipt_findings(ledger, as_of, receipt_due)
    findings += _diversion_findings(ledger)
    unique: dict[tuple[RuleId, str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.rule, finding.subject, finding.reason), finding)
    return list(unique.values())


def _replay(ledger: InMemoryLedger) -> list[Finding]:
    findings: list[Finding] = []
    replayed = InMemoryLedger(policy=ledger.policies)
    for entry in ledger.entries:
        # Party registrations are the regulator's own acts; they are what the others are checked against.
        if not isinstance(entry.record, Party):
            # Each record is judged by the policy in force when it was written, not by today's.
            policy = ledger.policy_at(entry.written_at)
            try:
                check_record(entry.record, replayed, policy, submitter=entry.submitter)
            except RuleViolation as violation:
                findings.append(
                    Finding(
                        violation.rule,
                        Severity.VIOLATION,
                        _subject(entry.record),
                        f"{violation.field}: {violation.message}",
                    )
                )
        replayed.apply(entry.record, submitter=entry.submitter, written_at=entry.written_at)
    return findings


def _receipt_findings(ledger: InMemoryLedger, as_of: datetime | None, due: timedelta) -> list[Finding]:
    findings: list[Finding] = []
    for invoice in ledger.invoices:
        key = str(invoice.number)
        shipped_at = invoice.shipment.shipped_at
        receipt = ledger.receipt_of(key)
        if receipt is None:
            if as_of is None or shipped_at + due < as_of:
                findings.append(
                    Finding(
                        RuleId.RECEIPT_MISSING,
                        Severity.WARNING,
                        f"invoice {key}",
                        f"shipped by {invoice.seller} to {invoice.buyer} at {shipped_at.isoformat()}; "
                        "no receipt recorded",
                    )
                )
            continue
        if receipt.received_at - shipped_at > due:
            findings.append(
                Finding(
                    RuleId.RECEIPT_LATE,
                    Severity.WARNING,
                    f"invoice {key}",
                    f"received by {receipt.receiver} {receipt.received_at - shipped_at} after shipment "
                    f"(allowed {due})",
                )
            )
        shipped, received = quantities(invoice.shipment.lines), quantities(receipt.lines)
        for (product_id, batch_number), quantity in sorted(shipped.items()):
            got = received.get((product_id, batch_number), 0)
            if got < quantity:
                findings.append(
                    Finding(
                        RuleId.INVOICE_GOODS_RECEIPT,
                        Severity.WARNING,
                        f"invoice {key}",
                        f"{receipt.receiver} received {got} of the {quantity} shipped of batch "
                        f"{product_id}/{batch_number}",
                    )
                )
    return findings


def _diversion_findings(ledger: InMemoryLedger) -> list[Finding]:
    findings: list[Finding] = []
    for invoice in ledger.invoices:
        receipt = ledger.receipt_of(str(invoice.number))
        if invoice.kind is not InvoiceKind.SECOND or receipt is None:
            continue
        for product_id, batch_number in quantities(receipt.lines):
            if ledger.stock(invoice.seller, product_id, batch_number).received == 0:
                findings.append(
                    Finding(
                        RuleId.DIVERSION,
                        Severity.VIOLATION,
                        f"invoice {invoice.number}",
                        f"{invoice.buyer} received batch {product_id}/{batch_number} from {invoice.seller}, "
                        "which never received that batch",
                    )
                )
    shipped_to: dict[str, set[str]] = {}
    for invoice in ledger.invoices:
        if invoice.kind in (InvoiceKind.SECOND, InvoiceKind.DIRECT):
            for code in invoice.shipment.trace_codes:
                shipped_to.setdefault(code, set()).add(invoice.buyer)
    for prescription in ledger.prescriptions:
        for item in prescription.items:
            for code in item.trace_codes:
                destinations = shipped_to.get(code)
                if destinations and prescription.hospital not in destinations:
                    findings.append(
                        Finding(
                            RuleId.DIVERSION,
                            Severity.VIOLATION,
                            _subject(prescription),
                            f"traceability code {code} was shipped to {', '.join(sorted(destinations))} "
                            f"but dispensed at {prescription.hospital}",
                        )
                    )
    return findings


# --- tracing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceHop:
    """One invoice on the way from the manufacturer to the hospital."""

    number: str
    kind: InvoiceKind
    seller: str
    buyer: str
    issue_date: date
    received_at: datetime | None
    """When the buyer recorded the receipt, ``None`` if it did not."""


@dataclass(frozen=True)
class Trace:
    """Where the drug of one dispensing came from."""

    prescription_id: str
    hospital: str
    patient_pseudonym: str
    prescribed_at: datetime
    product_id: str
    batch_number: str
    quantity: int
    trace_codes: tuple[str, ...]
    batch: Batch | None
    manufacturer: Party | None
    chains: tuple[tuple[InvoiceHop, ...], ...]
    """Each possible invoice chain, manufacturer first. One chain when traceability codes pin the route;
    several when the hospital bought the batch more than once and the codes do not say which."""
    adverse_events: tuple[str, ...]
    """Report ids of adverse events about this prescription and batch."""
    recall: Recall | None

    @property
    def raw_material_lots(self) -> tuple[RawMaterialLot, ...]:
        return self.batch.raw_material_lots if self.batch is not None else ()

    @property
    def distributors(self) -> tuple[str, ...]:
        """Every distributor on any chain, in chain order."""
        seen: dict[str, None] = {}
        for chain in self.chains:
            for hop in chain:
                if hop.kind is not InvoiceKind.DIRECT and hop.buyer != self.hospital:
                    seen.setdefault(hop.buyer, None)
        return tuple(seen)


def _hop(ledger: InMemoryLedger, invoice: Invoice) -> InvoiceHop:
    receipt = ledger.receipt_of(str(invoice.number))
    return InvoiceHop(
        number=str(invoice.number),
        kind=invoice.kind,
        seller=invoice.seller,
        buyer=invoice.buyer,
        issue_date=invoice.issue_date,
        received_at=receipt.received_at if receipt is not None else None,
    )


def _sources(
    ledger: InMemoryLedger, buyer: str, batch_key: tuple[str, str], codes: frozenset[str]
) -> list[Invoice]:
    """Invoices that brought the batch to ``buyer``; only those carrying ``codes`` if any of them do."""
    candidates = [i for i in ledger.invoices if i.buyer == buyer and batch_key in quantities(i.lines)]
    if codes:
        pinned = [i for i in candidates if codes & i.shipment.trace_codes]
        if pinned:
            return pinned
    return candidates


def _chains(
    ledger: InMemoryLedger, buyer: str, batch_key: tuple[str, str], codes: frozenset[str], depth: int = 0
) -> list[tuple[InvoiceHop, ...]]:
    chains: list[tuple[InvoiceHop, ...]] = []
    for invoice in _sources(ledger, buyer, batch_key, codes):
        hop = _hop(ledger, invoice)
        if invoice.kind in (InvoiceKind.FIRST, InvoiceKind.DIRECT) or depth >= 3:
            chains.append((hop,))
            continue
        upstream = _chains(ledger, invoice.seller, batch_key, codes, depth + 1)
        chains.extend([(*chain, hop) for chain in upstream] or [(hop,)])
    return chains


def trace_prescription(
    ledger: InMemoryLedger, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
) -> tuple[Trace, ...]:
    """Trace every dispensing of one prescription, or of every prescription of one patient pseudonym.

    Each :class:`Trace` leads from the dispensed batch to its manufacturer and raw-material lots, over
    the invoice chain(s) and distributors it came through. Pass exactly one of the two keywords;
    raises ``ValueError`` otherwise. An unknown id or pseudonym gives an empty tuple.
    """
    if (prescription_id is None) == (patient_pseudonym is None):
        raise ValueError("pass exactly one of prescription_id and patient_pseudonym")
    prescriptions = [
        p
        for p in ledger.prescriptions
        if p.prescription_id == prescription_id
        or (patient_pseudonym is not None and p.patient_pseudonym == patient_pseudonym.lower())
    ]
    traces: list[Trace] = []
    for prescription in sorted(prescriptions, key=lambda p: p.prescribed_at):
        for item in prescription.items:
            batch_key = (item.product_id, item.batch_number)
            batch = ledger.batch(*batch_key)
            events = tuple(
                e.report_id
                for e in ledger.adverse_events
                if e.prescription_id == prescription.prescription_id
                and (e.product_id, e.batch_number) == batch_key
            )
            traces.append(
                Trace(
                    prescription_id=prescription.prescription_id,
                    hospital=prescription.hospital,
                    patient_pseudonym=prescription.patient_pseudonym,
                    prescribed_at=prescription.prescribed_at,
                    product_id=item.product_id,
                    batch_number=item.batch_number,
                    quantity=item.quantity,
                    trace_codes=item.trace_codes,
                    batch=batch,
                    manufacturer=ledger.party(batch.manufacturer) if batch is not None else None,
                    chains=tuple(
                        _chains(ledger, prescription.hospital, batch_key, frozenset(item.trace_codes))
                    ),
                    adverse_events=events,
                    recall=ledger.recall(*batch_key),
                )
            )
    return tuple(traces)


# --- recall scope -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """What one party received of the batch, passed on or dispensed, and still holds."""

    party_id: str
    role: Role | None
    received: int
    passed_on: int
    """Sold, transferred or dispensed."""
    on_hand: int


@dataclass(frozen=True)
class PrescriptionHit:
    """A prescription that dispensed the batch."""

    prescription_id: str
    hospital: str
    patient_pseudonym: str
    prescribed_at: datetime
    quantity: int


@dataclass(frozen=True)
class RecallScope:
    """Everyone a batch reached: what to recall from whom, and which patients to follow up."""

    product_id: str
    batch_number: str
    manufacturer: str
    produced: int
    distributors: tuple[Holding, ...]
    hospitals: tuple[Holding, ...]
    prescriptions: tuple[PrescriptionHit, ...]
    invoices: tuple[str, ...]
    adverse_events: tuple[str, ...]
    recall: Recall | None

    @property
    def patients(self) -> tuple[str, ...]:
        """The distinct patient pseudonyms reached, for the hospitals to resolve and contact."""
        return tuple(dict.fromkeys(p.patient_pseudonym for p in self.prescriptions))


def _holdings(ledger: InMemoryLedger, batch_key: tuple[str, str], role: Role) -> tuple[Holding, ...]:
    result: list[Holding] = []
    for (holder, product_id, batch_number), position in sorted(ledger.stock_positions.items()):
        party = ledger.party(holder)
        if (product_id, batch_number) != batch_key or party is None or party.role is not role:
            continue
        result.append(Holding(holder, party.role, position.received, position.out, position.on_hand))
    return tuple(result)


def recall_scope(ledger: InMemoryLedger, product_id: str, batch_number: str) -> RecallScope:
    """Find every distributor, hospital, invoice, prescription and adverse event a batch reached.

    Raises ``KeyError`` if the batch is not on the ledger.
    """
    batch_key = (product_id, batch_number)
    batch = ledger.batch(product_id, batch_number)
    if batch is None:
        raise KeyError(f"batch {product_id}/{batch_number} is not on the ledger")
    hits = tuple(
        PrescriptionHit(p.prescription_id, p.hospital, p.patient_pseudonym, p.prescribed_at, quantity)
        for p in sorted(ledger.prescriptions, key=lambda p: p.prescribed_at)
        if (quantity := quantities(p.items).get(batch_key, 0))
    )
    return RecallScope(
        product_id=product_id,
        batch_number=batch_number,
        manufacturer=batch.manufacturer,
        produced=batch.quantity,
        distributors=_holdings(ledger, batch_key, Role.DISTRIBUTOR),
        hospitals=_holdings(ledger, batch_key, Role.HOSPITAL),
        prescriptions=hits,
        invoices=_numbers(i for i in ledger.invoices if batch_key in quantities(i.lines)),
        adverse_events=tuple(
            e.report_id for e in ledger.adverse_events if (e.product_id, e.batch_number) == batch_key
        ),
        recall=ledger.recall(product_id, batch_number),
    )


def _numbers(invoices: Iterable[Invoice]) -> tuple[str, ...]:
    return tuple(str(i.number) for i in sorted(invoices, key=lambda i: (i.issue_date, str(i.number))))
