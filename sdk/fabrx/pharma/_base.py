"""What every role's facade shares: sending records, translating refusals, the common reads."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from fabrx_pharma import (
    AdverseEvent,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    RecordError,
    StockPosition,
    TwoInvoicePolicy,
    canonical_json,
)
from fabrx_pharma.policy import policy_from_json
from fabrx_pharma.records import Record

from ..errors import CommitError, GatewayError
from ._errors import PharmaError, invalid_record, refusal_from
from ._results import Anchor, TraceCodeStatus, parse_stock

__all__ = ["DEFAULT_REGULATOR", "RECORD_TRANSIENT_KEY", "ContractLike", "PharmaClient"]

R = TypeVar("R", bound=Record)

DEFAULT_REGULATOR = "RegulatorMSP"
SUBMIT_ATTEMPTS = 5
RETRY_DELAY = 0.2
"""Seconds before the first retry of a write whose endorsers were out of step (then 2x, 3x ...)."""
_MISMATCH = "ProposalResponsePayloads do not match"
_STALE_READS = frozenset({"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"})
RECORD_TRANSIENT_KEY = "record"
"""The transient-map key the chaincode reads private records from."""


class ContractLike(Protocol):
    """The part of :class:`fabrx.Contract` the facades use (a fake in tests, the real one otherwise)."""

    def submit_transaction(
        self,
        transaction_name: str,
        *args: str | bytes,
        transient: Mapping[str, str | bytes] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes: ...

    def evaluate_transaction(
        self,
        transaction_name: str,
        *args: str | bytes,
        transient: Mapping[str, str | bytes] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes: ...


def checked(record: R) -> R:
    """The record as the chaincode will read it, or :class:`RecordInvalid` listing every bad field.

    Records are plain dataclasses, so one built in code may hold values its ``from_dict`` would refuse;
    reading its own JSON back runs exactly the domain's validation, before anything is sent.
    """
    try:
        return type(record).from_dict(json.loads(canonical_json(record)))
    except RecordError as exc:
        raise invalid_record(exc) from None


def must_be(value: str, expected: str, field: str, what: str) -> None:
    """Refuse (rule ``ROLE``) a record that would be attributed to another organization than the caller's."""
    if value != expected:
        raise PharmaError(
            "ROLE",
            field,
            f"{what} is {value}, but this client acts for {expected}: only {value} can write it",
        )


class PharmaClient:
    """One organization's client of the pharma chaincode (the base of the role facades).

    ``contract`` is the ``pharma`` contract reached through the organization's own Gateway
    (``gateway.get_network("pharma").get_contract("pharma")``), ``msp_id`` the organization's MSP id
    and ``regulator_msp_id`` the regulator's, whose peer must endorse every write.

    Every method raises :class:`PharmaError` (or a subclass) when the chaincode refuses, with its rule
    and field; other :class:`~fabrx.GatewayError` (a peer down) and :class:`~fabrx.CommitError`
    (e.g. ``MVCC_READ_CONFLICT``: retry) pass through unchanged.
    """

    def __init__(
        self, contract: ContractLike, msp_id: str, *, regulator_msp_id: str = DEFAULT_REGULATOR
    ) -> None:
        self._contract = contract
        self._msp_id = msp_id
        self._regulator_msp_id = regulator_msp_id

    @property
    def msp_id(self) -> str:
        return self._msp_id

    @property
    def regulator_msp_id(self) -> str:
        return self._regulator_msp_id

    @property
    def endorsing_organizations(self) -> list[str] | None:
        """Own organization and the regulator: the chaincode policy, and the members of every collection
        a write of this organization touches (its books, its trade pairs)."""
        return [self._msp_id, self._regulator_msp_id]

    # --- sending -------------------------------------------------------------------------------------------

    def _submit(self, name: str, *args: str, record: Record | None = None) -> bytes:
        """Endorse, order and wait for the commit, retrying while the endorsers are out of step.

        Each organization's client waits for the commit on its own peer only, so the next write may
        reach a peer that has not committed the previous block, or lacks its private data, yet: the
        endorsements then differ, one endorser refuses what the other accepts, the chaincode answers
        ``PRIVATE_DATA ... retry``, or the transaction commits as ``MVCC_READ_CONFLICT``. Nothing was
        written in any of these cases, so a new proposal is safe; every other error is raised at once.
        """
        transient = None if record is None else {RECORD_TRANSIENT_KEY: canonical_json(record)}
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                return self._contract.submit_transaction(
                    name, *args, transient=transient, endorsing_organizations=self.endorsing_organizations
                )
            except GatewayError as exc:
                error = _translated(exc)
                if attempt == SUBMIT_ATTEMPTS or not _out_of_step(exc, error, self._msp_id):
                    raise error from exc
            except CommitError as exc:
                # Endorsed on peers that had not committed the latest block: invalid, nothing written.
                if attempt == SUBMIT_ATTEMPTS or exc.validation_code not in _STALE_READS:
                    raise
            time.sleep(RETRY_DELAY * attempt)
        raise AssertionError("unreachable")

    def _evaluate(self, name: str, *args: str, transient: Mapping[str, str | bytes] | None = None) -> bytes:
        try:
            return self._contract.evaluate_transaction(name, *args, transient=transient)
        except GatewayError as exc:
            raise _translated(exc) from exc

    def _write_private(self, name: str, record: Record) -> Anchor:
        return Anchor.from_json(self._submit(name, record=checked(record)))

    def _write_public(self, name: str, record: Record) -> Anchor:
        return Anchor.from_json(self._submit(name, canonical_json(checked(record)).decode("utf-8")))

    # --- reads anyone may make -----------------------------------------------------------------------------

    def read_party(self, msp_id: str) -> Party:
        return Party.from_json(self._evaluate("read_party", msp_id))

    def read_product(self, product_id: str) -> Product:
        return Product.from_json(self._evaluate("read_product", product_id))

    def read_batch(self, product_id: str, batch_number: str) -> Batch:
        """The batch; with raw-material lots only for its manufacturer and regulators."""
        return Batch.from_json(self._evaluate("read_batch", product_id, batch_number))

    def read_recall(self, product_id: str, batch_number: str) -> Recall:
        return Recall.from_json(self._evaluate("read_recall", product_id, batch_number))

    def read_policy(self) -> TwoInvoicePolicy:
        return policy_from_json(self._evaluate("read_policy"))

    def read_anchor(self, record_type: str, key: str, batch_number: str | None = None) -> Anchor:
        """The public anchor of any record, e.g. ``("invoice", number)``; raises ``RecordNotFound``."""
        args = (record_type, key) if batch_number is None else (record_type, key, batch_number)
        return Anchor.from_json(self._evaluate("read_anchor", *args))

    def trace_code_status(self, trace_code: str) -> TraceCodeStatus:
        raw = json.loads(self._evaluate("trace_code_status", trace_code))
        return TraceCodeStatus(
            trace_code=raw["trace_code"],
            dispensed=bool(raw["dispensed"]),
            prescription_id=raw.get("prescription_id"),
            hospital=raw.get("hospital"),
        )

    # --- reads for collection members ----------------------------------------------------------------------

    def read_invoice(self, number: str) -> Invoice:
        """The full invoice: for its two parties and regulators (``AccessRefused`` otherwise)."""
        return Invoice.from_json(self._evaluate("read_invoice", number))

    def read_receipt(self, invoice_number: str) -> Receipt:
        return Receipt.from_json(self._evaluate("read_receipt", invoice_number))

    def read_prescription(self, prescription_id: str) -> Prescription:
        return Prescription.from_json(self._evaluate("read_prescription", prescription_id))

    def read_adverse_event(self, report_id: str) -> AdverseEvent:
        return AdverseEvent.from_json(self._evaluate("read_adverse_event", report_id))

    def read_stock(self, product_id: str, batch_number: str, *, holder: str | None = None) -> StockPosition:
        """A holder's stock of a batch (own by default)."""
        return parse_stock(self._evaluate("read_stock", holder or self._msp_id, product_id, batch_number))


def _out_of_step(raw: GatewayError, error: Exception, own_msp_id: str) -> bool:
    if any(_MISMATCH in detail.message for detail in raw.details) or _MISMATCH in str(raw):
        return True
    # Only another organization's peer refused what the submitter's own peer (which committed the
    # submitter's earlier writes) accepted: that peer has not committed the block the write depends on
    # yet. A real rule violation is refused by the submitter's own peer too.
    if _PARTIAL in str(raw) and len(raw.details) == 1 and raw.details[0].msp_id != own_msp_id:
        return True
    return isinstance(error, PharmaError) and error.rule == "PRIVATE_DATA" and "retry" in error.message


_PARTIAL = "failed to collect enough transaction endorsements"


def _translated(error: GatewayError) -> Exception:
    refusal = refusal_from(error)
    return refusal if refusal is not None else error
