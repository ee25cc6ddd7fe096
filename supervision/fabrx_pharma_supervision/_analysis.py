"""Traces and recall scope answered from the tables, with the domain's result types and semantics.

The same answers as ``fabrx_pharma.trace_prescription`` and ``fabrx_pharma.recall_scope``: candidate
invoices are found with indexed joins instead of scanning every invoice, and ordered as the domain's
in-memory ledger lists them (``position``: the order of their first write). Strings are ordered in
Python, not by the database's collation, so both backends agree with the domain.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from fabrx_pharma import (
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

__all__ = ["chains_to", "recall_scope", "trace_prescription"]

_MAX_DEPTH = 3
"""As in the domain: a chain is followed upstream at most three invoices beyond the first."""


def trace_prescription(
    connection: sa.Connection, *, prescription_id: str | None, patient_pseudonym: str | None
) -> tuple[Trace, ...]:
    view = StoreView(connection)
    if prescription_id is not None:
        found = connection.execute(_BY_ID, {"prescription_id": prescription_id}).scalars()
    else:
        assert patient_pseudonym is not None
        found = connection.execute(_BY_PATIENT, {"patient_pseudonym": patient_pseudonym.lower()}).scalars()
    traces: list[Trace] = []
    for found_id in list(found):
        prescription = view.prescription(found_id)
        assert isinstance(prescription, Prescription)
        for item in prescription.items:
            batch = view.batch(item.product_id, item.batch_number)
            events = tuple(
                connection.execute(
                    _EVENTS,
                    {
                        "prescription_id": prescription.prescription_id,
                        "product_id": item.product_id,
                        "batch_number": item.batch_number,
                    },
                ).scalars()
            )
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
                    adverse_events=events,
                    recall=view.recall(item.product_id, item.batch_number),
                )
            )
    return tuple(traces)


def _sources(
    connection: sa.Connection, buyer: str, batch_key: tuple[str, str], codes: frozenset[str]
) -> list[tuple[InvoiceHop, str]]:
    """Invoices that brought the batch to ``buyer`` (hop, seller); only those carrying ``codes`` if any
    of them do."""
    rows = list(
        connection.execute(
            _SOURCES, {"buyer": buyer, "product_id": batch_key[0], "batch_number": batch_key[1]}
        )
    )
    if codes and rows:
        pinned_numbers = set(
            connection.execute(
                _PINNED, {"numbers": [row.number for row in rows], "codes": sorted(codes)}
            ).scalars()
        )
        pinned = [row for row in rows if row.number in pinned_numbers]
        if pinned:
            rows = pinned
    return [
        (
            InvoiceHop(
                number=row.number,
                kind=InvoiceKind(row.kind),
                seller=row.seller,
                buyer=row.buyer,
                issue_date=row.issue_date,
                received_at=datetime.fromisoformat(row.received_at) if row.received_at is not None else None,
            ),
            row.seller,
        )
        for row in rows
    ]


def chains_to(
    connection: sa.Connection, buyer: str, batch_key: tuple[str, str], codes: frozenset[str], depth: int = 0
) -> list[tuple[InvoiceHop, ...]]:
    """Each invoice chain that brought the batch to ``buyer``, manufacturer first (the domain's rule:
    only invoices carrying ``codes`` when any does, at most four invoices)."""
    chains: list[tuple[InvoiceHop, ...]] = []
    for hop, seller in _sources(connection, buyer, batch_key, codes):
        if hop.kind in (InvoiceKind.FIRST, InvoiceKind.DIRECT) or depth >= _MAX_DEPTH:
            chains.append((hop,))
            continue
        upstream = chains_to(connection, seller, batch_key, codes, depth + 1)
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


# Built once, so SQLAlchemy reuses their compiled form on every trace.
_P = t.prescription
_BY_ID = (
    sa.select(_P.c.prescription_id)
    .where(_P.c.prescription_id == sa.bindparam("prescription_id"))
    .order_by(_P.c.prescribed_us, _P.c.position)
)
_BY_PATIENT = (
    sa.select(_P.c.prescription_id)
    .where(_P.c.patient_pseudonym == sa.bindparam("patient_pseudonym"))
    .order_by(_P.c.prescribed_us, _P.c.position)
)
_EVENTS = (
    sa.select(t.adverse_event.c.report_id)
    .where(
        t.adverse_event.c.prescription_id == sa.bindparam("prescription_id"),
        t.adverse_event.c.product_id == sa.bindparam("product_id"),
        t.adverse_event.c.batch_number == sa.bindparam("batch_number"),
    )
    .order_by(t.adverse_event.c.position)
)
_I, _IL, _R = t.invoice, t.invoice_line, t.receipt
# From the batch's lines to this buyer (one index range: product, batch, buyer), not from the buyer's
# invoices (a hospital has thousands) nor from all of the batch's lines (hundreds in a large province).
_SOURCES = (
    sa.select(
        _I.c.number, _I.c.kind, _I.c.seller, _I.c.buyer, _I.c.issue_date, _R.c.received_at, _I.c.position
    )
    .distinct()
    .select_from(_IL.join(_I, _I.c.number == _IL.c.number).outerjoin(_R, _R.c.invoice_number == _I.c.number))
    .where(
        _IL.c.product_id == sa.bindparam("product_id"),
        _IL.c.batch_number == sa.bindparam("batch_number"),
        _IL.c.buyer == sa.bindparam("buyer"),
    )
    .order_by(_I.c.position)
)
_PINNED = (
    sa.select(t.shipment_code.c.number)
    .distinct()
    .where(
        t.shipment_code.c.number.in_(sa.bindparam("numbers", expanding=True)),
        t.shipment_code.c.trace_code.in_(sa.bindparam("codes", expanding=True)),
    )
)
