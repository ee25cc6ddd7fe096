"""Invoices with their outbound shipments, and the receipts of the goods."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from typing import Self

from ._base import Part, Record
from ._fields import MAX_TRACE_CODES, FieldReader, Problems, decimal_text
from .errors import ValidationError
from .identifiers import InvoiceNumber, validate_party_id, validate_record_id
from .production import BatchKey
from .traceability import validate_trace_code

__all__ = [
    "Exemption",
    "GoodsLine",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "Receipt",
    "Shipment",
    "quantities",
]

_CENT = Decimal("0.01")
_EXACT_DIGITS = 64
"""Enough digits for any product of a bounded quantity and a unit price read from a record, exactly."""


class InvoiceKind(StrEnum):
    """Where an invoice sits in the chain from manufacturer to hospital."""

    FIRST = "first"
    """Manufacturer (or a party counting as it) → distributor."""
    SECOND = "second"
    """Distributor → hospital."""
    TRANSFER = "transfer"
    """Distributor → distributor: the one extra invoice an exemption allows."""
    DIRECT = "direct"
    """Manufacturer (or a party counting as it) → hospital; the only kind in one-invoice mode (一票制)."""


class Exemption(StrEnum):
    """Why a transfer invoice is allowed on top of the two invoices."""

    GROUP_TRANSFER = "group_transfer"
    """To the seller's wholly-owned or controlled subsidiary within a distribution group."""
    REMOTE_DELIVERY = "remote_delivery"
    """To a distributor delivering to remote township or village facilities."""


def quantities(lines: Iterable[InvoiceLine | GoodsLine]) -> dict[BatchKey, int]:
    """Sum line quantities per (product_id, batch_number)."""
    totals: dict[BatchKey, int] = {}
    for line in lines:
        key = (line.product_id, line.batch_number)
        totals[key] = totals.get(key, 0) + line.quantity
    return totals


@dataclass(frozen=True)
class InvoiceLine(Part):
    """One invoiced item: ``amount`` (tax included) is ``quantity × unit_price`` rounded to the cent.

    Money is compared by value: ``unit_price`` and ``amount`` are written in canonical form
    (:func:`~fabrx_pharma._fields.decimal_text`, at least two decimals), so ``12.5`` and ``12.50`` give
    the same record and the same hash.
    """

    product_id: str
    batch_number: str
    quantity: int
    unit_price: Decimal
    amount: Decimal

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> InvoiceLine:
        f = FieldReader(
            data, path, problems, ("product_id", "batch_number", "quantity", "unit_price", "amount")
        )
        line = cls(
            product_id=f.checked("product_id", validate_record_id),
            batch_number=f.checked("batch_number", validate_record_id),
            quantity=f.positive_int("quantity"),
            unit_price=f.decimal("unit_price", places=6),
            amount=f.decimal("amount", places=2),
        )
        with localcontext(prec=_EXACT_DIGITS):
            expected = (line.unit_price * line.quantity).quantize(_CENT, rounding=ROUND_HALF_UP)
        if f.clean and line.amount != expected:
            f.problem(
                f.at("amount"), f"is {line.amount}, but quantity × unit_price is {expected}", "ARITHMETIC"
            )
        return line

    def to_dict(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            "quantity": self.quantity,
            "unit_price": decimal_text(self.unit_price, 2),
            "amount": decimal_text(self.amount, 2),
        }


@dataclass(frozen=True)
class GoodsLine(Part):
    """Goods of one batch moved or counted: on a shipment, a receipt, or (as ``Dispensing``) a prescription.

    ``trace_codes``, when given, lists one traceability code per sales package, so there are exactly
    ``quantity`` of them and none repeats.
    """

    product_id: str
    batch_number: str
    quantity: int
    trace_codes: tuple[str, ...] = ()

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Self:
        f = FieldReader(data, path, problems, ("product_id", "batch_number", "quantity", "trace_codes"))
        line = cls(
            product_id=f.checked("product_id", validate_record_id),
            batch_number=f.checked("batch_number", validate_record_id),
            quantity=f.positive_int("quantity"),
            trace_codes=f.strings("trace_codes", validate_trace_code, max_items=MAX_TRACE_CODES),
        )
        codes = line.trace_codes
        if f.clean and codes and len(codes) != line.quantity:
            f.problem(
                f.at("trace_codes"),
                f"lists {len(codes)} codes for quantity {line.quantity}: one code per package, or none",
                "COUNT",
            )
        if f.clean and len(set(codes)) != len(codes):
            repeated = sorted({c for c in codes if codes.count(c) > 1})
            f.problem(f.at("trace_codes"), f"repeats {', '.join(repeated)}", "DUPLICATE")
        return line

    def to_dict(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            "quantity": self.quantity,
            "trace_codes": list(self.trace_codes),
        }


@dataclass(frozen=True)
class Shipment(Part):
    """The outbound shipment (出库) that travels with an invoice (票货同行)."""

    shipment_id: str
    shipped_at: datetime
    lines: tuple[GoodsLine, ...]

    @property
    def trace_codes(self) -> frozenset[str]:
        return frozenset(code for line in self.lines for code in line.trace_codes)

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Shipment:
        f = FieldReader(data, path, problems, ("shipment_id", "shipped_at", "lines"))
        return cls(
            shipment_id=f.checked("shipment_id", validate_record_id),
            shipped_at=f.timestamp("shipped_at"),
            lines=f.objects("lines", GoodsLine.read),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "shipment_id": self.shipment_id,
            "shipped_at": self.shipped_at.isoformat(),
            "lines": [line.to_dict() for line in self.lines],
        }


@dataclass(frozen=True)
class Invoice(Record):
    """A VAT invoice between two parties, with the shipment of the invoiced goods."""

    RECORD_TYPE = "invoice"

    number: InvoiceNumber
    kind: InvoiceKind
    seller: str
    """Party id of the seller (who issues the invoice)."""
    buyer: str
    """Party id of the buyer."""
    issue_date: date
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    """Sum of the line amounts."""
    shipment: Shipment
    exemption: Exemption | None = None
    """Required on a ``TRANSFER`` invoice, absent on every other kind."""

    @property
    def key(self) -> str:
        return str(self.number)

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Invoice:
        f = FieldReader(data, path, problems, _INVOICE_FIELDS)
        number = _number(f, "number")
        kind = f.choice("kind", InvoiceKind) or InvoiceKind.FIRST
        seller = f.checked("seller", validate_party_id)
        buyer = f.checked("buyer", validate_party_id)
        issue_date = f.date("issue_date")
        money = f.mark()
        lines = f.objects("lines", InvoiceLine.read)
        total = f.decimal("total", places=2)
        money_clean = f.clean_since(money)
        invoice = cls(
            number=number,
            kind=kind,
            seller=seller,
            buyer=buyer,
            issue_date=issue_date,
            lines=lines,
            total=total,
            shipment=f.nested("shipment", Shipment.read),
            exemption=f.choice("exemption", Exemption, required=False),
        )
        if invoice.seller and invoice.seller == invoice.buyer:
            f.problem(f.at("buyer"), "must differ from the seller")
        total = sum((line.amount for line in invoice.lines), Decimal(0))
        if money_clean and invoice.total != total:
            f.problem(
                f.at("total"), f"is {invoice.total}, but the line amounts add up to {total}", "ARITHMETIC"
            )
        has_exemption = invoice.exemption is not None
        if invoice.kind is InvoiceKind.TRANSFER and f.raw("exemption", required=False) is None:
            f.problem(f.at("exemption"), "a transfer invoice must name its exemption", "REQUIRED")
        if invoice.kind is not InvoiceKind.TRANSFER and has_exemption:
            f.problem(
                f.at("exemption"), f"only a transfer invoice has an exemption, this one is {invoice.kind}"
            )
        return invoice

    def to_dict(self) -> dict[str, object]:
        return {
            "number": str(self.number),
            "kind": self.kind.value,
            "seller": self.seller,
            "buyer": self.buyer,
            "issue_date": self.issue_date.isoformat(),
            "lines": [line.to_dict() for line in self.lines],
            "total": decimal_text(self.total, 2),
            "shipment": self.shipment.to_dict(),
            "exemption": self.exemption.value if self.exemption else None,
        }


_INVOICE_FIELDS = (
    "number",
    "kind",
    "seller",
    "buyer",
    "issue_date",
    "lines",
    "total",
    "shipment",
    "exemption",
)


def _number(f: FieldReader, name: str) -> InvoiceNumber:
    value = f.raw(name)
    if value is None:
        return _NO_NUMBER
    try:
        return InvoiceNumber.parse(value, f.at(name))
    except ValidationError as exc:
        f.problem(exc.field, exc.message, exc.rule)
        return _NO_NUMBER


_NO_NUMBER = InvoiceNumber("0" * 20)


@dataclass(frozen=True)
class Receipt(Record):
    """The buyer's inbound receipt (入库) of the goods shipped with one invoice."""

    RECORD_TYPE = "receipt"

    receipt_id: str
    invoice_number: InvoiceNumber
    receiver: str
    """Party id of the receiver: the invoice's buyer."""
    received_at: datetime
    lines: tuple[GoodsLine, ...]

    @property
    def key(self) -> str:
        return self.receipt_id

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Receipt:
        f = FieldReader(
            data, path, problems, ("receipt_id", "invoice_number", "receiver", "received_at", "lines")
        )
        return cls(
            receipt_id=f.checked("receipt_id", validate_record_id),
            invoice_number=_number(f, "invoice_number"),
            receiver=f.checked("receiver", validate_party_id),
            received_at=f.timestamp("received_at"),
            lines=f.objects("lines", GoodsLine.read),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "receipt_id": self.receipt_id,
            "invoice_number": str(self.invoice_number),
            "receiver": self.receiver,
            "received_at": self.received_at.isoformat(),
            "lines": [line.to_dict() for line in self.lines],
        }
