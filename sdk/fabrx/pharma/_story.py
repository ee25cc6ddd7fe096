"""The records of one demo run: the sample consortium's compliant trade with fresh keys per run.

Every key a run writes (batch numbers, invoice numbers, traceability codes, prescription and report
ids) carries the run's tag, derived from the clock, so a second run on the same ledger writes new
records instead of colliding with the first. Dates are relative to ``now``, so no record is dated in
the future of its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from fabrx_pharma import (
    AdverseEvent,
    Batch,
    Dispensing,
    GoodsLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    Prescription,
    Product,
    RawMaterialLot,
    Receipt,
    Shipment,
    pseudonymise,
)
from fabrx_pharma.sample import SAMPLE_PSEUDONYM_KEY, sample_invoice_number, sample_trace_codes

__all__ = ["Story", "build_story"]


@dataclass(frozen=True)
class Story:
    """One run's compliant records, by step, plus the material its violations are made of."""

    tag: str
    batches: tuple[Batch, ...]
    first_invoices: tuple[Invoice, ...]
    first_receipts: tuple[Receipt, ...]
    second_invoices: tuple[Invoice, ...]
    second_receipts: tuple[Receipt, ...]
    unreceived: Invoice
    """A second invoice whose goods are never received (a finding after the fact)."""
    prescriptions: tuple[Prescription, ...]
    adverse_event: AdverseEvent
    numbers: tuple[str, ...]
    """Every invoice number the run may use, in order; the violations take the spare ones."""


def _number(day: date, run: int, k: int) -> str:
    return sample_invoice_number(day, run * 100 + k)


def _invoice(
    kind: InvoiceKind,
    number: str,
    seller: str,
    buyer: str,
    issued: datetime,
    goods: list[tuple[Batch, int, str, tuple[str, ...]]],
) -> Invoice:
    lines = tuple(
        InvoiceLine(b.product_id, b.batch_number, q, Decimal(p), (Decimal(p) * q).quantize(Decimal("0.01")))
        for b, q, p, _ in goods
    )
    return Invoice(
        number=InvoiceNumber.parse(number),
        kind=kind,
        seller=seller,
        buyer=buyer,
        issue_date=issued.date(),
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        shipment=Shipment(
            shipment_id=f"SHP-{number[-8:]}",
            shipped_at=issued,
            lines=tuple(GoodsLine(b.product_id, b.batch_number, q, codes) for b, q, _, codes in goods),
        ),
    )


def _receipt(invoice: Invoice, after: timedelta) -> Receipt:
    return Receipt(
        receipt_id=f"RCV-{str(invoice.number)[-8:]}",
        invoice_number=invoice.number,
        receiver=invoice.buyer,
        received_at=invoice.shipment.shipped_at + after,
        lines=invoice.shipment.lines,
    )


def build_story(
    products: tuple[Product, Product],
    *,
    manufacturer: str,
    distributors: tuple[str, str],
    hospitals: tuple[str, str],
    now: datetime,
) -> Story:
    """The records of one run (``now`` aware; the run tag is taken from it, 0.1 s resolution)."""
    amox, ceft = products
    dist_a, dist_b = distributors
    hosp_a, hosp_b = hospitals
    run = int(now.timestamp() * 10) % 10**12
    tag = f"{run:012d}"
    start = now - timedelta(days=3)

    def batch(
        product: Product, prefix: str, days_ago: int, quantity: int, lots: list[RawMaterialLot]
    ) -> Batch:
        produced = (now - timedelta(days=days_ago)).date()
        return Batch(
            product_id=product.product_id,
            batch_number=f"{prefix}{tag}",
            manufacturer=manufacturer,
            production_date=produced,
            expiry_date=produced.replace(year=produced.year + 2) - timedelta(days=1),
            quantity=quantity,
            raw_material_lots=tuple(lots),
        )

    amox_1 = batch(
        amox,
        "A",
        40,
        1000,
        [
            RawMaterialLot(
                "阿莫西林 (amoxicillin trihydrate)",
                f"API-{tag}-1",
                "示例原料药有限公司",
                Decimal("6.25"),
                "kg",
            ),
            RawMaterialLot(
                "明胶空心胶囊 (gelatin capsule shells)",
                f"CAP-{tag}",
                "示例胶囊有限公司",
                Decimal("24000"),
                "pcs",
            ),
        ],
    )
    ceft_1 = batch(
        ceft,
        "C",
        30,
        500,
        [
            RawMaterialLot(
                "头孢曲松钠 (ceftriaxone sodium)", f"API-{tag}-2", "示例原料药有限公司", Decimal("0.52"), "kg"
            )
        ],
    )
    assert amox.trace_prefix is not None and ceft.trace_prefix is not None
    serial = (run % 10**9) * 1000
    codes_amox_a = sample_trace_codes(amox.trace_prefix, serial + 1, 10)
    codes_ceft_a = sample_trace_codes(ceft.trace_prefix, serial + 1, 5)
    codes_amox_b = sample_trace_codes(amox.trace_prefix, serial + 101, 6)
    codes_amox_u = sample_trace_codes(amox.trace_prefix, serial + 201, 3)

    day = start.date()
    numbers = tuple(_number(day, run, k) for k in range(1, 10))
    first_a = _invoice(
        InvoiceKind.FIRST,
        numbers[0],
        manufacturer,
        dist_a,
        start,
        [(amox_1, 200, "12.50", ()), (ceft_1, 100, "45.00", ())],
    )
    first_b = _invoice(
        InvoiceKind.FIRST, numbers[1], manufacturer, dist_b, start, [(amox_1, 150, "12.50", ())]
    )
    second_at = start + timedelta(days=1)
    second_a = _invoice(
        InvoiceKind.SECOND,
        numbers[2],
        dist_a,
        hosp_a,
        second_at,
        [(amox_1, 10, "13.80", codes_amox_a), (ceft_1, 5, "48.60", codes_ceft_a)],
    )
    second_b = _invoice(
        InvoiceKind.SECOND, numbers[3], dist_b, hosp_b, second_at, [(amox_1, 6, "13.80", codes_amox_b)]
    )
    unreceived = _invoice(
        InvoiceKind.SECOND, numbers[4], dist_a, hosp_a, second_at, [(amox_1, 3, "13.80", codes_amox_u)]
    )

    def patient(number: str) -> str:
        return pseudonymise(SAMPLE_PSEUDONYM_KEY, number)

    rx_at = now - timedelta(hours=6)
    prescriptions = (
        Prescription(
            f"RX-A-{tag}-1",
            hosp_a,
            patient("350102198001011234"),
            rx_at,
            (Dispensing(amox_1.product_id, amox_1.batch_number, 2, codes_amox_a[:2]),),
        ),
        Prescription(
            f"RX-A-{tag}-2",
            hosp_a,
            patient("350102199205052345"),
            rx_at + timedelta(hours=1),
            (Dispensing(ceft_1.product_id, ceft_1.batch_number, 1, codes_ceft_a[:1]),),
        ),
        Prescription(
            f"RX-B-{tag}-1",
            hosp_b,
            patient("350824196507073456"),
            rx_at + timedelta(hours=2),
            (Dispensing(amox_1.product_id, amox_1.batch_number, 1, codes_amox_b[:1]),),
        ),
    )
    event = AdverseEvent(
        report_id=f"ADR-A-{tag}",
        hospital=hosp_a,
        prescription_id=prescriptions[1].prescription_id,
        patient_pseudonym=prescriptions[1].patient_pseudonym,
        reported_at=rx_at + timedelta(hours=3),
        description="皮疹、瘙痒 (rash and itching) 30 minutes after infusion",
        product_id=ceft_1.product_id,
        batch_number=ceft_1.batch_number,
    )
    return Story(
        tag=tag,
        batches=(amox_1, ceft_1),
        first_invoices=(first_a, first_b),
        first_receipts=(_receipt(first_a, timedelta(hours=5)), _receipt(first_b, timedelta(hours=6))),
        second_invoices=(second_a, second_b),
        second_receipts=(_receipt(second_a, timedelta(hours=4)), _receipt(second_b, timedelta(hours=5))),
        unreceived=unreceived,
        prescriptions=prescriptions,
        adverse_event=event,
        numbers=numbers,
    )
