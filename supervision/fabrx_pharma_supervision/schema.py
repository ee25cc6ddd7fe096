"""The relational schema of the supervision store: one table per record type and part, plus the write
log, stock counters, findings and the feed checkpoint.

SQLAlchemy Core tables, portable between SQLite and PostgreSQL. Conventions that keep the queries the
same on both:

- instants are stored twice: ``*_at`` keeps the ISO 8601 text as the record wrote it (with its UTC
  offset, so a record read back is equal to the one written) and ``*_us`` the microseconds since the
  Unix epoch (UTC), which every comparison and time arithmetic uses;
- calendar dates are ``Date`` columns; money is ``Numeric`` with the record's scale;
- every record table has ``seq`` (the write in :data:`ledger_write` that holds its current version) and
  ``position`` (the ``seq`` of its first write: the order the domain's in-memory ledger lists records in);
- parties are identified by ``party_id`` (the id the regulator registered them under).

The schema is created and changed only by the versioned migrations in
:mod:`fabrx_pharma_supervision.migrations` (``SupervisionStore.upgrade``); a test checks that the
migrations produce exactly these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "adverse_event",
    "batch",
    "dispensed",
    "dispensing",
    "dispensing_code",
    "feed_checkpoint",
    "finding",
    "invoice",
    "invoice_line",
    "ledger_write",
    "metadata",
    "party",
    "party_counts_as",
    "policy",
    "prescription",
    "product",
    "raw_material_lot",
    "recall",
    "receipt",
    "receipt_code",
    "receipt_line",
    "shipment_code",
    "shipment_line",
    "stock",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite aliases only INTEGER PRIMARY KEY to its rowid (autoincrement); PostgreSQL needs 64 bits.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ID = sa.String(64)
"""Party ids, product ids, batch numbers, record ids (the domain allows at most 64 characters)."""
_CODE = sa.String(100)
"""A traceability code (national insurance interfaces allow up to 100 characters)."""
_NUMBER = sa.String(32)
"""An invoice number's canonical text."""
_AT = sa.String(40)
_US = sa.BigInteger


def _record_columns() -> list[sa.Column[int]]:
    return [
        sa.Column("seq", _US, nullable=False),
        sa.Column("position", _US, nullable=False),
    ]


feed_checkpoint = sa.Table(
    "feed_checkpoint",
    metadata,
    sa.Column("feed", sa.String(100), primary_key=True),
    sa.Column("block_number", _US, nullable=False),
    sa.Column("updated_us", _US, nullable=False),
)
"""The last block applied per feed (a channel), written in the transaction that applied it."""

ledger_write = sa.Table(
    "ledger_write",
    metadata,
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("block_number", _US, nullable=False),
    sa.Column("transaction_id", sa.String(128), nullable=False),
    sa.Column("submitter", _ID, nullable=False),
    sa.Column("timestamp_at", _AT, nullable=False),
    sa.Column("timestamp_us", _US, nullable=False),
    sa.Column("ledger_order", _US, nullable=False),
    sa.Column("record_type", sa.String(16), nullable=False),
    sa.Column("record_key", sa.String(200), nullable=False),
    sa.Column("record_hash", sa.String(64), nullable=False),
    sa.Column("record_json", sa.Text, nullable=False),
    sa.UniqueConstraint("transaction_id", "record_type", "record_key"),
    sa.Index(None, "record_type", "record_key"),
    sa.Index(None, "block_number"),
)
"""Every write in the order it was applied, with its ledger metadata and the record's canonical JSON."""

policy = sa.Table(
    "policy",
    metadata,
    sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("policy_json", sa.Text, nullable=False),
    sa.Column("block_number", _US, nullable=False),
)
"""The two-invoice policy in force (one row, ``name = 'current'``)."""

party = sa.Table(
    "party",
    metadata,
    sa.Column("party_id", _ID, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("uscc", sa.String(18), nullable=False),
    sa.Column("region", sa.String(6), nullable=False, index=True),
    sa.Column("parent_party_id", _ID, nullable=True),
    sa.Column("remote_area", sa.Boolean, nullable=False),
    *_record_columns(),
)
"""``region`` is the administrative division code inside the unified social credit code (characters
3-8): two digits of province, four of city, six of county."""

party_counts_as = sa.Table(
    "party_counts_as",
    metadata,
    sa.Column("party_id", _ID, primary_key=True),
    sa.Column("manufacturer_id", _ID, primary_key=True),
)

product = sa.Table(
    "product",
    metadata,
    sa.Column("product_id", _ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("manufacturer", _ID, nullable=False, index=True),
    sa.Column("approval_number", sa.String(40), nullable=False),
    sa.Column("gtin", sa.String(14), nullable=True),
    sa.Column("trace_prefix", sa.String(7), nullable=True),
    *_record_columns(),
)

batch = sa.Table(
    "batch",
    metadata,
    sa.Column("product_id", _ID, primary_key=True),
    sa.Column("batch_number", _ID, primary_key=True),
    sa.Column("manufacturer", _ID, nullable=False),
    sa.Column("production_date", sa.Date, nullable=False),
    sa.Column("expiry_date", sa.Date, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    *_record_columns(),
)

raw_material_lot = sa.Table(
    "raw_material_lot",
    metadata,
    sa.Column("product_id", _ID, primary_key=True),
    sa.Column("batch_number", _ID, primary_key=True),
    sa.Column("lot_index", sa.Integer, primary_key=True),
    sa.Column("material", sa.String(200), nullable=False),
    sa.Column("lot", sa.String(64), nullable=False),
    sa.Column("supplier", sa.String(200), nullable=False),
    sa.Column("quantity", sa.Numeric(30, 6), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
)

invoice = sa.Table(
    "invoice",
    metadata,
    sa.Column("number", _NUMBER, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("seller", _ID, nullable=False, index=True),
    sa.Column("buyer", _ID, nullable=False, index=True),
    sa.Column("issue_date", sa.Date, nullable=False, index=True),
    sa.Column("total", sa.Numeric(20, 2), nullable=False),
    sa.Column("exemption", sa.String(16), nullable=True),
    sa.Column("shipment_id", _ID, nullable=False),
    sa.Column("shipped_at", _AT, nullable=False),
    sa.Column("shipped_us", _US, nullable=False),
    *_record_columns(),
)

invoice_line = sa.Table(
    "invoice_line",
    metadata,
    sa.Column("number", _NUMBER, primary_key=True),
    sa.Column("line_index", sa.Integer, primary_key=True),
    sa.Column("product_id", _ID, nullable=False),
    sa.Column("batch_number", _ID, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("unit_price", sa.Numeric(30, 6), nullable=False),
    sa.Column("amount", sa.Numeric(20, 2), nullable=False),
    sa.Column("buyer", _ID, nullable=False),
    # The invoice's buyer, repeated on each of its lines: a trace asks which invoices brought a batch
    # to one party, and a batch has hundreds of lines in a large province (migration 0003).
    sa.Index(None, "product_id", "batch_number", "buyer"),
)

shipment_line = sa.Table(
    "shipment_line",
    metadata,
    sa.Column("number", _NUMBER, primary_key=True),
    sa.Column("line_index", sa.Integer, primary_key=True),
    sa.Column("product_id", _ID, nullable=False),
    sa.Column("batch_number", _ID, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
)

shipment_code = sa.Table(
    "shipment_code",
    metadata,
    sa.Column("number", _NUMBER, primary_key=True),
    sa.Column("line_index", sa.Integer, primary_key=True),
    sa.Column("code_index", sa.Integer, primary_key=True),
    sa.Column("trace_code", _CODE, nullable=False, index=True),
)

receipt = sa.Table(
    "receipt",
    metadata,
    sa.Column("invoice_number", _NUMBER, primary_key=True),
    sa.Column("receipt_id", _ID, nullable=False),
    sa.Column("receiver", _ID, nullable=False, index=True),
    sa.Column("received_at", _AT, nullable=False),
    sa.Column("received_us", _US, nullable=False),
    sa.Column("transit_us", _US, nullable=True, index=True),
    sa.Column("short_of_shipment", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    *_record_columns(),
)
"""``transit_us`` (received minus shipped, microseconds; NULL while the invoice is unknown) and
``short_of_shipment`` (less of some batch received than its invoice shipped) are kept by the ingest
from the current invoice and receipt rows (``_ledger_rules.update_receipt_facts``), so the late and
short receipt checks read a few indexed rows instead of joining every receipt with its invoice."""

receipt_line = sa.Table(
    "receipt_line",
    metadata,
    sa.Column("invoice_number", _NUMBER, primary_key=True),
    sa.Column("line_index", sa.Integer, primary_key=True),
    sa.Column("product_id", _ID, nullable=False),
    sa.Column("batch_number", _ID, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Index(None, "product_id", "batch_number"),
)

receipt_code = sa.Table(
    "receipt_code",
    metadata,
    sa.Column("invoice_number", _NUMBER, primary_key=True),
    sa.Column("line_index", sa.Integer, primary_key=True),
    sa.Column("code_index", sa.Integer, primary_key=True),
    sa.Column("trace_code", _CODE, nullable=False, index=True),
)

prescription = sa.Table(
    "prescription",
    metadata,
    sa.Column("prescription_id", _ID, primary_key=True),
    sa.Column("hospital", _ID, nullable=False, index=True),
    sa.Column("patient_pseudonym", sa.String(64), nullable=False, index=True),
    sa.Column("prescribed_at", _AT, nullable=False),
    sa.Column("prescribed_us", _US, nullable=False),
    *_record_columns(),
)

dispensing = sa.Table(
    "dispensing",
    metadata,
    sa.Column("prescription_id", _ID, primary_key=True),
    sa.Column("item_index", sa.Integer, primary_key=True),
    sa.Column("product_id", _ID, nullable=False),
    sa.Column("batch_number", _ID, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Index(None, "product_id", "batch_number"),
)

dispensing_code = sa.Table(
    "dispensing_code",
    metadata,
    sa.Column("prescription_id", _ID, primary_key=True),
    sa.Column("item_index", sa.Integer, primary_key=True),
    sa.Column("code_index", sa.Integer, primary_key=True),
    sa.Column("trace_code", _CODE, nullable=False, index=True),
)

dispensed = sa.Table(
    "dispensed",
    metadata,
    sa.Column("trace_code", _CODE, primary_key=True),
    sa.Column("prescription_id", _ID, nullable=False),
)
"""The first prescription that dispensed each code (the chaincode's public ``dispensed`` index)."""

adverse_event = sa.Table(
    "adverse_event",
    metadata,
    sa.Column("report_id", _ID, primary_key=True),
    sa.Column("hospital", _ID, nullable=False),
    sa.Column("prescription_id", _ID, nullable=False, index=True),
    sa.Column("patient_pseudonym", sa.String(64), nullable=False),
    sa.Column("reported_at", _AT, nullable=False),
    sa.Column("reported_us", _US, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("product_id", _ID, nullable=False),
    sa.Column("batch_number", _ID, nullable=False),
    *_record_columns(),
    sa.Index(None, "product_id", "batch_number"),
)

recall = sa.Table(
    "recall",
    metadata,
    sa.Column("product_id", _ID, primary_key=True),
    sa.Column("batch_number", _ID, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recalled_at", _AT, nullable=False),
    sa.Column("recalled_us", _US, nullable=False),
    sa.Column("ordered_by", _ID, nullable=False),
    *_record_columns(),
)

stock = sa.Table(
    "stock",
    metadata,
    sa.Column("holder", _ID, primary_key=True),
    sa.Column("product_id", _ID, primary_key=True),
    sa.Column("batch_number", _ID, primary_key=True),
    sa.Column("purchased", sa.BigInteger, nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("received_group", sa.BigInteger, nullable=False),
    sa.Column("received_remote", sa.BigInteger, nullable=False),
    sa.Column("transferred", sa.BigInteger, nullable=False),
    sa.Column("sold", sa.BigInteger, nullable=False),
    sa.Column("sold_remote", sa.BigInteger, nullable=False),
    sa.Column("dispensed", sa.BigInteger, nullable=False),
    sa.Index(None, "product_id", "batch_number"),
)
"""Stock counters per (holder, product, batch), as ``fabrx_pharma.stock_effects`` changes them."""

finding = sa.Table(
    "finding",
    metadata,
    sa.Column("finding_id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(32), nullable=False, index=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("origin", sa.String(8), nullable=False),
    sa.Column("seq", _US, nullable=True),
    sa.Column("party_id", _ID, nullable=True, index=True),
    sa.Column("counterparty_id", _ID, nullable=True, index=True),
    sa.Column("region", sa.String(6), nullable=True, index=True),
    sa.Column("counterparty_region", sa.String(6), nullable=True, index=True),
    sa.Column("product_id", _ID, nullable=True, index=True),
    sa.Column("batch_number", _ID, nullable=True),
    sa.Column("occurred_us", _US, nullable=True, index=True),
)
"""Findings: ``origin`` is ``write`` (a write-time rule, checked when the record was applied) or
``ledger`` (a whole-ledger rule, kept up to date as records arrive). ``party_id`` is the party the
finding is about (the writer of the record), ``counterparty_id`` the other side, ``region`` the
party's, ``occurred_us`` the business time of the record (issue, shipment, receipt, prescription)."""
