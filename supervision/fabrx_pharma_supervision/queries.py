"""The regulator's questions beyond the chaincode's: findings by rule, party, product, region and period;
purchases, sales and stock per party and batch; the full chain of one traceability code.

Every function takes a connection (``SupervisionStore`` opens one per call) and returns small frozen
values; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from fabrx_pharma import (
    Batch,
    Finding,
    InvoiceHop,
    InvoiceKind,
    Party,
    Recall,
    RuleId,
    Severity,
    StockPosition,
)
from fabrx_pharma.stock import STOCK_COUNTERS

from . import schema as t
from ._analysis import chains_to, invoice_hop
from ._ledger_rules import Located, missing_receipts
from ._rows import micros
from .view import StoreView

__all__ = [
    "FINDING_COLUMNS",
    "HOLDING_COLUMNS",
    "TRADE_COLUMNS",
    "CodeChain",
    "CodeDispensing",
    "CodeShipment",
    "FindingFilter",
    "Holding",
    "InvoiceRow",
    "StoredFinding",
    "TradeRow",
    "code_chain",
    "findings",
    "party_invoices",
    "stock_positions",
    "trade",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, kw_only=True)
class FindingFilter:
    """Which findings to list; every criterion given must hold.

    ``party`` matches the finding's party or counterparty; ``region`` is an administrative division
    prefix (``35`` a province, ``3501`` a city, ``350102`` a county) matched against either party's
    region; ``since``/``until`` bound the business time (``since <= occurred < until``).
    """

    rules: Collection[RuleId] | None = None
    party: str | None = None
    product_id: str | None = None
    batch_number: str | None = None
    region: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name}: must be an aware datetime (with a UTC offset)")
        if self.region is not None and not (self.region.isdigit() and 1 <= len(self.region) <= 6):
            raise ValueError("region: must be 1 to 6 digits of an administrative division code")
        if self.batch_number is not None and self.product_id is None:
            raise ValueError("batch_number: name the product_id too")

    def admits(self, item: StoredFinding) -> bool:
        """Whether ``item`` passes (used for findings computed at query time)."""
        if self.rules is not None and item.finding.rule not in self.rules:
            return False
        if self.party is not None and self.party not in (item.party_id, item.counterparty_id):
            return False
        if self.product_id is not None and item.product_id != self.product_id:
            return False
        if self.batch_number is not None and item.batch_number != self.batch_number:
            return False
        if self.region is not None and not any(
            r is not None and r.startswith(self.region) for r in (item.region, item.counterparty_region)
        ):
            return False
        occurred = item.occurred_at
        if self.since is not None and (occurred is None or occurred < self.since):
            return False
        return not (self.until is not None and (occurred is None or occurred >= self.until))


@dataclass(frozen=True)
class StoredFinding:
    """A finding with what it is indexed by."""

    finding: Finding
    origin: str
    """``write`` (a write-time rule) or ``ledger`` (a whole-ledger rule)."""
    party_id: str | None
    counterparty_id: str | None
    region: str | None
    counterparty_region: str | None
    product_id: str | None
    batch_number: str | None
    occurred_at: datetime | None
    """The business time of the record (UTC): shipment, receipt, prescription, report or recall."""

    def to_row(self) -> dict[str, object]:
        """A flat dict for exports."""
        return {
            "rule": self.finding.rule.value,
            "severity": self.finding.severity.value,
            "subject": self.finding.subject,
            "reason": self.finding.reason,
            "origin": self.origin,
            "party_id": self.party_id,
            "counterparty_id": self.counterparty_id,
            "region": self.region,
            "counterparty_region": self.counterparty_region,
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
        }


def findings(
    connection: sa.Connection,
    where: FindingFilter,
    *,
    as_of: datetime | None,
    receipt_due: timedelta,
) -> list[StoredFinding]:
    """The stored findings that pass ``where``, in write order, then the missing receipts due at
    ``as_of`` (all when ``None``) that pass it."""
    f = t.finding
    query = sa.select(f).order_by(f.c.seq, f.c.finding_id)
    if where.rules is not None:
        query = query.where(f.c.rule.in_(sorted(rule.value for rule in where.rules)))
    if where.party is not None:
        query = query.where(sa.or_(f.c.party_id == where.party, f.c.counterparty_id == where.party))
    if where.product_id is not None:
        query = query.where(f.c.product_id == where.product_id)
    if where.batch_number is not None:
        query = query.where(f.c.batch_number == where.batch_number)
    if where.region is not None:
        prefix = f"{where.region}%"
        query = query.where(sa.or_(f.c.region.like(prefix), f.c.counterparty_region.like(prefix)))
    if where.since is not None:
        query = query.where(f.c.occurred_us >= micros(where.since))
    if where.until is not None:
        query = query.where(f.c.occurred_us < micros(where.until))
    found = [
        StoredFinding(
            Finding(RuleId(row.rule), Severity(row.severity), row.subject, row.reason),
            row.origin,
            row.party_id,
            row.counterparty_id,
            row.region,
            row.counterparty_region,
            row.product_id,
            row.batch_number,
            _moment(row.occurred_us),
        )
        for row in connection.execute(query)
    ]
    if where.rules is None or RuleId.RECEIPT_MISSING in where.rules:
        regions = _regions(connection)
        for located in missing_receipts(connection, as_of_us=_us(as_of), due=receipt_due):
            item = _stored(located, regions)
            if where.admits(item):
                found.append(item)
    return found


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


def _regions(connection: sa.Connection) -> dict[str, str]:
    return {
        party_id: region
        for party_id, region in connection.execute(sa.select(t.party.c.party_id, t.party.c.region))
    }


def _stored(located: Located, regions: dict[str, str]) -> StoredFinding:
    return StoredFinding(
        located.finding,
        "ledger",
        located.party_id,
        located.counterparty_id,
        regions.get(located.party_id or ""),
        regions.get(located.counterparty_id or ""),
        located.product_id,
        located.batch_number,
        _moment(located.occurred_us),
    )


# --- trade and stock ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeRow:
    """What one party bought from (or sold to) one counterparty of one batch in a period."""

    party_id: str
    counterparty_id: str
    kind: InvoiceKind
    product_id: str
    batch_number: str
    invoices: int
    quantity: int
    amount: Decimal

    def to_row(self) -> dict[str, object]:
        return {
            "party_id": self.party_id,
            "counterparty_id": self.counterparty_id,
            "kind": self.kind.value,
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            "invoices": self.invoices,
            "quantity": self.quantity,
            "amount": str(self.amount),
        }


def trade(
    connection: sa.Connection,
    party_id: str,
    *,
    side: str,
    product_id: str | None = None,
    batch_number: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[TradeRow]:
    """Invoiced quantities and amounts per counterparty, invoice kind and batch: ``side="purchases"``
    (the party is the buyer) or ``"sales"`` (the seller); issue dates ``since <= issue_date < until``.

    Raises ``ValueError`` for another ``side``.
    """
    if side not in ("purchases", "sales"):
        raise ValueError(f"side: must be 'purchases' or 'sales', not {side!r}")
    i, il = t.invoice, t.invoice_line
    own, other = (i.c.buyer, i.c.seller) if side == "purchases" else (i.c.seller, i.c.buyer)
    query = (
        sa.select(
            other.label("counterparty"),
            i.c.kind,
            il.c.product_id,
            il.c.batch_number,
            sa.func.count(sa.distinct(i.c.number)).label("invoices"),
            sa.func.sum(il.c.quantity).label("quantity"),
            sa.func.sum(il.c.amount).label("amount"),
        )
        .select_from(il.join(i, i.c.number == il.c.number))
        .where(own == party_id)
        .group_by(other, i.c.kind, il.c.product_id, il.c.batch_number)
    )
    if product_id is not None:
        query = query.where(il.c.product_id == product_id)
    if batch_number is not None:
        query = query.where(il.c.batch_number == batch_number)
    if since is not None:
        query = query.where(i.c.issue_date >= since)
    if until is not None:
        query = query.where(i.c.issue_date < until)
    rows = [
        TradeRow(
            party_id,
            row.counterparty,
            InvoiceKind(row.kind),
            row.product_id,
            row.batch_number,
            int(row.invoices),
            int(row.quantity),
            Decimal(row.amount).quantize(Decimal("0.01")),
        )
        for row in connection.execute(query)
    ]
    return sorted(rows, key=lambda r: (r.product_id, r.batch_number, r.counterparty_id, r.kind.value))


@dataclass(frozen=True)
class InvoiceRow:
    """One invoice of a party: its number, kind, parties, issue date and total."""

    number: str
    kind: InvoiceKind
    seller: str
    buyer: str
    issue_date: date
    total: Decimal


def party_invoices(
    connection: sa.Connection, party_id: str, *, side: str = "both", limit: int = 100
) -> list[InvoiceRow]:
    """The party's invoices, newest first (issue date, then number): ``side="sales"`` (the party is the
    seller), ``"purchases"`` (the buyer) or ``"both"``; at most ``limit``.

    Raises ``ValueError`` for another ``side`` or a ``limit`` below 1.
    """
    if side not in ("purchases", "sales", "both"):
        raise ValueError(f"side: must be 'purchases', 'sales' or 'both', not {side!r}")
    if limit < 1:
        raise ValueError(f"limit: must be at least 1, not {limit}")
    i = t.invoice
    own = {
        "sales": i.c.seller == party_id,
        "purchases": i.c.buyer == party_id,
        "both": sa.or_(i.c.seller == party_id, i.c.buyer == party_id),
    }[side]
    query = (
        sa.select(i.c.number, i.c.kind, i.c.seller, i.c.buyer, i.c.issue_date, i.c.total)
        .where(own)
        .order_by(i.c.issue_date.desc(), i.c.number.desc())
        .limit(limit)
    )
    return [
        InvoiceRow(
            row.number,
            InvoiceKind(row.kind),
            row.seller,
            row.buyer,
            row.issue_date,
            Decimal(row.total).quantize(Decimal("0.01")),
        )
        for row in connection.execute(query)
    ]


@dataclass(frozen=True)
class Holding:
    """One holder's stock counters for one batch."""

    holder: str
    product_id: str
    batch_number: str
    position: StockPosition

    def to_row(self) -> dict[str, object]:
        return {
            "holder": self.holder,
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            **self.position.counters(),
            "on_hand": self.position.on_hand,
        }


def stock_positions(
    connection: sa.Connection,
    *,
    holder: str | None = None,
    product_id: str | None = None,
    batch_number: str | None = None,
) -> list[Holding]:
    """Stock counters (as the rules count them) per holder and batch, filtered by any of the three."""
    s = t.stock
    query = sa.select(s)
    if holder is not None:
        query = query.where(s.c.holder == holder)
    if product_id is not None:
        query = query.where(s.c.product_id == product_id)
    if batch_number is not None:
        query = query.where(s.c.batch_number == batch_number)
    holdings = [
        Holding(
            row["holder"],
            row["product_id"],
            row["batch_number"],
            StockPosition.from_counters({name: row[name] for name in STOCK_COUNTERS}),
        )
        for row in connection.execute(query).mappings()
    ]
    return sorted(holdings, key=lambda h: (h.holder, h.product_id, h.batch_number))


# --- one traceability code ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeShipment:
    """An invoice whose shipment carried the code, and whether its receipt listed it."""

    hop: InvoiceHop
    shipped_at: datetime
    received_listed: bool | None
    """``True`` if the receipt listed the code, ``False`` if it did not, ``None`` without a receipt."""


@dataclass(frozen=True)
class CodeDispensing:
    """A prescription that dispensed the code (more than one is a resale of a returned drug)."""

    prescription_id: str
    hospital: str
    prescribed_at: datetime


@dataclass(frozen=True)
class CodeChain:
    """Everything the store knows about one sales package: from raw materials to the patient."""

    trace_code: str
    product_id: str | None
    batch_number: str | None
    batch: Batch | None
    manufacturer: Party | None
    shipments: tuple[CodeShipment, ...]
    """Invoices whose shipments listed the code, in shipment order."""
    chains: tuple[tuple[InvoiceHop, ...], ...]
    """The invoice chain(s) from the manufacturer to the last party the code was shipped to."""
    dispensings: tuple[CodeDispensing, ...]
    recall: Recall | None


def code_chain(connection: sa.Connection, trace_code: str) -> CodeChain | None:
    """The full chain of one traceability code, or ``None`` if no shipment or dispensing names it."""
    view = StoreView(connection)
    i, sc, sl, r = t.invoice, t.shipment_code, t.shipment_line, t.receipt
    listed = (
        sa.exists()
        .where(t.receipt_code.c.invoice_number == i.c.number, t.receipt_code.c.trace_code == trace_code)
        .label("listed")
    )
    shipments = list(
        connection.execute(
            sa.select(
                i.c.number,
                i.c.kind,
                i.c.seller,
                i.c.buyer,
                i.c.issue_date,
                i.c.shipped_at,
                r.c.received_at,
                sl.c.product_id,
                sl.c.batch_number,
                listed,
            )
            .select_from(
                sc.join(i, i.c.number == sc.c.number)
                .join(sl, sa.and_(sl.c.number == sc.c.number, sl.c.line_index == sc.c.line_index))
                .outerjoin(r, r.c.invoice_number == i.c.number)
            )
            .where(sc.c.trace_code == trace_code)
            .order_by(i.c.shipped_us, i.c.position)
        )
    )
    p, d, dc = t.prescription, t.dispensing, t.dispensing_code
    dispensed = list(
        connection.execute(
            sa.select(p.c.prescription_id, p.c.hospital, p.c.prescribed_at, d.c.product_id, d.c.batch_number)
            .select_from(
                dc.join(p, p.c.prescription_id == dc.c.prescription_id).join(
                    d, sa.and_(d.c.prescription_id == dc.c.prescription_id, d.c.item_index == dc.c.item_index)
                )
            )
            .where(dc.c.trace_code == trace_code)
            .order_by(p.c.prescribed_us, p.c.position)
        )
    )
    if not shipments and not dispensed:
        return None
    first = shipments[0] if shipments else dispensed[0]
    batch_key = (first.product_id, first.batch_number)
    batch = view.batch(*batch_key)
    hops = tuple(
        CodeShipment(
            invoice_hop(row),
            datetime.fromisoformat(row.shipped_at),
            bool(row.listed) if row.received_at is not None else None,
        )
        for row in shipments
    )
    last_buyer = shipments[-1].buyer if shipments else None
    return CodeChain(
        trace_code=trace_code,
        product_id=batch_key[0],
        batch_number=batch_key[1],
        batch=batch,
        manufacturer=view.party(batch.manufacturer) if batch is not None else None,
        shipments=hops,
        chains=tuple(chains_to(connection, last_buyer, batch_key, frozenset({trace_code})))
        if last_buyer is not None
        else (),
        dispensings=tuple(
            CodeDispensing(row.prescription_id, row.hospital, datetime.fromisoformat(row.prescribed_at))
            for row in dispensed
        ),
        recall=view.recall(*batch_key),
    )


FINDING_COLUMNS = (
    "rule",
    "severity",
    "subject",
    "reason",
    "origin",
    "party_id",
    "counterparty_id",
    "region",
    "counterparty_region",
    "product_id",
    "batch_number",
    "occurred_at",
)
TRADE_COLUMNS = (
    "party_id",
    "counterparty_id",
    "kind",
    "product_id",
    "batch_number",
    "invoices",
    "quantity",
    "amount",
)
HOLDING_COLUMNS = ("holder", "product_id", "batch_number", *STOCK_COUNTERS, "on_hand")
