"""The store as a ``fabrx_pharma.LedgerView``: what the domain's rules read, answered from the tables.

The ingest checks every write with the domain's own ``check_record`` over this view, so a write-time
finding in the store is exactly the one the domain's replay gives. Records are read back from the write
log's canonical JSON (one primary-key lookup), so the rules see the very records that were written.

A :class:`StoreView` belongs to one connection (and so one database transaction) and keeps a read cache:
the ingest is the store's only writer, and it puts every record it writes into the cache before the rows
reach the database, so reads see writes that are still buffered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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
    StockPosition,
    record_from_json,
)
from fabrx_pharma.stock import STOCK_COUNTERS

from . import schema as t

__all__ = ["StoreView"]

R = TypeVar("R", bound=AnyRecord)
_EMPTY = StockPosition()
_CACHE_LIMIT = 200_000
"""Entries per record cache before it is emptied (at a flush), bounding the ingest's memory."""


class StoreView:
    """``fabrx_pharma.LedgerView`` over a connection, with a cache the ingest writes through."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self.records: dict[tuple[str, str], AnyRecord] = {}
        """(record type, key) → the record's current version, for everything read or written."""
        self.missing: set[tuple[str, str]] = set()
        """(record type, key) looked up and not found (the ingest is the only writer)."""
        self.stock_cache: dict[tuple[str, str, str], StockPosition] = {}
        self.stock_in_db: set[tuple[str, str, str]] = set()
        self.dispensed_cache: dict[str, str] = {}

    @property
    def connection(self) -> sa.Connection:
        return self._connection

    def trim(self) -> None:
        """Empty caches that grew past their limit (call only when nothing is buffered)."""
        if len(self.records) > _CACHE_LIMIT:
            self.records.clear()
        if len(self.missing) > _CACHE_LIMIT:
            self.missing.clear()
        if len(self.stock_cache) > _CACHE_LIMIT:
            self.stock_cache.clear()
            self.stock_in_db.clear()
        if len(self.dispensed_cache) > _CACHE_LIMIT:
            self.dispensed_cache.clear()

    def _record(
        self, record_type: str, key: str, where: Callable[[], sa.ColumnElement[bool]]
    ) -> AnyRecord | None:
        cached = self.records.get((record_type, key))
        if cached is not None or (record_type, key) in self.missing:
            return cached
        table = _MAIN[record_type]
        row = self._connection.execute(
            sa.select(t.ledger_write.c.record_json)
            .select_from(table.join(t.ledger_write, t.ledger_write.c.seq == table.c.seq))
            .where(where())
        ).first()
        if row is None:
            self.missing.add((record_type, key))
            return None
        record = record_from_json(record_type, row[0])
        self.records[(record_type, key)] = record
        return record

    def remember(self, record_type: str, key: str, record: AnyRecord) -> None:
        """Make ``record`` the current version of its key (the ingest calls it for every write)."""
        self.records[(record_type, key)] = record
        self.missing.discard((record_type, key))

    def known(self, record_type: str, key: str) -> bool | None:
        """Whether the key holds a record, if the cache knows; ``None`` if it does not."""
        if (record_type, key) in self.records:
            return True
        if (record_type, key) in self.missing:
            return False
        return None

    # --- LedgerView ---------------------------------------------------------------------------------------

    def party(self, msp_id: str) -> Party | None:
        found = self._record("party", msp_id, lambda: t.party.c.party_id == msp_id)
        return found if isinstance(found, Party) else None

    def product(self, product_id: str) -> Product | None:
        found = self._record("product", product_id, lambda: t.product.c.product_id == product_id)
        return found if isinstance(found, Product) else None

    def batch(self, product_id: str, batch_number: str) -> Batch | None:
        found = self._record(
            "batch",
            f"{product_id}/{batch_number}",
            lambda: sa.and_(t.batch.c.product_id == product_id, t.batch.c.batch_number == batch_number),
        )
        return found if isinstance(found, Batch) else None

    def invoice(self, number: str) -> Invoice | None:
        found = self._record("invoice", number, lambda: t.invoice.c.number == number)
        return found if isinstance(found, Invoice) else None

    def receipt_of(self, invoice_number: str) -> Receipt | None:
        found = self._record("receipt", invoice_number, lambda: t.receipt.c.invoice_number == invoice_number)
        return found if isinstance(found, Receipt) else None

    def prescription(self, prescription_id: str) -> Prescription | None:
        found = self._record(
            "prescription", prescription_id, lambda: t.prescription.c.prescription_id == prescription_id
        )
        return found if isinstance(found, Prescription) else None

    def adverse_event(self, report_id: str) -> AdverseEvent | None:
        found = self._record("adverse_event", report_id, lambda: t.adverse_event.c.report_id == report_id)
        return found if isinstance(found, AdverseEvent) else None

    def recall(self, product_id: str, batch_number: str) -> Recall | None:
        found = self._record(
            "recall",
            f"{product_id}/{batch_number}",
            lambda: sa.and_(t.recall.c.product_id == product_id, t.recall.c.batch_number == batch_number),
        )
        return found if isinstance(found, Recall) else None

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        key = (holder, product_id, batch_number)
        cached = self.stock_cache.get(key)
        if cached is not None:
            return cached
        row = (
            self._connection.execute(
                sa.select(*(t.stock.c[name] for name in STOCK_COUNTERS)).where(
                    t.stock.c.holder == holder,
                    t.stock.c.product_id == product_id,
                    t.stock.c.batch_number == batch_number,
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return _EMPTY
        position = StockPosition.from_counters(row)
        self.stock_cache[key] = position
        self.stock_in_db.add(key)
        return position

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        return self.stock(holder, product_id, batch_number).purchased

    def dispensed_in(self, trace_code: str) -> str | None:
        cached = self.dispensed_cache.get(trace_code)
        if cached is not None:
            return cached
        found = self._connection.execute(
            sa.select(t.dispensed.c.prescription_id).where(t.dispensed.c.trace_code == trace_code)
        ).scalar()
        if found is not None:
            self.dispensed_cache[trace_code] = found
        return found


_MAIN: dict[str, sa.Table] = {
    "party": t.party,
    "product": t.product,
    "batch": t.batch,
    "invoice": t.invoice,
    "receipt": t.receipt,
    "prescription": t.prescription,
    "adverse_event": t.adverse_event,
    "recall": t.recall,
}
