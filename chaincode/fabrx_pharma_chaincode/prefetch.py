"""Which keys a write will read, guessed from the record before the rules run.

A peer answers every chaincode read with one message on the chaincode stream, and the pharma rules read
key by key: a five-line second invoice needs about twenty public keys and five stock counters. Fabric
3.x also answers a list of keys in one message (``GetStateMultiple``), so the contract asks for the
keys listed here in one request for the public state and one per private data collection, and the
rules then find them in the transaction's read cache (see
:class:`~fabrx_pharma_chaincode.contract.StubStore`).

The guess changes no result: a key it misses is still read when the rules ask for it, one round trip
later. It lists the keys the write pipeline reads whenever the record passes its first checks (the
submitter's party and the policy, the record's own key, its parties, products, batches and recalls, the
submitter's own stock counters, dispensed traceability codes), so it adds next to nothing to the
transaction's read set that a valid write would not read anyway. The one guess that can be wrong: a
first invoice issued by a party that counts as the manufacturer (a sales company) draws on the
manufacturer's stock, not on the seller's own counters that were fetched; those stay unused.

Private keys are the submitter's own books (stock counters, first receipts of a batch, the receipts that
brought in the codes it dispenses), which its host's collection and the regulator's both keep: the
contract fetches them from the collection of the peer it runs on, when the chaincode server knows that
peer's organization (the hash reads of the other copy still go one by one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Invoice,
    InvoiceKind,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    Role,
)

from .layout import (
    POLICY_VERSIONS_KEY,
    REGULATOR_KEY,
    Anchor,
    dispensed_key,
    first_received_key,
    received_key,
    record_key,
    stock_key,
)
from .store import composite_key

__all__ = ["ReadPlan", "keeps_books", "likely_reads"]


@dataclass
class ReadPlan:
    """Keys to fetch before a transaction runs: public keys, and the submitter's own private keys."""

    public: list[str] = field(default_factory=list)
    private: list[str] = field(default_factory=list)

    def add_public(self, key: str) -> None:
        if key not in self.public:
            self.public.append(key)

    def add_private(self, key: str) -> None:
        if key not in self.private:
            self.private.append(key)


def _goods(record: AnyRecord) -> list[tuple[str, str]]:
    """The (product, batch) pairs a record moves."""
    if isinstance(record, Invoice | Receipt):
        return [(line.product_id, line.batch_number) for line in record.lines]
    if isinstance(record, Prescription):
        return [(item.product_id, item.batch_number) for item in record.items]
    if isinstance(record, Batch):
        return [(record.product_id, record.batch_number)]
    return []


def _parties(record: AnyRecord) -> Iterable[str]:
    if isinstance(record, Invoice):
        return (record.seller, record.buyer)
    if isinstance(record, Receipt):
        return (record.receiver,)
    if isinstance(record, Product | Batch):
        return (record.manufacturer,)
    if isinstance(record, Prescription | AdverseEvent):
        return (record.hospital,)
    if isinstance(record, Party):
        return (record.party_id,)
    return ()


def _reads_first_receipt(record: AnyRecord) -> bool:
    """Whether the pipeline reads the submitter's first receipt of each batch: a sale by a distributor
    (second or transfer invoice, not dated before it) and a receipt (kept up to date). Only keys the
    pipeline surely reads are fetched: a private key read by the prefetch alone would differ between
    the two endorsers (each reads its own copy)."""
    if isinstance(record, Invoice):
        return record.kind in (InvoiceKind.SECOND, InvoiceKind.TRANSFER)
    return isinstance(record, Receipt)


def likely_reads(record: AnyRecord, submitter: str) -> ReadPlan:
    """The keys the write pipeline reads for ``record`` submitted by a client acting for ``submitter``."""
    plan = ReadPlan()
    plan.add_public(composite_key("party", submitter))
    plan.add_public(POLICY_VERSIONS_KEY)
    plan.add_public(REGULATOR_KEY)
    plan.add_public(record_key(record))
    if isinstance(record, Receipt):
        plan.add_public(composite_key("invoice", str(record.invoice_number)))
    if isinstance(record, AdverseEvent):
        plan.add_public(composite_key("prescription", record.prescription_id))
    for msp_id in _parties(record):
        plan.add_public(composite_key("party", msp_id))
    if isinstance(record, Batch):
        plan.add_public(composite_key("product", record.product_id))
    if isinstance(record, Recall):
        plan.add_public(composite_key("batch", record.product_id, record.batch_number))
    if isinstance(record, Invoice | Prescription):
        # The rules check each line's product, batch and recall (rule: usable when sold or dispensed).
        for product_id, batch_number in _goods(record):
            plan.add_public(composite_key("product", product_id))
            plan.add_public(composite_key("batch", product_id, batch_number))
            plan.add_public(composite_key("recall", product_id, batch_number))
    if isinstance(record, Prescription):
        for item in record.items:
            for code in item.trace_codes:
                plan.add_public(dispensed_key(code))
    # Stock counters the submitter keeps: what it produces, sells, receives or dispenses; when it first
    # received a batch it sells or receives; which receipt brought in each code it dispenses.
    if not isinstance(record, Invoice) or record.seller == submitter:
        for product_id, batch_number in _goods(record):
            plan.add_private(stock_key(submitter, product_id, batch_number))
            if _reads_first_receipt(record):
                plan.add_private(first_received_key(submitter, product_id, batch_number))
    if isinstance(record, Prescription):
        for item in record.items:
            for code in item.trace_codes:
                plan.add_private(received_key(submitter, code))
    return plan


def keeps_books(party_anchor: bytes | None) -> bool:
    """Whether the submitter, by the party anchor read for it, keeps stock counters to prefetch.

    Only a registered manufacturer, distributor or hospital does; for an unregistered client the rules
    refuse the record by name before any private read.
    """
    if party_anchor is None:
        return False
    try:
        role = Anchor.from_json(party_anchor).public.get("role")
    except ValueError:
        return False  # a corrupt party record: the rules report it
    return role in (Role.MANUFACTURER.value, Role.DISTRIBUTOR.value, Role.HOSPITAL.value)
