"""One finding's evidence for the regulator's page: the records its subject names, read from the ledger.

A finding names its subject (``invoice <number>``, ``prescription <id>``, ``batch <product>/<batch>``).
The evidence is what an analyst opens next to judge it: for an invoice, its public anchor (who wrote
it, in which transaction), the invoice's lines, its receipt (or that there is none) and, per batch it
moved, the seller's and the buyer's counters; for a prescription, its items and, per traceability code
dispensed, where the code was dispensed; for a batch, the batch, its recall and the manufacturer's
counters. Everything is read through the regulator's facade, which may read every record; the
patient's pseudonym is not shown (the evidence of a finding does not need it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fabrx.pharma import RecordNotFound

__all__ = ["Section", "evidence_of"]

Rows = list[tuple[str, str]]


@dataclass(frozen=True)
class Section:
    """One block of the evidence: a title and (label, value) rows; ``missing`` says what is not there."""

    title: str
    rows: Rows = field(default_factory=list)
    missing: str = ""


def evidence_of(facade: Any, subject: str) -> list[Section]:
    """The evidence of a finding about ``subject``, read through a regulator's facade.

    Raises whatever the facade raises but :class:`~fabrx.pharma.RecordNotFound`, which becomes a section
    saying the record is not on the ledger.
    """
    kind, _, key = subject.partition(" ")
    if kind == "invoice" and key:
        return _invoice(facade, key)
    if kind == "prescription" and key:
        return _prescription(facade, key)
    if kind == "batch" and "/" in key:
        product_id, batch_number = key.rsplit("/", 1)
        return _batch(facade, product_id, batch_number)
    return []


def _found(title: str, read: Callable[[], Rows]) -> Section:
    try:
        return Section(title, read())
    except RecordNotFound:
        return Section(title, missing="not on the ledger")


def _anchor_rows(facade: Any, record_type: str, key: str, batch_number: str | None = None) -> Rows:
    anchor = facade.read_anchor(record_type, key, batch_number)
    return [
        ("submitter", anchor.submitter),
        ("transaction", anchor.transaction_id),
        ("timestamp", anchor.timestamp.isoformat()),
        ("hash", anchor.hash),
    ]


def _stock_rows(facade: Any, holder: str, product_id: str, batch_number: str) -> Rows:
    stock = facade.read_stock(product_id, batch_number, holder=holder)
    names = ("received", "transferred", "sold", "sold_remote", "dispensed")
    return [(name, str(getattr(stock, name))) for name in names]


def _invoice(facade: Any, number: str) -> list[Section]:
    sections = [_found("anchor", lambda: _anchor_rows(facade, "invoice", number))]
    try:
        invoice = facade.read_invoice(number)
    except RecordNotFound:
        return [*sections, Section("invoice", missing="not on the ledger")]
    rows: Rows = [
        ("kind", invoice.kind.value),
        ("seller → buyer", f"{invoice.seller} → {invoice.buyer}"),
        ("issue date", invoice.issue_date.isoformat()),
        ("total", str(invoice.total)),
        ("shipment", f"{invoice.shipment.shipment_id} at {invoice.shipment.shipped_at.isoformat()}"),
    ]
    rows += [
        (f"line {i + 1}", f"{line.product_id}/{line.batch_number} × {line.quantity} @ {line.unit_price}")
        for i, line in enumerate(invoice.lines)
    ]
    sections.append(Section("invoice", rows))
    sections.append(_found("receipt", lambda: _receipt_rows(facade, number)))
    batches = sorted({(line.product_id, line.batch_number) for line in invoice.lines})
    for holder in (invoice.seller, invoice.buyer):
        for product_id, batch_number in batches:
            sections.append(_stock_section(facade, holder, product_id, batch_number))
    return sections


def _stock_section(facade: Any, holder: str, product_id: str, batch_number: str) -> Section:
    return _found(
        f"stock of {holder}: {product_id}/{batch_number}",
        lambda: _stock_rows(facade, holder, product_id, batch_number),
    )


def _receipt_rows(facade: Any, number: str) -> Rows:
    receipt = facade.read_receipt(number)
    rows: Rows = [
        ("receipt", receipt.receipt_id),
        ("receiver", receipt.receiver),
        ("received at", receipt.received_at.isoformat()),
    ]
    rows += [
        (f"line {i + 1}", f"{line.product_id}/{line.batch_number} × {line.quantity}")
        for i, line in enumerate(receipt.lines)
    ]
    return rows


def _prescription(facade: Any, prescription_id: str) -> list[Section]:
    sections = [_found("anchor", lambda: _anchor_rows(facade, "prescription", prescription_id))]
    try:
        prescription = facade.read_prescription(prescription_id)
    except RecordNotFound:
        return [*sections, Section("prescription", missing="not on the ledger")]
    rows: Rows = [
        ("hospital", prescription.hospital),
        ("prescribed at", prescription.prescribed_at.isoformat()),
    ]
    rows += [
        (f"item {i + 1}", f"{item.product_id}/{item.batch_number} × {item.quantity}")
        for i, item in enumerate(prescription.items)
    ]
    sections.append(Section("prescription", rows))
    codes: Rows = []
    for item in prescription.items:
        for code in item.trace_codes:
            status = facade.trace_code_status(code)
            where = f"{status.hospital} ({status.prescription_id})" if status.dispensed else "not dispensed"
            codes.append((code, where))
    if codes:
        sections.append(Section("traceability codes", codes))
    return sections


def _batch(facade: Any, product_id: str, batch_number: str) -> list[Section]:
    def batch_rows() -> Rows:
        batch = facade.read_batch(product_id, batch_number)
        return [
            ("manufacturer", batch.manufacturer),
            ("produced", batch.production_date.isoformat()),
            ("expiry", batch.expiry_date.isoformat()),
            ("quantity", str(batch.quantity)),
        ]

    def recall_rows() -> Rows:
        recall = facade.read_recall(product_id, batch_number)
        return [(name, str(value)) for name, value in recall.to_dict().items()]

    sections = [_found("batch", batch_rows), _found("recall", recall_rows)]
    if sections[0].rows:
        sections.append(_stock_section(facade, sections[0].rows[0][1], product_id, batch_number))
    return sections
