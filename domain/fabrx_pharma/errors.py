"""The errors of the pharma domain core, and the stable codes of the rules they name.

Every error derives from :class:`DomainError`. Grouped by what the caller can do about them::

    DomainError
    ├── ValidationError   one value is malformed (an identifier, a field): fix that field
    ├── RecordError       a record has one or more malformed fields: ``problems`` lists every one
    └── RuleViolation     a well-formed record breaks a two-invoice rule against the ledger: the
                          write must be refused; ``rule`` says which rule and ``field`` where

``RuleId`` values are stable strings: the chaincode puts them in its error messages and the regulator's
report prints them, so a code is never renamed once published.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["DomainError", "RecordError", "RuleId", "RuleViolation", "ValidationError"]


class DomainError(Exception):
    """Root of every error raised by ``fabrx_pharma``."""


class ValidationError(DomainError, ValueError):
    """A value does not have the form its field requires.

    ``rule`` is a short code for the check that failed (for example ``USCC_CHECK`` or ``GTIN_LENGTH``),
    ``field`` the path of the field (``lines[2].quantity``) and ``message`` what is wrong and what is
    expected.
    """

    def __init__(self, rule: str, field: str, message: str) -> None:
        super().__init__(f"{field}: {message} [{rule}]")
        self.rule = rule
        self.field = field
        self.message = message


class RecordError(DomainError, ValueError):
    """A record could not be read: every malformed field is listed in ``problems``."""

    def __init__(self, record_type: str, problems: Iterable[ValidationError]) -> None:
        self.record_type = record_type
        self.problems: tuple[ValidationError, ...] = tuple(problems)
        listed = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{record_type} has {count} problem{'s' if count != 1 else ''}: {listed}")


class RuleId(StrEnum):
    """Stable codes of the rules checked on write and of the regulator's after-the-fact findings."""

    ROLE = "ROLE"
    """The submitter or a party on the record lacks the role (or identity) the transaction requires."""
    UNKNOWN_PARTY = "UNKNOWN_PARTY"
    """A party named on the record was never registered by the regulator."""
    PARTY_INACTIVE = "PARTY_INACTIVE"
    """The submitter, or the buyer of an invoice, has been made inactive by the regulator (it left the
    consortium or lost its licence)."""
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    """The record names a product its manufacturer never registered."""
    UNKNOWN_BATCH = "UNKNOWN_BATCH"
    """The record names a batch (product id and batch number) its manufacturer never recorded."""
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    """A receipt or a verification names an invoice that is not on the ledger."""
    UNKNOWN_PRESCRIPTION = "UNKNOWN_PRESCRIPTION"
    """An adverse-event report names a prescription the hospital never recorded."""
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    """A record with the same key (batch, receipt of an invoice, prescription, report) already exists."""
    CHAIN_LENGTH = "CHAIN_LENGTH"
    """More invoices between manufacturer and hospital than the policy and its exemptions allow."""
    ONE_INVOICE_MODE = "ONE_INVOICE_MODE"
    """In one-invoice mode only the manufacturer may invoice, and only a hospital."""
    BUYER_SELLER_MATCH = "BUYER_SELLER_MATCH"
    """The seller of an onward invoice never bought the batch on an earlier invoice."""
    PRODUCT_BATCH_MATCH = "PRODUCT_BATCH_MATCH"
    """Product, batch, manufacturer and traceability codes do not corroborate each other."""
    CONSERVATION = "CONSERVATION"
    """More of a batch sold or dispensed than the holder received."""
    INVOICE_GOODS_RECEIPT = "INVOICE_GOODS_RECEIPT"
    """Invoice, shipment and receipt disagree on items, batches, quantities or codes (票货同行)."""
    TIME_ORDER = "TIME_ORDER"
    """Dates and times out of order: a sale, shipment or dispensing before the batch was produced or
    before the seller first received it, a receipt before the shipment, an invoice shipped more days from
    its issue date than the policy allows, a date or an approval year after the transaction's own time."""
    INVOICE_REUSED = "INVOICE_REUSED"
    """An invoice with this number and different content is already on the ledger (domain rule 8).
    Writing the same invoice again, with the same content and by the same party, is not refused: the
    write answers the anchor already on the ledger, so a resumed import is idempotent."""
    INVOICE_NUMBER_DATE = "INVOICE_NUMBER_DATE"
    """The year inside a fully digitalised invoice number differs from the issue date's year."""
    BATCH_RECALLED = "BATCH_RECALLED"
    """The batch has been recalled: it can no longer be sold or dispensed, nor recalled again."""
    BATCH_EXPIRED = "BATCH_EXPIRED"
    """The batch expired before the sale or dispensing date (its ``expiry_date`` is the last allowed
    day)."""
    TRACE_CODE_REUSED = "TRACE_CODE_REUSED"
    """A traceability code dispensed a second time: suspected resale of a returned drug (回流药)."""
    TRACE_CODE_NOT_RECEIVED = "TRACE_CODE_NOT_RECEIVED"
    """A hospital dispenses a traceability code that none of its own receipts brought in."""
    PATIENT_MISMATCH = "PATIENT_MISMATCH"
    """An adverse-event report names another patient than its prescription."""
    RECEIPT_MISSING = "RECEIPT_MISSING"
    """After the fact: goods were shipped on an invoice but the buyer never recorded their receipt."""
    RECEIPT_LATE = "RECEIPT_LATE"
    """After the fact: goods took longer than the allowed transit time to be received."""
    DIVERSION = "DIVERSION"
    """After the fact: goods reached a party by a route the ledger does not explain (串货)."""


class RuleViolation(DomainError):
    """A record breaks a rule checked on write; the write must be refused.

    ``rule`` names the rule, ``field`` the path of the offending field in the record (for example
    ``lines[1].quantity`` or ``buyer``) and ``message`` the reason, naming the values involved.
    """

    def __init__(self, rule: RuleId, field: str, message: str) -> None:
        super().__init__(f"{rule.value} at {field}: {message}")
        self.rule = rule
        self.field = field
        self.message = message
