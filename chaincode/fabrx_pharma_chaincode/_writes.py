"""Planning a record's writes: the anchor, the private copies, stock and indexes, computed before any put.

The service checks a record, then asks :func:`plan_writes` for everything the transaction will write.
Planning reads (stock positions, the invoice a receipt refers to) but never writes, so a refusal found
while planning still leaves the store untouched; :meth:`WritePlan.apply` then puts everything at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from fabrx_pharma import (
    AnyRecord,
    Invoice,
    Party,
    Prescription,
    Receipt,
    Role,
    StockPosition,
    canonical_json,
    record_hash,
)
from fabrx_pharma.records import quantities
from fabrx_pharma.stock import StockKey, invoice_outflow, received_codes, stock_effects, stock_holder

from .errors import ConfigurationError
from .layout import (
    Anchor,
    dispensed_key,
    first_received_key,
    order_after,
    public_part,
    received_key,
    record_key,
    stock_key,
)
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
        """Put every planned value and set the transaction's event (the anchor, which is public; a
        transaction writing many records carries the last one's)."""
        for key, value in self.public:
            store.put_state(key, value)
        for collection, key, value in self.private:
            store.put_private_data(collection, key, value)
        store.set_event(f"pharma.{self.anchor.record_type}", self.anchor.to_json())


def _home(
    record: AnyRecord, ledger: ChaincodeLedger, author: Party
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The collections keeping the record's private copy, and the parties who may read it.

    A record the regulator writes is public whole. Any other is copied to its author's host and the
    regulator; an invoice concerns its seller and buyer, a receipt its receiver and the invoice's seller.
    """
    if author.role is Role.REGULATOR or isinstance(record, Party):
        return (), ()
    collections = ledger.copies_for(author.party_id)
    if isinstance(record, Invoice):
        return collections, (record.seller, record.buyer)
    if isinstance(record, Receipt):
        invoice = ledger.anchor("invoice", str(record.invoice_number))
        seller = str(invoice.public.get("seller")) if invoice is not None else ""
        return collections, tuple(p for p in (record.receiver, seller) if p)
    return collections, (author.party_id,)


def _stock_changes(record: AnyRecord, ledger: ChaincodeLedger) -> dict[StockKey, StockPosition]:
    """Stock positions the record changes.

    An invoice's purchase by its buyer is not one of them: the buyer's counters are not the seller's to
    write, and the buyer's node learns of the purchase with its receipt.
    """
    if not isinstance(record, Invoice):
        return {
            key: replace(position, purchased=0) for key, position in stock_effects(record, ledger).items()
        }
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
    author = ledger.party(submitter)
    if author is None:
        raise ConfigurationError(
            "party_id", f"a record of the unregistered party {submitter} reached planning"
        )
    collections, parties = _home(record, ledger, author)
    changes = _stock_changes(record, ledger)
    # Every read is done: the order is now after everything this write depended on.
    order = order_after(ledger.horizon, store.timestamp)
    if isinstance(record, Party):
        # An update keeps the party's place in the replay: records written since its registration
        # (its products, batches, invoices) must still come after it.
        registered = ledger.anchor("party", record.party_id)
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
        collections=collections,
        parties=parties,
        public=public_part(record),
    )
    key = record_key(record)
    plan = WritePlan(anchor=anchor, public=[(key, anchor.to_json())])
    value = canonical_json(record)
    plan.private.extend((collection, key, value) for collection in collections)
    if isinstance(record, Receipt):
        plan.private.extend(_buyer_copy(record, ledger, author))
        plan.private.extend(_receipt_index(record, ledger, order))
    for (holder, product_id, batch_number), position in changes.items():
        counters = stock_to_json(replace(position, purchased=0), order)
        for collection in ledger.copies_for(holder):
            plan.private.append((collection, stock_key(holder, product_id, batch_number), counters))
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


def _receipt_index(receipt: Receipt, ledger: ChaincodeLedger, order: int) -> list[tuple[str, str, bytes]]:
    """The receiver's entries of what it received: each traceability code the receipt brings in, and the
    batches it received for the first time (or earlier than before)."""
    holder = receipt.receiver
    collections = ledger.copies_for(holder)
    number = str(receipt.invoice_number)
    entries: list[tuple[str, bytes]] = []
    for code in received_codes(receipt, ledger.invoice(number)):
        value = {"invoice_number": number, "order": order}
        entries.append((received_key(holder, code), json.dumps(value, sort_keys=True).encode("utf-8")))
    for product_id, batch_number in dict.fromkeys(
        (line.product_id, line.batch_number) for line in receipt.lines
    ):
        earlier = ledger.first_received(holder, product_id, batch_number)
        if earlier is None or receipt.received_at < earlier:
            value = {"received_at": receipt.received_at.isoformat(), "order": order}
            key = first_received_key(holder, product_id, batch_number)
            entries.append((key, json.dumps(value, sort_keys=True).encode("utf-8")))
    return [(collection, key, value) for key, value in entries for collection in collections]


def _buyer_copy(receipt: Receipt, ledger: ChaincodeLedger, receiver: Party) -> list[tuple[str, str, bytes]]:
    """The invoice's copy for the buyer's own node, written with the receipt unless it is there already."""
    number = str(receipt.invoice_number)
    anchor = ledger.anchor("invoice", number)
    invoice = ledger.invoice(number)
    if anchor is None or invoice is None:
        raise ConfigurationError("invoice_number", "a receipt for an unknown invoice reached planning")
    own = ledger.copies_for(receiver.party_id)[0]
    if own in anchor.collections:
        return []
    return [(own, record_key(invoice), canonical_json(invoice))]
