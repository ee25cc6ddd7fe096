"""What every role's facade shares: sending records, translating refusals, the common reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from tenacity import Retrying, wait_incrementing

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
    RecordError,
    StockPosition,
    TwoInvoicePolicy,
    canonical_json,
)
from fabrx_pharma.policy import policy_from_json
from fabrx_pharma.privacy import endorsing_organizations as endorsers_of
from fabrx_pharma.records import Record

from ..errors import CommitError, CommitStatusUnknown, GatewayError, SubmitError
from ..gateway import Status
from ._bulk import DEFAULT_BATCH_SIZE, BulkResult, Written, write_records
from ._errors import AccessRefused, PharmaError, RecordNotFound, invalid_record, refusal_from
from ._results import Anchor, TraceCodeStatus, parse_stock
from ._retry import retrying

__all__ = [
    "DEFAULT_REGULATOR",
    "INVOICE_TRANSIENT_KEY",
    "RECORD_TRANSIENT_KEY",
    "ContractLike",
    "PharmaClient",
]

R = TypeVar("R", bound=Record)

DEFAULT_REGULATOR = "RegulatorMSP"
SUBMIT_ATTEMPTS = 10
"""Attempts of a write whose endorsers are out of step: with the delays below, about 9 s for another
organization's peer to commit the block the write depends on (seconds on a loaded machine)."""
RETRY_DELAY = 0.2
"""Seconds before the first retry of a write whose endorsers were out of step (then 2x, 3x ...)."""
_MISMATCH = "ProposalResponsePayloads do not match"
_STALE_READS = frozenset({"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"})
RECORD_TRANSIENT_KEY = "record"
"""The transient-map key the chaincode reads private records from."""
INVOICE_TRANSIENT_KEY = "invoice"
"""The transient-map key that carries, with a receipt, the invoice it receives (the buyer's copy)."""
_NO_COPY = "keeps no copy"
"""What a peer's ``PRIVATE_DATA`` refusal says when its organization stores no copy of the record."""
_NOT_A_PARTY = "is not a party to"
_SEND_THE_INVOICE = "send the invoice with its receipt"
"""The chaincode's answer to a receipt sent without its invoice while the buyer's node keeps no copy."""


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

    def transaction_status(self, transaction_id: str) -> Status | None: ...


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
    """Refuse (rule ``ROLE``) a record that would be attributed to another party than the caller's."""
    if value != expected:
        raise PharmaError(
            "ROLE",
            field,
            f"{what} is {value}, but this client acts for {expected}: only {value} can write it",
        )


class PharmaClient:
    """One party's client of the pharma chaincode (the base of the role facades).

    ``contract`` is the ``pharma`` contract reached through the Gateway of the party's organization
    (``gateway.get_network("pharma").get_contract("pharma")``), ``party_id`` the party the client acts
    for, ``msp_id`` the member organization whose peers keep its records (its *host*) and
    ``regulator_msp_id`` the regulator's organization, whose peer must endorse every write.

    A member organization acts for itself: ``party_id`` is its MSP id and ``msp_id`` defaults to it. A
    hosted party (节点账号) is an account on a member's node: its client is enrolled by the member's CA
    with ``fabrx.party=<party_id>`` in its certificate, connects to the member's peer, and is built as
    ``Hospital(contract, "CLINIC-0001", msp_id="CityHostMSP")``.

    Writes are endorsed by the host and the regulator (:attr:`endorsing_organizations`). Reads of
    private records run on the host's own peer; when it keeps no copy of the record (an invoice whose
    goods this party has not received yet), they run again on the regulator's peer, which keeps every
    copy and answers the record's parties. Writing a record identical to one already on the ledger
    returns that record's anchor (the chaincode writes nothing), so an ERP may resend blindly.

    Every method raises :class:`PharmaError` (or a subclass) when the chaincode refuses, with its rule
    and field; other :class:`~fabrx.GatewayError` (a peer down) and :class:`~fabrx.CommitError`
    (e.g. ``MVCC_READ_CONFLICT``: retry) pass through unchanged.
    """

    def __init__(
        self,
        contract: ContractLike,
        party_id: str,
        *,
        msp_id: str | None = None,
        regulator_msp_id: str = DEFAULT_REGULATOR,
    ) -> None:
        self._contract = contract
        self._party_id = party_id
        self._msp_id = msp_id or party_id
        self._regulator_msp_id = regulator_msp_id

    @property
    def party_id(self) -> str:
        """The party the client acts for: what records name as seller, buyer, receiver, hospital ..."""
        return self._party_id

    @property
    def msp_id(self) -> str:
        """The client's organization: the party's host (the party itself for a member organization)."""
        return self._msp_id

    @property
    def regulator_msp_id(self) -> str:
        return self._regulator_msp_id

    @property
    def endorsing_organizations(self) -> list[str]:
        """The host and the regulator (the regulator alone for a party it hosts): the organizations
        whose implicit collections every write of this party puts a copy in."""
        return list(endorsers_of(self._msp_id, self._regulator_msp_id))

    # --- sending -------------------------------------------------------------------------------------------

    def _submit(
        self,
        name: str,
        *args: str,
        record: Record | None = None,
        invoice: Invoice | None = None,
        transient: Mapping[str, str | bytes] | None = None,
    ) -> bytes:
        """Endorse, order and wait for the commit, retrying while the endorsers are out of step.

        Each organization's client waits for the commit on its own peer only, so the next write may
        reach a peer that has not committed the previous block, or lacks its private data, yet: the
        endorsements then differ, one endorser refuses what the other accepts, the chaincode answers
        ``PRIVATE_DATA ... retry``, or the transaction commits as ``MVCC_READ_CONFLICT``. Nothing was
        written in any of these cases, so a new proposal is safe. A refused submit
        (:class:`~fabrx.SubmitError`) is sent again too. Every other error is raised at once.

        A commit whose outcome is unknown (:class:`~fabrx.CommitStatusUnknown`: the gateway peer went
        away between submit and commit status) is never simply sent again: the next attempt first asks
        the own peer's ledger for that transaction id. Committed ``VALID``: the write is on the ledger;
        its answer (the record's anchor) is read by evaluating the same call, which writes nothing.
        Committed invalid, or not on the ledger yet: a new proposal is sent; should the first one still
        commit, the two cannot both be written (the chaincode answers a record already on the ledger
        with the same content with its anchor, and the second of two in flight reads a changed key).
        While the ledger cannot be asked (the peer still down), the attempt fails with
        :class:`~fabrx.CommitStatusUnknown` for the same transaction id, and the last attempt raises it.
        A failure is reported only when it is true: while an earlier attempt may still commit (its
        outcome unknown and not found committed invalid), a later attempt's failure is raised as
        :class:`~fabrx.CommitStatusUnknown` for that earlier transaction, the failure chained.

        ``record`` travels in the transient map under ``"record"``, ``invoice`` (with a receipt) under
        ``"invoice"``; ``transient`` is sent as it is.
        """
        if record is not None:
            transient = {RECORD_TRANSIENT_KEY: canonical_json(record)}
            if invoice is not None:
                transient[INVOICE_TRANSIENT_KEY] = canonical_json(invoice)
        endorsing_organizations = self.endorsing_organizations
        unknown: list[str] = []  # the previous attempt's transaction id, when its outcome is not known
        # Transactions that may still commit: outcome unknown, not found committed invalid.
        in_doubt: list[str] = []

        def attempt() -> bytes:
            if unknown:
                asked = unknown.pop()
                answer = self._committed_answer(asked, name, args, transient, unknown, in_doubt)
                if answer is not None:
                    return answer
            try:
                return self._contract.submit_transaction(
                    name, *args, transient=transient, endorsing_organizations=endorsing_organizations
                )
            except CommitStatusUnknown as exc:
                if exc.transaction_id:
                    unknown.append(exc.transaction_id)
                    in_doubt.append(exc.transaction_id)
                raise  # asked about first, then sent again (below)
            except SubmitError:
                raise  # sent again as it is (below)
            except GatewayError as exc:
                error = _translated(exc)
                if error is exc:
                    raise
                raise error from exc

        def out_of_step(error: BaseException) -> bool:
            if isinstance(error, (CommitStatusUnknown, SubmitError)):
                # The write may have committed (the gateway peer went away: the next attempt asks the
                # ledger first), or ordering refused it (a Raft leader being elected; BFT orderers that
                # each saw it forwarded by another).
                return True
            if isinstance(error, CommitError):
                # Endorsed on peers that had not committed the latest block: invalid, nothing written.
                return error.validation_code in _STALE_READS
            raw = error if isinstance(error, GatewayError) else error.__cause__
            return isinstance(raw, GatewayError) and _out_of_step(raw, error, self._msp_id)

        try:
            return _retrying(name, out_of_step)(attempt)
        except CommitStatusUnknown as exc:
            others = [t for t in in_doubt if t != exc.transaction_id]
            if not others:
                raise
            raise CommitStatusUnknown(
                f"{exc}; earlier attempts that may have committed instead: {', '.join(others)}",
                code=exc.code,
                transaction_id=exc.transaction_id,
            ) from exc
        except Exception as exc:
            if not in_doubt:
                raise
            raise CommitStatusUnknown(
                f"{name}: transaction {in_doubt[-1]} of an earlier attempt may still commit; the last "
                f"attempt failed: {exc}",
                code=exc.code if isinstance(exc, GatewayError) else "UNKNOWN",
                transaction_id=in_doubt[-1],
            ) from exc

    def _committed_answer(
        self,
        transaction_id: str,
        name: str,
        args: tuple[str, ...],
        transient: Mapping[str, str | bytes] | None,
        unknown: list[str],
        in_doubt: list[str],
    ) -> bytes | None:
        """Whether ``transaction_id`` (a write of ``name`` whose outcome is unknown) committed, asked of
        the own peer's ledger: if ``VALID``, the chaincode's answer to the same call now (evaluated,
        nothing written); ``None`` when it committed invalid (no longer in doubt) or is not on that
        ledger yet (it may still commit: it stays in ``in_doubt``).

        Raises:
            CommitStatusUnknown: the ledger cannot be asked (the peer is unreachable); the transaction
                id goes back into ``unknown``, to be asked about by the next attempt.
        """
        try:
            status = self._contract.transaction_status(transaction_id)
        except GatewayError as exc:
            unknown.append(transaction_id)
            raise CommitStatusUnknown(
                f"{name}: cannot ask the ledger whether the transaction committed: {exc}",
                code=exc.code,
                transaction_id=transaction_id,
            ) from exc
        if status is None:
            return None
        if not status.successful:
            if transaction_id in in_doubt:
                in_doubt.remove(transaction_id)
            return None
        return self._evaluate(name, *args, transient=transient)

    def _evaluate(
        self,
        name: str,
        *args: str,
        transient: Mapping[str, str | bytes] | None = None,
        on: Sequence[str] | None = None,
    ) -> bytes:
        """Evaluate on the own organization's peer, or on a peer of the organizations ``on``."""
        try:
            return self._contract.evaluate_transaction(
                name, *args, transient=transient, endorsing_organizations=on
            )
        except GatewayError as exc:
            raise _translated(exc) from exc

    def _evaluate_private(
        self, name: str, *args: str, transient: Mapping[str, str | bytes] | None = None
    ) -> bytes:
        """Evaluate a read of private records on the own peer; if that peer's organization keeps no copy
        (``PRIVATE_DATA ... keeps no copy``), evaluate it again on the regulator's peer, which keeps
        every copy and answers each record's parties.

        The own peer saw the record's anchor, so the regulator's peer answering ``NOT_FOUND`` or "retry"
        has not committed that block or received its private data yet: asked again a few times.
        """
        try:
            return self._evaluate(name, *args, transient=transient)
        except PharmaError as exc:
            if not (_keeps_no_copy(exc) and self._msp_id != self._regulator_msp_id):
                raise

        def lagging(error: BaseException) -> bool:
            return isinstance(error, RecordNotFound) or (
                isinstance(error, PharmaError) and error.rule == "PRIVATE_DATA" and "retry" in error.message
            )

        return _retrying(f"{name} on {self._regulator_msp_id}'s peer", lagging)(
            self._evaluate, name, *args, transient=transient, on=[self._regulator_msp_id]
        )

    def _write_private(self, name: str, record: Record) -> Anchor:
        return Anchor.from_json(self._submit(name, record=checked(record)))

    def _write_receipt(self, receipt: Receipt) -> Anchor:
        """Record a receipt with the invoice it receives (transient ``"invoice"``): the buyer's node
        keeps its copy of an invoice from the receipt on, and the chaincode checks the invoice against
        the ledger's hashes.

        The invoice is read first (from the regulator's peer while the own one keeps no copy). If it
        does not exist or is not addressed to this party, the receipt goes alone and the chaincode
        refuses it with the rule that says why. An invoice committed a moment ago may not be on the own
        peer yet: read as missing, the receipt goes alone and an endorser that has it by then answers
        that the invoice must come with the receipt; the invoice is then read again and the receipt
        resent, a few times.
        """
        receipt = checked(receipt)
        sent_alone = False

        def attempt() -> Anchor:
            nonlocal sent_alone
            invoice = self._invoice_received(receipt)
            sent_alone = invoice is None
            return Anchor.from_json(self._submit("record_receipt", record=receipt, invoice=invoice))

        def invoice_wanted(error: BaseException) -> bool:
            return sent_alone and isinstance(error, PharmaError) and _SEND_THE_INVOICE in error.message

        return _retrying("record_receipt with its invoice", invoice_wanted)(attempt)

    # --- many records --------------------------------------------------------------------------------------

    def write_records(
        self,
        records: Sequence[AnyRecord],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        in_flight: int = 4,
        on_written: Written | None = None,
    ) -> BulkResult:
        """Write many records of this party in few transactions (an ERP's import): each record checked
        by every rule; a refused one is reported by its index and the others are written; a record
        already on the ledger with the same content is answered with its anchor. See
        :mod:`fabrx.pharma._bulk`.

        Raises what a single write raises for anything but a record's refusal; sending the same records
        again then completes the import without writing any twice.
        """
        return write_records(self, records, batch_size=batch_size, in_flight=in_flight, on_written=on_written)

    def precheck(self, record: AnyRecord) -> PharmaError | None:
        """Why ``record`` cannot be sent by this party (malformed, or attributed to another party), or
        ``None``."""
        try:
            checked(record)
            author = {
                Invoice: "seller",
                Receipt: "receiver",
                Prescription: "hospital",
                AdverseEvent: "hospital",
            }.get(type(record))
            if author is not None:
                must_be(
                    str(getattr(record, author)),
                    self._party_id,
                    author,
                    f"the {record.RECORD_TYPE}'s {author}",
                )
        except PharmaError as refusal:
            return refusal
        return None

    def invoice_for(self, receipt: Receipt) -> Invoice | None:
        """The invoice a receipt receives, as sent with it (see :meth:`_write_receipt`)."""
        return self._invoice_received(receipt)

    def submit_many(self, transient: Mapping[str, str | bytes]) -> bytes:
        """Submit one ``write_records`` transaction (used by :func:`fabrx.pharma._bulk.write_records`)."""
        return self._submit("write_records", transient=transient)

    def _invoice_received(self, receipt: Receipt) -> Invoice | None:
        try:
            return self.read_invoice(str(receipt.invoice_number))
        except RecordNotFound:
            return None
        except AccessRefused as exc:
            if exc.rule == "PRIVATE_DATA" and _NOT_A_PARTY in exc.message:
                return None
            raise

    def _write_public(self, name: str, record: Record) -> Anchor:
        return Anchor.from_json(self._submit(name, canonical_json(checked(record)).decode("utf-8")))

    # --- reads anyone may make -----------------------------------------------------------------------------

    def read_party(self, party_id: str) -> Party:
        return Party.from_json(self._evaluate("read_party", party_id))

    def read_product(self, product_id: str) -> Product:
        return Product.from_json(self._evaluate("read_product", product_id))

    def read_batch(self, product_id: str, batch_number: str) -> Batch:
        """The batch; with raw-material lots only for its manufacturer and regulators."""
        return Batch.from_json(self._evaluate("read_batch", product_id, batch_number))

    def read_recall(self, product_id: str, batch_number: str) -> Recall:
        return Recall.from_json(self._evaluate("read_recall", product_id, batch_number))

    def read_policy(self, *, at: datetime | None = None) -> TwoInvoicePolicy:
        """The policy in force at ``at`` (aware), or the one set last; each change is in force from its
        transaction's time on."""
        if at is not None and at.tzinfo is None:
            raise PharmaError("RECORD", "at", "give an aware datetime (with a UTC offset)")
        args = [] if at is None else [at.isoformat()]
        return policy_from_json(self._evaluate("read_policy", *args))

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

    # --- reads of private records (own peer, else the regulator's) -------------------------------------

    def read_invoice(self, number: str) -> Invoice:
        """The full invoice: for its two parties and regulators (``AccessRefused`` otherwise).

        A buyer's own node keeps the invoice from its receipt on; before that it is read on the
        regulator's peer.
        """
        return Invoice.from_json(self._evaluate_private("read_invoice", number))

    def read_receipt(self, invoice_number: str) -> Receipt:
        return Receipt.from_json(self._evaluate_private("read_receipt", invoice_number))

    def read_prescription(self, prescription_id: str) -> Prescription:
        return Prescription.from_json(self._evaluate_private("read_prescription", prescription_id))

    def read_adverse_event(self, report_id: str) -> AdverseEvent:
        return AdverseEvent.from_json(self._evaluate_private("read_adverse_event", report_id))

    def read_stock(self, product_id: str, batch_number: str, *, holder: str | None = None) -> StockPosition:
        """A holder's stock of a batch (this party's own by default)."""
        return parse_stock(
            self._evaluate_private("read_stock", holder or self._party_id, product_id, batch_number)
        )


def _keeps_no_copy(error: PharmaError) -> bool:
    return error.rule == "PRIVATE_DATA" and _NO_COPY in error.message


def _out_of_step(raw: GatewayError, error: BaseException, own_msp_id: str) -> bool:
    if any(_MISMATCH in detail.message for detail in raw.details) or _MISMATCH in str(raw):
        return True
    # Only another organization's peer refused what the submitter's own peer (which committed the
    # submitter's earlier writes) accepted: that peer has not committed the block the write depends on
    # yet. A real rule violation is refused by the submitter's own peer too.
    if _PARTIAL in str(raw) and len(raw.details) == 1 and raw.details[0].msp_id != own_msp_id:
        return True
    return isinstance(error, PharmaError) and error.rule == "PRIVATE_DATA" and "retry" in error.message


_PARTIAL = "failed to collect enough transaction endorsements"


def _retrying(what: str, retry_if: Callable[[BaseException], bool]) -> Retrying:
    """The facades' policy: :data:`SUBMIT_ATTEMPTS` attempts, waiting :data:`RETRY_DELAY` times the
    attempt's number, each retry logged at INFO with the transaction id (:mod:`fabrx.pharma._retry`)."""
    return retrying(
        what,
        retry_if,
        attempts=SUBMIT_ATTEMPTS,
        wait=wait_incrementing(start=RETRY_DELAY, increment=RETRY_DELAY),
    )


def _translated(error: GatewayError) -> Exception:
    refusal = refusal_from(error)
    return refusal if refusal is not None else error
