"""How much of a batch each holder has, and which invoices may still draw on it.

Stock is counted per (holder, product, batch) in sales packages. Goods come in through production (the
manufacturer) or a recorded receipt, and go out on an invoice or by dispensing. Goods received on a
transfer invoice (an exemption's extra invoice) have already used up the chain: they may not be
transferred again, and goods received on a remote-delivery transfer may only reach remote facilities.
Because the uses each inflow allows are nested, an outflow fits iff three sums fit::

    transferred                               <= received directly
    transferred + sold to hospitals           <= received directly + via group transfer
    every outflow                             <= everything received

:func:`stock_effects` says how a record changes these counters; the in-memory ledger and the chaincode
both apply it, so the counting is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from .care import Prescription
from .parties import Party
from .production import Batch
from .trade import Exemption, Invoice, InvoiceKind, Receipt, quantities
from .view import LedgerView

__all__ = [
    "STOCK_COUNTERS",
    "Inflow",
    "Outflow",
    "StockKey",
    "StockPosition",
    "invoice_outflow",
    "received_codes",
    "stock_effects",
    "stock_holder",
]

StockKey = tuple[str, str, str]
"""(holder party id, product_id, batch_number)."""


class Inflow(StrEnum):
    """How goods came in, which decides what they may still be used for."""

    DIRECT = "direct"
    """Produced, or received on a first, second or direct invoice."""
    GROUP_TRANSFER = "group_transfer"
    """Received on a group-transfer invoice: may go to any hospital, not to another distributor."""
    REMOTE_TRANSFER = "remote_transfer"
    """Received on a remote-delivery transfer invoice: may only go to remote-area hospitals."""


class Outflow(StrEnum):
    """How goods go out."""

    ONWARD = "onward"
    """To a distributor (first or transfer invoice)."""
    HOSPITAL = "hospital"
    """To a hospital that is not in a remote area."""
    REMOTE_HOSPITAL = "remote_hospital"
    """To a remote township or village facility."""
    DISPENSED = "dispensed"
    """To a patient."""


@dataclass(frozen=True)
class StockPosition:
    """The counters of one (holder, product, batch); all in sales packages."""

    purchased: int = 0
    """Bought on invoices addressed to the holder, received or not (see :meth:`LedgerView.stock
    <fabrx_pharma.view.LedgerView.stock>` for when a view fills it)."""
    received: int = 0
    """Produced (manufacturer) or received on recorded receipts, from every inflow."""
    received_group: int = 0
    """The part of ``received`` that came on group-transfer invoices."""
    received_remote: int = 0
    """The part of ``received`` that came on remote-delivery transfer invoices."""
    transferred: int = 0
    sold: int = 0
    """Invoiced to hospitals outside remote areas."""
    sold_remote: int = 0
    dispensed: int = 0

    @property
    def out(self) -> int:
        """Everything that left: transferred, sold and dispensed."""
        return self.transferred + self.sold + self.sold_remote + self.dispensed

    @property
    def on_hand(self) -> int:
        """Received minus everything that left (negative only if a violation got onto the ledger)."""
        return self.received - self.out

    def available(self, outflow: Outflow) -> int:
        """How many packages may still leave by ``outflow`` without breaking conservation or the chain."""
        direct = self.received - self.received_group - self.received_remote
        free = self.on_hand
        for_hospitals = direct + self.received_group - self.transferred - self.sold
        if outflow is Outflow.ONWARD:
            return min(direct - self.transferred, for_hospitals, free)
        if outflow is Outflow.HOSPITAL:
            return min(for_hospitals, free)
        return free

    def counters(self) -> dict[str, int]:
        """Every counter by name (what the chaincode stores and clients read back)."""
        return {name: getattr(self, name) for name in STOCK_COUNTERS}

    @classmethod
    def from_counters(cls, raw: Mapping[str, Any]) -> StockPosition:
        """Read counters by name, as :meth:`counters` gives them; a missing counter is 0, other keys are
        ignored.

        Raises ``ValueError`` or ``TypeError`` for a counter that is not a whole number.
        """
        return cls(**{name: int(raw.get(name, 0)) for name in STOCK_COUNTERS})

    def with_purchase(self, quantity: int) -> StockPosition:
        return replace(self, purchased=self.purchased + quantity)

    def with_inflow(self, quantity: int, inflow: Inflow) -> StockPosition:
        return replace(
            self,
            received=self.received + quantity,
            received_group=self.received_group + (quantity if inflow is Inflow.GROUP_TRANSFER else 0),
            received_remote=self.received_remote + (quantity if inflow is Inflow.REMOTE_TRANSFER else 0),
        )

    def with_outflow(self, quantity: int, outflow: Outflow) -> StockPosition:
        counter = {
            Outflow.ONWARD: "transferred",
            Outflow.HOSPITAL: "sold",
            Outflow.REMOTE_HOSPITAL: "sold_remote",
            Outflow.DISPENSED: "dispensed",
        }[outflow]
        return replace(self, **{counter: getattr(self, counter) + quantity})


STOCK_COUNTERS: tuple[str, ...] = tuple(f.name for f in fields(StockPosition))
"""The names of :class:`StockPosition`'s counters, in declaration order."""


def stock_holder(invoice: Invoice, batch: Batch | None) -> str:
    """Whose stock an invoice line draws on.

    First and direct invoices draw on the batch's manufacturer, even when a party counting as the
    manufacturer (a controlled sales company, a sole general agent) issues them; others on the seller.
    """
    if invoice.kind in (InvoiceKind.FIRST, InvoiceKind.DIRECT) and batch is not None:
        return batch.manufacturer
    return invoice.seller


def invoice_outflow(invoice: Invoice, buyer: Party | None) -> Outflow:
    """How an invoice's goods leave the seller's stock."""
    if invoice.kind in (InvoiceKind.FIRST, InvoiceKind.TRANSFER):
        return Outflow.ONWARD
    return Outflow.REMOTE_HOSPITAL if buyer is not None and buyer.remote_area else Outflow.HOSPITAL


def received_codes(receipt: Receipt, invoice: Invoice | None) -> tuple[str, ...]:
    """The traceability codes a receipt brings into its receiver's hands.

    Those its lines list; a line that lists none receives the codes the invoice's shipment listed for that
    batch (the receiver took the packages as shipped). A hospital may dispense only codes it received
    this way (``INVOICE_GOODS_RECEIPT`` otherwise), so no hospital can dispense, and so block, a package
    another hospital holds.
    """
    shipped: dict[tuple[str, str], list[str]] = {}
    if invoice is not None:
        for line in invoice.shipment.lines:
            shipped.setdefault((line.product_id, line.batch_number), []).extend(line.trace_codes)
    codes: dict[str, None] = {}
    for line in receipt.lines:
        listed = line.trace_codes or shipped.get((line.product_id, line.batch_number), ())
        codes.update(dict.fromkeys(listed))
    return tuple(codes)


def _inflow(invoice: Invoice) -> Inflow:
    if invoice.kind is not InvoiceKind.TRANSFER:
        return Inflow.DIRECT
    return Inflow.GROUP_TRANSFER if invoice.exemption is Exemption.GROUP_TRANSFER else Inflow.REMOTE_TRANSFER


def stock_effects(record: object, view: LedgerView) -> dict[StockKey, StockPosition]:
    """Return the stock positions a record changes, as they are after it (before it is stored).

    Batches add their quantity to the manufacturer; invoices count a purchase for the buyer and an
    outflow for the seller's stock; receipts add to the receiver's stock; prescriptions count what was
    dispensed. Other records change no stock. Lookups the record needs but the view lacks (possible
    only for records that skipped the rules) fall back to the seller and a non-remote buyer.
    """
    changes: dict[StockKey, StockPosition] = {}

    def update(holder: str, product_id: str, batch_number: str) -> tuple[StockKey, StockPosition]:
        key = (holder, product_id, batch_number)
        return key, changes.get(key) or view.stock(holder, product_id, batch_number)

    if isinstance(record, Batch):
        key, position = update(record.manufacturer, record.product_id, record.batch_number)
        changes[key] = position.with_inflow(record.quantity, Inflow.DIRECT)
    elif isinstance(record, Invoice):
        outflow = invoice_outflow(record, view.party(record.buyer))
        for (product_id, batch_number), quantity in quantities(record.lines).items():
            holder = stock_holder(record, view.batch(product_id, batch_number))
            key, position = update(holder, product_id, batch_number)
            changes[key] = position.with_outflow(quantity, outflow)
            key, position = update(record.buyer, product_id, batch_number)
            changes[key] = position.with_purchase(quantity)
    elif isinstance(record, Receipt):
        invoice = view.invoice(str(record.invoice_number))
        inflow = _inflow(invoice) if invoice is not None else Inflow.DIRECT
        for (product_id, batch_number), quantity in quantities(record.lines).items():
            key, position = update(record.receiver, product_id, batch_number)
            changes[key] = position.with_inflow(quantity, inflow)
    elif isinstance(record, Prescription):
        for (product_id, batch_number), quantity in quantities(record.items).items():
            key, position = update(record.hospital, product_id, batch_number)
            changes[key] = position.with_outflow(quantity, Outflow.DISPENSED)
    return changes
