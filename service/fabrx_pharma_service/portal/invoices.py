"""A supplier's invoices and where each stands on the ledger: the distributor's (or manufacturer's) page.

For each invoice the supplier issued or received, :func:`invoice_status` answers from the member's own
peer (or the regulator's, which answers each record's parties, while the own one keeps no copy):

* is the invoice genuine: its private copy hashes to the hash on its public anchor;
* has the buyer recorded its receipt, and do invoice, shipment and receipt agree (票货同行): the same
  quantity per batch on all three, the same traceability codes shipped and received.

Only reads; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fabrx_pharma import Invoice, Receipt, record_hash
from fabrx_pharma.trade import quantities

__all__ = ["InvoiceStatus", "ReceiptState", "invoice_status"]

ReceiptState = Literal["matches", "mismatch", "missing"]


@dataclass(frozen=True)
class InvoiceStatus:
    """Where one invoice stands on the ledger, for one of its parties."""

    number: str
    kind: str
    seller: str
    buyer: str
    issue_date: date
    total: Decimal
    genuine: bool
    """The private copy the peer answered with hashes to the invoice's public anchor."""
    receipt: ReceiptState
    problems: tuple[str, ...] = ()
    """What disagrees, in words (batch quantities, traceability codes, a changed copy)."""

    @property
    def verified(self) -> bool:
        return self.genuine and self.receipt == "matches"

    def direction(self, party_id: str) -> Literal["sale", "purchase"]:
        return "sale" if self.seller == party_id else "purchase"


def _receipt_problems(invoice: Invoice, receipt: Receipt) -> list[str]:
    problems = []
    invoiced, shipped, received = (
        quantities(invoice.lines),
        quantities(invoice.shipment.lines),
        quantities(receipt.lines),
    )
    for product_id, batch_number in sorted(set(invoiced) | set(shipped) | set(received)):
        key = (product_id, batch_number)
        counts = (invoiced.get(key, 0), shipped.get(key, 0), received.get(key, 0))
        if len(set(counts)) > 1:
            problems.append(
                f"{product_id}/{batch_number}: invoiced {counts[0]}, shipped {counts[1]}, "
                f"received {counts[2]}"
            )
    received_codes = {code for line in receipt.lines for code in line.trace_codes}
    shipped_codes = invoice.shipment.trace_codes
    if received_codes != shipped_codes:
        problems.append(
            f"{len(shipped_codes - received_codes)} shipped traceability code(s) not received, "
            f"{len(received_codes - shipped_codes)} received but not shipped"
        )
    return problems


def invoice_status(facade: Any, number: str) -> InvoiceStatus:
    """Read invoice ``number``, its anchor and its receipt through ``facade``; say where it stands.

    Raises what the facade raises: ``RecordNotFound`` for an unknown number, ``AccessRefused``
    (``PRIVATE_DATA``) for an invoice of other parties.
    """
    from fabrx.pharma import RecordNotFound

    invoice: Invoice = facade.read_invoice(number)
    key = str(invoice.number)
    anchor = facade.read_anchor("invoice", key)
    genuine = anchor.hash == record_hash(invoice)
    problems = [] if genuine else ["the invoice differs from its hash on the ledger"]
    state: ReceiptState
    try:
        receipt: Receipt = facade.read_receipt(key)
    except RecordNotFound:
        state = "missing"
    else:
        mismatches = _receipt_problems(invoice, receipt)
        if facade.read_anchor("receipt", key).hash != record_hash(receipt):
            mismatches.append("the receipt differs from its hash on the ledger")
        problems += mismatches
        state = "mismatch" if mismatches else "matches"
    return InvoiceStatus(
        number=key,
        kind=invoice.kind.value,
        seller=invoice.seller,
        buyer=invoice.buyer,
        issue_date=invoice.issue_date,
        total=invoice.total,
        genuine=genuine,
        receipt=state,
        problems=tuple(problems),
    )
