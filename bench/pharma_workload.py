"""The records of the pharma benchmark: second invoices with their shipments, and their supply chain.

A second invoice (distributor → hospital) is only accepted when the distributor bought and received
every batch it sells (rule ``CONSERVATION``), so the benchmark first records, through the
manufacturer and the distributor, what the invoices draw on. Every concurrent worker gets a *lane* of
its own: its own batches (one per invoice line), bought on one first invoice and received on one
receipt. Two workers never sell from the same batch, so their invoices never update the same stock
counter and never conflict (``MVCC_READ_CONFLICT``); within a lane the invoices are sequential.

Every key carries the run's tag (from the clock), so a second run on the same ledger does not collide
with the first. Dates are relative to ``now``: nothing is dated in the future of its transaction.
The records obey every rule of :mod:`fabrx_pharma`; the unit tests replay them into
:class:`fabrx_pharma.InMemoryLedger`, which applies the same rules as the chaincode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from fabrx_pharma import (
    Batch,
    GoodsLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    Party,
    Product,
    Receipt,
    Shipment,
)
from fabrx_pharma.sample import build_sample_scenario, sample_gtin, sample_invoice_number

__all__ = ["Lane", "PharmaWorkload", "sample_parties"]

# Units per invoice line; each unit ships with its own traceability code.
UNITS_PER_LINE = 2
UNIT_PRICE = Decimal("13.80")
PURCHASE_PRICE = Decimal("12.50")


def sample_parties() -> tuple[Party, tuple[Party, ...]]:
    """The sample regulator and the parties it registers (the MSP ids of network/consortium.yaml)."""
    scenario = build_sample_scenario()
    others = tuple(record for _, record in scenario.writes if isinstance(record, Party))
    return scenario.regulator, others


@dataclass(frozen=True)
class Lane:
    """One worker's supply: its batches (one per invoice line), bought and received once."""

    index: int
    batches: tuple[Batch, ...]
    first_invoice: Invoice
    receipt: Receipt


def _amount(quantity: int, price: Decimal) -> Decimal:
    return (price * quantity).quantize(Decimal("0.01"))


class PharmaWorkload:
    """Generates the benchmark's records for ``lanes`` workers and invoices of ``lines`` lines.

    ``capacity`` is how many second invoices one lane can sell before its stock runs out.

    Raises:
        ValueError: ``lanes`` outside 1..999, ``lines`` outside 1..9 or ``capacity`` outside
            1..499,999 (the numbering scheme's limits).
    """

    def __init__(
        self,
        *,
        manufacturer: str,
        distributor: str,
        hospital: str,
        now: datetime,
        lanes: int,
        lines: int,
        capacity: int = 100_000,
    ) -> None:
        if not 1 <= lanes <= 999 or not 1 <= lines <= 9 or not 1 <= capacity < 500_000:
            raise ValueError(f"workload out of range: lanes {lanes}, lines {lines}, capacity {capacity}")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.manufacturer = manufacturer
        self.distributor = distributor
        self.hospital = hospital
        self.lines = lines
        self.capacity = capacity
        run = int(now.timestamp() * 10)
        self._run = run % 1000  # 3 digits in every traceability code
        self._number_base = (run % 10_000) * 10**10
        self.tag = f"{run % 10**10:010d}"
        self._second_at = now - timedelta(days=1)
        drug_id = f"9{run % 10**6:06d}"
        self.product = Product(
            product_id=f"BENCH-{self.tag}",
            name="阿莫西林胶囊 0.25g×24粒 (benchmark product)",
            manufacturer=manufacturer,
            approval_number=f"国药准字H2024{run % 10_000:04d}",
            gtin=sample_gtin(f"69{run % 10**10:010d}"),
            trace_prefix=drug_id,
        )
        self.lanes = tuple(self._lane(index, now) for index in range(lanes))

    def _lane(self, index: int, now: datetime) -> Lane:
        produced = (now - timedelta(days=40)).date()
        batches = tuple(
            Batch(
                product_id=self.product.product_id,
                batch_number=f"B{self.tag}{index:03d}{line}",
                manufacturer=self.manufacturer,
                production_date=produced,
                expiry_date=produced.replace(year=produced.year + 2) - timedelta(days=1),
                quantity=self.capacity * UNITS_PER_LINE,
            )
            for line in range(self.lines)
        )
        bought = now - timedelta(days=3)
        quantity = self.capacity * UNITS_PER_LINE
        goods = tuple(GoodsLine(b.product_id, b.batch_number, quantity) for b in batches)
        invoice = self._invoice(
            kind=InvoiceKind.FIRST,
            number=self._number_base + index,
            seller=self.manufacturer,
            buyer=self.distributor,
            issued=bought,
            goods=goods,
            price=PURCHASE_PRICE,
        )
        receipt = Receipt(
            receipt_id=f"RCV-{self.tag}-{index:03d}",
            invoice_number=invoice.number,
            receiver=self.distributor,
            received_at=bought + timedelta(hours=5),
            lines=goods,
        )
        return Lane(index=index, batches=batches, first_invoice=invoice, receipt=receipt)

    def _invoice(
        self,
        *,
        kind: InvoiceKind,
        number: int,
        seller: str,
        buyer: str,
        issued: datetime,
        goods: tuple[GoodsLine, ...],
        price: Decimal,
    ) -> Invoice:
        text = sample_invoice_number(issued.date(), number)
        lines = tuple(
            InvoiceLine(g.product_id, g.batch_number, g.quantity, price, _amount(g.quantity, price))
            for g in goods
        )
        return Invoice(
            number=InvoiceNumber.parse(text),
            kind=kind,
            seller=seller,
            buyer=buyer,
            issue_date=issued.date(),
            lines=lines,
            total=sum((line.amount for line in lines), Decimal(0)),
            shipment=Shipment(shipment_id=f"SHP-{text[-10:]}", shipped_at=issued, lines=goods),
        )

    def _codes(self, lane: int, line: int, sequence: int) -> tuple[str, ...]:
        # 7-digit drug id + 13-digit serial: run (3) + lane (3) + line (1) + unit (6).
        first = sequence * UNITS_PER_LINE
        return tuple(
            f"{self.product.trace_prefix}{self._run:03d}{lane:03d}{line}{unit:06d}"
            for unit in range(first, first + UNITS_PER_LINE)
        )

    def second_invoice(self, lane: int, sequence: int) -> Invoice:
        """The ``sequence``-th second invoice of ``lane``: ``lines`` lines, one per batch of the lane.

        Raises:
            ValueError: ``sequence`` is past the lane's capacity.
        """
        if not 0 <= sequence < self.capacity:
            raise ValueError(f"lane {lane} has stock for {self.capacity} invoices, not invoice {sequence}")
        goods = tuple(
            GoodsLine(b.product_id, b.batch_number, UNITS_PER_LINE, self._codes(lane, line, sequence))
            for line, b in enumerate(self.lanes[lane].batches)
        )
        return self._invoice(
            kind=InvoiceKind.SECOND,
            number=self._number_base + (lane + 1) * 10**7 + sequence,
            seller=self.distributor,
            buyer=self.hospital,
            issued=self._second_at,
            goods=goods,
            price=UNIT_PRICE,
        )
