"""The store as a ``fabrx_pharma.LedgerView``: what the domain's rules read, answered from the tables.

The ingest checks every write with the domain's own ``check_record`` over this view, so a write-time
finding in the store is exactly the one the domain's replay gives. Records are read back from the write
log's canonical JSON (one primary-key lookup), so the rules see the very records that were written.

A :class:`StoreView` belongs to one connection (and so one database transaction) and keeps a read cache,
negative answers included: the ingest is the store's only writer, and it puts every record it writes
into the cache before the rows reach the database, so reads see writes that are still buffered.

Decoding a record from its JSON (with every field checked) is most of a lookup's cost, and a feed reads
the same parties, products and batches in block after block. :class:`DecodedRecords` keeps decoded
records across transactions, keyed by their write's sequence number: a write log row never changes once
committed, so the record decoded from it stays right for as long as the row exists. A view only hands
what it decoded to the shared cache after its transaction committed (:meth:`StoreView.decoded`), so a
rolled-back transaction, whose sequence numbers the next one reuses, leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    StockPosition,
    record_from_json,
)
from fabrx_pharma.stock import STOCK_COUNTERS, received_codes

from . import schema as t

__all__ = ["DecodedRecords", "StoreView"]

_EMPTY = StockPosition()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PREFETCH_CHUNK = 400
_CACHE_LIMIT = 200_000
"""Entries per cache before it is emptied (at a flush), bounding the ingest's memory."""


class DecodedRecords:
    """Records decoded from committed write log rows, by write sequence number, shared by the views of
    one store (bounded: emptied when it grows past its limit)."""

    def __init__(self, limit: int = _CACHE_LIMIT) -> None:
        self._limit = limit
        self._records: dict[int, AnyRecord] = {}

    def __len__(self) -> int:
        return len(self._records)

    def get(self, seq: int) -> AnyRecord | None:
        return self._records.get(seq)

    def add(self, decoded: dict[int, AnyRecord]) -> None:
        """Keep ``decoded`` (read from rows that are committed now)."""
        if len(self._records) + len(decoded) > self._limit:
            self._records.clear()
        self._records.update(decoded)

    def clear(self) -> None:
        self._records.clear()


class StoreView:
    """``fabrx_pharma.LedgerView`` over a connection, with a cache the ingest writes through."""

    def __init__(self, connection: sa.Connection, shared: DecodedRecords | None = None) -> None:
        self._connection = connection
        self._shared = shared
        self.decoded: dict[int, AnyRecord] = {}
        """Records this view decoded from the write log, by sequence number: for the shared cache once
        the transaction committed."""
        self.records: dict[tuple[str, str], AnyRecord] = {}
        """(record type, key) → the record's current version, for everything read or written."""
        self.missing: set[tuple[str, str]] = set()
        """(record type, key) looked up and not found."""
        self.stock_cache: dict[tuple[str, str, str], StockPosition] = {}
        self.stock_in_db: set[tuple[str, str, str]] = set()
        self.dispensed_cache: dict[str, str] = {}
        self.dispensed_missing: set[str] = set()
        self.received_cache: dict[tuple[str, str], str | None] = {}
        """(holder, trace code) → the invoice whose receipt brought it in, ``None`` if none did."""
        self.first_received_cache: dict[tuple[str, str, str], datetime | None] = {}

    @property
    def connection(self) -> sa.Connection:
        return self._connection

    def trim(self) -> None:
        """Empty caches that grew past their limit (call only when nothing is buffered)."""
        if len(self.records) + len(self.missing) > _CACHE_LIMIT:
            self.records.clear()
            self.missing.clear()
        if len(self.stock_cache) > _CACHE_LIMIT:
            self.stock_cache.clear()
            self.stock_in_db.clear()
        if len(self.dispensed_cache) + len(self.dispensed_missing) > _CACHE_LIMIT:
            self.dispensed_cache.clear()
            self.dispensed_missing.clear()
        if len(self.received_cache) + len(self.first_received_cache) > _CACHE_LIMIT:
            self.received_cache.clear()
            self.first_received_cache.clear()

    def _record(self, record_type: str, key: str, *values: str) -> AnyRecord | None:
        cached = self.records.get((record_type, key))
        if cached is not None or (record_type, key) in self.missing:
            return cached
        row = self._connection.execute(
            _BY_KEY[record_type], dict(zip(_KEYS[record_type], values, strict=True))
        ).first()
        if row is None:
            self.missing.add((record_type, key))
            return None
        record = self._decode(record_type, row.seq, row.record_json)
        self.records[(record_type, key)] = record
        return record

    def _decode(self, record_type: str, seq: int, data: str) -> AnyRecord:
        record = self._shared.get(seq) if self._shared is not None else None
        if record is None:
            record = self.decoded.get(seq)
        if record is None:
            record = record_from_json(record_type, data)
            self.decoded[seq] = record
        return record

    def prefetch(self, record_type: str, keys: Iterable[tuple[str, ...]]) -> None:
        """Load the records under ``keys`` (key column values) not cached yet, in a few ``IN`` queries, and
        remember the absent ones."""
        wanted = sorted({k for k in keys if self.known(record_type, "/".join(k)) is None})
        if not wanted:
            return
        table, names = _MAIN[record_type], _KEYS[record_type]
        columns = [table.c[name] for name in names]
        for start in range(0, len(wanted), _PREFETCH_CHUNK):
            chunk = wanted[start : start + _PREFETCH_CHUNK]
            match = (
                columns[0].in_([k[0] for k in chunk]) if len(names) == 1 else sa.tuple_(*columns).in_(chunk)
            )
            query = (
                sa.select(*columns, t.ledger_write.c.seq, t.ledger_write.c.record_json)
                .select_from(table.join(t.ledger_write, t.ledger_write.c.seq == table.c.seq))
                .where(match)
            )
            for row in self._connection.execute(query):
                key = "/".join(row[: len(names)])
                self.records[(record_type, key)] = self._decode(record_type, row[-2], row[-1])
        for k in wanted:
            if (record_type, "/".join(k)) not in self.records:
                self.missing.add((record_type, "/".join(k)))

    def fill(self, record_type: str, keys: Iterable[str], rows: Iterable[tuple[str, int, str]]) -> None:
        """Cache what a caller's own query read of ``keys`` — rows of (key, write sequence number,
        record JSON) — and remember the keys without a row as absent, as :meth:`prefetch` does."""
        for key, seq, data in rows:
            self.records[(record_type, key)] = self._decode(record_type, seq, data)
        for key in keys:
            if (record_type, key) not in self.records:
                self.missing.add((record_type, key))

    def prefetch_stock(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """Load the stock positions of ``keys`` not cached yet in a few ``IN`` queries."""
        wanted = sorted({k for k in keys if k not in self.stock_cache})
        columns = (t.stock.c.holder, t.stock.c.product_id, t.stock.c.batch_number)
        for start in range(0, len(wanted), _PREFETCH_CHUNK):
            chunk = wanted[start : start + _PREFETCH_CHUNK]
            query = sa.select(*columns, *(t.stock.c[name] for name in STOCK_COUNTERS)).where(
                sa.tuple_(*columns).in_(chunk)
            )
            for row in self._connection.execute(query).mappings():
                key = (row["holder"], row["product_id"], row["batch_number"])
                self.stock_cache[key] = StockPosition.from_counters(row)
                self.stock_in_db.add(key)
        for k in wanted:
            self.stock_cache.setdefault(k, _EMPTY)

    def prefetch_dispensed(self, codes: Iterable[str]) -> None:
        """Load which of ``codes`` were dispensed, in a few ``IN`` queries."""
        wanted = sorted(
            {c for c in codes if c not in self.dispensed_cache and c not in self.dispensed_missing}
        )
        for start in range(0, len(wanted), _PREFETCH_CHUNK):
            chunk = wanted[start : start + _PREFETCH_CHUNK]
            query = sa.select(t.dispensed.c.trace_code, t.dispensed.c.prescription_id).where(
                t.dispensed.c.trace_code.in_(chunk)
            )
            for code, prescription_id in self._connection.execute(query):
                self.dispensed_cache[code] = prescription_id
        self.dispensed_missing.update(c for c in wanted if c not in self.dispensed_cache)

    def prefetch_received(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Answer :meth:`received_in` for the (holder, trace code) pairs not cached yet in a few ``IN``
        queries (the candidate receipts of every code at once, then the domain's choice among them)."""
        wanted = {pair for pair in pairs if pair not in self.received_cache}
        if not wanted:
            return
        codes = sorted({code for _, code in wanted})
        candidates: dict[tuple[str, str], dict[str, int]] = {}
        r = t.receipt
        for start in range(0, len(codes), _PREFETCH_CHUNK):
            chunk = codes[start : start + _PREFETCH_CHUNK]
            shipped = (
                sa.select(r.c.receiver, t.shipment_code.c.trace_code, r.c.invoice_number, r.c.position)
                .select_from(t.shipment_code.join(r, r.c.invoice_number == t.shipment_code.c.number))
                .where(t.shipment_code.c.trace_code.in_(chunk))
            )
            listed = (
                sa.select(r.c.receiver, t.receipt_code.c.trace_code, r.c.invoice_number, r.c.position)
                .select_from(t.receipt_code.join(r, r.c.invoice_number == t.receipt_code.c.invoice_number))
                .where(t.receipt_code.c.trace_code.in_(chunk))
            )
            for receiver, code, number, position in self._connection.execute(sa.union_all(shipped, listed)):
                if (receiver, code) in wanted:
                    candidates.setdefault((receiver, code), {})[number] = position
        numbers = {(n,) for found in candidates.values() for n in found}
        self.prefetch("receipt", numbers)
        self.prefetch("invoice", numbers)
        for pair in wanted:
            found: str | None = None
            positions = candidates.get(pair, {})
            for number in sorted(positions, key=positions.__getitem__):
                receipt = self.receipt_of(number)
                if receipt is not None and pair[1] in received_codes(receipt, self.invoice(number)):
                    found = number
                    break
            self.received_cache[pair] = found

    def prefetch_first_received(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """Answer :meth:`first_received` for the (holder, product, batch) keys not cached yet in a few
        ``IN`` queries."""
        wanted = sorted({k for k in keys if k not in self.first_received_cache})
        r, line = t.receipt, t.receipt_line
        batches = sorted({(product_id, batch_number) for _, product_id, batch_number in wanted})
        holders = set(wanted)
        for start in range(0, len(batches), _PREFETCH_CHUNK):
            chunk = batches[start : start + _PREFETCH_CHUNK]
            # Only the holders asked about: a batch's receipts by everyone else are not read back.
            of_chunk = set(chunk)
            receivers = sorted({holder for holder, *batch in wanted if tuple(batch) in of_chunk})
            query = (
                sa.select(r.c.receiver, line.c.product_id, line.c.batch_number, sa.func.min(r.c.received_us))
                .select_from(line.join(r, r.c.invoice_number == line.c.invoice_number))
                .where(
                    sa.tuple_(line.c.product_id, line.c.batch_number).in_(chunk),
                    r.c.receiver.in_(receivers),
                )
                .group_by(r.c.receiver, line.c.product_id, line.c.batch_number)
            )
            for receiver, product_id, batch_number, micros in self._connection.execute(query):
                key = (receiver, product_id, batch_number)
                if key in holders:
                    self.first_received_cache[key] = _EPOCH + timedelta(microseconds=int(micros))
        for k in wanted:
            self.first_received_cache.setdefault(k, None)

    def remember(self, record_type: str, key: str, record: AnyRecord) -> None:
        """Make ``record`` the current version of its key (the ingest calls it for every write)."""
        if isinstance(record, Receipt):
            self._remember_receipt(record)
        self.records[(record_type, key)] = record
        self.missing.discard((record_type, key))

    def _remember_receipt(self, receipt: Receipt) -> None:
        """What a receipt brings in, as the domain's ledger counts it (read before the receipt is cached)."""
        number = str(receipt.invoice_number)
        for code in received_codes(receipt, self.invoice(number)):
            if self.received_in(receipt.receiver, code) is None:
                self.received_cache[(receipt.receiver, code)] = number
        for line in receipt.lines:
            key = (receipt.receiver, line.product_id, line.batch_number)
            earlier = self.first_received(*key)
            if earlier is None or receipt.received_at < earlier:
                self.first_received_cache[key] = receipt.received_at

    def known(self, record_type: str, key: str) -> bool | None:
        """Whether the key holds a record, if the cache knows; ``None`` if it does not."""
        if (record_type, key) in self.records:
            return True
        if (record_type, key) in self.missing:
            return False
        return None

    # --- LedgerView ---------------------------------------------------------------------------------------

    def party(self, party_id: str) -> Party | None:
        found = self._record("party", party_id, party_id)
        return found if isinstance(found, Party) else None

    def product(self, product_id: str) -> Product | None:
        found = self._record("product", product_id, product_id)
        return found if isinstance(found, Product) else None

    def batch(self, product_id: str, batch_number: str) -> Batch | None:
        found = self._record("batch", f"{product_id}/{batch_number}", product_id, batch_number)
        return found if isinstance(found, Batch) else None

    def invoice(self, number: str) -> Invoice | None:
        found = self._record("invoice", number, number)
        return found if isinstance(found, Invoice) else None

    def receipt_of(self, invoice_number: str) -> Receipt | None:
        found = self._record("receipt", invoice_number, invoice_number)
        return found if isinstance(found, Receipt) else None

    def prescription(self, prescription_id: str) -> Prescription | None:
        found = self._record("prescription", prescription_id, prescription_id)
        return found if isinstance(found, Prescription) else None

    def adverse_event(self, report_id: str) -> AdverseEvent | None:
        found = self._record("adverse_event", report_id, report_id)
        return found if isinstance(found, AdverseEvent) else None

    def recall(self, product_id: str, batch_number: str) -> Recall | None:
        found = self._record("recall", f"{product_id}/{batch_number}", product_id, batch_number)
        return found if isinstance(found, Recall) else None

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        key = (holder, product_id, batch_number)
        cached = self.stock_cache.get(key)
        if cached is not None:
            return cached
        row = (
            self._connection.execute(
                _STOCK, {"holder": holder, "product_id": product_id, "batch_number": batch_number}
            )
            .mappings()
            .first()
        )
        if row is None:
            # Remembered as empty (not in the database): the ingest updates this cache first.
            self.stock_cache[key] = _EMPTY
            return _EMPTY
        position = StockPosition.from_counters(row)
        self.stock_cache[key] = position
        self.stock_in_db.add(key)
        return position

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        return self.stock(holder, product_id, batch_number).purchased

    def dispensed_in(self, trace_code: str) -> str | None:
        cached = self.dispensed_cache.get(trace_code)
        if cached is not None or trace_code in self.dispensed_missing:
            return cached
        found = self._connection.execute(_DISPENSED, {"trace_code": trace_code}).scalar()
        if found is None:
            self.dispensed_missing.add(trace_code)
        else:
            self.dispensed_cache[trace_code] = found
        return found

    def received_in(self, holder: str, trace_code: str) -> str | None:
        key = (holder, trace_code)
        if key in self.received_cache:
            return self.received_cache[key]
        found: str | None = None
        # Receipts of the holder whose lines or whose invoice's shipment list the code; which of them
        # brought it in is the domain's to say (received_codes).
        for number in self._connection.execute(
            _RECEIVED_CANDIDATES, {"holder": holder, "trace_code": trace_code}
        ).scalars():
            receipt = self.receipt_of(number)
            if receipt is not None and trace_code in received_codes(receipt, self.invoice(number)):
                found = number
                break
        self.received_cache[key] = found
        return found

    def first_received(self, holder: str, product_id: str, batch_number: str) -> datetime | None:
        key = (holder, product_id, batch_number)
        if key in self.first_received_cache:
            return self.first_received_cache[key]
        micros = self._connection.execute(
            _FIRST_RECEIVED, {"holder": holder, "product_id": product_id, "batch_number": batch_number}
        ).scalar()
        found = None if micros is None else _EPOCH + timedelta(microseconds=int(micros))
        self.first_received_cache[key] = found
        return found

    def record_dispensed(self, trace_code: str, prescription_id: str) -> None:
        self.dispensed_cache[trace_code] = prescription_id
        self.dispensed_missing.discard(trace_code)


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
_KEYS: dict[str, tuple[str, ...]] = {
    "party": ("party_id",),
    "product": ("product_id",),
    "batch": ("product_id", "batch_number"),
    "invoice": ("number",),
    "receipt": ("invoice_number",),
    "prescription": ("prescription_id",),
    "adverse_event": ("report_id",),
    "recall": ("product_id", "batch_number"),
}


def _by_key(record_type: str) -> sa.Select[tuple[int, str]]:
    table = _MAIN[record_type]
    return (
        sa.select(t.ledger_write.c.seq, t.ledger_write.c.record_json)
        .select_from(table.join(t.ledger_write, t.ledger_write.c.seq == table.c.seq))
        .where(*(table.c[name] == sa.bindparam(name) for name in _KEYS[record_type]))
    )


# Built once, so SQLAlchemy reuses their compiled form on every lookup.
_BY_KEY = {record_type: _by_key(record_type) for record_type in _MAIN}
_STOCK = sa.select(*(t.stock.c[name] for name in STOCK_COUNTERS)).where(
    t.stock.c.holder == sa.bindparam("holder"),
    t.stock.c.product_id == sa.bindparam("product_id"),
    t.stock.c.batch_number == sa.bindparam("batch_number"),
)
_DISPENSED = sa.select(t.dispensed.c.prescription_id).where(
    t.dispensed.c.trace_code == sa.bindparam("trace_code")
)
_RECEIVED_CANDIDATES = (
    sa.select(t.receipt.c.invoice_number)
    .where(
        t.receipt.c.receiver == sa.bindparam("holder"),
        sa.or_(
            t.receipt.c.invoice_number.in_(
                sa.select(t.shipment_code.c.number).where(
                    t.shipment_code.c.trace_code == sa.bindparam("trace_code")
                )
            ),
            t.receipt.c.invoice_number.in_(
                sa.select(t.receipt_code.c.invoice_number).where(
                    t.receipt_code.c.trace_code == sa.bindparam("trace_code")
                )
            ),
        ),
    )
    .order_by(t.receipt.c.position)
)
_FIRST_RECEIVED = (
    sa.select(sa.func.min(t.receipt.c.received_us))
    .select_from(
        t.receipt.join(t.receipt_line, t.receipt_line.c.invoice_number == t.receipt.c.invoice_number)
    )
    .where(
        t.receipt.c.receiver == sa.bindparam("holder"),
        t.receipt_line.c.product_id == sa.bindparam("product_id"),
        t.receipt_line.c.batch_number == sa.bindparam("batch_number"),
    )
)
