"""The ledger layout: which key holds what, and the public anchor every record leaves.

Public state (world state, readable by every channel member)::

    \\x00party\\x00<msp_id>\\x00                      anchor with the whole Party
    \\x00product\\x00<product_id>\\x00                anchor with the whole Product
    \\x00batch\\x00<product_id>\\x00<batch>\\x00        anchor with the Batch minus raw-material lots
    \\x00invoice\\x00<number>\\x00                    anchor: number, kind, seller, buyer, issue date
    \\x00receipt\\x00<invoice number>\\x00            anchor: receipt id, receiver, received at
    \\x00prescription\\x00<prescription_id>\\x00      anchor: prescription id, hospital
    \\x00adverse_event\\x00<report_id>\\x00           anchor: report id, hospital, product, batch, time
    \\x00recall\\x00<product_id>\\x00<batch>\\x00       anchor with the whole Recall
    \\x00dispensed\\x00<sha256 of trace code>\\x00    prescription id and hospital that dispensed it
    \\x00config\\x00policy\\x00                        the TwoInvoicePolicy in force

Private data (see :mod:`~fabrx_pharma.privacy` for the collections): a record's private copy
sits under the same key as its anchor, and its value is the record's canonical JSON, so Fabric's
private data hash of that key *is* the record hash (``fabrx_pharma.record_hash``). Also::

    books_<X>:   \\x00stock\\x00<product_id>\\x00<batch>\\x00           X's counters (all but ``purchased``)

What a buyer purchased is not kept apart: its invoices, in the pair's trade collection, are the record.
Summing them needs a private range query, and Fabric refuses every write in a transaction that ran one
("Transaction has already performed queries on pvt data"), so the chaincode sums a buyer's purchases only
when it is about to refuse a sale it does not have the stock for (and in ``read_stock``).

Every anchor carries ``order``, a logical clock: larger than the order of everything the transaction
read, and at least the transaction time in microseconds. Replaying records by order therefore never
puts a record before one it depended on, whatever the clocks of the submitting clients.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

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
)

from .store import composite_key

__all__ = [
    "POLICY_KEY",
    "Anchor",
    "dispensed_key",
    "order_after",
    "public_part",
    "record_key",
    "stock_key",
]

POLICY_KEY = composite_key("config", "policy")


def record_key(record: AnyRecord) -> str:
    """The key of a record's anchor (public) and of its private copy."""
    if isinstance(record, Party):
        return composite_key("party", record.msp_id)
    if isinstance(record, Product):
        return composite_key("product", record.product_id)
    if isinstance(record, Batch):
        return composite_key("batch", record.product_id, record.batch_number)
    if isinstance(record, Invoice):
        return composite_key("invoice", str(record.number))
    if isinstance(record, Receipt):
        return composite_key("receipt", str(record.invoice_number))
    if isinstance(record, Prescription):
        return composite_key("prescription", record.prescription_id)
    if isinstance(record, AdverseEvent):
        return composite_key("adverse_event", record.report_id)
    return composite_key("recall", record.product_id, record.batch_number)


def stock_key(product_id: str, batch_number: str) -> str:
    return composite_key("stock", product_id, batch_number)


def dispensed_key(trace_code: str) -> str:
    """The public key of a dispensed traceability code: its SHA-256, so the index lists no codes."""
    return composite_key("dispensed", hashlib.sha256(trace_code.encode("utf-8")).hexdigest())


def public_part(record: AnyRecord) -> dict[str, object]:
    """What of a record the public state shows: supervision data without trade terms or patients.

    Parties, products and recalls are public whole: every member needs them to check counterparties,
    products and batch status. A batch is public without its raw-material lots (the manufacturer's
    supplier data). Of a trade record only who, what kind and when; of a prescription only its id and
    hospital (duplicate ids are refused across hospitals); of an adverse event which batch and when,
    so the manufacturer learns of it, but no patient and no description.
    """
    if isinstance(record, Party | Product | Recall):
        return record.to_dict()
    if isinstance(record, Batch):
        return {**record.to_dict(), "raw_material_lots": []}
    if isinstance(record, Invoice):
        return {
            "number": str(record.number),
            "kind": record.kind.value,
            "seller": record.seller,
            "buyer": record.buyer,
            "issue_date": record.issue_date.isoformat(),
        }
    if isinstance(record, Receipt):
        return {
            "invoice_number": str(record.invoice_number),
            "receipt_id": record.receipt_id,
            "receiver": record.receiver,
            "received_at": record.received_at.isoformat(),
        }
    if isinstance(record, Prescription):
        return {"prescription_id": record.prescription_id, "hospital": record.hospital}
    return {
        "report_id": record.report_id,
        "hospital": record.hospital,
        "product_id": record.product_id,
        "batch_number": record.batch_number,
        "reported_at": record.reported_at.isoformat(),
    }


def order_after(horizon: int, moment: datetime) -> int:
    """The logical order of a write made at ``moment`` after reading state up to ``horizon``."""
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return max(horizon + 1, micros)


def _dumps(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Anchor:
    """The public trace of one record: who wrote it, when, its hash, and where its private copy is."""

    record_type: str
    key: str
    """The record's key text: its ``record.key`` (an invoice number, ``AMOX/A1``), except for a receipt,
    which is found by the number of the invoice it receives."""
    submitter: str
    """MSP id of the client that wrote it."""
    order: int
    transaction_id: str
    timestamp: datetime
    """The transaction timestamp."""
    hash: str
    """SHA-256 of the record's canonical JSON (64 hex digits); for a batch, of the full batch."""
    collection: str | None
    """Where the private copy is, or ``None`` for a record that is public whole."""
    owners: tuple[str, ...]
    """The non-regulator parties whose collection holds the private copy (a pair, or a books holder)."""
    public: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    """See :func:`public_part`."""

    def to_dict(self) -> dict[str, object]:
        return {
            "record_type": self.record_type,
            "key": self.key,
            "submitter": self.submitter,
            "order": self.order,
            "transaction_id": self.transaction_id,
            "timestamp": self.timestamp.isoformat(),
            "hash": self.hash,
            "collection": self.collection,
            "owners": list(self.owners),
            "public": dict(self.public),
        }

    def to_json(self) -> bytes:
        return _dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes) -> Anchor:
        """Read an anchor this chaincode wrote. Raises ``ValueError`` (with its cause) if it is corrupt."""
        try:
            raw = json.loads(data)
            return cls(
                record_type=str(raw["record_type"]),
                key=str(raw["key"]),
                submitter=str(raw["submitter"]),
                order=int(raw["order"]),
                transaction_id=str(raw["transaction_id"]),
                timestamp=datetime.fromisoformat(raw["timestamp"]),
                hash=str(raw["hash"]),
                collection=None if raw["collection"] is None else str(raw["collection"]),
                owners=tuple(str(o) for o in raw["owners"]),
                public=MappingProxyType(dict(raw["public"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"corrupt anchor on the ledger: {exc}") from exc
