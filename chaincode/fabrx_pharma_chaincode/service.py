"""``PharmaService``: one method per pharma transaction, over a :class:`StateStore`.

Every write runs the same pipeline, and writes nothing unless all of it passes:

1. read the record (public records from the arguments; records with trade terms or patient data from
   the transient map under ``"record"``, so they never enter the proposal stored in the block);
2. authorize the client: it acts for the party named by its ``fabrx.party`` attribute (a hosted party)
   or for its organization (a member); that party must be registered with the client's organization as
   its host, and the ``fabrx.role`` attribute must be the party's registered role;
3. a record already on the ledger with the same content from the same party is answered with its
   anchor and writes nothing (an ERP may resend blindly); otherwise run the rule for the record
   (``fabrx_pharma.check_record``) against the ledger as the client may see it, with the client's party
   as the submitter — so a record can only be attributed to the party that submits it — and refuse
   future-dated invoices, receipts, prescriptions and reports, and approval numbers carrying a later
   year than the transaction's;
4. plan every write (anchor, private copies, stock, indexes), then put them.

Errors are :class:`~fabrx_pharma_chaincode.errors.ChaincodeError`; their message starts with the rule
code and the field (``CONSERVATION lines[0].quantity: ...``).

Read access: public records to everyone; private records only to members of their collection
(enforced by the view as well as by Fabric's ``memberOnlyRead``); the regulator's analysis only to
regulators.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from fabrx_pharma import (
    RECORD_TYPES,
    AdverseEvent,
    AnyRecord,
    Batch,
    Finding,
    GoodsLine,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    RecallScope,
    Receipt,
    RecordError,
    Role,
    RuleId,
    RuleViolation,
    StockPosition,
    Trace,
    TwoInvoicePolicy,
    ValidationError,
    check_record,
    validate_invoice_number,
    validate_trace_code,
)
from fabrx_pharma.identifiers import approval_year
from fabrx_pharma.policy import PolicyHistory, policy_from_json, policy_to_json
from fabrx_pharma.records import Record, record_hash

from ._writes import anchor_key_text, plan_writes
from .errors import (
    AccessDenied,
    BatchRefused,
    ChaincodeError,
    ConfigurationError,
    NotFound,
    RecordRefused,
    RuleRefused,
    refused_record,
    refused_rule,
)
from .layout import POLICY_KEY, POLICY_VERSIONS_KEY, REGULATOR_KEY, Anchor, record_key
from .ledger import ChaincodeLedger, SealedRecord
from .store import KeyChange, StateStore, composite_key
from .supervision import (
    DIVERSION_RULES,
    load_ledger,
    regulator_recall_scope,
    regulator_report,
    regulator_trace,
)
from .verification import InvoiceVerification, VerificationRequest, verify_invoice

__all__ = [
    "DEFAULT_REGULATORS",
    "FUTURE_TOLERANCE",
    "INVOICES_TRANSIENT_KEY",
    "INVOICE_TRANSIENT_KEY",
    "MAX_RECORDS",
    "RECORDS_TRANSIENT_KEY",
    "RECORD_TRANSIENT_KEY",
    "ROLE_ATTRIBUTE",
    "PharmaService",
    "TraceCodeStatus",
    "parse_input",
    "records_from_json",
]

R = TypeVar("R", bound=Record)

RECORD_TRANSIENT_KEY = "record"
"""The transient-map key that carries a private record."""
INVOICE_TRANSIENT_KEY = "invoice"
"""The transient-map key that carries, with a receipt, the invoice it receives (for the buyer's copy)."""
RECORDS_TRANSIENT_KEY = "records"
"""The transient-map key of a many-record write: ``[{"record_type": ..., "record": {...}}, ...]``."""
INVOICES_TRANSIENT_KEY = "invoices"
"""With a many-record write of receipts: the invoices they receive, ``[{...invoice...}, ...]``."""
MAX_RECORDS = 1000
"""The most records one ``write_records`` transaction takes."""
ROLE_ATTRIBUTE = "fabrx.role"
"""The certificate attribute naming the client's role (added by the network tooling)."""
DEFAULT_REGULATORS = ("RegulatorMSP",)
"""MSP ids allowed to bootstrap the chaincode unless the deployment names others."""
FUTURE_TOLERANCE = timedelta(minutes=10)
"""How far a receipt, prescription or report may lie after the transaction time (clock skew)."""


def parse_input(cls: type[R], data: bytes | str | None, source: str) -> R:
    """Read a record of type ``cls`` sent as ``source`` (an argument's name, or the transient key).

    Raises :class:`RecordRefused` naming every malformed field, or ``source`` if nothing was sent.
    """
    if data is None:
        raise RecordRefused(cls.RECORD_TYPE, [(source, f"no {cls.RECORD_TYPE} was sent")])
    try:
        return cls.from_json(data)
    except RecordError as exc:
        raise refused_record(exc) from None


def records_from_json(data: bytes | None) -> list[AnyRecord]:
    """Read a many-record write: ``[{"record_type": "invoice", "record": {...}}, ...]``.

    Raises :class:`RecordRefused` if the list itself is malformed, :class:`BatchRefused` naming each
    entry that is not a well-formed record (its index and field).
    """
    source = f"<transient:{RECORDS_TRANSIENT_KEY}>"
    if data is None:
        raise RecordRefused("records", [(source, "no records were sent")])
    try:
        raw = json.loads(data)
    except RecursionError:
        raise RecordRefused("records", [(source, "is nested too deeply")]) from None
    except ValueError as exc:
        raise RecordRefused("records", [(source, f"is not JSON: {exc}")]) from None
    if not isinstance(raw, list):
        raise RecordRefused("records", [(source, "must be a list of {record_type, record}")])
    records: list[AnyRecord] = []
    refusals: list[tuple[int, ChaincodeError]] = []
    for index, entry in enumerate(raw):
        cls = RECORD_TYPES.get(entry.get("record_type")) if isinstance(entry, dict) else None
        if cls is None:
            allowed = ", ".join(sorted(RECORD_TYPES))
            refusals.append((index, RecordRefused("records", [("record_type", f"must be one of {allowed}")])))
            continue
        try:
            records.append(cls.from_dict(entry.get("record")))
        except RecordError as exc:
            refusals.append((index, refused_record(exc)))
    if refusals:
        raise BatchRefused(len(raw), refusals)
    return records


def _canonical(validate: object, value: str, field: str) -> str:
    try:
        return validate(value, field)  # type: ignore[operator,no-any-return]
    except ValidationError as exc:
        raise RecordRefused(field, [(exc.field, exc.message)]) from None


class TraceCodeStatus:
    """Whether a package's traceability code was dispensed, and where (public information)."""

    def __init__(self, trace_code: str, prescription_id: str | None, hospital: str | None) -> None:
        self.trace_code = trace_code
        self.prescription_id = prescription_id
        self.hospital = hospital

    @property
    def dispensed(self) -> bool:
        return self.prescription_id is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "trace_code": self.trace_code,
            "dispensed": self.dispensed,
            "prescription_id": self.prescription_id,
            "hospital": self.hospital,
        }


class PharmaService:
    """The pharma transactions of one invocation.

    ``bootstrap_regulators`` are the MSP ids allowed to bootstrap the chaincode (register the first
    regulator), so that another organization cannot race to register itself as the regulator.
    """

    def __init__(
        self, store: StateStore, *, bootstrap_regulators: Collection[str] = DEFAULT_REGULATORS
    ) -> None:
        self._store = store
        self._ledger = ChaincodeLedger(store)
        self._bootstrap_regulators = frozenset(bootstrap_regulators)

    @property
    def ledger(self) -> ChaincodeLedger:
        return self._ledger

    # --- authorization ------------------------------------------------------------------------------------

    def _client_party(self) -> Party | None:
        """The party the client acts for, after checking its host and role attribute against it.

        ``None`` for an unregistered party (the rules then refuse it by name).
        """
        party = self._ledger.creator
        if party is None:
            return None
        msp_id = self._store.creator_msp_id
        if party.host_msp_id != msp_id:
            raise RuleRefused(
                RuleId.ROLE,
                "party_id",
                f"{party.party_id} is hosted by {party.host_msp_id}; a client of {msp_id} cannot act for it",
            )
        carried = self._store.creator_attribute(ROLE_ATTRIBUTE)
        if carried != party.role.value:
            raise RuleRefused(
                RuleId.ROLE,
                "party_id",
                f"the client of {party.party_id} carries {ROLE_ATTRIBUTE}={carried!r}, but {party.party_id} "
                f"is registered as a {party.role.value}: use a client enrolled with "
                f"{ROLE_ATTRIBUTE}={party.role.value}",
            )
        return party

    def _require_regulator(self, action: str) -> Party:
        party = self._client_party()
        if party is None or party.role is not Role.REGULATOR:
            raise RuleRefused(
                RuleId.ROLE,
                "party_id",
                f"only a regulator can {action}; the submitter is {self._ledger.creator_party_id}",
            )
        return party

    # --- the write pipeline --------------------------------------------------------------------------------

    def private_input(self, cls: type[R]) -> R:
        """The record of a write that carries trade terms or patient data: the transient ``record``."""
        return parse_input(
            cls, self._store.transient(RECORD_TRANSIENT_KEY), f"<transient:{RECORD_TRANSIENT_KEY}>"
        )

    def write(self, record: AnyRecord) -> Anchor:
        """Check a record read from the transaction's input against the rules and write it (every write
        transaction below ends here).

        A record already on the ledger with the same content, written by the same party, is answered with
        its anchor and nothing is written.
        """
        if isinstance(record, Receipt):
            self._supply_invoice(record)
        return self._write_one(record)

    def _write_one(self, record: AnyRecord) -> Anchor:
        submitter = self._ledger.creator_party_id
        self._client_party()
        existing = self._same_record(record, submitter)
        if existing is not None:
            return existing
        # The policy in force at this transaction's time: the one the regulator's report judges it by.
        policy = self._ledger.policy_at(self._store.timestamp)
        try:
            check_record(record, self._ledger, policy, submitter=submitter)
            self._check_not_future(record, policy)
            plan = plan_writes(record, self._ledger, submitter=submitter)
        except RuleViolation as violation:
            raise refused_rule(violation, _private_values(record)) from None
        except SealedRecord as sealed:
            raise _sealed_refusal(record, sealed) from None
        plan.apply(self._store)
        self._ledger.pend(plan.public, plan.private)
        return plan.anchor

    def write_records(self, records: Sequence[AnyRecord], invoices: Sequence[Invoice] = ()) -> list[Anchor]:
        """Write many records of one submitter in one transaction, each checked by every rule against the
        ledger and the records accepted before it; ``invoices`` are the invoices receipts among them
        receive (for the buyer's own copies).

        A record already on the ledger with the same content is answered with its anchor. Raises
        :class:`BatchRefused` listing every refused record (index, code, field) if any is refused: the
        transaction then writes nothing, and the client may resend the others.
        """
        if not records:
            raise RecordRefused("records", [(f"<transient:{RECORDS_TRANSIENT_KEY}>", "no records were sent")])
        if len(records) > MAX_RECORDS:
            raise RecordRefused(
                "records",
                [(f"<transient:{RECORDS_TRANSIENT_KEY}>", f"{len(records)} records; at most {MAX_RECORDS}")],
            )
        for invoice in invoices:
            self._ledger.supply_invoice(invoice)
        anchors: list[Anchor] = []
        refusals: list[tuple[int, ChaincodeError]] = []
        for index, record in enumerate(records):
            try:
                anchors.append(self._write_one(record))
            except ChaincodeError as error:
                refusals.append((index, error))
        if refusals:
            raise BatchRefused(len(records), refusals)
        return anchors

    def _same_record(self, record: AnyRecord, submitter: str) -> Anchor | None:
        if isinstance(record, Party):
            return None  # a registration may be repeated to update it
        anchor = self._ledger.anchor_at(record_key(record))
        if anchor is None:
            return None
        if anchor.hash == record_hash(record) and anchor.submitter == submitter:
            return anchor
        return None

    def _supply_invoice(self, receipt: Receipt) -> None:
        """The invoice a receipt carries, for the buyer's own copy (checked against the ledger later)."""
        data = self._store.transient(INVOICE_TRANSIENT_KEY)
        if data is None:
            return
        invoice = parse_input(Invoice, data, f"<transient:{INVOICE_TRANSIENT_KEY}>")
        if invoice.number != receipt.invoice_number:
            raise RecordRefused(
                "receipt",
                [
                    (
                        f"<transient:{INVOICE_TRANSIENT_KEY}>.number",
                        f"is {invoice.number}, not {receipt.invoice_number}",
                    )
                ],
            )
        self._ledger.supply_invoice(invoice)

    def _check_not_future(self, record: AnyRecord, policy: TwoInvoicePolicy) -> None:
        now = self._store.timestamp
        moments: dict[str, datetime] = {}
        if isinstance(record, Receipt):
            moments["received_at"] = record.received_at
        elif isinstance(record, Prescription):
            moments["prescribed_at"] = record.prescribed_at
        elif isinstance(record, AdverseEvent):
            moments["reported_at"] = record.reported_at
        elif isinstance(record, Product):
            year = approval_year(record.approval_number)
            if year is not None and year > policy.local_date(now).year:
                raise RuleRefused(
                    RuleId.TIME_ORDER,
                    "approval_number",
                    f"{record.approval_number} carries the approval year {year}, after the transaction date "
                    f"{policy.local_date(now)}",
                )
        elif isinstance(record, Invoice) and record.issue_date > policy.local_date(now):
            raise RuleRefused(
                RuleId.TIME_ORDER,
                "issue_date",
                f"{record.issue_date} is after the transaction date {policy.local_date(now)}",
            )
        for field, moment in moments.items():
            if moment > now + FUTURE_TOLERANCE:
                raise RuleRefused(
                    RuleId.TIME_ORDER,
                    field,
                    f"{moment.isoformat()} is later than the transaction time {now.isoformat()}",
                )

    # --- setup ---------------------------------------------------------------------------------------------

    def bootstrap(self, regulator_json: bytes | str, policy_json: bytes | str | None = None) -> Anchor:
        """Register the first regulator (the submitter itself) and the policy; once per channel.

        Raises ``ROLE`` unless the submitter is one of ``bootstrap_regulators``, registers itself as a
        regulator and carries ``fabrx.role=regulator``; ``DUPLICATE_RECORD`` if already bootstrapped.
        """
        party = parse_input(Party, regulator_json, "regulator")
        submitter = self._store.creator_msp_id
        if party.role is not Role.REGULATOR:
            raise RuleRefused(
                RuleId.ROLE, "role", f"bootstrap registers the regulator, not a {party.role.value}"
            )
        if party.party_id != submitter or submitter not in self._bootstrap_regulators:
            raise RuleRefused(
                RuleId.ROLE,
                "party_id",
                f"only the regulator itself ({', '.join(sorted(self._bootstrap_regulators))}) can bootstrap; "
                f"the submitter is {submitter}",
            )
        if self._store.creator_attribute(ROLE_ATTRIBUTE) != Role.REGULATOR.value:
            raise RuleRefused(RuleId.ROLE, "party_id", f"the client must carry {ROLE_ATTRIBUTE}=regulator")
        if self._store.get_state(POLICY_KEY) is not None:
            raise RuleRefused(RuleId.DUPLICATE_RECORD, "party_id", "the chaincode is already bootstrapped")
        policy = self._policy_input(policy_json) if policy_json is not None else TwoInvoicePolicy()
        plan = plan_writes(party, _Bootstrapping(self._ledger, party), submitter=submitter)
        plan.public.append((POLICY_KEY, policy_to_json(policy)))
        versions = PolicyHistory.single(policy, self._store.transaction_id)
        plan.public.append((POLICY_VERSIONS_KEY, versions.to_json()))
        plan.public.append((REGULATOR_KEY, submitter.encode("utf-8")))
        plan.apply(self._store)
        return plan.anchor

    @staticmethod
    def _policy_input(data: bytes | str) -> TwoInvoicePolicy:
        try:
            return policy_from_json(data)
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise RecordRefused("policy", [(field, message or str(exc))]) from None

    def set_policy(self, policy_json: bytes | str) -> TwoInvoicePolicy:
        """Set the two-invoice policy (regulator only), in force from this transaction's time on.

        The policies in force before stay in ``config/policy_versions``: records written earlier are
        still judged by them. Raises ``TIME_ORDER effective_from`` if this transaction's time is before
        that of the policy in force (a change never reaches back over records already checked).
        """
        self._require_regulator("set the policy")
        policy = self._policy_input(policy_json)
        try:
            versions = self._ledger.policies.changed(
                policy, self._store.timestamp, self._store.transaction_id
            )
        except ValueError as exc:
            raise RuleRefused(RuleId.TIME_ORDER, "effective_from", str(exc).partition(": ")[2]) from None
        self._store.put_state(POLICY_KEY, policy_to_json(policy))
        self._store.put_state(POLICY_VERSIONS_KEY, versions.to_json())
        return policy

    def read_policy(self, at: datetime | None = None) -> TwoInvoicePolicy:
        """The policy in force at ``at``; the one set last when ``None``."""
        return self._ledger.policies.in_force(at)

    # --- history (regulators) ----------------------------------------------------------------------------

    def policy_history(self) -> list[KeyChange]:
        """Every change of the policy (``config/policy``), newest first: each in force from its
        transaction's time (regulators only)."""
        self._require_regulator("read the history of the policy")
        return self._store.history(POLICY_KEY)

    def party_history(self, party_id: str) -> list[KeyChange]:
        """Every registration of a party (its first, updates, activation changes), newest first: the
        party's anchor as each transaction wrote it (regulators only)."""
        self._require_regulator("read the history of a party")
        _plain_key_part([party_id], "party_id")
        if self._ledger.anchor("party", party_id) is None:
            raise NotFound("party_id", f"no party {party_id} is registered")
        return self._store.history(composite_key("party", party_id))

    def record_history(self, record_type: str, *key: str) -> list[KeyChange]:
        """Every transaction that wrote a record's anchor, newest first (regulators only).

        ``key`` is the record's key as :meth:`read_anchor` takes it: an invoice number (of a receipt:
        the number of the invoice it receives), a prescription or report id, a product id, or a
        product id and batch number (batch, recall).
        """
        self._require_regulator("read the history of a record")
        parts = _history_key(record_type, key)
        if self._ledger.anchor(record_type, *parts) is None:
            raise NotFound("key", f"no {record_type} {'/'.join(parts)} on the ledger")
        return self._store.history(composite_key(record_type, *parts))

    # --- writes --------------------------------------------------------------------------------------------

    def register_party(self, party_json: bytes | str) -> Anchor:
        """Register or update a party (regulator only). Public: roles are what every check reads."""
        return self.write(parse_input(Party, party_json, "party"))

    def register_product(self, product_json: bytes | str) -> Anchor:
        """Register a product (its manufacturer). Public: approval numbers and codes are public."""
        return self.write(parse_input(Product, product_json, "product"))

    def record_batch(self) -> Anchor:
        """Record a production batch from the transient ``record`` (its manufacturer).

        The batch is public without its raw-material lots; the full record goes to the manufacturer's
        books, and the batch quantity to its stock.
        """
        return self.write(self.private_input(Batch))

    def issue_invoice(self) -> Anchor:
        """Issue a first, second, transfer or direct invoice from the transient ``record`` (its seller).

        The invoice with its shipment goes to the pair's trade collection; the public anchor shows the
        number (reserved across all collections), kind, parties and date.
        """
        return self.write(self.private_input(Invoice))

    def record_receipt(self) -> Anchor:
        """Record the receipt of an invoice's goods from the transient ``record`` (the invoice's buyer)."""
        return self.write(self.private_input(Receipt))

    def record_prescription(self) -> Anchor:
        """Record a prescription and its dispensing from the transient ``record`` (the hospital).

        Each traceability code dispensed enters the public dispensing index under its SHA-256.
        """
        return self.write(self.private_input(Prescription))

    def report_adverse_event(self) -> Anchor:
        """Report an adverse event from the transient ``record`` (the hospital that dispensed)."""
        return self.write(self.private_input(AdverseEvent))

    def recall_batch(self, recall_json: bytes | str) -> Anchor:
        """Recall a batch (the regulator or the batch's manufacturer). Public: everyone must stop using it."""
        return self.write(parse_input(Recall, recall_json, "recall"))

    # --- reads ---------------------------------------------------------------------------------------------

    def read_anchor(self, record_type: str, *key: str) -> Anchor:
        """The public anchor of a record, e.g. ``("invoice", number)`` or ``("batch", product, batch)``."""
        anchor = self._ledger.anchor(record_type, *key)
        if anchor is None:
            raise NotFound("key", f"no {record_type} {'/'.join(key)} on the ledger")
        return anchor

    def read_party(self, party_id: str) -> Party:
        party = self._ledger.party(party_id)
        if party is None:
            raise NotFound("party_id", f"no party {party_id} is registered")
        return party

    def read_product(self, product_id: str) -> Product:
        product = self._ledger.product(product_id)
        if product is None:
            raise NotFound("product_id", f"no product {product_id} is registered")
        return product

    def read_batch(self, product_id: str, batch_number: str) -> Batch:
        """The batch; with its raw-material lots only for its manufacturer and regulators."""
        batch = self._ledger.full_batch(product_id, batch_number)
        if batch is None:
            raise NotFound("batch_number", f"no batch {product_id}/{batch_number} is recorded")
        return batch

    def read_recall(self, product_id: str, batch_number: str) -> Recall:
        recall = self._ledger.recall(product_id, batch_number)
        if recall is None:
            raise NotFound("batch_number", f"batch {product_id}/{batch_number} is not recalled")
        return recall

    def _private(self, record_type: str, key: str, field: str, cls: type[R]) -> R:
        anchor = self._ledger.anchor(record_type, key)
        if anchor is None:
            raise NotFound(field, f"no {record_type} {key} on the ledger")
        self._client_party()
        try:
            return self._ledger.private_record(anchor, cls.from_json)
        except SealedRecord as sealed:
            raise _sealed_access(sealed, field, self._ledger.creator_party_id) from None

    def read_invoice(self, number: str) -> Invoice:
        """The full invoice, for the two parties of the trade and regulators."""
        key = _canonical(validate_invoice_number, number, "number")
        return self._private("invoice", key, "number", Invoice)

    def read_receipt(self, invoice_number: str) -> Receipt:
        key = _canonical(validate_invoice_number, invoice_number, "invoice_number")
        return self._private("receipt", key, "invoice_number", Receipt)

    def read_prescription(self, prescription_id: str) -> Prescription:
        return self._private("prescription", prescription_id, "prescription_id", Prescription)

    def read_adverse_event(self, report_id: str) -> AdverseEvent:
        return self._private("adverse_event", report_id, "report_id", AdverseEvent)

    def read_stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        """A holder's stock of a batch: for the holder (or a party counting as it) and regulators.

        ``purchased`` is what the holder's node knows it bought: what it received (see
        :meth:`ChaincodeLedger.purchased`).
        """
        self._client_party()
        for field, part in (("holder", holder), ("product_id", product_id), ("batch_number", batch_number)):
            if "\x00" in part:
                raise RecordRefused("stock query", [(field, "must not contain U+0000")])
        try:
            position = self._ledger.stock(holder, product_id, batch_number)
            return replace(position, purchased=position.received)
        except SealedRecord as sealed:
            raise _sealed_access(sealed, "holder", self._ledger.creator_party_id) from None

    def trace_code_status(self, trace_code: str) -> TraceCodeStatus:
        """Whether a package was already dispensed: anyone holding a package may ask (回流药 check)."""
        code = _canonical(validate_trace_code, trace_code, "trace_code")
        prescription_id = self._ledger.dispensed_in(code)
        hospital = None
        if prescription_id is not None:
            anchor = self._ledger.anchor("prescription", prescription_id)
            hospital = anchor.public.get("hospital") if anchor is not None else None
        return TraceCodeStatus(code, prescription_id, None if hospital is None else str(hospital))

    # --- hospital verification -----------------------------------------------------------------------------

    def verify_invoices(self, requests: Sequence[VerificationRequest]) -> list[InvoiceVerification]:
        """Verify invoices of any suppliers in one call (see :func:`verification.verify_invoice`).

        Allowed to each invoice's buyer and to regulators; raises ``ROLE`` otherwise and ``NOT_FOUND``
        for an unknown number.
        """
        party = self._client_party()
        results = []
        for request in requests:
            number = _canonical(validate_invoice_number, request.number, "number")
            anchor = self._ledger.anchor("invoice", number)
            if anchor is None:
                raise NotFound("number", f"no invoice {number} on the ledger")
            buyer = str(anchor.public.get("buyer"))
            if party is None or (party.role is not Role.REGULATOR and party.party_id != buyer):
                raise RuleRefused(
                    RuleId.ROLE,
                    "number",
                    f"invoice {number} was issued to {buyer}; "
                    f"the submitter is {self._ledger.creator_party_id}",
                )
            results.append(verify_invoice(self._ledger, anchor, request.first_invoice_copies))
        return results

    # --- the regulator -------------------------------------------------------------------------------------

    def compliance_report(self, as_of: datetime | None = None) -> list[Finding]:
        """Every finding on the ledger with its reason (regulators only)."""
        self._require_regulator("read the compliance report")
        return regulator_report(load_ledger(self._ledger), as_of=as_of)

    def diversion_signals(self, as_of: datetime | None = None) -> list[Finding]:
        """The findings that signal diversion (串货) or resale (回流药) (regulators only)."""
        self._require_regulator("read diversion signals")
        report = regulator_report(load_ledger(self._ledger), as_of=as_of)
        return [finding for finding in report if finding.rule in DIVERSION_RULES]

    def trace(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]:
        """Trace a prescription or a patient pseudonym to batches, manufacturers and raw-material lots."""
        self._require_regulator("trace prescriptions")
        return regulator_trace(
            load_ledger(self._ledger), prescription_id=prescription_id, patient_pseudonym=patient_pseudonym
        )

    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope:
        """Every distributor, hospital and prescription a batch reached (regulators only).

        An unknown batch is answered ``NOT_FOUND`` from its anchor alone, before the whole ledger is read.
        """
        self._require_regulator("compute a recall scope")
        try:
            anchor = self._ledger.anchor("batch", product_id, batch_number)
        except ValueError as exc:  # a part holding U+0000 cannot be a key: no such batch
            raise NotFound("batch_number", f"no batch {product_id!r}/{batch_number!r}: {exc}") from None
        if anchor is None:
            raise NotFound("batch_number", f"no batch {product_id}/{batch_number} is recorded")
        return regulator_recall_scope(load_ledger(self._ledger), product_id, batch_number)


def _private_values(record: AnyRecord) -> tuple[str, ...]:
    """The values of ``record`` a refusal must not repeat (see :func:`refused_rule`): the traceability
    codes it moves or dispenses and the patient's pseudonym."""
    lines: tuple[GoodsLine, ...] = ()
    if isinstance(record, Invoice):
        lines = record.shipment.lines
    elif isinstance(record, Receipt):
        lines = record.lines
    elif isinstance(record, Prescription):
        lines = record.items
    values = [code for line in lines for code in line.trace_codes]
    if isinstance(record, Prescription | AdverseEvent):
        values.append(record.patient_pseudonym)
    return tuple(values)


_KEY_PARTS = {"batch": ("product_id", "batch_number"), "recall": ("product_id", "batch_number")}


def _plain_key_part(parts: Sequence[str], field: str) -> None:
    """Refuse a key part a composite key cannot hold (U+0000 separates its parts)."""
    if any("\x00" in part for part in parts):
        raise RecordRefused("history query", [(field, "must not contain U+0000")])


def _history_key(record_type: str, key: Sequence[str]) -> tuple[str, ...]:
    """The key parts of a record's anchor, checked: a known type, as many non-empty parts as it has, an
    invoice number in its canonical form."""
    if record_type not in RECORD_TYPES:
        allowed = ", ".join(sorted(RECORD_TYPES))
        raise RecordRefused("history query", [("record_type", f"{record_type!r} is not one of {allowed}")])
    names = _KEY_PARTS.get(record_type, ("key",))
    if len(key) != len(names) or not all(key):
        raise RecordRefused(
            "history query", [("key", f"a {record_type} is named by {' and '.join(names)}; got {list(key)}")]
        )
    _plain_key_part(key, "key")
    if record_type in ("invoice", "receipt"):
        return (_canonical(validate_invoice_number, key[0], "key"),)
    return tuple(key)


def _sealed_refusal(record: AnyRecord, sealed: SealedRecord) -> ChaincodeError:
    """The rule a check meant when it hit a record the submitter cannot read."""
    if sealed.record_type == record.RECORD_TYPE and sealed.key == anchor_key_text(record):
        # The record's own key is taken, in a collection the submitter does not share.
        if isinstance(record, Invoice):
            return RuleRefused(
                RuleId.INVOICE_REUSED, "number", f"invoice {sealed.key} is already on the ledger"
            )
        if isinstance(record, Receipt):
            return RuleRefused(
                RuleId.DUPLICATE_RECORD,
                "invoice_number",
                f"the goods of invoice {sealed.key} were already received",
            )
        field = {"prescription": "prescription_id", "adverse_event": "report_id"}.get(
            sealed.record_type, "key"
        )
        return RuleRefused(
            RuleId.DUPLICATE_RECORD, field, f"{sealed.record_type} {sealed.key} is already recorded"
        )
    if sealed.reason == "not a member":
        if isinstance(record, Receipt) and sealed.record_type == "invoice":
            return RuleRefused(
                RuleId.ROLE, "receiver", f"invoice {sealed.key} was not issued to {record.receiver}"
            )
        if isinstance(record, AdverseEvent) and sealed.record_type == "prescription":
            return RuleRefused(
                RuleId.ROLE, "hospital", f"prescription {sealed.key} was recorded by another hospital"
            )
        if sealed.record_type == "stock":
            return ConfigurationError(
                "party_id", f"writing this needs the stock counters of another party ({sealed.key})"
            )
    if sealed.reason == "not held here":
        if isinstance(record, Receipt) and sealed.record_type == "invoice":
            return AccessDenied(
                "PRIVATE_DATA",
                f"<transient:{INVOICE_TRANSIENT_KEY}>",
                f"the buyer's node keeps no copy of invoice {sealed.key} yet: send the invoice with its "
                f"receipt (transient '{INVOICE_TRANSIENT_KEY}')",
            )
        return ConfigurationError(
            "peer", f"{sealed}: this transaction must be endorsed by the peers that keep the copies"
        )
    return AccessDenied("PRIVATE_DATA", sealed.collection, f"{sealed}; retry once this peer has it")


def _sealed_access(sealed: SealedRecord, field: str, party_id: str) -> AccessDenied:
    if sealed.reason == "not a member":
        return AccessDenied(
            "PRIVATE_DATA",
            field,
            f"{party_id} is not a party to {sealed.record_type} {sealed.key}",
        )
    if sealed.reason == "not held here":
        return AccessDenied(
            "PRIVATE_DATA",
            field,
            f"this peer keeps no copy of {sealed.record_type} {sealed.key}: ask a peer of the organization "
            f"that wrote it, or the regulator's ({sealed.collection})",
        )
    return AccessDenied(
        "PRIVATE_DATA", field, f"{sealed}: this peer has not received the private data yet; retry later"
    )


class _Bootstrapping(ChaincodeLedger):
    """The ledger while the first regulator registers itself: it is the submitter and the regulator."""

    def __init__(self, ledger: ChaincodeLedger, regulator: Party) -> None:
        super().__init__(ledger.store)
        self._first = regulator

    def party(self, party_id: str) -> Party | None:
        return self._first if party_id == self._first.party_id else super().party(party_id)
