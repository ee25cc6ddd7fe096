"""The domain's whole-ledger checks as SQL set operations.

``fabrx_pharma.compliance_report`` adds to its replay of every write three after-the-fact checks that
look at the whole ledger: goods shipped without a receipt, late receipts and receipts short of the
shipment, and diversion (a hospital receiving a batch from a distributor that never received it, a
traceability code dispensed at a hospital it was not shipped to). Here each is one SQL query over the
tables (joins, group-bys, anti-joins), optionally restricted to some invoices or prescriptions; Python
only words the reasons, exactly as the domain does, for the rows found.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from fabrx_pharma import Finding, RuleId, Severity

from . import schema as t

__all__ = [
    "LEDGER_RULES",
    "Located",
    "batch_diversions",
    "code_diversions",
    "missing_receipts",
    "receipt_problems",
    "update_receipt_facts",
]

LEDGER_RULES = frozenset({RuleId.RECEIPT_MISSING, RuleId.RECEIPT_LATE, RuleId.DIVERSION})
"""Rules only the whole-ledger checks raise (``INVOICE_GOODS_RECEIPT`` is raised by both: on write for
a receipt that does not match its shipment, after the fact for a receipt short of it)."""

_CHUNK = 500


@dataclass(frozen=True)
class Located:
    """A finding with what the store indexes it by."""

    finding: Finding
    party_id: str | None
    counterparty_id: str | None = None
    product_id: str | None = None
    batch_number: str | None = None
    occurred_us: int | None = None
    seq: int | None = None


def _chunks(values: Collection[str] | None) -> Iterator[Sequence[str] | None]:
    if values is None:
        yield None
        return
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def missing_receipts(
    connection: sa.Connection,
    *,
    numbers: Collection[str] | None = None,
    as_of_us: int | None,
    due: timedelta,
) -> list[Located]:
    """``RECEIPT_MISSING``: invoices whose goods no receipt recorded (shipped more than ``due`` before
    ``as_of``, or all of them when ``as_of`` is ``None``)."""
    i = t.invoice
    found: list[Located] = []
    for chunk in _chunks(numbers):
        query = (
            sa.select(i.c.number, i.c.seller, i.c.buyer, i.c.shipped_at, i.c.shipped_us, i.c.seq)
            .where(~sa.exists().where(t.receipt.c.invoice_number == i.c.number))
            .order_by(i.c.position)
        )
        if as_of_us is not None:
            query = query.where(i.c.shipped_us + _micros(due) < as_of_us)
        if chunk is not None:
            query = query.where(i.c.number.in_(chunk))
        for row in connection.execute(query):
            found.append(
                Located(
                    Finding(
                        RuleId.RECEIPT_MISSING,
                        Severity.WARNING,
                        f"invoice {row.number}",
                        f"shipped by {row.seller} to {row.buyer} at {row.shipped_at}; no receipt recorded",
                    ),
                    row.seller,
                    row.buyer,
                    occurred_us=row.shipped_us,
                    seq=row.seq,
                )
            )
    return found


def update_receipt_facts(connection: sa.Connection, *, numbers: Collection[str] | None = None) -> None:
    """Recompute ``receipt.transit_us`` and ``receipt.short_of_shipment`` of the receipts of ``numbers``
    (every receipt when ``None``) from the current invoice and receipt rows.

    The ingest calls it for the invoice numbers each batch of writes touched (an invoice written again
    after its receipt changes them too), the bulk loader once for all: the facts are kept with the
    rows, as the stock counters are, so that :func:`receipt_problems` reads only the late and short
    receipts."""
    r, i, sl, rl = t.receipt, t.invoice, t.shipment_line, t.receipt_line
    shipped_us = sa.select(i.c.shipped_us).where(i.c.number == r.c.invoice_number).scalar_subquery()
    got = (
        sa.select(sa.func.coalesce(sa.func.sum(rl.c.quantity), 0))
        .where(
            rl.c.invoice_number == r.c.invoice_number,
            rl.c.product_id == sl.c.product_id,
            rl.c.batch_number == sl.c.batch_number,
        )
        .correlate_except(rl)
        .scalar_subquery()
    )
    short = sa.exists(
        sa.select(sl.c.product_id)
        .where(sl.c.number == r.c.invoice_number)
        .group_by(sl.c.product_id, sl.c.batch_number)
        .having(sa.func.sum(sl.c.quantity) > got)
    )
    update = sa.update(r).values(transit_us=r.c.received_us - shipped_us, short_of_shipment=short)
    for chunk in _chunks(numbers):
        connection.execute(update if chunk is None else update.where(r.c.invoice_number.in_(chunk)))


def receipt_problems(
    connection: sa.Connection, *, numbers: Collection[str] | None = None, due: timedelta
) -> list[Located]:
    """``RECEIPT_LATE`` (received more than ``due`` after shipment) and ``INVOICE_GOODS_RECEIPT``
    (received less of a batch than shipped) for invoices that have a receipt (read from the receipt
    facts :func:`update_receipt_facts` keeps)."""
    i, r = t.invoice, t.receipt
    found: list[Located] = []
    for chunk in _chunks(numbers):
        late = (
            sa.select(
                i.c.number, i.c.seller, i.c.buyer, r.c.receiver, i.c.shipped_us, r.c.received_us, r.c.seq
            )
            .select_from(r.join(i, i.c.number == r.c.invoice_number))
            .where(r.c.transit_us > _micros(due))
        )
        short = sa.select(r.c.invoice_number).where(r.c.short_of_shipment)
        if chunk is not None:
            late = late.where(r.c.invoice_number.in_(chunk))
            short = short.where(r.c.invoice_number.in_(chunk))
        for row in connection.execute(late):
            took = timedelta(microseconds=row.received_us - row.shipped_us)
            found.append(
                Located(
                    Finding(
                        RuleId.RECEIPT_LATE,
                        Severity.WARNING,
                        f"invoice {row.number}",
                        f"received by {row.receiver} {took} after shipment (allowed {due})",
                    ),
                    row.seller,
                    row.buyer,
                    occurred_us=row.received_us,
                    seq=row.seq,
                )
            )
        shorts = list(connection.execute(short).scalars())
        for some in _chunks(shorts):
            found += _short_receipts(connection, some)
    return found


def _short_receipts(connection: sa.Connection, numbers: Sequence[str] | None) -> list[Located]:
    """The ``INVOICE_GOODS_RECEIPT`` findings of short receipts: their groups short of the shipment,
    joined with their receipt and invoice."""
    i, r = t.invoice, t.receipt
    found: list[Located] = []
    # Shipped and received quantities per invoice and batch in one aggregate over both line
    # tables (no join of two grouped tables); only the groups short of their shipment are joined
    # with their receipt and invoice.
    gaps = _short_groups(numbers)
    short = sa.select(
        gaps.c.number,
        gaps.c.product_id,
        gaps.c.batch_number,
        gaps.c.shipped,
        gaps.c.got,
        r.c.receiver,
        r.c.received_us,
        r.c.seq,
        i.c.seller,
        i.c.buyer,
    ).select_from(gaps.join(r, r.c.invoice_number == gaps.c.number).join(i, i.c.number == gaps.c.number))
    for gap in connection.execute(short):
        found.append(
            Located(
                Finding(
                    RuleId.INVOICE_GOODS_RECEIPT,
                    Severity.WARNING,
                    f"invoice {gap.number}",
                    f"{gap.receiver} received {gap.got} of the {gap.shipped} shipped of batch "
                    f"{gap.product_id}/{gap.batch_number}",
                ),
                gap.seller,
                gap.buyer,
                gap.product_id,
                gap.batch_number,
                occurred_us=gap.received_us,
                seq=gap.seq,
            )
        )
    return found


def _short_groups(chunk: Sequence[str] | None) -> sa.Subquery:
    """(invoice number, product, batch) groups whose receipt lines add up to less than the shipment's
    lines, with both sums (``shipped``, ``got``)."""
    sl, rl = t.shipment_line, t.receipt_line
    zero = sa.literal(0, sa.BigInteger)
    shipped = sa.select(
        sl.c.number.label("number"),
        sl.c.product_id,
        sl.c.batch_number,
        sl.c.quantity.label("shipped"),
        zero.label("got"),
    )
    got = sa.select(
        rl.c.invoice_number.label("number"),
        rl.c.product_id,
        rl.c.batch_number,
        zero.label("shipped"),
        rl.c.quantity.label("got"),
    )
    if chunk is not None:
        shipped = shipped.where(sl.c.number.in_(chunk))
        got = got.where(rl.c.invoice_number.in_(chunk))
    lines = sa.union_all(shipped, got).subquery("lines")
    total_shipped, total_got = sa.func.sum(lines.c.shipped), sa.func.sum(lines.c.got)
    return (
        sa.select(
            lines.c.number,
            lines.c.product_id,
            lines.c.batch_number,
            total_shipped.label("shipped"),
            total_got.label("got"),
        )
        .group_by(lines.c.number, lines.c.product_id, lines.c.batch_number)
        .having(total_got < total_shipped)
        .subquery("gaps")
    )


def batch_diversions(connection: sa.Connection, *, numbers: Collection[str] | None = None) -> list[Located]:
    """``DIVERSION``: a hospital received, on a second invoice, a batch its seller never received."""
    i, r, rl, s = t.invoice, t.receipt, t.receipt_line, t.stock
    found: list[Located] = []
    for chunk in _chunks(numbers):
        query = (
            sa.select(
                i.c.number,
                i.c.seller,
                i.c.buyer,
                rl.c.product_id,
                rl.c.batch_number,
                r.c.received_us,
                r.c.seq,
            )
            .distinct()
            .select_from(
                i.join(r, r.c.invoice_number == i.c.number)
                .join(rl, rl.c.invoice_number == i.c.number)
                .outerjoin(
                    s,
                    sa.and_(
                        s.c.holder == i.c.seller,
                        s.c.product_id == rl.c.product_id,
                        s.c.batch_number == rl.c.batch_number,
                    ),
                )
            )
            .where(i.c.kind == "second", sa.func.coalesce(s.c.received, 0) == 0)
        )
        if chunk is not None:
            query = query.where(i.c.number.in_(chunk))
        for row in connection.execute(query):
            found.append(
                Located(
                    Finding(
                        RuleId.DIVERSION,
                        Severity.VIOLATION,
                        f"invoice {row.number}",
                        f"{row.buyer} received batch {row.product_id}/{row.batch_number} from {row.seller}, "
                        "which never received that batch",
                    ),
                    row.seller,
                    row.buyer,
                    row.product_id,
                    row.batch_number,
                    occurred_us=row.received_us,
                    seq=row.seq,
                )
            )
    return found


def _shipped_to_hospitals() -> sa.Select[Any]:
    i, sc = t.invoice, t.shipment_code
    return (
        sa.select(sc.c.trace_code, i.c.buyer)
        .select_from(sc.join(i, i.c.number == sc.c.number))
        .where(i.c.kind.in_(("second", "direct")))
    )


def code_diversions(
    connection: sa.Connection, *, prescription_ids: Collection[str] | None = None
) -> list[Located]:
    """``DIVERSION``: a traceability code dispensed at a hospital other than every one it was shipped to
    (on second and direct invoices)."""
    p, d, dc = t.prescription, t.dispensing, t.dispensing_code
    shipped = _shipped_to_hospitals().subquery()
    found: list[Located] = []
    for chunk in _chunks(prescription_ids):
        query = (
            sa.select(
                p.c.prescription_id,
                p.c.hospital,
                p.c.prescribed_us,
                p.c.seq,
                dc.c.trace_code,
                d.c.product_id,
                d.c.batch_number,
            )
            .select_from(
                dc.join(p, p.c.prescription_id == dc.c.prescription_id).join(
                    d,
                    sa.and_(d.c.prescription_id == dc.c.prescription_id, d.c.item_index == dc.c.item_index),
                )
            )
            .where(
                sa.exists().where(shipped.c.trace_code == dc.c.trace_code),
                ~sa.exists().where(shipped.c.trace_code == dc.c.trace_code, shipped.c.buyer == p.c.hospital),
            )
        )
        if chunk is not None:
            query = query.where(p.c.prescription_id.in_(chunk))
        rows = list(connection.execute(query))
        destinations = _destinations(connection, {row.trace_code for row in rows})
        for row in rows:
            found.append(
                Located(
                    Finding(
                        RuleId.DIVERSION,
                        Severity.VIOLATION,
                        f"prescription {row.prescription_id}",
                        f"traceability code {row.trace_code} was shipped to "
                        f"{', '.join(sorted(destinations[row.trace_code]))} but dispensed at {row.hospital}",
                    ),
                    row.hospital,
                    None,
                    row.product_id,
                    row.batch_number,
                    occurred_us=row.prescribed_us,
                    seq=row.seq,
                )
            )
    return found


def _destinations(connection: sa.Connection, codes: set[str]) -> dict[str, set[str]]:
    shipped: dict[str, set[str]] = {}
    for chunk in _chunks(codes):
        assert chunk is not None
        query = _shipped_to_hospitals().where(t.shipment_code.c.trace_code.in_(chunk))
        for code, buyer in connection.execute(query):
            shipped.setdefault(code, set()).add(buyer)
    return shipped


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)
