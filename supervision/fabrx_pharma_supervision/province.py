"""A synthetic province: parties, products, batches and a year of trade with known violations.

:class:`Province` generates, from a seed, the writes a provincial consortium would put on its ledger —
manufacturers' batches and first invoices, distributors' second invoices to hospitals and clinics,
receipts, prescriptions with traceability codes, a few adverse events and recalls — in ledger order,
with each kind of violation injected at a known rate. Every injected violation gives exactly the
findings listed in :data:`FINDINGS_PER_VIOLATION`, and nothing else gives one, so after a run
:attr:`Province.expected_findings` is the compliance report's count per rule.

:func:`load_province` writes a province straight into a store in large blocks (rows in ``executemany``
batches, whole-ledger findings left to one :meth:`SupervisionStore.reevaluate` at the end).

Every identifier has valid structure and check characters; all of it is invented.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Dispensing,
    GoodsLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    Party,
    Prescription,
    Product,
    RawMaterialLot,
    Recall,
    Receipt,
    Role,
    RuleId,
    Shipment,
)
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.sample import sample_invoice_number, sample_uscc

from .store import DEFAULT_FEED, SupervisionStore
from .writes import LedgerBlock, LedgerWrite

__all__ = [
    "FINDINGS_PER_VIOLATION",
    "LoadResult",
    "Province",
    "ProvinceSpec",
    "Violation",
    "ViolationRates",
    "load_province",
]

REGULATOR = "RegulatorMSP"
_START = datetime(2025, 3, 3, 8, tzinfo=CHINA_STANDARD_TIME)
_PRODUCED = date(2025, 1, 2)
_EXPIRES = date(2028, 1, 1)
_SPAN = timedelta(days=300)


class Violation(StrEnum):
    """The kinds of violation the generator injects."""

    MISSING_RECEIPT = "missing_receipt"
    """A hospital never records the receipt of a second invoice."""
    LATE_RECEIPT = "late_receipt"
    """A hospital records a receipt 8 to 9 days after shipment (more than the 7 allowed)."""
    SHORT_RECEIPT = "short_receipt"
    """A hospital receives one package less than shipped of one batch."""
    DIVERSION = "diversion"
    """A distributor sells a hospital a batch it never bought (串货)."""
    OVERSELL = "oversell"
    """A distributor sells more of a batch than it received."""
    CODE_REUSE = "code_reuse"
    """A hospital dispenses a traceability code it already dispensed (回流药)."""
    CODE_DIVERSION = "code_diversion"
    """A hospital dispenses a package whose code was shipped to another hospital."""
    INVOICE_REUSE = "invoice_reuse"
    """A distributor issues an invoice under a number already on the ledger."""


FINDINGS_PER_VIOLATION: dict[Violation, dict[RuleId, int]] = {
    Violation.MISSING_RECEIPT: {RuleId.RECEIPT_MISSING: 1},
    Violation.LATE_RECEIPT: {RuleId.RECEIPT_LATE: 1},
    Violation.SHORT_RECEIPT: {RuleId.INVOICE_GOODS_RECEIPT: 1},
    Violation.DIVERSION: {RuleId.BUYER_SELLER_MATCH: 1, RuleId.DIVERSION: 1},
    Violation.OVERSELL: {RuleId.CONSERVATION: 1},
    Violation.CODE_REUSE: {RuleId.TRACE_CODE_REUSED: 1},
    Violation.CODE_DIVERSION: {RuleId.DIVERSION: 1},
    Violation.INVOICE_REUSE: {RuleId.INVOICE_REUSED: 1},
}
"""The findings (rule → count) each injected violation gives in the compliance report (``as_of=None``)."""


@dataclass(frozen=True, kw_only=True)
class ViolationRates:
    """How often each violation is injected: per second invoice for the trade violations, per
    prescription for the dispensing ones."""

    missing_receipt: float = 0.01
    late_receipt: float = 0.01
    short_receipt: float = 0.005
    diversion: float = 0.002
    oversell: float = 0.002
    code_reuse: float = 0.005
    code_diversion: float = 0.005
    invoice_reuse: float = 0.001

    def rate(self, violation: Violation) -> float:
        return float(getattr(self, violation.value))


@dataclass(frozen=True, kw_only=True)
class ProvinceSpec:
    """The size and make-up of a province. The defaults are a large province's year of trade, scaled to
    ``invoice_lines`` (first and second invoice lines together)."""

    manufacturers: int = 200
    distributors: int = 500
    hospitals: int = 3_000
    products: int = 20_000
    invoice_lines: int = 1_000_000
    seed: int = 0
    rates: ViolationRates = field(default_factory=ViolationRates)
    coded_share: float = 0.2
    """Share of second-invoice lines whose packages carry traceability codes on the shipment."""
    remote_share: float = 0.1
    """Share of hospitals that are remote township or village facilities."""
    prescription_rate: float = 0.6
    """Prescriptions written per received second invoice."""

    def __post_init__(self) -> None:
        for name in ("manufacturers", "distributors", "hospitals", "products", "invoice_lines"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if self.products < self.manufacturers:
            raise ValueError("products: every manufacturer needs at least one product")


def _org_body(prefix: str, n: int) -> str:
    return f"{prefix}{n:07d}"[-8:]


class Province:
    """The writes of one synthetic province, generated on demand (:meth:`writes`), in ledger order."""

    def __init__(self, spec: ProvinceSpec) -> None:
        self.spec = spec
        self._random = random.Random(spec.seed)
        self.injected: Counter[Violation] = Counter()
        """How many of each violation the writes so far carry."""
        self.invoice_lines = 0
        self.manufacturers = [f"M{n:04d}" for n in range(spec.manufacturers)]
        self.distributors = [f"D{n:04d}" for n in range(spec.distributors)]
        self.hospitals = [f"H{n:05d}" for n in range(spec.hospitals)]
        self._remote = {h for h in self.hospitals if self._random.random() < spec.remote_share}
        self._sequence = 0
        self._serials: dict[str, int] = {}
        self._clock = _START
        self._step = _SPAN / max(1, spec.invoice_lines // 3)
        # Generator-side stock: what each holder may still pass on, exactly as the rules count it.
        self._products_of: dict[str, list[Product]] = {}
        self._sellable: dict[str, list[Batch]] = {}
        self._reserved: dict[str, Batch] = {}
        self._distributor_stock: dict[str, dict[tuple[str, str], int]] = {d: {} for d in self.distributors}
        self._bought: set[tuple[str, str, str]] = set()
        self._hospital_stock: dict[str, dict[tuple[str, str], int]] = {h: {} for h in self.hospitals}
        self._codes: dict[tuple[str, str, str], list[str]] = {}
        self._dispensed: dict[tuple[str, str, str], list[str]] = {}
        self._holders: dict[tuple[str, str], list[str]] = {}
        self._clean_invoices: list[Invoice] = []
        self._batch_of: dict[tuple[str, str], Batch] = {}
        self._product: dict[str, Product] = {}

    @property
    def expected_findings(self) -> Counter[RuleId]:
        """The compliance report's findings per rule (``as_of=None``) for the writes generated so far."""
        expected: Counter[RuleId] = Counter()
        for violation, count in self.injected.items():
            for rule, per in FINDINGS_PER_VIOLATION[violation].items():
                expected[rule] += per * count
        return expected

    # --- identities -------------------------------------------------------------------------------------

    def _party(self, party_id: str, role: Role, n: int, **extra: object) -> Party:
        registration = "12" if role is Role.HOSPITAL else "91"
        division = f"35{(n % 9) + 1:02d}{(n // 9) % 20 + 1:02d}"
        org = {"manufacturer": "MA", "distributor": "MB", "hospital": "48"}[role.value]
        return Party(  # type: ignore[arg-type]
            party_id,
            role,
            f"{role.value} {party_id}",
            sample_uscc(registration, division, _org_body(org, n)),
            **extra,
        )

    def _tick(self) -> datetime:
        self._clock += self._step
        return self._clock

    def _number(self, issued: date) -> InvoiceNumber:
        self._sequence += 1
        return InvoiceNumber.parse(sample_invoice_number(issued, self._sequence))

    def _trace_codes(self, product: Product, count: int) -> tuple[str, ...]:
        prefix = product.trace_prefix or ""
        first = self._serials.get(prefix, 0)
        self._serials[prefix] = first + count
        return tuple(f"{prefix}{serial:013d}" for serial in range(first, first + count))

    # --- the writes -------------------------------------------------------------------------------------

    def writes(self) -> Iterator[tuple[str, AnyRecord]]:
        """Every write, as (submitter, record), in ledger order; the regulator's registration first."""
        spec = self.spec
        yield (
            REGULATOR,
            Party(
                REGULATOR,
                Role.REGULATOR,
                "province health commission",
                sample_uscc("11", "350000", "00301234"),
            ),
        )
        for n, m in enumerate(self.manufacturers):
            yield REGULATOR, self._party(m, Role.MANUFACTURER, n)
        for n, d in enumerate(self.distributors):
            yield REGULATOR, self._party(d, Role.DISTRIBUTOR, n)
        for n, h in enumerate(self.hospitals):
            yield REGULATOR, self._party(h, Role.HOSPITAL, n, remote_area=h in self._remote)
        for n in range(spec.products):
            maker = self.manufacturers[n % spec.manufacturers]
            product = Product(
                product_id=f"P{n:06d}",
                name=f"product {n}",
                manufacturer=maker,
                approval_number=f"国药准字H{20250000 + n:08d}",
                trace_prefix=f"{1000000 + n:07d}",
            )
            self._product[product.product_id] = product
            self._products_of.setdefault(maker, []).append(product)
            yield maker, product
            for k, label in enumerate(("A", "B", "R")):
                batch = Batch(
                    product_id=product.product_id,
                    batch_number=f"{label}{n:06d}",
                    manufacturer=maker,
                    production_date=_PRODUCED,
                    expiry_date=_EXPIRES,
                    quantity=10_000_000,
                    raw_material_lots=(
                        RawMaterialLot(
                            "active ingredient", f"API-{n:06d}-{k}", "supplier", Decimal("1.5"), "kg"
                        ),
                    ),
                )
                self._batch_of[batch.batch_key] = batch
                if label == "R":
                    self._reserved[product.product_id] = batch
                else:
                    self._sellable.setdefault(maker, []).append(batch)
                yield maker, batch
        stocked: list[str] = []
        while self.invoice_lines < spec.invoice_lines:
            if not stocked or self._random.random() < 0.06:
                yield from self._first_invoice(stocked)
            else:
                yield from self._second_invoice(stocked)
        yield from self._reused_invoices()
        yield from self._recalls()

    def _lines(
        self, goods: Sequence[tuple[Batch, int, str, tuple[str, ...]]]
    ) -> tuple[tuple[InvoiceLine, ...], Decimal]:
        lines = tuple(
            InvoiceLine(b.product_id, b.batch_number, q, Decimal(price), Decimal(price) * q)
            for b, q, price, _ in goods
        )
        return lines, sum((line.amount for line in lines), Decimal(0))

    def _invoice(
        self,
        kind: InvoiceKind,
        seller: str,
        buyer: str,
        goods: Sequence[tuple[Batch, int, str, tuple[str, ...]]],
    ) -> Invoice:
        shipped_at = self._tick()
        issued = shipped_at.astimezone(CHINA_STANDARD_TIME).date()
        lines, total = self._lines(goods)
        number = self._number(issued)
        self.invoice_lines += len(lines)
        return Invoice(
            number=number,
            kind=kind,
            seller=seller,
            buyer=buyer,
            issue_date=issued,
            lines=lines,
            total=total,
            shipment=Shipment(
                shipment_id=f"SHP-{self._sequence:09d}",
                shipped_at=shipped_at,
                lines=tuple(GoodsLine(b.product_id, b.batch_number, q, codes) for b, q, _, codes in goods),
            ),
        )

    def _receipt(
        self, invoice: Invoice, *, after: timedelta, lines: tuple[GoodsLine, ...] | None = None
    ) -> Receipt:
        return Receipt(
            receipt_id=f"RCV-{str(invoice.number)[-9:]}",
            invoice_number=invoice.number,
            receiver=invoice.buyer,
            received_at=invoice.shipment.shipped_at + after,
            lines=invoice.shipment.lines if lines is None else lines,
        )

    def _first_invoice(self, stocked: list[str]) -> Iterator[tuple[str, AnyRecord]]:
        rnd = self._random
        maker = rnd.choice(self.manufacturers)
        buyer = rnd.choice(self.distributors)
        batches = rnd.sample(self._sellable[maker], min(len(self._sellable[maker]), rnd.randint(1, 6)))
        goods = [(b, rnd.randint(200, 2000), "10.00", ()) for b in batches]
        invoice = self._invoice(InvoiceKind.FIRST, maker, buyer, goods)
        yield maker, invoice
        yield buyer, self._receipt(invoice, after=timedelta(days=1))
        stock = self._distributor_stock[buyer]
        if not stock:
            stocked.append(buyer)
        for b, quantity, _, _ in goods:
            stock[b.batch_key] = stock.get(b.batch_key, 0) + quantity
            self._bought.add((buyer, *b.batch_key))

    def _pick(self) -> Violation | None:
        roll = self._random.random()
        for violation in (
            Violation.MISSING_RECEIPT,
            Violation.LATE_RECEIPT,
            Violation.SHORT_RECEIPT,
            Violation.DIVERSION,
            Violation.OVERSELL,
        ):
            roll -= self.spec.rates.rate(violation)
            if roll < 0:
                return violation
        return None

    def _second_invoice(self, stocked: list[str]) -> Iterator[tuple[str, AnyRecord]]:
        rnd = self._random
        index = rnd.randrange(len(stocked))
        seller = stocked[index]
        stock = self._distributor_stock[seller]
        available = [key for key, quantity in stock.items() if quantity > 0]
        if not available:
            stocked[index] = stocked[-1]
            stocked.pop()
            return
        hospital = rnd.choice(self.hospitals)
        violation = self._pick()
        goods: list[tuple[Batch, int, str, tuple[str, ...]]] = []
        if violation is Violation.DIVERSION:
            product_id = rnd.choice(available)[0]
            reserved = self._reserved[product_id]
            if (seller, *reserved.batch_key) in self._bought:
                violation = None
            else:
                goods = [(reserved, rnd.randint(5, 30), "12.00", ())]
        if violation is Violation.OVERSELL:
            key = rnd.choice(available)
            goods = [(self._batch_of[key], stock[key] + rnd.randint(1, 5), "12.00", ())]
        if not goods:
            for key in rnd.sample(available, min(len(available), rnd.randint(1, 6))):
                batch = self._batch_of[key]
                coded = rnd.random() < self.spec.coded_share
                quantity = min(stock[key], rnd.randint(2, 12) if coded else rnd.randint(5, 60))
                codes = self._trace_codes(self._product[batch.product_id], quantity) if coded else ()
                goods.append((batch, quantity, "12.00", codes))
        invoice = self._invoice(InvoiceKind.SECOND, seller, hospital, goods)
        yield seller, invoice
        if violation is not Violation.DIVERSION:
            for b, quantity, _, _ in goods:
                stock[b.batch_key] -= quantity
        if violation is not None:
            self.injected[violation] += 1
        if violation is Violation.MISSING_RECEIPT:
            return
        lines = invoice.shipment.lines
        if violation is Violation.SHORT_RECEIPT:
            short = lines[0]
            if short.quantity < 2:
                self.injected[violation] -= 1
                violation = None
            else:
                reduced = GoodsLine(
                    short.product_id, short.batch_number, short.quantity - 1, short.trace_codes[:-1]
                )
                lines = (reduced, *lines[1:])
        after = (
            timedelta(days=8, hours=rnd.randint(0, 20))
            if violation is Violation.LATE_RECEIPT
            else timedelta(days=1)
        )
        yield hospital, self._receipt(invoice, after=after, lines=lines)
        if violation is None:
            self._clean_invoices.append(invoice)
        if violation is not Violation.DIVERSION:
            held = self._hospital_stock[hospital]
            for line in lines:
                key = (line.product_id, line.batch_number)
                held[key] = held.get(key, 0) + line.quantity
                self._holders.setdefault(key, []).append(hospital)
                if line.trace_codes:
                    self._codes.setdefault((hospital, *key), []).extend(line.trace_codes)
        if rnd.random() < self.spec.prescription_rate:
            yield from self._prescription(hospital)

    def _prescription(self, hospital: str) -> Iterator[tuple[str, AnyRecord]]:
        rnd = self._random
        held = self._hospital_stock[hospital]
        usable = [key for key, quantity in held.items() if quantity > 0]
        if not usable:
            return
        self._sequence += 1
        prescription_id = f"RX-{self._sequence:09d}"
        patient = hashlib.sha256(
            f"{self.spec.seed}/patient/{rnd.randrange(200 * len(self.hospitals))}".encode()
        ).hexdigest()
        prescribed_at = self._tick()
        roll = rnd.random()
        rates = self.spec.rates
        items: list[Dispensing] = []
        violation: Violation | None = None
        if roll < rates.code_reuse:
            reusable = [k for k in usable if self._dispensed.get((hospital, *k))]
            if reusable:
                key = rnd.choice(reusable)
                items = [Dispensing(*key, 1, (rnd.choice(self._dispensed[(hospital, *key)]),))]
                held[key] -= 1
                violation = Violation.CODE_REUSE
        elif roll < rates.code_reuse + rates.code_diversion:
            for key in rnd.sample(usable, min(3, len(usable))):
                others = [
                    h for h in self._holders.get(key, ()) if h != hospital and self._codes.get((h, *key))
                ]
                if others:
                    source = rnd.choice(others)
                    code = self._codes[(source, *key)].pop()
                    items = [Dispensing(*key, 1, (code,))]
                    held[key] -= 1
                    # Not offered for reuse at this hospital: that would be a diversion as well.
                    violation = Violation.CODE_DIVERSION
                    break
        if not items:
            for key in rnd.sample(usable, min(len(usable), rnd.randint(1, 2))):
                quantity = min(held[key], rnd.randint(1, 3))
                pool = self._codes.get((hospital, *key), [])
                codes: tuple[str, ...] = ()
                if len(pool) >= quantity:
                    codes = tuple(pool[-quantity:])
                    del pool[-quantity:]
                    self._dispensed.setdefault((hospital, *key), []).extend(codes)
                items.append(Dispensing(*key, quantity, codes))
                held[key] -= quantity
        if violation is not None:
            self.injected[violation] += 1
        prescription = Prescription(prescription_id, hospital, patient, prescribed_at, tuple(items))
        yield hospital, prescription
        if violation is None and rnd.random() < 0.01:
            item = items[0]
            yield (
                hospital,
                AdverseEvent(
                    report_id=f"ADR-{self._sequence:09d}",
                    hospital=hospital,
                    prescription_id=prescription_id,
                    patient_pseudonym=patient,
                    reported_at=prescribed_at + timedelta(hours=2),
                    description="suspected adverse reaction",
                    product_id=item.product_id,
                    batch_number=item.batch_number,
                ),
            )

    def _reused_invoices(self) -> Iterator[tuple[str, AnyRecord]]:
        count = round(self.spec.rates.invoice_reuse * len(self._clean_invoices))
        for invoice in self._random.sample(self._clean_invoices, min(count, len(self._clean_invoices))):
            self.injected[Violation.INVOICE_REUSE] += 1
            yield invoice.seller, invoice

    def _recalls(self) -> Iterator[tuple[str, AnyRecord]]:
        sold = sorted(self._holders)[:3]
        for product_id, batch_number in sold:
            yield (
                REGULATOR,
                Recall(product_id, batch_number, "quality defect found in sampling", self._tick(), REGULATOR),
            )


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_province` wrote."""

    writes: int
    blocks: int
    invoice_lines: int
    findings: int


def load_province(
    store: SupervisionStore,
    province: Province,
    *,
    writes_per_block: int = 5_000,
    blocks_per_transaction: int = 10,
    feed: str = DEFAULT_FEED,
) -> LoadResult:
    """Write a province straight into ``store``, in blocks after its checkpoint, then re-evaluate the
    whole-ledger findings once."""
    start = store.checkpoint(feed)
    number = 0 if start is None else start + 1
    first = number
    writes = 0
    pending: list[LedgerBlock] = []
    block: list[LedgerWrite] = []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for submitter, record in province.writes():
        writes += 1
        block.append(LedgerWrite(record, submitter, f"synthetic-{writes:012d}", moment, writes))
        if len(block) == writes_per_block:
            pending.append(LedgerBlock(number, tuple(block)))
            number, block = number + 1, []
            if len(pending) == blocks_per_transaction:
                store.apply_blocks(pending, feed=feed, ledger_rules=False)
                pending = []
    if block:
        pending.append(LedgerBlock(number, tuple(block)))
        number += 1
    if pending:
        store.apply_blocks(pending, feed=feed, ledger_rules=False)
    findings = store.reevaluate()
    return LoadResult(
        writes=writes, blocks=number - first, invoice_lines=province.invoice_lines, findings=findings
    )
