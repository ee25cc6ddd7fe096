"""The regulator's queries: the whole ledger loaded into ``fabrx_pharma``'s analysis.

The regulator's implicit collection receives a copy of every private record, so on its peer the
chaincode can read every record. :func:`load_ledger` reads every anchor and the private copy it points
to, sorts them by their logical ``order`` (so each record comes after everything its write depended
on) and applies them to an :class:`fabrx_pharma.InMemoryLedger`; the report, traces and recall scope
are then the domain's own functions, written once for the chaincode and the SDK.

The cost grows with the ledger (every record is read per query); that suits a provincial pilot, and
an off-chain index fed by block events is the way past it. On the regulator's own peer the private
copies are read by one range read of its collection per record type (a few hundred records per round
trip) instead of one read per record (:func:`_regulator_copies`).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from fabrx_pharma import (
    RECORD_TYPES,
    AnyRecord,
    Finding,
    InMemoryLedger,
    Party,
    RecallScope,
    RecordError,
    RuleId,
    Trace,
    compliance_report,
    recall_scope,
    trace_prescription,
)
from fabrx_pharma.privacy import implicit_collection

from .errors import AccessDenied, ConfigurationError, NotFound, RecordRefused
from .layout import Anchor
from .ledger import ChaincodeLedger, SealedRecord
from .store import CollectionGone, NotHeldHere

__all__ = [
    "DIVERSION_RULES",
    "load_ledger",
    "regulator_recall_scope",
    "regulator_report",
    "regulator_trace",
]

DIVERSION_RULES = frozenset(
    {
        RuleId.DIVERSION,
        RuleId.TRACE_CODE_REUSED,
        RuleId.TRACE_CODE_NOT_RECEIVED,
        RuleId.CONSERVATION,
        RuleId.BUYER_SELLER_MATCH,
    }
)
"""Findings that signal diversion (串货), sales beyond stock, or resale of returned drugs (回流药)."""

_AFTER_ALL = sys.maxsize
"""The replay place of what happens after every record (a party made inactive)."""
_LOAD_ORDER = ("party", "product", "batch", "invoice", "receipt", "prescription", "adverse_event", "recall")


def load_ledger(ledger: ChaincodeLedger) -> InMemoryLedger:
    """Every record on the ledger, in write order with its transaction time, in an
    :class:`~fabrx_pharma.InMemoryLedger` with every policy in force since bootstrap.

    Raises :class:`~fabrx_pharma_chaincode.errors.AccessDenied` (``PRIVATE_DATA``) if a private copy is
    not readable here (not a regulator, or not yet received by this peer).
    """
    entries: list[tuple[int, str, str, AnyRecord, datetime]] = []
    for record_type in _LOAD_ORDER:
        cls = RECORD_TYPES[record_type]
        copies = _regulator_copies(ledger, record_type)
        for key, value in ledger.store.scan_state(record_type):
            try:
                anchor = Anchor.from_json(value)
                if not anchor.collections:
                    record = cls.from_dict(dict(anchor.public))
                else:
                    record = _copy_of(anchor, copies.get(ledger.key_of(anchor)), cls.from_json)
                    if record is None:
                        record = ledger.private_record(anchor, cls.from_json)
            except SealedRecord as sealed:
                raise AccessDenied(
                    "PRIVATE_DATA", record_type, f"{sealed}; the report needs every record"
                ) from None
            except ValueError as exc:
                raise ConfigurationError("<ledger>", f"{record_type} {key!r} cannot be read: {exc}") from exc
            if isinstance(record, Party) and not record.active:
                # The state keeps a party's latest registration only, at its first place in the replay.
                # Made inactive later, it was active for everything it recorded (writes are refused
                # once it is inactive): replay it active there, and inactive after every record.
                active = replace(record, active=True)
                entries.append(
                    (anchor.order, anchor.transaction_id, anchor.submitter, active, anchor.timestamp)
                )
                entries.append(
                    (_AFTER_ALL, anchor.transaction_id, anchor.submitter, record, anchor.timestamp)
                )
                continue
            entries.append((anchor.order, anchor.transaction_id, anchor.submitter, record, anchor.timestamp))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    # Each record keeps its transaction time, so the report judges it by the policy in force then.
    memory = InMemoryLedger(policy=ledger.policies)
    for _, _, submitter, record, written_at in entries:
        memory.apply(record, submitter=submitter, written_at=written_at)
    return memory


def _regulator_copies(ledger: ChaincodeLedger, record_type: str) -> dict[str, bytes]:
    """Every private copy of ``record_type`` in the regulator's collection, by key, when this peer is the
    regulator's (it stores that collection); else nothing, and each record is read on its own.

    A query's read set is not checked at commit, so reading the regulator's copies in one range read
    (instead of each copy with hash reads of the others, as a write's checks must) changes no answer:
    :func:`_copy_of` still takes a copy only when it matches its anchor's hash."""
    regulator = ledger.regulator_msp_id
    if ledger.store.peer_msp_id != regulator:
        return {}
    try:
        return dict(ledger.store.scan_private_data(implicit_collection(regulator), record_type))
    except (NotHeldHere, CollectionGone):
        return {}


def _copy_of(anchor: Anchor, value: bytes | None, read: Callable[[bytes], AnyRecord]) -> AnyRecord | None:
    """The record in ``value`` if it is the copy ``anchor`` names (same SHA-256), else ``None`` (the
    caller reads the copy on its own way, which says why it cannot when it cannot)."""
    if value is None or hashlib.sha256(value).hexdigest() != anchor.hash:
        return None
    try:
        return read(value)
    except RecordError:
        return None


def regulator_report(memory: InMemoryLedger, *, as_of: datetime | None) -> list[Finding]:
    """The compliance report: every finding with its reason (see ``fabrx_pharma.compliance_report``)."""
    return compliance_report(memory, as_of=as_of)


def regulator_trace(
    memory: InMemoryLedger, *, prescription_id: str | None, patient_pseudonym: str | None
) -> tuple[Trace, ...]:
    """Traces of one prescription or one patient pseudonym. Raises ``RecordRefused`` unless exactly one
    of the two is given."""
    try:
        return trace_prescription(
            memory, prescription_id=prescription_id, patient_pseudonym=patient_pseudonym
        )
    except ValueError as exc:
        raise RecordRefused("trace query", [("prescription_id", str(exc))]) from None


def regulator_recall_scope(memory: InMemoryLedger, product_id: str, batch_number: str) -> RecallScope:
    """The recall scope of a batch. Raises ``NotFound`` for an unknown batch."""
    try:
        return recall_scope(memory, product_id, batch_number)
    except KeyError:
        raise NotFound("batch_number", f"no batch {product_id}/{batch_number} is recorded") from None
