"""Records to table rows: what each record type writes into which tables.

Written once for the record-at-a-time ingest and the bulk loader, so both store the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
)

from . import schema as t

__all__ = ["child_tables", "micros", "record_key", "region_of", "rows_of"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Rows = list[tuple[sa.Table, dict[str, object]]]


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch (UTC) of an aware datetime."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def region_of(uscc: str) -> str:
    """The administrative division code in a unified social credit code (characters 3-8)."""
    return uscc[2:8]


def record_key(record: AnyRecord) -> str:
    """The key a record is stored (and replaced) under among the records of its type.

    Like the chaincode's keys: a receipt is found by the number of the invoice it receives.
    """
    if isinstance(record, Receipt):
        return str(record.invoice_number)
    return record.key


def child_tables(record_type: str) -> tuple[tuple[sa.Table, tuple[sa.Column[str], ...]], ...]:
    """The main table and the part tables of a record type, with the columns of the record's key."""
    return _TABLES[record_type]


_TABLES: dict[str, tuple[tuple[sa.Table, tuple[sa.Column[str], ...]], ...]] = {
    "party": ((t.party, (t.party.c.party_id,)), (t.party_counts_as, (t.party_counts_as.c.party_id,))),
    "product": ((t.product, (t.product.c.product_id,)),),
    "batch": (
        (t.batch, (t.batch.c.product_id, t.batch.c.batch_number)),
        (t.raw_material_lot, (t.raw_material_lot.c.product_id, t.raw_material_lot.c.batch_number)),
    ),
    "invoice": (
        (t.invoice, (t.invoice.c.number,)),
        (t.invoice_line, (t.invoice_line.c.number,)),
        (t.shipment_line, (t.shipment_line.c.number,)),
        (t.shipment_code, (t.shipment_code.c.number,)),
    ),
    "receipt": (
        (t.receipt, (t.receipt.c.invoice_number,)),
        (t.receipt_line, (t.receipt_line.c.invoice_number,)),
        (t.receipt_code, (t.receipt_code.c.invoice_number,)),
    ),
    "prescription": (
        (t.prescription, (t.prescription.c.prescription_id,)),
        (t.dispensing, (t.dispensing.c.prescription_id,)),
        (t.dispensing_code, (t.dispensing_code.c.prescription_id,)),
    ),
    "adverse_event": ((t.adverse_event, (t.adverse_event.c.report_id,)),),
    "recall": ((t.recall, (t.recall.c.product_id, t.recall.c.batch_number)),),
}


def key_values(record: AnyRecord) -> tuple[str, ...]:
    """The values of the key columns of :func:`child_tables`, in order."""
    if isinstance(record, Batch | Recall):
        return (record.product_id, record.batch_number)
    return (record_key(record),)


def rows_of(record: AnyRecord, *, seq: int, position: int) -> Iterator[tuple[sa.Table, dict[str, object]]]:
    """The rows a record writes: its main row (with ``seq`` and ``position``) and its parts' rows."""
    stamp = {"seq": seq, "position": position}
    if isinstance(record, Party):
        yield (
            t.party,
            {
                "party_id": record.party_id,
                "role": record.role.value,
                "name": record.name,
                "uscc": record.uscc,
                "region": region_of(record.uscc),
                "parent_party_id": record.parent_party_id,
                "remote_area": record.remote_area,
                **stamp,
            },
        )
        for manufacturer in dict.fromkeys(record.counts_as_manufacturer_of):
            yield t.party_counts_as, {"party_id": record.party_id, "manufacturer_id": manufacturer}
    elif isinstance(record, Product):
        yield (
            t.product,
            {
                "product_id": record.product_id,
                "name": record.name,
                "manufacturer": record.manufacturer,
                "approval_number": record.approval_number,
                "gtin": record.gtin,
                "trace_prefix": record.trace_prefix,
                **stamp,
            },
        )
    elif isinstance(record, Batch):
        yield (
            t.batch,
            {
                "product_id": record.product_id,
                "batch_number": record.batch_number,
                "manufacturer": record.manufacturer,
                "production_date": record.production_date,
                "expiry_date": record.expiry_date,
                "quantity": record.quantity,
                **stamp,
            },
        )
        for i, lot in enumerate(record.raw_material_lots):
            yield (
                t.raw_material_lot,
                {
                    "product_id": record.product_id,
                    "batch_number": record.batch_number,
                    "lot_index": i,
                    "material": lot.material,
                    "lot": lot.lot,
                    "supplier": lot.supplier,
                    "quantity": lot.quantity,
                    "unit": lot.unit,
                },
            )
    elif isinstance(record, Invoice):
        number = str(record.number)
        yield (
            t.invoice,
            {
                "number": number,
                "kind": record.kind.value,
                "seller": record.seller,
                "buyer": record.buyer,
                "issue_date": record.issue_date,
                "total": record.total,
                "exemption": record.exemption.value if record.exemption else None,
                "shipment_id": record.shipment.shipment_id,
                "shipped_at": record.shipment.shipped_at.isoformat(),
                "shipped_us": micros(record.shipment.shipped_at),
                **stamp,
            },
        )
        for i, line in enumerate(record.lines):
            yield (
                t.invoice_line,
                {
                    "number": number,
                    "line_index": i,
                    "product_id": line.product_id,
                    "batch_number": line.batch_number,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "amount": line.amount,
                    "buyer": record.buyer,
                },
            )
        for i, goods in enumerate(record.shipment.lines):
            yield (
                t.shipment_line,
                {
                    "number": number,
                    "line_index": i,
                    "product_id": goods.product_id,
                    "batch_number": goods.batch_number,
                    "quantity": goods.quantity,
                },
            )
            for k, code in enumerate(goods.trace_codes):
                yield (
                    t.shipment_code,
                    {"number": number, "line_index": i, "code_index": k, "trace_code": code},
                )
    elif isinstance(record, Receipt):
        number = str(record.invoice_number)
        yield (
            t.receipt,
            {
                "invoice_number": number,
                "receipt_id": record.receipt_id,
                "receiver": record.receiver,
                "received_at": record.received_at.isoformat(),
                "received_us": micros(record.received_at),
                **stamp,
            },
        )
        for i, goods in enumerate(record.lines):
            yield (
                t.receipt_line,
                {
                    "invoice_number": number,
                    "line_index": i,
                    "product_id": goods.product_id,
                    "batch_number": goods.batch_number,
                    "quantity": goods.quantity,
                },
            )
            for k, code in enumerate(goods.trace_codes):
                yield (
                    t.receipt_code,
                    {"invoice_number": number, "line_index": i, "code_index": k, "trace_code": code},
                )
    elif isinstance(record, Prescription):
        yield (
            t.prescription,
            {
                "prescription_id": record.prescription_id,
                "hospital": record.hospital,
                "patient_pseudonym": record.patient_pseudonym,
                "prescribed_at": record.prescribed_at.isoformat(),
                "prescribed_us": micros(record.prescribed_at),
                **stamp,
            },
        )
        for i, item in enumerate(record.items):
            yield (
                t.dispensing,
                {
                    "prescription_id": record.prescription_id,
                    "item_index": i,
                    "product_id": item.product_id,
                    "batch_number": item.batch_number,
                    "quantity": item.quantity,
                },
            )
            for k, code in enumerate(item.trace_codes):
                yield (
                    t.dispensing_code,
                    {
                        "prescription_id": record.prescription_id,
                        "item_index": i,
                        "code_index": k,
                        "trace_code": code,
                    },
                )
    elif isinstance(record, AdverseEvent):
        yield (
            t.adverse_event,
            {
                "report_id": record.report_id,
                "hospital": record.hospital,
                "prescription_id": record.prescription_id,
                "patient_pseudonym": record.patient_pseudonym,
                "reported_at": record.reported_at.isoformat(),
                "reported_us": micros(record.reported_at),
                "description": record.description,
                "product_id": record.product_id,
                "batch_number": record.batch_number,
                **stamp,
            },
        )
    else:
        yield (
            t.recall,
            {
                "product_id": record.product_id,
                "batch_number": record.batch_number,
                "reason": record.reason,
                "recalled_at": record.recalled_at.isoformat(),
                "recalled_us": micros(record.recalled_at),
                "ordered_by": record.by,
                **stamp,
            },
        )
