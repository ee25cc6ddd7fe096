"""Applying ledger writes to the tables, inside the caller's database transaction.

For each write, in order: the domain's ``check_record`` over the store's :class:`StoreView` (the state
before the write, exactly as the domain's replay sees it) gives the write-time finding, if any;
``fabrx_pharma.stock_effects`` gives the new stock counters; then the write-log row, the record's rows,
the counters, the dispensed codes and the finding are buffered and the view's cache updated, so the
next write of the same block sees this one. :meth:`Ingest.flush` sends the buffered rows in
``executemany`` batches and brings the whole-ledger findings of every invoice and prescription the
writes touched up to date (see :mod:`._ledger_rules`).

A record written again under a key that already holds one replaces it in the tables (its first
``position`` kept), as in ``fabrx_pharma.InMemoryLedger``; the write log keeps both writes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

import sqlalchemy as sa

from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Finding,
    Invoice,
    InvoiceKind,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    RuleViolation,
    Severity,
    StockPosition,
    TwoInvoicePolicy,
    check_record,
    stock_effects,
)
from fabrx_pharma.ledger import author_of
from fabrx_pharma.policy import DEFAULT_POLICY, policy_from_json, policy_to_json
from fabrx_pharma.stock import STOCK_COUNTERS, received_codes

from . import schema as t
from ._bulk import BulkRows
from ._ledger_rules import (
    Located,
    batch_diversions,
    code_diversions,
    receipt_problems,
    update_receipt_facts,
)
from ._rows import child_tables, key_values, micros, record_key, region_of, rows_of
from .view import DecodedRecords, StoreView
from .writes import LedgerWrite

__all__ = ["Ingest", "finding_row", "load_policy", "write_finding"]

_LINE_FIELD = re.compile(r"^(lines|items|shipment\.lines)\[(\d+)\]")
_SUBJECT_CHUNK = 500


def load_policy(connection: sa.Connection) -> TwoInvoicePolicy:
    """The policy in force in the store (the domain default until a policy write was applied)."""
    raw = connection.execute(sa.select(t.policy.c.policy_json).where(t.policy.c.name == "current")).scalar()
    return DEFAULT_POLICY if raw is None else policy_from_json(raw)


class Ingest:
    """One batch of writes into one database transaction (``connection`` must be in a transaction)."""

    def __init__(
        self,
        connection: sa.Connection,
        *,
        receipt_due: timedelta,
        ledger_rules: bool = True,
        decoded: DecodedRecords | None = None,
    ) -> None:
        self._connection = connection
        self._receipt_due = receipt_due
        self._ledger_rules = ledger_rules
        self.view = StoreView(connection, decoded)
        self._seq = connection.execute(sa.select(sa.func.max(t.ledger_write.c.seq))).scalar() or 0
        self._policy = load_policy(connection)
        self._rows: dict[sa.Table, list[dict[str, object]]] = {}
        self._dirty_stock: set[tuple[str, str, str]] = set()
        self._numbers: set[str] = set()
        self._prescriptions: set[str] = set()
        self._holdings: set[tuple[str, str, str]] = set()
        self._codes: set[str] = set()
        self.writes = 0

    @property
    def policy(self) -> TwoInvoicePolicy:
        return self._policy

    def prefetch(self, writes: Sequence[LedgerWrite]) -> None:
        """Load what the rules will read for ``writes`` in a few queries per table, instead of one
        lookup per read (the chaincode's prefetch, for the store)."""
        view = self.view
        keys: dict[str, set[tuple[str, ...]]] = {}
        holdings: set[tuple[str, str, str]] = set()
        codes: set[str] = set()
        first: set[tuple[str, str, str]] = set()
        received: set[tuple[str, str]] = set()
        receipts: list[Receipt] = []

        def want(record_type: str, *key: str) -> None:
            keys.setdefault(record_type, set()).add(key)

        for write in writes:
            record = write.record
            if isinstance(record, TwoInvoicePolicy):
                continue
            want("party", write.submitter)
            if isinstance(record, Invoice):
                want("invoice", str(record.number))
                want("party", record.buyer)
                for line in record.lines:
                    want("product", line.product_id)
                    want("batch", line.product_id, line.batch_number)
                    want("recall", line.product_id, line.batch_number)
                    holdings.add((record.seller, line.product_id, line.batch_number))
                    holdings.add((record.buyer, line.product_id, line.batch_number))
                    first.add((record.seller, line.product_id, line.batch_number))
            elif isinstance(record, Receipt):
                want("invoice", str(record.invoice_number))
                want("receipt", str(record.invoice_number))
                receipts.append(record)
                for goods in record.lines:
                    holdings.add((record.receiver, goods.product_id, goods.batch_number))
                    first.add((record.receiver, goods.product_id, goods.batch_number))
            elif isinstance(record, Prescription):
                want("prescription", record.prescription_id)
                for item in record.items:
                    want("product", item.product_id)
                    want("batch", item.product_id, item.batch_number)
                    want("recall", item.product_id, item.batch_number)
                    holdings.add((record.hospital, item.product_id, item.batch_number))
                    codes.update(item.trace_codes)
                    received.update((record.hospital, code) for code in item.trace_codes)
            elif isinstance(record, Batch):
                want("product", record.product_id)
                want("batch", record.product_id, record.batch_number)
                holdings.add((record.manufacturer, record.product_id, record.batch_number))
            elif isinstance(record, Product):
                want("product", record.product_id)
                want("party", record.manufacturer)
            elif isinstance(record, Party):
                want("party", record.party_id)
        for record_type, wanted in keys.items():
            view.prefetch(record_type, wanted)
        view.prefetch_stock(holdings)
        view.prefetch_dispensed(codes)
        for receipt in receipts:
            invoice = view.invoice(str(receipt.invoice_number))
            received.update((receipt.receiver, code) for code in received_codes(receipt, invoice))
        view.prefetch_received(received)
        view.prefetch_first_received(first)

    # --- one write ----------------------------------------------------------------------------------------

    def write(self, write: LedgerWrite, block_number: int) -> None:
        """Apply one write (buffered until :meth:`flush`)."""
        record = write.record
        self._seq += 1
        seq = self._seq
        if isinstance(record, TwoInvoicePolicy):
            self._log(write, block_number, seq, "policy", "policy", policy_to_json(record))
            self._flush_rows()
            self._connection.execute(t.policy.delete())
            self._connection.execute(
                t.policy.insert().values(
                    name="current",
                    policy_json=policy_to_json(record).decode("utf-8"),
                    block_number=block_number,
                )
            )
            self._policy = record
            self.writes += 1
            return
        record_type, key = record.RECORD_TYPE, record_key(record)
        violation: RuleViolation | None = None
        if not isinstance(record, Party):
            # Party registrations are the regulator's own acts, the ones the others are checked against
            # (as in the domain's replay).
            try:
                check_record(record, self.view, self._policy, submitter=write.submitter)
            except RuleViolation as refused:
                violation = refused
        effects = stock_effects(record, self.view)
        position = self._replace(record_type, record) or seq
        self._log(write, block_number, seq, record_type, key, record.to_json())
        for table, row in rows_of(record, seq=seq, position=position):
            self._rows.setdefault(table, []).append(row)
        self.view.remember(record_type, key, record)
        for stock_key, after in effects.items():
            before = self.view.stock(*stock_key)
            if before.received == 0 and after.received > 0:
                self._holdings.add(stock_key)
            self.view.stock_cache[stock_key] = after
            self._dirty_stock.add(stock_key)
        if isinstance(record, Prescription):
            for item in record.items:
                for code in item.trace_codes:
                    if self.view.dispensed_in(code) is None:
                        self.view.record_dispensed(code, record.prescription_id)
                        self._rows.setdefault(t.dispensed, []).append(
                            {"trace_code": code, "prescription_id": record.prescription_id}
                        )
            self._prescriptions.add(record.prescription_id)
        elif isinstance(record, Invoice):
            self._numbers.add(str(record.number))
            if record.kind in (InvoiceKind.SECOND, InvoiceKind.DIRECT):
                self._codes.update(record.shipment.trace_codes)
        elif isinstance(record, Receipt):
            self._numbers.add(str(record.invoice_number))
        if violation is not None:
            self._add_finding(write_finding(violation, record, write, seq), origin="write")
        self.writes += 1

    def _log(
        self, write: LedgerWrite, block_number: int, seq: int, record_type: str, key: str, data: bytes
    ) -> None:
        self._rows.setdefault(t.ledger_write, []).append(
            {
                "seq": seq,
                "block_number": block_number,
                "transaction_id": write.transaction_id,
                "submitter": write.submitter,
                "timestamp_at": write.timestamp.isoformat(),
                "timestamp_us": micros(write.timestamp),
                "ledger_order": write.order,
                "record_type": record_type,
                "record_key": key,
                "record_hash": hashlib.sha256(data).hexdigest(),
                "record_json": data.decode("utf-8"),
            }
        )

    def _replace(self, record_type: str, record: AnyRecord) -> int | None:
        """Delete the current version of the record's key, if any; return its first position."""
        key = record_key(record)
        if self.view.known(record_type, key) is None:
            self._lookup(record)
        if not self.view.known(record_type, key):
            return None
        self._flush_rows()
        (main, main_key), *parts = child_tables(record_type)
        values = key_values(record)
        position = self._connection.execute(
            sa.select(main.c.position).where(*(c == v for c, v in zip(main_key, values, strict=True)))
        ).scalar()
        if position is None:
            return None
        for table, columns in ((main, main_key), *parts):
            self._connection.execute(
                table.delete().where(*(c == v for c, v in zip(columns, values, strict=True)))
            )
        if isinstance(record, Batch):
            self._connection.execute(
                t.raw_material_lot.delete().where(
                    t.raw_material_lot.c.product_id == record.product_id,
                    t.raw_material_lot.c.batch_number == record.batch_number,
                )
            )
        return int(position)

    def _lookup(self, record: AnyRecord) -> None:
        view = self.view
        if isinstance(record, Party):
            view.party(record.party_id)
        elif isinstance(record, Batch):
            view.batch(record.product_id, record.batch_number)
        elif isinstance(record, Recall):
            view.recall(record.product_id, record.batch_number)
        elif isinstance(record, Invoice):
            view.invoice(str(record.number))
        elif isinstance(record, Receipt):
            view.receipt_of(str(record.invoice_number))
        elif isinstance(record, Prescription):
            view.prescription(record.prescription_id)
        elif isinstance(record, AdverseEvent):
            view.adverse_event(record.report_id)
        else:
            view.product(record.product_id)

    def _add_finding(self, located: Located, *, origin: str) -> None:
        self._rows.setdefault(t.finding, []).append(finding_row(located, origin, self.view.party))

    # --- flushing -----------------------------------------------------------------------------------------

    def _flush_rows(self) -> None:
        # Prepared rows straight to the driver (COPY on PostgreSQL, one executemany per table on
        # SQLite): SQLAlchemy's per-row parameter handling was a third of the feed's time.
        bulk = BulkRows(self._connection)
        for table, rows in self._rows.items():
            for row in rows:
                bulk.add(table, row)
        bulk.flush()
        self._rows = {}
        if self._dirty_stock:
            new = [k for k in self._dirty_stock if k not in self.view.stock_in_db]
            old = [k for k in self._dirty_stock if k in self.view.stock_in_db]
            if new:
                self._connection.execute(
                    t.stock.insert(), [_stock_row(k, self.view.stock_cache[k]) for k in new]
                )
            if old:
                update = (
                    t.stock.update()
                    .where(
                        t.stock.c.holder == sa.bindparam("k_holder"),
                        t.stock.c.product_id == sa.bindparam("k_product_id"),
                        t.stock.c.batch_number == sa.bindparam("k_batch_number"),
                    )
                    .values({name: sa.bindparam(name) for name in STOCK_COUNTERS})
                )
                self._connection.execute(
                    update,
                    [
                        {
                            **self.view.stock_cache[k].counters(),
                            "k_holder": k[0],
                            "k_product_id": k[1],
                            "k_batch_number": k[2],
                        }
                        for k in old
                    ],
                )
            self.view.stock_in_db.update(self._dirty_stock)
            self._dirty_stock = set()

    def flush(self) -> None:
        """Send every buffered row; then (if enabled) bring the whole-ledger findings of what the writes
        touched up to date."""
        self._flush_rows()
        update_receipt_facts(self._connection, numbers=self._numbers)
        if self._ledger_rules:
            numbers = set(self._numbers) | self._invoices_of_holdings(self._holdings)
            prescriptions = set(self._prescriptions) | self._prescriptions_of_codes(self._codes)
            subjects = [f"invoice {n}" for n in numbers] + [f"prescription {p}" for p in prescriptions]
            self.refresh_ledger_findings(subjects, numbers, prescriptions)
        self._numbers, self._prescriptions, self._holdings, self._codes = set(), set(), set(), set()
        self.view.trim()

    def refresh_ledger_findings(
        self, subjects: list[str] | None, numbers: set[str] | None, prescriptions: set[str] | None
    ) -> int:
        """Replace the stored whole-ledger findings of ``subjects`` (``None``: all) by fresh ones."""
        ledger = t.finding.c.origin == "ledger"
        if subjects is None:
            self._connection.execute(t.finding.delete().where(ledger))
        else:
            for start in range(0, len(subjects), _SUBJECT_CHUNK):
                chunk = subjects[start : start + _SUBJECT_CHUNK]
                self._connection.execute(t.finding.delete().where(ledger, t.finding.c.subject.in_(chunk)))
        found: list[Located] = []
        if numbers is None or numbers:
            found += receipt_problems(self._connection, numbers=numbers, due=self._receipt_due)
            found += batch_diversions(self._connection, numbers=numbers)
        if prescriptions is None or prescriptions:
            found += code_diversions(self._connection, prescription_ids=prescriptions)
        seen: set[tuple[str, str, str]] = set()
        for located in found:
            finding = located.finding
            identity = (finding.rule.value, finding.subject, finding.reason)
            if identity not in seen:
                seen.add(identity)
                self._add_finding(located, origin="ledger")
        self._flush_rows()
        return len(seen)

    def _invoices_of_holdings(self, holdings: Iterable[tuple[str, str, str]]) -> set[str]:
        """Second invoices whose seller just received its first goods of a batch the buyer received
        (one indexed lookup per such holding: a holder's first receipt of a batch)."""
        found: set[str] = set()
        wanted = set(holdings)
        batches = sorted({(product_id, batch_number) for _, product_id, batch_number in wanted})
        line = t.receipt_line
        for start in range(0, len(batches), _SUBJECT_CHUNK):
            chunk = batches[start : start + _SUBJECT_CHUNK]
            of_chunk = set(chunk)
            sellers = sorted({seller for seller, *batch in wanted if tuple(batch) in of_chunk})
            query = _SOLD_OF_BATCHES.where(
                sa.tuple_(line.c.product_id, line.c.batch_number).in_(chunk), t.invoice.c.seller.in_(sellers)
            )
            for number, seller, product_id, batch_number in self._connection.execute(query):
                if (seller, product_id, batch_number) in wanted:
                    found.add(number)
        return found

    def _prescriptions_of_codes(self, codes: set[str]) -> set[str]:
        found: set[str] = set()
        ordered = sorted(codes)
        for start in range(0, len(ordered), _SUBJECT_CHUNK):
            query = (
                sa.select(t.dispensing_code.c.prescription_id)
                .distinct()
                .where(t.dispensing_code.c.trace_code.in_(ordered[start : start + _SUBJECT_CHUNK]))
            )
            found.update(self._connection.execute(query).scalars())
        return found


def finding_row(located: Located, origin: str, party_of: Callable[[str], Party | None]) -> dict[str, object]:
    """The ``finding`` row of a located finding (``origin``: ``write`` or ``ledger``), with the
    regions of its party and counterparty as ``party_of`` finds them."""
    party = party_of(located.party_id) if located.party_id else None
    counterparty = party_of(located.counterparty_id) if located.counterparty_id else None
    finding = located.finding
    return {
        "rule": finding.rule.value,
        "severity": finding.severity.value,
        "subject": finding.subject,
        "reason": finding.reason,
        "origin": origin,
        "seq": located.seq,
        "party_id": located.party_id,
        "counterparty_id": located.counterparty_id,
        "region": region_of(party.uscc) if party else None,
        "counterparty_region": region_of(counterparty.uscc) if counterparty else None,
        "product_id": located.product_id,
        "batch_number": located.batch_number,
        "occurred_us": located.occurred_us,
    }


def write_finding(violation: RuleViolation, record: AnyRecord, write: LedgerWrite, seq: int) -> Located:
    """A write-time finding of ``record`` (refused by the rules with ``violation``), located."""
    finding = Finding(
        violation.rule,
        Severity.VIOLATION,
        f"{record.RECORD_TYPE} {record.key}",
        f"{violation.field}: {violation.message}",
    )
    return _locate(finding, record, violation.field, write, seq)


def _stock_row(key: tuple[str, str, str], position: StockPosition) -> dict[str, object]:
    return {"holder": key[0], "product_id": key[1], "batch_number": key[2], **position.counters()}


def _locate(finding: Finding, record: AnyRecord, field: str, write: LedgerWrite, seq: int) -> Located:
    """Index a write-time finding by its record's party, counterparty, batch and business time."""
    party = author_of(record) or write.submitter
    counterparty: str | None = None
    product_id: str | None = None
    batch_number: str | None = None
    occurred = micros(write.timestamp)
    line = _LINE_FIELD.match(field)
    if isinstance(record, Invoice):
        counterparty = record.buyer
        occurred = micros(record.shipment.shipped_at)
        goods = record.shipment.lines if line and line.group(1) == "shipment.lines" else record.lines
        picked = goods[int(line.group(2))] if line and int(line.group(2)) < len(goods) else None
        if picked is not None:
            product_id, batch_number = picked.product_id, picked.batch_number
    elif isinstance(record, Receipt | Prescription):
        items = record.lines if isinstance(record, Receipt) else record.items
        occurred = micros(record.received_at if isinstance(record, Receipt) else record.prescribed_at)
        picked_item = items[int(line.group(2))] if line and int(line.group(2)) < len(items) else None
        if picked_item is not None:
            product_id, batch_number = picked_item.product_id, picked_item.batch_number
    elif isinstance(record, Batch | Recall | AdverseEvent):
        product_id, batch_number = record.product_id, record.batch_number
        if isinstance(record, Recall):
            occurred = micros(record.recalled_at)
        elif isinstance(record, AdverseEvent):
            occurred = micros(record.reported_at)
    return Located(finding, party, counterparty, product_id, batch_number, occurred, seq)


# From the batches' receipt lines (an index), then the invoice by its key; the sellers are matched
# in Python.
_SOLD_OF_BATCHES = (
    sa.select(
        t.invoice.c.number, t.invoice.c.seller, t.receipt_line.c.product_id, t.receipt_line.c.batch_number
    )
    .distinct()
    .select_from(t.receipt_line.join(t.invoice, t.invoice.c.number == t.receipt_line.c.invoice_number))
    .where(t.invoice.c.kind == "second")
)
