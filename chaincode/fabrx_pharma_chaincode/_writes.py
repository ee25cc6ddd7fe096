"""Planning a record's writes: the anchor, the private copy, stock and indexes, computed before any put.

The service checks a record, then asks :func:`plan_writes` for everything the transaction will write.
Planning reads (stock positions, the invoice a receipt refers to) but never writes, so a refusal found
while planning still leaves the store untouched; :meth:`WritePlan.apply` then puts everything at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    StockPosition,
    canonical_json,
    record_hash,
)
from fabrx_pharma.privacy import books_collection, trade_collection, trade_pair
from fabrx_pharma.records import quantities
from fabrx_pharma.stock import StockKey, invoice_outflow, stock_effects, stock_holder

from .errors import ConfigurationError
from .layout import Anchor, dispensed_key, order_after, public_part, record_key, stock_key
from .ledger import ChaincodeLedger, stock_to_json
from .store import StateStore

__all__ = ["WritePlan", "anchor_key_text", "plan_writes"]


def anchor_key_text(record: AnyRecord) -> str:
    """The key text an anchor shows (see :attr:`Anchor.key`)."""
    return str(record.invoice_number) if isinstance(record, Receipt) else record.key


@dataclass
class WritePlan:
    """Everything one transaction writes, in the order it is put."""

    anchor: Anchor
    public: list[tuple[str, bytes]] = field(default_factory=list)
    private: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(collection, key, value)."""

    def apply(self, store: StateStore) -> None:
        """Put every planned value and set the transaction's event (the anchor, which is public)."""
        for key, value in self.public:
            store.put_state(key, value)
        for collection, key, value in self.private:
            store.put_private_data(collection, key, value)
        store.set_event(f"pharma.{self.anchor.record_type}", self.anchor.to_json())


def _home(record: AnyRecord, ledger: ChaincodeLedger) -> tuple[str | None, tuple[str, ...]]:
    """The collection holding the record's private copy and its non-regulator owners."""
    if isinstance(record, Party | Product | Recall):
        return None, ()
    if isinstance(record, Batch):
        return books_collection(record.manufacturer), (record.manufacturer,)
    if isinstance(record, Prescription | AdverseEvent):
        return books_collection(record.hospital), (record.hospital,)
    if isinstance(record, Invoice):
        seller, buyer = ledger.party(record.seller), ledger.party(record.buyer)
        if seller is None or buyer is None:
            raise ConfigurationError("seller", "an invoice between unregistered parties reached planning")
        first, second = trade_pair(seller, buyer)
        return trade_collection(first, second), (first.msp_id, second.msp_id)
    invoice = ledger.anchor("invoice", str(record.invoice_number))
    if invoice is None or invoice.collection is None:
        raise ConfigurationError("invoice_number", "a receipt for an unknown invoice reached planning")
    return invoice.collection, invoice.owners


def _stock_changes(record: AnyRecord, ledger: ChaincodeLedger) -> dict[StockKey, StockPosition]:
    """Stock positions the record changes in books the writer keeps.

    An invoice's purchase by its buyer is not one of them: the buyer's books are not the seller's to
    write, and the invoice itself, in the pair's trade collection, records the purchase.
    """
    if not isinstance(record, Invoice):
        return stock_effects(record, ledger)
    outflow = invoice_outflow(record, ledger.party(record.buyer))
    changes: dict[StockKey, StockPosition] = {}
    for (product_id, batch_number), quantity in quantities(record.lines).items():
        holder = stock_holder(record, ledger.batch(product_id, batch_number))
        key = (holder, product_id, batch_number)
        position = changes.get(key) or ledger.stock(holder, product_id, batch_number)
        changes[key] = position.with_outflow(quantity, outflow)
    return changes


def plan_writes(record: AnyRecord, ledger: ChaincodeLedger, *, submitter: str) -> WritePlan:
    """Plan the writes of a record that passed the rules.

    Raises :class:`~fabrx_pharma_chaincode.ledger.SealedRecord` if a stock position it must update is
    in books the submitter cannot read.
    """
    store = ledger.store
    collection, owners = _home(record, ledger)
    changes = _stock_changes(record, ledger)
    # Every read is done: the order is now after everything this write depended on.
    order = order_after(ledger.horizon, store.timestamp)
    if isinstance(record, Party):
        # An update keeps the party's place in the replay: records written since its registration
        # (its products, batches, invoices) must still come after it.
        registered = ledger.anchor("party", record.msp_id)
        if registered is not None:
            order = registered.order
    anchor = Anchor(
        record_type=record.RECORD_TYPE,
        key=anchor_key_text(record),
        submitter=submitter,
        order=order,
        transaction_id=store.transaction_id,
        timestamp=store.timestamp,
        hash=record_hash(record),
        collection=collection,
        owners=owners,
        public=public_part(record),
    )
    key = record_key(record)
    plan = WritePlan(anchor=anchor, public=[(key, anchor.to_json())])
    if collection is not None:
        plan.private.append((collection, key, canonical_json(record)))
    for (holder, product_id, batch_number), position in changes.items():
        plan.private.append(
            (
                books_collection(holder),
                stock_key(product_id, batch_number),
                stock_to_json(replace(position, purchased=0), order),
            )
        )
    if isinstance(record, Prescription):
        for item in record.items:
            for code in item.trace_codes:
                entry = {
                    "prescription_id": record.prescription_id,
                    "hospital": record.hospital,
                    "order": order,
                }
                plan.public.append((dispensed_key(code), json.dumps(entry, sort_keys=True).encode("utf-8")))
    return plan
