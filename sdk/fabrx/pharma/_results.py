"""Typed results of the pharma transactions, parsed from the chaincode's JSON.

Records come back as ``fabrx_pharma`` records; the regulator's results as ``fabrx_pharma``'s own
:class:`~fabrx_pharma.Finding`, :class:`~fabrx_pharma.Trace` and :class:`~fabrx_pharma.RecallScope`,
so the domain's ``render_*`` functions print them. What only the chaincode produces (anchors, the
hospital's verification, a traceability code's status) has its own small frozen classes here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fabrx_pharma import (
    Batch,
    Finding,
    Holding,
    InvoiceHop,
    InvoiceKind,
    Party,
    PrescriptionHit,
    Recall,
    RecallScope,
    Role,
    RuleId,
    Severity,
    StockPosition,
    Trace,
    TwoInvoicePolicy,
)
from fabrx_pharma.policy import policy_from_json
from fabrx_pharma.verification import CopyCheck, Discrepancy, InvoiceVerification

__all__ = [
    "Anchor",
    "Change",
    "CopyCheck",
    "Discrepancy",
    "InvoiceVerification",
    "TraceCodeStatus",
    "parse_changes",
    "parse_findings",
    "parse_recall_scope",
    "parse_stock",
    "parse_traces",
]


@dataclass(frozen=True)
class Anchor:
    """The public trace a write leaves: who wrote what, when, its hash and where the private copies are."""

    record_type: str
    key: str
    submitter: str
    """Party id of the client that wrote it (its ``fabrx.party`` attribute, or its MSP id)."""
    transaction_id: str
    timestamp: datetime
    hash: str
    """SHA-256 of the record's canonical JSON (``fabrx_pharma.record_hash``)."""
    collections: tuple[str, ...]
    """The implicit collections keeping the full record (``_implicit_org_<MSP>`` of the author's host
    and of the regulator); empty for a record public whole."""
    parties: tuple[str, ...]
    """The parties the private copy concerns and who may read it (an invoice's seller and buyer, the
    author of any other record); regulators read everything."""
    order: int
    public: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: bytes) -> Anchor:
        return cls.from_dict(json.loads(data))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Anchor:
        return cls(
            record_type=str(raw["record_type"]),
            key=str(raw["key"]),
            submitter=str(raw["submitter"]),
            transaction_id=str(raw["transaction_id"]),
            timestamp=datetime.fromisoformat(raw["timestamp"]),
            hash=str(raw["hash"]),
            collections=tuple(str(c) for c in raw.get("collections", ())),
            parties=tuple(str(p) for p in raw.get("parties", ())),
            order=int(raw["order"]),
            public=dict(raw.get("public", {})),
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "record_type": self.record_type,
            "key": self.key,
            "submitter": self.submitter,
            "transaction_id": self.transaction_id,
            "timestamp": self.timestamp.isoformat(),
            "hash": self.hash,
            "collections": list(self.collections),
            "parties": list(self.parties),
        }


@dataclass(frozen=True)
class Change:
    """One committed change of a ledger key, from a regulator's history query (newest first)."""

    transaction_id: str
    timestamp: datetime | None
    """The transaction's timestamp: for a policy, the moment from which it is in force."""
    is_delete: bool
    value: Mapping[str, Any] | None
    """The value that transaction wrote, as JSON (``None`` for a delete)."""

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Change:
        moment = raw.get("timestamp")
        value = raw.get("value")
        return cls(
            transaction_id=str(raw["transaction_id"]),
            timestamp=datetime.fromisoformat(moment) if moment else None,
            is_delete=bool(raw.get("is_delete", False)),
            value=dict(value) if isinstance(value, Mapping) else None,
        )

    @property
    def policy(self) -> TwoInvoicePolicy:
        """The policy a change of the policy set. Raises ``ValueError`` for another kind of change."""
        if self.value is None:
            raise ValueError("a deleted value holds no policy")
        return policy_from_json(json.dumps(self.value))

    @property
    def anchor(self) -> Anchor:
        """The anchor a change of a party or record wrote. Raises ``KeyError`` for another kind."""
        if self.value is None:
            raise KeyError("a deleted value holds no anchor")
        return Anchor.from_dict(self.value)

    @property
    def party(self) -> Party:
        """The party as a change of its registration wrote it."""
        return Party.from_dict(dict(self.anchor.public))


def parse_changes(data: bytes) -> list[Change]:
    return [Change.from_dict(raw) for raw in json.loads(data)]


@dataclass(frozen=True)
class TraceCodeStatus:
    """Whether a package's traceability code was already dispensed, and where (回流药 check)."""

    trace_code: str
    dispensed: bool
    prescription_id: str | None
    hospital: str | None


def parse_findings(data: bytes) -> list[Finding]:
    return [
        Finding(RuleId(f["rule"]), Severity(f["severity"]), str(f["subject"]), str(f["reason"]))
        for f in json.loads(data)
    ]


def _hop(raw: Mapping[str, Any]) -> InvoiceHop:
    received = raw.get("received_at")
    return InvoiceHop(
        number=str(raw["number"]),
        kind=InvoiceKind(raw["kind"]),
        seller=str(raw["seller"]),
        buyer=str(raw["buyer"]),
        issue_date=date.fromisoformat(raw["issue_date"]),
        received_at=datetime.fromisoformat(received) if received else None,
    )


def _recall(raw: object) -> Recall | None:
    return None if raw is None else Recall.from_dict(raw)


def parse_traces(data: bytes) -> tuple[Trace, ...]:
    traces = []
    for raw in json.loads(data):
        traces.append(
            Trace(
                prescription_id=str(raw["prescription_id"]),
                hospital=str(raw["hospital"]),
                patient_pseudonym=str(raw["patient_pseudonym"]),
                prescribed_at=datetime.fromisoformat(raw["prescribed_at"]),
                product_id=str(raw["product_id"]),
                batch_number=str(raw["batch_number"]),
                quantity=int(raw["quantity"]),
                trace_codes=tuple(raw.get("trace_codes", ())),
                batch=None if raw.get("batch") is None else Batch.from_dict(raw["batch"]),
                manufacturer=None
                if raw.get("manufacturer") is None
                else Party.from_dict(raw["manufacturer"]),
                chains=tuple(tuple(_hop(hop) for hop in chain) for chain in raw.get("chains", ())),
                adverse_events=tuple(raw.get("adverse_events", ())),
                recall=_recall(raw.get("recall")),
            )
        )
    return tuple(traces)


def _holding(raw: Mapping[str, Any]) -> Holding:
    role = raw.get("role")
    return Holding(
        party_id=str(raw["party_id"]),
        role=Role(role) if role else None,
        received=int(raw["received"]),
        passed_on=int(raw["passed_on"]),
        on_hand=int(raw["on_hand"]),
    )


def parse_recall_scope(data: bytes) -> RecallScope:
    raw = json.loads(data)
    return RecallScope(
        product_id=str(raw["product_id"]),
        batch_number=str(raw["batch_number"]),
        manufacturer=str(raw["manufacturer"]),
        produced=int(raw["produced"]),
        distributors=tuple(_holding(h) for h in raw["distributors"]),
        hospitals=tuple(_holding(h) for h in raw["hospitals"]),
        prescriptions=tuple(
            PrescriptionHit(
                prescription_id=str(p["prescription_id"]),
                hospital=str(p["hospital"]),
                patient_pseudonym=str(p["patient_pseudonym"]),
                prescribed_at=datetime.fromisoformat(p["prescribed_at"]),
                quantity=int(p["quantity"]),
            )
            for p in raw["prescriptions"]
        ),
        invoices=tuple(raw["invoices"]),
        adverse_events=tuple(raw["adverse_events"]),
        recall=_recall(raw.get("recall")),
    )


def parse_stock(data: bytes) -> StockPosition:
    return StockPosition.from_counters(json.loads(data))
