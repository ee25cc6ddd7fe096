"""Traces and recall scope answered from the tables, with the domain's result types and semantics.

The same answers as ``fabrx_pharma.trace_prescription`` and ``fabrx_pharma.recall_scope``: candidate
invoices are found with indexed joins instead of scanning every invoice, and ordered as the domain's
in-memory ledger lists them (``position``: the order of their first write). Strings are ordered in
Python, not by the database's collation, so both backends agree with the domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from fabrx_pharma import (
    AdverseEvent,
    Holding,
    InvoiceHop,
    InvoiceKind,
    Prescription,
    PrescriptionHit,
    RecallScope,
    Role,
    Trace,
)

from . import schema as t
from .errors import NotFound
from .view import StoreView

__all__ = ["chains_to", "invoice_hop", "recall_scope", "trace_prescription"]

_MAX_DEPTH = 3
"""As in the domain: a chain is followed upstream at most three invoices beyond the first."""


def trace_prescription(
    connection: sa.Connection, *, prescription_id: str | None, patient_pseudonym: str | None
) -> tuple[Trace, ...]:
    """The domain's traces: one query reads the prescriptions, one more every other record the traces
    show (:func:`_read_records`), and one per dispensed item its invoice chains (:func:`chains_to`);
    a round trip to a PostgreSQL server costs more than any of them."""
    view = StoreView(connection)
    if prescription_id is not None:
        found = connection.execute(_BY_ID, {"prescription_id": prescription_id}).all()
    else:
        assert patient_pseudonym is not None
        found = connection.execute(_BY_PATIENT, {"patient_pseudonym": patient_pseudonym.lower()}).all()
    view.fill("prescription", (), found)
    prescriptions = [view.prescription(row.key) for row in found]
    events = _read_records(connection, view, [p for p in prescriptions if p is not None])
    traces: list[Trace] = []
    for prescription in prescriptions:
        assert isinstance(prescription, Prescription)
        for item in prescription.items:
            batch = view.batch(item.product_id, item.batch_number)
            traces.append(
                Trace(
                    prescription_id=prescription.prescription_id,
                    hospital=prescription.hospital,
                    patient_pseudonym=prescription.patient_pseudonym,
                    prescribed_at=prescription.prescribed_at,
                    product_id=item.product_id,
                    batch_number=item.batch_number,
                    quantity=item.quantity,
                    trace_codes=item.trace_codes,
                    batch=batch,
                    manufacturer=view.party(batch.manufacturer) if batch is not None else None,
                    chains=tuple(
                        chains_to(
                            connection,
                            prescription.hospital,
                            (item.product_id, item.batch_number),
                            frozenset(item.trace_codes),
                        )
                    ),
                    adverse_events=tuple(
                        event.report_id
                        for event in events
                        if event.prescription_id == prescription.prescription_id
                        and (event.product_id, event.batch_number) == (item.product_id, item.batch_number)
                    ),
                    recall=view.recall(item.product_id, item.batch_number),
                )
            )
    return tuple(traces)


def _read_records(
    connection: sa.Connection, view: StoreView, prescriptions: Sequence[Prescription]
) -> list[AdverseEvent]:
    """Read what the traces of ``prescriptions`` show besides them into ``view``'s cache, in one query
    (:data:`_RECORDS`): the batches dispensed, their manufacturers and recalls, remembered as absent
    where there is none. Returns the prescriptions' adverse events in write order."""
    batches = sorted({(i.product_id, i.batch_number) for p in prescriptions for i in p.items})
    if not batches:
        return []
    found: dict[str, list[sa.Row[Any]]] = {}
    for row in connection.execute(
        _RECORDS,
        {
            "product_ids": sorted({product_id for product_id, _ in batches}),
            "batch_numbers": sorted({batch_number for _, batch_number in batches}),
            "prescriptions": [p.prescription_id for p in prescriptions],
        },
    ):
        found.setdefault(row.record_type, []).append(row)

    def fill(record_type: str, keys: Iterable[str]) -> list[sa.Row[Any]]:
        rows = found.get(record_type, [])
        view.fill(
            record_type,
            keys,
            (
                (
                    row.key if row.batch_number is None else f"{row.key}/{row.batch_number}",
                    row.seq,
                    row.record_json,
                )
                for row in rows
            ),
        )
        return rows

    keys = {f"{product_id}/{batch_number}" for product_id, batch_number in batches}
    fill("batch", keys)
    fill("recall", keys)
    manufacturers = (view.batch(product_id, batch_number) for product_id, batch_number in batches)
    fill("party", {batch.manufacturer for batch in manufacturers if batch is not None})
    events = sorted(fill("adverse_event", ()), key=lambda row: row.position)
    return [event for event in (view.adverse_event(row.key) for row in events) if event is not None]


def _sources(
    connection: sa.Connection, buyer: str, batch_key: tuple[str, str], codes: frozenset[str]
) -> dict[str, list[tuple[InvoiceHop, str]]]:
    """For ``buyer`` and every holder upstream of it within the domain's depth: the invoices that
    brought the batch to that holder (hop, seller), in ledger order — only those carrying ``codes`` if
    any of them do. One query (:data:`_WALK`)."""
    rows = connection.execute(
        _WALK,
        {"buyer": buyer, "product_id": batch_key[0], "batch_number": batch_key[1], "codes": sorted(codes)},
    )
    candidates: dict[str, list[sa.Row[Any]]] = {}
    for row in rows:
        candidates.setdefault(row.buyer, []).append(row)
    sources: dict[str, list[tuple[InvoiceHop, str]]] = {}
    for holder, found in candidates.items():
        pinned = [row for row in found if row.pinned] if codes else []
        sources[holder] = [(invoice_hop(row), row.seller) for row in pinned or found]
    return sources


def invoice_hop(row: Any) -> InvoiceHop:
    """An invoice of a chain from a row with its ``number``, ``kind``, ``seller``, ``buyer``,
    ``issue_date`` and its receipt's ``received_at`` (ISO text, ``None`` while not received)."""
    return InvoiceHop(
        number=row.number,
        kind=InvoiceKind(row.kind),
        seller=row.seller,
        buyer=row.buyer,
        issue_date=row.issue_date,
        received_at=datetime.fromisoformat(row.received_at) if row.received_at is not None else None,
    )


def chains_to(
    connection: sa.Connection, buyer: str, batch_key: tuple[str, str], codes: frozenset[str]
) -> list[tuple[InvoiceHop, ...]]:
    """Each invoice chain that brought the batch to ``buyer``, manufacturer first (the domain's rule:
    only invoices carrying ``codes`` when any does, at most four invoices). One query: the candidate
    invoices of every holder on the way are read at once, then followed here."""
    return _chains(_sources(connection, buyer, batch_key, codes), buyer, 0)


def _chains(
    sources: dict[str, list[tuple[InvoiceHop, str]]], buyer: str, depth: int
) -> list[tuple[InvoiceHop, ...]]:
    chains: list[tuple[InvoiceHop, ...]] = []
    for hop, seller in sources.get(buyer, ()):
        if hop.kind in (InvoiceKind.FIRST, InvoiceKind.DIRECT) or depth >= _MAX_DEPTH:
            chains.append((hop,))
            continue
        upstream = _chains(sources, seller, depth + 1)
        chains.extend([(*chain, hop) for chain in upstream] or [(hop,)])
    return chains


def recall_scope(connection: sa.Connection, product_id: str, batch_number: str) -> RecallScope:
    view = StoreView(connection)
    batch = view.batch(product_id, batch_number)
    if batch is None:
        raise NotFound(f"batch {product_id}/{batch_number} is not on the ledger")
    p, d = t.prescription, t.dispensing
    hits = tuple(
        PrescriptionHit(
            row.prescription_id,
            row.hospital,
            row.patient_pseudonym,
            datetime.fromisoformat(row.at),
            int(row.quantity),
        )
        for row in connection.execute(
            sa.select(
                p.c.prescription_id,
                p.c.hospital,
                p.c.patient_pseudonym,
                p.c.prescribed_at.label("at"),
                sa.func.sum(d.c.quantity).label("quantity"),
            )
            .select_from(d.join(p, p.c.prescription_id == d.c.prescription_id))
            .where(d.c.product_id == product_id, d.c.batch_number == batch_number)
            .group_by(
                p.c.prescription_id,
                p.c.hospital,
                p.c.patient_pseudonym,
                p.c.prescribed_at,
                p.c.prescribed_us,
                p.c.position,
            )
            .order_by(p.c.prescribed_us, p.c.position)
        )
    )
    i, il = t.invoice, t.invoice_line
    invoices = sorted(
        (row.issue_date, row.number)
        for row in connection.execute(
            sa.select(i.c.number, i.c.issue_date)
            .distinct()
            .select_from(il.join(i, i.c.number == il.c.number))
            .where(il.c.product_id == product_id, il.c.batch_number == batch_number)
        )
    )
    events = tuple(
        connection.execute(
            sa.select(t.adverse_event.c.report_id)
            .where(t.adverse_event.c.product_id == product_id, t.adverse_event.c.batch_number == batch_number)
            .order_by(t.adverse_event.c.position)
        ).scalars()
    )
    return RecallScope(
        product_id=product_id,
        batch_number=batch_number,
        manufacturer=batch.manufacturer,
        produced=batch.quantity,
        distributors=_holdings(connection, product_id, batch_number, Role.DISTRIBUTOR),
        hospitals=_holdings(connection, product_id, batch_number, Role.HOSPITAL),
        prescriptions=hits,
        invoices=tuple(number for _, number in invoices),
        adverse_events=events,
        recall=view.recall(product_id, batch_number),
    )


def _holdings(
    connection: sa.Connection, product_id: str, batch_number: str, role: Role
) -> tuple[Holding, ...]:
    s, party = t.stock, t.party
    rows = connection.execute(
        sa.select(s)
        .select_from(s.join(party, party.c.party_id == s.c.holder))
        .where(s.c.product_id == product_id, s.c.batch_number == batch_number, party.c.role == role.value)
    ).mappings()
    holdings = []
    for row in rows:
        out = row["transferred"] + row["sold"] + row["sold_remote"] + row["dispensed"]
        holdings.append(
            Holding(row["holder"], role, int(row["received"]), int(out), int(row["received"] - out))
        )
    return tuple(sorted(holdings, key=lambda h: h.party_id))


# Built once, so SQLAlchemy reuses their compiled form on every trace. Each is a few lookups by primary
# key (or one index range) whatever the planner's statistics say: right after a bulk load, before any
# ANALYZE, PostgreSQL guesses a thousand dispensings per prescription where there are one or two.
_P, _W = t.prescription, t.ledger_write


def _prescriptions(where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """The prescriptions that pass ``where`` as (key, write sequence number, record JSON), in the
    domain's order (by prescription time, then write order)."""
    return (
        sa.select(_P.c.prescription_id.label("key"), _W.c.seq, _W.c.record_json)
        .join_from(_P, _W, _W.c.seq == _P.c.seq)
        .where(where)
        .order_by(_P.c.prescribed_us, _P.c.position)
    )


_BY_ID = _prescriptions(_P.c.prescription_id == sa.bindparam("prescription_id"))
_BY_PATIENT = _prescriptions(_P.c.patient_pseudonym == sa.bindparam("patient_pseudonym"))


def _records() -> sa.CompoundSelect:
    """The records a trace shows besides its prescriptions, in one query: the batches of the
    ``product_ids`` with one of the ``batch_numbers``, with their manufacturers and recalls, and the
    adverse events of the ``prescriptions`` (ids) — each as (record type, key, batch number of a batch
    key, write sequence number, record JSON, write order).

    Two ``IN`` lists, not one of (product, batch number) pairs: SQLite scans the whole table for a
    list of row values. The products and batch numbers of one prescription's few items give only a
    few more pairs than were dispensed, each a primary key lookup, and any record of those is as
    right in the view's cache as the others."""
    b, party, recall, event = t.batch, t.party, t.recall, t.adverse_event
    product_ids: sa.BindParameter[Any] = sa.bindparam("product_ids", expanding=True)
    batch_numbers: sa.BindParameter[Any] = sa.bindparam("batch_numbers", expanding=True)

    def of_batches(table: sa.Table) -> sa.ColumnElement[bool]:
        return sa.and_(table.c.product_id.in_(product_ids), table.c.batch_number.in_(batch_numbers))

    def part(record_type: str, table: sa.Table, *key: sa.ColumnElement[Any]) -> sa.Select[Any]:
        return sa.select(
            sa.literal_column(f"'{record_type}'", sa.String).label("record_type"),
            key[0].label("key"),
            (key[1] if len(key) > 1 else sa.cast(sa.null(), b.c.batch_number.type)).label("batch_number"),
            _W.c.seq,
            _W.c.record_json,
            (
                table.c.position
                if record_type == "adverse_event"
                else sa.cast(sa.null(), event.c.position.type)
            ).label("position"),
        ).join_from(table, _W, _W.c.seq == table.c.seq)

    return sa.union_all(
        part("batch", b, b.c.product_id, b.c.batch_number).where(of_batches(b)),
        part("party", party, party.c.party_id)
        .join(b, b.c.manufacturer == party.c.party_id)
        .where(of_batches(b)),
        part("recall", recall, recall.c.product_id, recall.c.batch_number).where(of_batches(recall)),
        part("adverse_event", event, event.c.report_id).where(
            event.c.prescription_id.in_(sa.bindparam("prescriptions", expanding=True))
        ),
    )


_RECORDS = _records()


def _walk() -> sa.Select[Any]:
    """The candidate invoices of a trace's chains, in one recursive query: those that brought the
    batch (``product_id``, ``batch_number``) to ``buyer``, then, for each one that is neither a first
    nor a direct invoice, those that brought it to its seller, and so on up to the domain's depth;
    in ledger order, each with ``pinned``: whether its shipment lists one of ``codes``. Every candidate
    is followed, pinned or not; which ones a chain keeps is decided per holder in Python, as the domain
    does.

    Each step is one index range of ``invoice_line`` (product, batch, buyer). The batch travels in the
    recursive rows and each step joins on all three columns: given the batch as constants, PostgreSQL
    estimates a batch's lines as one row (it assumes product and batch number independent), scans them
    all and matches the sellers to them, which reads every line of the batch at every step."""
    il, i, r, sc = t.invoice_line, t.invoice, t.receipt, t.shipment_code
    columns = (il.c.product_id, il.c.batch_number, i.c.number, i.c.kind, i.c.seller, i.c.buyer)
    lines = il.join(i, i.c.number == il.c.number)
    hop = (
        sa.select(*columns, i.c.issue_date, i.c.position, sa.literal_column("0", sa.Integer).label("depth"))
        .select_from(lines)
        .where(
            il.c.product_id == sa.bindparam("product_id"),
            il.c.batch_number == sa.bindparam("batch_number"),
            il.c.buyer == sa.bindparam("buyer"),
        )
        .cte("hop", recursive=True)
    )
    below = hop.alias("below")
    upstream = sa.and_(
        il.c.product_id == below.c.product_id,
        il.c.batch_number == below.c.batch_number,
        il.c.buyer == below.c.seller,
    )
    hop = hop.union(
        sa.select(*columns, i.c.issue_date, i.c.position, (below.c.depth + 1).label("depth"))
        .select_from(below.join(lines, upstream))
        .where(
            below.c.depth < _MAX_DEPTH,
            below.c.kind.not_in([InvoiceKind.FIRST.value, InvoiceKind.DIRECT.value]),
        )
    )
    pinned = sa.exists().where(
        sc.c.number == hop.c.number, sc.c.trace_code.in_(sa.bindparam("codes", expanding=True))
    )
    return (
        sa.select(
            hop.c.number,
            hop.c.kind,
            hop.c.seller,
            hop.c.buyer,
            hop.c.issue_date,
            r.c.received_at,
            hop.c.position,
            pinned.label("pinned"),
        )
        .distinct()
        .select_from(hop.outerjoin(r, r.c.invoice_number == hop.c.number))
        .order_by(hop.c.position)
    )


_WALK = _walk()
