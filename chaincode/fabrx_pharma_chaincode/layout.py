"""The ledger layout: which key holds what, and the public anchor every record leaves.

Public state (world state, readable by every channel member)::

    \\x00party\\x00<party_id>\\x00                    anchor with the whole Party
    \\x00product\\x00<product_id>\\x00                anchor with the whole Product
    \\x00batch\\x00<product_id>\\x00<batch>\\x00        anchor with the Batch minus raw-material lots
    \\x00invoice\\x00<number>\\x00                    anchor: number, kind, seller, buyer, issue date
    \\x00receipt\\x00<invoice number>\\x00            anchor: receipt id, receiver, received at
    \\x00prescription\\x00<prescription_id>\\x00      anchor: prescription id, hospital
    \\x00adverse_event\\x00<report_id>\\x00           anchor: report id, hospital, product, batch, time
    \\x00recall\\x00<product_id>\\x00<batch>\\x00       anchor with the whole Recall
    \\x00dispensed\\x00<sha256 of trace code>\\x00    prescription id and hospital that dispensed it
    \\x00config\\x00policy\\x00                        the TwoInvoicePolicy in force (set last)
    \\x00config\\x00policy_versions\\x00               every policy in force since bootstrap, with its time

Private data (see :mod:`fabrx_pharma.privacy`): a record's private copy sits under the same key as its
anchor, in the implicit collection of its author's host and in the regulator's (``Anchor.collections``),
and its value is the record's canonical JSON, so Fabric's private data hash of that key *is* the record
hash (``fabrx_pharma.record_hash``). A buyer's copy of an invoice joins its host's collection with the
receipt. Also, in the holder's host collection and the regulator's::

    \\x00stock\\x00<holder>\\x00<product_id>\\x00<batch>\\x00    the holder's counters (all but ``purchased``)
    \\x00received\\x00<holder>\\x00<sha256 of trace code>\\x00   the invoice whose receipt brought the code in
    \\x00first_received\\x00<holder>\\x00<product_id>\\x00<batch>\\x00   when the holder first received it

A party's purchases are known to its own node once it records their receipt, so a stock counter says what
it received; what it bought but has not received is in its suppliers' and the regulator's copies only.

Config keys: ``config/policy`` (the policy in force: the one set last), ``config/policy_versions``
(``fabrx_pharma.PolicyHistory``: every policy set since bootstrap, each in force from its transaction's
time; writes are checked, and the regulator's report judges each record, by the version in force at the
record's transaction time) and ``config/regulator`` (the MSP id of the regulator's organization, set at
bootstrap: every copy also goes to its implicit collection).

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
    "POLICY_VERSIONS_KEY",
    "REGULATOR_KEY",
    "Anchor",
    "dispensed_key",
    "first_received_key",
    "order_after",
    "public_part",
    "received_key",
    "record_key",
    "stock_key",
]

POLICY_KEY = composite_key("config", "policy")
POLICY_VERSIONS_KEY = composite_key("config", "policy_versions")
REGULATOR_KEY = composite_key("config", "regulator")


def record_key(record: AnyRecord) -> str:
    """The key of a record's anchor (public) and of its private copy."""
    if isinstance(record, Party):
        return composite_key("party", record.party_id)
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


def stock_key(holder: str, product_id: str, batch_number: str) -> str:
    """The key of ``holder``'s counters of a batch (in its host's collection and the regulator's)."""
    return composite_key("stock", holder, product_id, batch_number)


def dispensed_key(trace_code: str) -> str:
    """The public key of a dispensed traceability code: its SHA-256, so the index lists no codes."""
    return composite_key("dispensed", _code_digest(trace_code))


def received_key(holder: str, trace_code: str) -> str:
    """The key saying which receipt brought a traceability code to ``holder`` (in its host's collection
    and the regulator's); the code appears as its SHA-256, like in the dispensing index."""
    return composite_key("received", holder, _code_digest(trace_code))


def first_received_key(holder: str, product_id: str, batch_number: str) -> str:
    """The key of the moment ``holder`` first received goods of a batch (in its host's collection and the
    regulator's)."""
    return composite_key("first_received", holder, product_id, batch_number)


def _code_digest(trace_code: str) -> str:
    return hashlib.sha256(trace_code.encode("utf-8")).hexdigest()


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
    """Party id of the client that wrote it (its ``fabrx.party`` attribute, or its MSP id)."""
    order: int
    transaction_id: str
    timestamp: datetime
    """The transaction timestamp."""
    hash: str
    """SHA-256 of the record's canonical JSON (64 hex digits); for a batch, of the full batch."""
    collections: tuple[str, ...]
    """The implicit collections holding the private copy (author's host, regulator); empty for a record
    the regulator wrote, which is public whole."""
    parties: tuple[str, ...]
    """The parties the private copy concerns and who may read it (an invoice's seller and buyer, the
    author of any other record); regulators may read everything."""
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
            "collections": list(self.collections),
            "parties": list(self.parties),
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
                collections=tuple(str(c) for c in raw["collections"]),
                parties=tuple(str(p) for p in raw["parties"]),
                public=MappingProxyType(dict(raw["public"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"corrupt anchor on the ledger: {exc}") from exc
