"""An in-memory ledger: a :class:`~fabrx_pharma.view.LedgerView` over dictionaries that records can be
submitted to (checked by the rules) or applied to (stored as they are).

Tests use it to exercise the rules; the regulator's analysis loads the records it read from the chain
into one (:meth:`InMemoryLedger.apply`) and examines them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from .care import AdverseEvent, Prescription
from .parties import Party, Product, Role
from .policy import DEFAULT_POLICY, PolicyHistory, TwoInvoicePolicy, as_history
from .production import Batch, BatchKey
from .recalls import Recall
from .records import AnyRecord
from .rules import check_record
from .stock import StockKey, StockPosition, received_codes, stock_effects
from .trade import Invoice, Receipt

__all__ = ["Entry", "InMemoryLedger", "author_of"]


@dataclass(frozen=True)
class Entry:
    """One write, in ledger order: the record, the party id that submitted it and when it was written."""

    submitter: str
    record: AnyRecord
    written_at: datetime | None = None
    """The transaction time of the write (time-zone aware), ``None`` when not known: the record is then
    judged by the latest policy."""


def author_of(record: AnyRecord) -> str:
    """The party id that writes a record of this kind; ``""`` for a party (written by the regulator)."""
    if isinstance(record, Party):
        return ""
    if isinstance(record, Product | Batch):
        return record.manufacturer
    if isinstance(record, Invoice):
        return record.seller
    if isinstance(record, Receipt):
        return record.receiver
    if isinstance(record, Prescription | AdverseEvent):
        return record.hospital
    return record.by


_EMPTY = StockPosition()


class InMemoryLedger:
    """Records kept in dictionaries, readable through the :class:`~fabrx_pharma.view.LedgerView` methods.

    Like a ledger key, a record written again under the same key replaces the earlier one in the
    lookups; :attr:`entries` keeps every write in order.

    ``policy`` is one policy in force throughout, or a :class:`~fabrx_pharma.policy.PolicyHistory`: a
    write is then checked against the version in force when it was written (``submit(..., at=...)``).
    """

    def __init__(self, *, policy: TwoInvoicePolicy | PolicyHistory = DEFAULT_POLICY) -> None:
        self._policies = as_history(policy)
        self._entries: list[Entry] = []
        self._parties: dict[str, Party] = {}
        self._products: dict[str, Product] = {}
        self._batches: dict[BatchKey, Batch] = {}
        self._invoices: dict[str, Invoice] = {}
        self._receipts: dict[str, Receipt] = {}
        self._prescriptions: dict[str, Prescription] = {}
        self._adverse_events: dict[str, AdverseEvent] = {}
        self._recalls: dict[BatchKey, Recall] = {}
        self._stock: dict[StockKey, StockPosition] = {}
        self._dispensed: dict[str, str] = {}
        self._received_codes: dict[tuple[str, str], str] = {}
        self._first_received: dict[StockKey, datetime] = {}

    @property
    def policy(self) -> TwoInvoicePolicy:
        """The latest policy (see :attr:`policies` for the ones in force earlier)."""
        return self._policies.latest

    @property
    def policies(self) -> PolicyHistory:
        return self._policies

    def policy_at(self, moment: datetime | None) -> TwoInvoicePolicy:
        """The policy in force at ``moment``; the latest for ``None``."""
        return self._policies.in_force(moment)

    def bootstrap(self, regulator: Party) -> None:
        """Register the first regulator, as the chaincode's initialisation does.

        Raises ``ValueError`` if the party is not a regulator.
        """
        if regulator.role is not Role.REGULATOR:
            raise ValueError(
                f"{regulator.party_id} is a {regulator.role.value}; bootstrap registers the regulator"
            )
        self.apply(regulator, submitter=regulator.party_id)

    def submit(self, record: AnyRecord, *, submitter: str, at: datetime | None = None) -> None:
        """Check ``record`` against the rules as written by ``submitter`` at ``at`` (with the policy in
        force then; the latest when ``None``), then store it.

        Raises :class:`~fabrx_pharma.errors.RuleViolation` (and stores nothing) if a rule is broken.
        """
        check_record(record, self, self.policy_at(at), submitter=submitter)
        self.apply(record, submitter=submitter, written_at=at)

    def apply(
        self, record: AnyRecord, *, submitter: str | None = None, written_at: datetime | None = None
    ) -> None:
        """Store ``record`` without checking it; ``submitter`` defaults to :func:`author_of`;
        ``written_at`` is its transaction time, if known."""
        self._stock.update(stock_effects(record, self))
        self._entries.append(
            Entry(submitter if submitter is not None else author_of(record), record, written_at)
        )
        if isinstance(record, Party):
            self._parties[record.party_id] = record
        elif isinstance(record, Product):
            self._products[record.product_id] = record
        elif isinstance(record, Batch):
            self._batches[record.batch_key] = record
        elif isinstance(record, Invoice):
            self._invoices[str(record.number)] = record
        elif isinstance(record, Receipt):
            number = str(record.invoice_number)
            self._receipts[number] = record
            for code in received_codes(record, self._invoices.get(number)):
                self._received_codes.setdefault((record.receiver, code), number)
            for line in record.lines:
                key = (record.receiver, line.product_id, line.batch_number)
                earlier = self._first_received.get(key)
                if earlier is None or record.received_at < earlier:
                    self._first_received[key] = record.received_at
        elif isinstance(record, Prescription):
            self._prescriptions[record.prescription_id] = record
            for item in record.items:
                for code in item.trace_codes:
                    self._dispensed.setdefault(code, record.prescription_id)
        elif isinstance(record, AdverseEvent):
            self._adverse_events[record.report_id] = record
        else:
            self._recalls[record.batch_key] = record

    # --- LedgerView ---------------------------------------------------------------------------------------

    def party(self, party_id: str) -> Party | None:
        return self._parties.get(party_id)

    def product(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def batch(self, product_id: str, batch_number: str) -> Batch | None:
        return self._batches.get((product_id, batch_number))

    def invoice(self, number: str) -> Invoice | None:
        return self._invoices.get(number)

    def receipt_of(self, invoice_number: str) -> Receipt | None:
        return self._receipts.get(invoice_number)

    def prescription(self, prescription_id: str) -> Prescription | None:
        return self._prescriptions.get(prescription_id)

    def adverse_event(self, report_id: str) -> AdverseEvent | None:
        return self._adverse_events.get(report_id)

    def recall(self, product_id: str, batch_number: str) -> Recall | None:
        return self._recalls.get((product_id, batch_number))

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        return self._stock.get((holder, product_id, batch_number), _EMPTY)

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        return self.stock(holder, product_id, batch_number).purchased

    def dispensed_in(self, trace_code: str) -> str | None:
        return self._dispensed.get(trace_code)

    def received_in(self, holder: str, trace_code: str) -> str | None:
        return self._received_codes.get((holder, trace_code))

    def first_received(self, holder: str, product_id: str, batch_number: str) -> datetime | None:
        return self._first_received.get((holder, product_id, batch_number))

    # --- whole collections, for the regulator's analysis ---------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every write in ledger order, including records later replaced under the same key."""
        return tuple(self._entries)

    @property
    def parties(self) -> tuple[Party, ...]:
        return tuple(self._parties.values())

    @property
    def products(self) -> tuple[Product, ...]:
        return tuple(self._products.values())

    @property
    def batches(self) -> tuple[Batch, ...]:
        return tuple(self._batches.values())

    @property
    def invoices(self) -> tuple[Invoice, ...]:
        return tuple(self._invoices.values())

    @property
    def receipts(self) -> tuple[Receipt, ...]:
        return tuple(self._receipts.values())

    @property
    def prescriptions(self) -> tuple[Prescription, ...]:
        return tuple(self._prescriptions.values())

    @property
    def adverse_events(self) -> tuple[AdverseEvent, ...]:
        return tuple(self._adverse_events.values())

    @property
    def recalls(self) -> tuple[Recall, ...]:
        return tuple(self._recalls.values())

    @property
    def stock_positions(self) -> Mapping[StockKey, StockPosition]:
        return MappingProxyType(self._stock)
