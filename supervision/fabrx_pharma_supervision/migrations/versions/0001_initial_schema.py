"""The initial supervision schema: every record table, the write log, stock, findings, checkpoint.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "adverse_event",
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("hospital", sa.String(length=64), nullable=False),
        sa.Column("prescription_id", sa.String(length=64), nullable=False),
        sa.Column("patient_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.String(length=40), nullable=False),
        sa.Column("reported_us", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_adverse_event")),
    )
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_event_prescription_id"), ["prescription_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_event_product_id_batch_number"),
            ["product_id", "batch_number"],
            unique=False,
        )

    op.create_table(
        "batch",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("manufacturer", sa.String(length=64), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "batch_number", name=op.f("pk_batch")),
    )
    op.create_table(
        "dispensed",
        sa.Column("trace_code", sa.String(length=100), nullable=False),
        sa.Column("prescription_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("trace_code", name=op.f("pk_dispensed")),
    )
    op.create_table(
        "dispensing",
        sa.Column("prescription_id", sa.String(length=64), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("prescription_id", "item_index", name=op.f("pk_dispensing")),
    )
    with op.batch_alter_table("dispensing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispensing_product_id_batch_number"), ["product_id", "batch_number"], unique=False
        )

    op.create_table(
        "dispensing_code",
        sa.Column("prescription_id", sa.String(length=64), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("code_index", sa.Integer(), nullable=False),
        sa.Column("trace_code", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint(
            "prescription_id", "item_index", "code_index", name=op.f("pk_dispensing_code")
        ),
    )
    with op.batch_alter_table("dispensing_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispensing_code_trace_code"), ["trace_code"], unique=False)

    op.create_table(
        "feed_checkpoint",
        sa.Column("feed", sa.String(length=100), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_feed_checkpoint")),
    )
    op.create_table(
        "finding",
        sa.Column(
            "finding_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("party_id", sa.String(length=64), nullable=True),
        sa.Column("counterparty_id", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("counterparty_region", sa.String(length=6), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("batch_number", sa.String(length=64), nullable=True),
        sa.Column("occurred_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("finding_id", name=op.f("pk_finding")),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_counterparty_id"), ["counterparty_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_finding_counterparty_region"), ["counterparty_region"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_finding_occurred_us"), ["occurred_us"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_party_id"), ["party_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_region"), ["region"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_rule"), ["rule"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_subject"), ["subject"], unique=False)

    op.create_table(
        "invoice",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("seller", sa.String(length=64), nullable=False),
        sa.Column("buyer", sa.String(length=64), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("exemption", sa.String(length=16), nullable=True),
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("shipped_at", sa.String(length=40), nullable=False),
        sa.Column("shipped_us", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_invoice")),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_buyer"), ["buyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_issue_date"), ["issue_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_seller"), ["seller"], unique=False)

    op.create_table(
        "invoice_line",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=30, scale=6), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("number", "line_index", name=op.f("pk_invoice_line")),
    )
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_product_id_batch_number"),
            ["product_id", "batch_number"],
            unique=False,
        )

    op.create_table(
        "ledger_write",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("submitter", sa.String(length=64), nullable=False),
        sa.Column("timestamp_at", sa.String(length=40), nullable=False),
        sa.Column("timestamp_us", sa.BigInteger(), nullable=False),
        sa.Column("ledger_order", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(length=16), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_write")),
        sa.UniqueConstraint(
            "transaction_id",
            "record_type",
            "record_key",
            name=op.f("uq_ledger_write_transaction_id_record_type_record_key"),
        ),
    )
    with op.batch_alter_table("ledger_write", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_write_block_number"), ["block_number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_write_record_type_record_key"), ["record_type", "record_key"], unique=False
        )

    op.create_table(
        "party",
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("parent_party_id", sa.String(length=64), nullable=True),
        sa.Column("remote_area", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("party_id", name=op.f("pk_party")),
    )
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_region"), ["region"], unique=False)

    op.create_table(
        "party_counts_as",
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("manufacturer_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("party_id", "manufacturer_id", name=op.f("pk_party_counts_as")),
    )
    op.create_table(
        "policy",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("policy_json", sa.Text(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_policy")),
    )
    op.create_table(
        "prescription",
        sa.Column("prescription_id", sa.String(length=64), nullable=False),
        sa.Column("hospital", sa.String(length=64), nullable=False),
        sa.Column("patient_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("prescribed_at", sa.String(length=40), nullable=False),
        sa.Column("prescribed_us", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("prescription_id", name=op.f("pk_prescription")),
    )
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prescription_hospital"), ["hospital"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_prescription_patient_pseudonym"), ["patient_pseudonym"], unique=False
        )

    op.create_table(
        "product",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manufacturer", sa.String(length=64), nullable=False),
        sa.Column("approval_number", sa.String(length=40), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("trace_prefix", sa.String(length=7), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_manufacturer"), ["manufacturer"], unique=False)

    op.create_table(
        "raw_material_lot",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("lot_index", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=200), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=30, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "batch_number", "lot_index", name=op.f("pk_raw_material_lot")),
    )
    op.create_table(
        "recall",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recalled_at", sa.String(length=40), nullable=False),
        sa.Column("recalled_us", sa.BigInteger(), nullable=False),
        sa.Column("ordered_by", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "batch_number", name=op.f("pk_recall")),
    )
    op.create_table(
        "receipt",
        sa.Column("invoice_number", sa.String(length=32), nullable=False),
        sa.Column("receipt_id", sa.String(length=64), nullable=False),
        sa.Column("receiver", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.String(length=40), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_number", name=op.f("pk_receipt")),
    )
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipt_receiver"), ["receiver"], unique=False)

    op.create_table(
        "receipt_code",
        sa.Column("invoice_number", sa.String(length=32), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("code_index", sa.Integer(), nullable=False),
        sa.Column("trace_code", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("invoice_number", "line_index", "code_index", name=op.f("pk_receipt_code")),
    )
    with op.batch_alter_table("receipt_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipt_code_trace_code"), ["trace_code"], unique=False)

    op.create_table(
        "receipt_line",
        sa.Column("invoice_number", sa.String(length=32), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_number", "line_index", name=op.f("pk_receipt_line")),
    )
    with op.batch_alter_table("receipt_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipt_line_product_id_batch_number"),
            ["product_id", "batch_number"],
            unique=False,
        )

    op.create_table(
        "shipment_code",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("code_index", sa.Integer(), nullable=False),
        sa.Column("trace_code", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("number", "line_index", "code_index", name=op.f("pk_shipment_code")),
    )
    with op.batch_alter_table("shipment_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_code_trace_code"), ["trace_code"], unique=False)

    op.create_table(
        "shipment_line",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number", "line_index", name=op.f("pk_shipment_line")),
    )
    op.create_table(
        "stock",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("purchased", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("received_group", sa.BigInteger(), nullable=False),
        sa.Column("received_remote", sa.BigInteger(), nullable=False),
        sa.Column("transferred", sa.BigInteger(), nullable=False),
        sa.Column("sold", sa.BigInteger(), nullable=False),
        sa.Column("sold_remote", sa.BigInteger(), nullable=False),
        sa.Column("dispensed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("holder", "product_id", "batch_number", name=op.f("pk_stock")),
    )
    with op.batch_alter_table("stock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_product_id_batch_number"), ["product_id", "batch_number"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_product_id_batch_number"))

    op.drop_table("stock")
    op.drop_table("shipment_line")
    with op.batch_alter_table("shipment_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_code_trace_code"))

    op.drop_table("shipment_code")
    with op.batch_alter_table("receipt_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_line_product_id_batch_number"))

    op.drop_table("receipt_line")
    with op.batch_alter_table("receipt_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_code_trace_code"))

    op.drop_table("receipt_code")
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_receiver"))

    op.drop_table("receipt")
    op.drop_table("recall")
    op.drop_table("raw_material_lot")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_manufacturer"))

    op.drop_table("product")
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_patient_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_prescription_hospital"))

    op.drop_table("prescription")
    op.drop_table("policy")
    op.drop_table("party_counts_as")
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_region"))

    op.drop_table("party")
    with op.batch_alter_table("ledger_write", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_write_record_type_record_key"))
        batch_op.drop_index(batch_op.f("ix_ledger_write_block_number"))

    op.drop_table("ledger_write")
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_line_product_id_batch_number"))

    op.drop_table("invoice_line")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_seller"))
        batch_op.drop_index(batch_op.f("ix_invoice_issue_date"))
        batch_op.drop_index(batch_op.f("ix_invoice_buyer"))

    op.drop_table("invoice")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_subject"))
        batch_op.drop_index(batch_op.f("ix_finding_rule"))
        batch_op.drop_index(batch_op.f("ix_finding_region"))
        batch_op.drop_index(batch_op.f("ix_finding_product_id"))
        batch_op.drop_index(batch_op.f("ix_finding_party_id"))
        batch_op.drop_index(batch_op.f("ix_finding_occurred_us"))
        batch_op.drop_index(batch_op.f("ix_finding_counterparty_region"))
        batch_op.drop_index(batch_op.f("ix_finding_counterparty_id"))

    op.drop_table("finding")
    op.drop_table("feed_checkpoint")
    with op.batch_alter_table("dispensing_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispensing_code_trace_code"))

    op.drop_table("dispensing_code")
    with op.batch_alter_table("dispensing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispensing_product_id_batch_number"))

    op.drop_table("dispensing")
    op.drop_table("dispensed")
    op.drop_table("batch")
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_event_product_id_batch_number"))
        batch_op.drop_index(batch_op.f("ix_adverse_event_prescription_id"))

    op.drop_table("adverse_event")
