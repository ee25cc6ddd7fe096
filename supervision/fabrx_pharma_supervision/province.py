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

import sqlalchemy as sa

from fabrx_pharma import (
    DEFAULT_POLICY,
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
    RuleViolation,
    Shipment,
    StockPosition,
    check_record,
)
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.sample import sample_invoice_number, sample_uscc

from . import schema as t
from ._bulk import BulkRows, deferred_indexes, stock_from_trade
from ._ingest import finding_row, write_finding
from ._ledger_rules import update_receipt_facts
from ._rows import micros, record_key, rows_of
from .store import DEFAULT_FEED, SupervisionStore, _checkpoint, _set_checkpoint
from .writes import LedgerBlock, LedgerWrite

__all__ = [
    "FINDINGS_PER_VIOLATION",
    "LoadResult",
    "Province",
    "ProvinceSpec",
    "Violation",
    "ViolationRates",
    "load_province",
    "write_province",
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
    Violation.CODE_DIVERSION: {RuleId.TRACE_CODE_NOT_RECEIVED: 1, RuleId.DIVERSION: 1},
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


class _Stock:
    """What one holder may still pass on, per batch key, with the keys in stock kept in a list so a
    random pick costs the same at any size (a key leaves the list when its quantity reaches zero)."""

    __slots__ = ("index", "keys", "quantity")

    def __init__(self) -> None:
        self.quantity: dict[tuple[str, str], int] = {}
        self.keys: list[tuple[str, str]] = []
        self.index: dict[tuple[str, str], int] = {}

    def add(self, key: tuple[str, str], quantity: int) -> None:
        after = self.quantity.get(key, 0) + quantity
        self.quantity[key] = after
        if after > 0 and key not in self.index:
            self.index[key] = len(self.keys)
            self.keys.append(key)
        elif after <= 0 and key in self.index:
            at = self.index.pop(key)
            last = self.keys.pop()
            if at < len(self.keys):
                self.keys[at] = last
                self.index[last] = at


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
        self._distributor_stock: dict[str, _Stock] = {d: _Stock() for d in self.distributors}
        self._received: dict[tuple[str, str, str], int] = {}
        self._first_received: dict[tuple[str, str, str], datetime] = {}
        self._received_in: dict[tuple[str, str], str] = {}
        self._bought: set[tuple[str, str, str]] = set()
        self._hospital_stock: dict[str, _Stock] = {h: _Stock() for h in self.hospitals}
        self._codes: dict[tuple[str, str, str], list[str]] = {}
        self._dispensed: dict[tuple[str, str, str], list[str]] = {}
        self._dispensed_in: dict[str, str] = {}
        self._coded_holders: dict[tuple[str, str], dict[str, None]] = {}
        self._delivered: set[tuple[str, str]] = set()
        self._to_reuse: list[Invoice] = []
        self.reused_invoices: list[Invoice] = []
        """The invoices issued a second time at the end (each replaces its first copy in a store)."""
        self._batch_of: dict[tuple[str, str], Batch] = {}
        self._product: dict[str, Product] = {}
        self._flag: Violation | None = None

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
        for submitter, record, _ in self.flagged_writes():
            yield submitter, record

    def flagged_writes(self) -> Iterator[tuple[str, AnyRecord, Violation | None]]:
        """Every write as :meth:`writes` gives it, with the violation it carries that the rules find
        when the write is checked (``None`` for every other write, which passes the write-time rules)."""
        for submitter, record in self._writes():
            yield submitter, record, self._flag
            self._flag = None

    def _writes(self) -> Iterator[tuple[str, AnyRecord]]:
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
        # Received as shipped: the distributor sells from it on later ticks, never dated before receiving.
        receipt = self._receipt(invoice, after=timedelta(0))
        yield buyer, receipt
        stock = self._distributor_stock[buyer]
        if not stock.keys:
            stocked.append(buyer)
        for b, quantity, _, _ in goods:
            stock.add(b.batch_key, quantity)
            self._bought.add((buyer, *b.batch_key))
            received = (buyer, *b.batch_key)
            self._received[received] = self._received.get(received, 0) + quantity
            self._first_received.setdefault(received, receipt.received_at)

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
        available = stock.keys
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
            goods = [(self._batch_of[key], stock.quantity[key] + rnd.randint(1, 5), "12.00", ())]
        if not goods:
            for key in rnd.sample(available, min(len(available), rnd.randint(1, 6))):
                batch = self._batch_of[key]
                coded = rnd.random() < self.spec.coded_share
                quantity = min(stock.quantity[key], rnd.randint(2, 12) if coded else rnd.randint(5, 60))
                codes = self._trace_codes(self._product[batch.product_id], quantity) if coded else ()
                goods.append((batch, quantity, "12.00", codes))
        invoice = self._invoice(InvoiceKind.SECOND, seller, hospital, goods)
        if violation in (Violation.DIVERSION, Violation.OVERSELL):
            self._flag = violation
        yield seller, invoice
        if violation is not Violation.DIVERSION:
            for b, quantity, _, _ in goods:
                stock.add(b.batch_key, -quantity)
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
        if violation is None and rnd.random() < self.spec.rates.invoice_reuse:
            self._to_reuse.append(invoice)
        if violation is not Violation.DIVERSION:
            held = self._hospital_stock[hospital]
            for line in lines:
                key = (line.product_id, line.batch_number)
                held.add(key, line.quantity)
                self._delivered.add(key)
                if line.trace_codes:
                    self._codes.setdefault((hospital, *key), []).extend(line.trace_codes)
                    number = str(invoice.number)
                    self._received_in.update(((hospital, code), number) for code in line.trace_codes)
                    self._coded_holders.setdefault(key, {})[hospital] = None
        if rnd.random() < self.spec.prescription_rate:
            yield from self._prescription(hospital)

    def _prescription(self, hospital: str) -> Iterator[tuple[str, AnyRecord]]:
        rnd = self._random
        held = self._hospital_stock[hospital]
        usable = held.keys
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
                held.add(key, -1)
                violation = Violation.CODE_REUSE
        elif roll < rates.code_reuse + rates.code_diversion:
            for key in rnd.sample(usable, min(3, len(usable))):
                others = [
                    h
                    for h in self._coded_holders.get(key, ())
                    if h != hospital and self._codes.get((h, *key))
                ]
                if others:
                    source = rnd.choice(others)
                    code = self._codes[(source, *key)].pop()
                    items = [Dispensing(*key, 1, (code,))]
                    held.add(key, -1)
                    # Not offered for reuse at this hospital: that would be a diversion as well.
                    violation = Violation.CODE_DIVERSION
                    break
        if not items:
            for key in rnd.sample(usable, min(len(usable), rnd.randint(1, 2))):
                quantity = min(held.quantity[key], rnd.randint(1, 3))
                pool = self._codes.get((hospital, *key), [])
                codes: tuple[str, ...] = ()
                if len(pool) >= quantity:
                    codes = tuple(pool[-quantity:])
                    del pool[-quantity:]
                    self._dispensed.setdefault((hospital, *key), []).extend(codes)
                    for code in codes:
                        self._dispensed_in.setdefault(code, prescription_id)
                items.append(Dispensing(*key, quantity, codes))
            for item in items:
                held.add((item.product_id, item.batch_number), -item.quantity)
        if violation is not None:
            self.injected[violation] += 1
        prescription = Prescription(prescription_id, hospital, patient, prescribed_at, tuple(items))
        if violation in (Violation.CODE_REUSE, Violation.CODE_DIVERSION):
            self._flag = violation
        yield hospital, prescription
        if violation is Violation.CODE_DIVERSION:
            # Indexed once written: its write-time check must not find the code dispensed already.
            for code in items[0].trace_codes:
                self._dispensed_in.setdefault(code, prescription_id)
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
        # Each clean second invoice was picked for reuse with the rate's probability when issued; only
        # those are kept, so memory does not grow with the province.
        for invoice in self._to_reuse:
            self.injected[Violation.INVOICE_REUSE] += 1
            self.reused_invoices.append(invoice)
            self._flag = Violation.INVOICE_REUSE
            yield invoice.seller, invoice
        self._to_reuse = []

    def _recalls(self) -> Iterator[tuple[str, AnyRecord]]:
        sold = sorted(self._delivered)[:3]
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
    store.analyze()
    findings = store.reevaluate()
    return LoadResult(
        writes=writes, blocks=number - first, invoice_lines=province.invoice_lines, findings=findings
    )


class _ProvinceView:
    """What the rules read when the bulk writer checks a write the generator flagged, answered from
    the generator's own bookkeeping (``fabrx_pharma.LedgerView``): parties, products and batches as
    generated, the distributors' and hospitals' stock as the generator keeps it, when each distributor
    first received a batch, which receipt brought each code to a hospital, the codes dispensed so
    far. Invoices, receipts, prescriptions, events and recalls are never looked up by a flagged write
    of the trade phase except a reused invoice number, which the tail phase checks in the store."""

    def __init__(self, province: Province) -> None:
        self._province = province
        self.parties: dict[str, Party] = {}
        self.products: dict[str, Product] = {}
        self.batches: dict[tuple[str, str], Batch] = {}

    def party(self, party_id: str) -> Party | None:
        return self.parties.get(party_id)

    def product(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    def batch(self, product_id: str, batch_number: str) -> Batch | None:
        return self.batches.get((product_id, batch_number))

    def invoice(self, number: str) -> Invoice | None:
        return None

    def receipt_of(self, invoice_number: str) -> Receipt | None:
        return None

    def prescription(self, prescription_id: str) -> Prescription | None:
        return None

    def adverse_event(self, report_id: str) -> AdverseEvent | None:
        return None

    def recall(self, product_id: str, batch_number: str) -> Recall | None:
        return None

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        province = self._province
        key = (product_id, batch_number)
        if holder in province._distributor_stock:
            received = province._received.get((holder, *key), 0)
            left = province._distributor_stock[holder].quantity.get(key, 0) if received else 0
            return StockPosition(purchased=received, received=received, sold=received - left)
        if holder in province._hospital_stock:
            left = province._hospital_stock[holder].quantity.get(key, 0)
            return StockPosition(received=max(left, 0))
        return StockPosition()

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        return self.stock(holder, product_id, batch_number).purchased

    def dispensed_in(self, trace_code: str) -> str | None:
        return self._province._dispensed_in.get(trace_code)

    def received_in(self, holder: str, trace_code: str) -> str | None:
        return self._province._received_in.get((holder, trace_code))

    def first_received(self, holder: str, product_id: str, batch_number: str) -> datetime | None:
        return self._province._first_received.get((holder, product_id, batch_number))


def write_province(
    store: SupervisionStore,
    province: Province,
    *,
    writes_per_block: int = 5_000,
    writes_per_transaction: int = 200_000,
    feed: str = DEFAULT_FEED,
) -> LoadResult:
    """Write a province straight into ``store`` at benchmark sizes: the same rows, write log,
    write-time findings, stock counters and checkpoint as :func:`load_province`, much faster.

    Parties, products, batches and the trade go into the tables as rows (:class:`~._bulk.BulkRows`:
    ``COPY`` on PostgreSQL, prepared ``executemany`` on SQLite), ``writes_per_transaction`` writes and
    their checkpoint per database transaction. The write-time rules run (the domain's
    ``check_record``) only on the writes the generator flags as carrying a violation, over what the
    generator knows (:class:`_ProvinceView`); every other write of that phase passes them by
    construction. The stock counters are then summed from the tables
    (:func:`~._bulk.stock_from_trade`); each receipt's facts (transit time, short of its shipment) are
    computed as its row is written, from the invoice written before it (:class:`_ReceiptFacts`), and
    the receipts written before their invoice, if any, by :func:`~._ledger_rules.update_receipt_facts`
    at the end of the bulk phase. Then the last writes — the reused invoice numbers and the
    recalls — go through the store's checked ingest; the whole-ledger findings are re-evaluated once
    at the end. The tables' secondary indexes are dropped for the bulk phase and built again after it
    (:func:`~._bulk.deferred_indexes`). The store must hold no writes yet (a fresh one); raises
    ``ValueError`` if it does.
    """
    with store.transaction() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(t.ledger_write)).scalar():
            raise ValueError("write_province needs an empty store: this one already holds ledger writes")
    start = store.checkpoint(feed)
    number = 0 if start is None else start + 1
    first = number
    view = _ProvinceView(province)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    stamp = (moment.isoformat(), micros(moment))
    writes = 0
    tail: list[LedgerWrite] = []
    events = province.flagged_writes()
    facts = _ReceiptFacts()
    with deferred_indexes(store.transaction, t.metadata.sorted_tables):
        in_block = 0
        exhausted = False
        while not exhausted and not tail:
            with store.transaction() as connection:
                checkpoint = _checkpoint(connection, feed, lock=True)
                rows = BulkRows(connection)
                opened_at = number
                for submitter, record, flag in events:
                    writes += 1
                    write = LedgerWrite(record, submitter, f"synthetic-{writes:012d}", moment, writes)
                    if flag is Violation.INVOICE_REUSE or isinstance(record, Recall):
                        # The tail: written again under a key in the store, or read back by recall
                        # scope; the checked ingest takes it after the stock counters are summed.
                        tail.append(write)
                        break
                    _bulk_write(rows, view, facts, write, writes, number, stamp, flag)
                    in_block += 1
                    if in_block == writes_per_block:
                        number, in_block = number + 1, 0
                        if (number - opened_at) * writes_per_block >= writes_per_transaction:
                            break
                else:
                    exhausted = True
                rows.flush()
                last = number - 1 if in_block == 0 else number
                if in_block and (exhausted or tail):
                    number, in_block = number + 1, 0
                if last >= first and last != checkpoint:
                    _set_checkpoint(connection, feed, last, exists=checkpoint is not None)
    with store.transaction() as connection:
        stock_from_trade(connection)
        if facts.unmatched:
            update_receipt_facts(connection, numbers=facts.unmatched)
    for submitter, record, _ in events:
        writes += 1
        tail.append(LedgerWrite(record, submitter, f"synthetic-{writes:012d}", moment, writes))
    blocks = [
        LedgerBlock(number + k, tuple(tail[at : at + writes_per_block]))
        for k, at in enumerate(range(0, len(tail), writes_per_block))
    ]
    store.apply_blocks(blocks, feed=feed, ledger_rules=False)
    number += len(blocks)
    store.analyze()
    findings = store.reevaluate()
    return LoadResult(
        writes=writes, blocks=number - first, invoice_lines=province.invoice_lines, findings=findings
    )


class _ReceiptFacts:
    """The receipt facts (``receipt.transit_us``, ``receipt.short_of_shipment``) of the bulk phase,
    computed in memory as each receipt is written instead of by one whole-store ``UPDATE`` afterwards
    (at ten million invoice lines that update, maintaining both columns' indexes row by row, took far
    longer than writing the rows). The values are those :func:`~._ledger_rules.update_receipt_facts`
    computes: received minus shipped, and whether some batch's received quantity falls short of the
    shipped quantity summed over the shipment's lines.

    An invoice waits here, with its shipment time and quantities per batch, until its receipt comes
    (the generator writes a receipt after its invoice); a receipt whose invoice was not written yet is
    left to ``update_receipt_facts`` and listed in :attr:`unmatched`."""

    __slots__ = ("pending", "unmatched")

    def __init__(self) -> None:
        self.pending: dict[str, tuple[int, tuple[tuple[str, str, int], ...]]] = {}
        self.unmatched: list[str] = []

    def invoice(self, record: Invoice) -> None:
        shipped = tuple((g.product_id, g.batch_number, g.quantity) for g in record.shipment.lines)
        self.pending[str(record.number)] = (micros(record.shipment.shipped_at), shipped)

    def fill(self, record: Receipt, row: dict[str, object]) -> None:
        """Set the facts on ``row``, the receipt's own row, when its invoice was written before it."""
        number = str(record.invoice_number)
        known = self.pending.pop(number, None)
        if known is None:
            self.unmatched.append(number)
            row["transit_us"], row["short_of_shipment"] = None, False
            return
        shipped_us, shipped = known
        got: Counter[tuple[str, str]] = Counter()
        for goods in record.lines:
            got[goods.product_id, goods.batch_number] += goods.quantity
        sent: Counter[tuple[str, str]] = Counter()
        for product_id, batch_number, quantity in shipped:
            sent[product_id, batch_number] += quantity
        row["transit_us"] = micros(record.received_at) - shipped_us
        row["short_of_shipment"] = any(quantity > got[key] for key, quantity in sent.items())


def _bulk_write(
    rows: BulkRows,
    view: _ProvinceView,
    facts: _ReceiptFacts,
    write: LedgerWrite,
    seq: int,
    block_number: int,
    stamp: tuple[str, int],
    flag: Violation | None,
) -> None:
    """One write of the bulk phase: its write-log row, its record's rows, the codes it dispensed
    first, and its write-time finding if the generator flagged it."""
    record = write.record
    if isinstance(record, Party):
        view.parties[record.party_id] = record
    elif isinstance(record, Product):
        view.products[record.product_id] = record
    elif isinstance(record, Batch):
        view.batches[record.batch_key] = record
    if flag is not None:
        try:
            check_record(record, view, DEFAULT_POLICY, submitter=write.submitter)
        except RuleViolation as violation:
            located = write_finding(violation, record, write, seq)
            rows.add(t.finding, finding_row(located, "write", view.party))
    data = record.to_json()
    rows.add(
        t.ledger_write,
        {
            "seq": seq,
            "block_number": block_number,
            "transaction_id": write.transaction_id,
            "submitter": write.submitter,
            "timestamp_at": stamp[0],
            "timestamp_us": stamp[1],
            "ledger_order": write.order,
            "record_type": record.RECORD_TYPE,
            "record_key": record_key(record),
            "record_hash": hashlib.sha256(data).hexdigest(),
            "record_json": data.decode("utf-8"),
        },
    )
    if isinstance(record, Invoice):
        facts.invoice(record)
    for table, row in rows_of(record, seq=seq, position=seq):
        if table is t.receipt:
            assert isinstance(record, Receipt)
            facts.fill(record, row)
        rows.add(table, row)
    if isinstance(record, Prescription):
        first_in = view.dispensed_in
        for item in record.items:
            for code in item.trace_codes:
                if first_in(code) in (None, record.prescription_id):
                    rows.add(t.dispensed, {"trace_code": code, "prescription_id": record.prescription_id})
