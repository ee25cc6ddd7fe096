"""A small consortium for the rule tests, with builders for records that default to compliant values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from fabrx_pharma import (
    Batch,
    Dispensing,
    Exemption,
    GoodsLine,
    InMemoryLedger,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    Party,
    Prescription,
    Product,
    Receipt,
    Role,
    RuleId,
    RuleViolation,
    Shipment,
    TwoInvoicePolicy,
    pseudonymise,
)
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.sample import sample_gtin, sample_invoice_number, sample_trace_codes, sample_uscc

REG = "RegulatorMSP"
MAKER = "MakerMSP"
SALES = "MakerSalesMSP"  # the manufacturer's controlled sales company: counts as the manufacturer
OTHER_MAKER = "OtherMakerMSP"
DIST_A = "DistAMSP"
DIST_SUB = "DistASubMSP"  # wholly-owned subsidiary of DIST_A
DIST_B = "DistBMSP"
DIST_REMOTE = "DistRemoteMSP"  # serves remote township facilities
HOSP = "CityHospitalMSP"
HOSP_REMOTE = "TownshipHealthCentreMSP"

KEY = b"test hospital pseudonym key 0001"
ISSUED = date(2024, 5, 6)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_STANDARD_TIME)


def patient(name: str) -> str:
    return pseudonymise(KEY, name)


def _party(party_id: str, role: Role, org: str, **extra: object) -> Party:
    return Party(party_id, role, f"{party_id} name", sample_uscc("91", "350100", org), **extra)  # type: ignore[arg-type]


PARTIES = [
    _party(MAKER, Role.MANUFACTURER, "MA000001"),
    _party(OTHER_MAKER, Role.MANUFACTURER, "MA000002"),
    _party(DIST_A, Role.DISTRIBUTOR, "MA000003"),
    _party(DIST_SUB, Role.DISTRIBUTOR, "MA000004", parent_party_id=DIST_A),
    _party(DIST_B, Role.DISTRIBUTOR, "MA000005"),
    _party(DIST_REMOTE, Role.DISTRIBUTOR, "MA000006", remote_area=True),
    _party(SALES, Role.DISTRIBUTOR, "MA000007", host_msp_id=MAKER, counts_as_manufacturer_of=(MAKER,)),
    _party(HOSP, Role.HOSPITAL, "48800001"),
    _party(HOSP_REMOTE, Role.HOSPITAL, "48800002", remote_area=True),
]

AMOX = Product(
    "AMOX", "amoxicillin capsules", MAKER, "国药准字H20243001", sample_gtin("690123456701"), "8123401"
)
GS1_ONLY = Product(
    "IMPORTED", "imported drug", MAKER, "国药准字HJ20240001", sample_gtin("0400638133393"), None
)
OTHER = Product("OTHER", "other maker's drug", OTHER_MAKER, "国药准字Z20243003", None, "8123499")

A1 = Batch("AMOX", "A1", MAKER, date(2024, 3, 1), date(2026, 2, 28), 1000)
A2 = Batch("AMOX", "A2", MAKER, date(2024, 4, 1), date(2024, 6, 30), 500)
G1 = Batch("IMPORTED", "G1", MAKER, date(2024, 3, 1), date(2026, 2, 28), 300)
O1 = Batch("OTHER", "O1", OTHER_MAKER, date(2024, 3, 1), date(2026, 2, 28), 300)

Goods = Sequence[tuple[Batch, int] | tuple[Batch, int, tuple[str, ...]]]


def amox_codes(first: int, count: int) -> tuple[str, ...]:
    return sample_trace_codes("8123401", first, count)


class World:
    """A ledger with the parties, products and batches above registered through the rules."""

    def __init__(self, policy: TwoInvoicePolicy | None = None) -> None:
        self.ledger = InMemoryLedger(policy=policy or TwoInvoicePolicy())
        self.ledger.bootstrap(
            Party(REG, Role.REGULATOR, "regulator", sample_uscc("11", "350000", "00301234"))
        )
        for party in PARTIES:
            self.ledger.submit(party, submitter=REG)
        for product in (AMOX, GS1_ONLY, OTHER):
            self.ledger.submit(product, submitter=product.manufacturer)
        for batch in (A1, A2, G1, O1):
            self.ledger.submit(batch, submitter=batch.manufacturer)
        self._sequence = 0

    def number(self, issued: date = ISSUED) -> str:
        self._sequence += 1
        return sample_invoice_number(issued, self._sequence)

    def invoice(
        self,
        kind: InvoiceKind,
        seller: str,
        buyer: str,
        goods: Goods = ((A1, 10),),
        *,
        issued: date = ISSUED,
        number: str | None = None,
        exemption: Exemption | None = None,
        shipped_at: datetime | None = None,
        shipment_lines: tuple[GoodsLine, ...] | None = None,
    ) -> Invoice:
        lines = tuple(
            InvoiceLine(g[0].product_id, g[0].batch_number, g[1], Decimal("2.50"), Decimal("2.50") * g[1])
            for g in goods
        )
        shipped = tuple(
            GoodsLine(g[0].product_id, g[0].batch_number, g[1], g[2] if len(g) > 2 else ())  # type: ignore[misc]
            for g in goods
        )
        return Invoice(
            number=InvoiceNumber.parse(number or self.number(issued)),
            kind=kind,
            seller=seller,
            buyer=buyer,
            issue_date=issued,
            lines=lines,
            total=sum((line.amount for line in lines), Decimal(0)),
            shipment=Shipment(
                "SHP-1", shipped_at or at(issued), shipment_lines if shipment_lines is not None else shipped
            ),
            exemption=exemption,
        )

    def receipt(
        self,
        invoice: Invoice,
        *,
        lines: tuple[GoodsLine, ...] | None = None,
        received_at: datetime | None = None,
        receiver: str | None = None,
    ) -> Receipt:
        return Receipt(
            receipt_id=f"RCV-{invoice.number}",
            invoice_number=invoice.number,
            receiver=receiver or invoice.buyer,
            received_at=received_at or invoice.shipment.shipped_at + timedelta(hours=6),
            lines=lines if lines is not None else invoice.shipment.lines,
        )

    def trade(
        self,
        kind: InvoiceKind,
        seller: str,
        buyer: str,
        goods: Goods = ((A1, 10),),
        **kwargs: object,
    ) -> Invoice:
        """Submit an invoice and its receipt; return the invoice."""
        invoice = self.invoice(kind, seller, buyer, goods, **kwargs)  # type: ignore[arg-type]
        self.ledger.submit(invoice, submitter=seller)
        self.ledger.submit(self.receipt(invoice), submitter=buyer)
        return invoice

    def stock_hospital(self, hospital: str = HOSP, goods: Goods | None = None) -> None:
        """Manufacturer → DIST_A → hospital with receipts, so the hospital can dispense."""
        goods = goods if goods is not None else [(A1, 10, amox_codes(1, 10))]
        plain = [(g[0], g[1]) for g in goods]
        self.trade(InvoiceKind.FIRST, MAKER, DIST_A, plain)
        self.trade(InvoiceKind.SECOND, DIST_A, hospital, goods)

    def prescription(
        self,
        hospital: str = HOSP,
        items: Goods | None = None,
        *,
        prescription_id: str = "RX-1",
        when: datetime | None = None,
        who: str = "patient-1",
    ) -> Prescription:
        items = items if items is not None else [(A1, 1, amox_codes(1, 1))]
        return Prescription(
            prescription_id,
            hospital,
            patient(who),
            when or at(date(2024, 6, 1)),
            tuple(
                Dispensing(g[0].product_id, g[0].batch_number, g[1], g[2] if len(g) > 2 else ())
                for g in items
            ),  # type: ignore[misc]
        )


def violates(rule: RuleId, field: str, action: Callable[[], object]) -> RuleViolation:
    """Assert ``action`` raises a RuleViolation of ``rule`` at ``field``; return it."""
    with pytest.raises(RuleViolation) as caught:
        action()
    assert (caught.value.rule, caught.value.field) == (rule, field), str(caught.value)
    return caught.value


def with_(record: object, **changes: object) -> object:
    return replace(record, **changes)  # type: ignore[type-var]
