"""Receipt facts kept at ingest: each receipt's transit time and whether it is short of its shipment.

``receipt.transit_us`` (received minus shipped, microseconds; NULL while the invoice is unknown) and
``receipt.short_of_shipment`` (less of some batch received than the invoice shipped), each indexed, so
that the late and short receipt checks of a re-evaluation read a few rows instead of joining every
receipt with its invoice and summing every line. Existing receipts are filled from their rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The tables as this revision knows them (never the application's schema module, which moves on).
_meta = sa.MetaData()
_receipt = sa.Table(
    "receipt",
    _meta,
    sa.Column("invoice_number", sa.String(32)),
    sa.Column("received_us", sa.BigInteger),
    sa.Column("transit_us", sa.BigInteger),
    sa.Column("short_of_shipment", sa.Boolean),
)
_invoice = sa.Table(
    "invoice", _meta, sa.Column("number", sa.String(32)), sa.Column("shipped_us", sa.BigInteger)
)
_shipment_line = sa.Table(
    "shipment_line",
    _meta,
    sa.Column("number", sa.String(32)),
    sa.Column("product_id", sa.String(64)),
    sa.Column("batch_number", sa.String(64)),
    sa.Column("quantity", sa.BigInteger),
)
_receipt_line = sa.Table(
    "receipt_line",
    _meta,
    sa.Column("invoice_number", sa.String(32)),
    sa.Column("product_id", sa.String(64)),
    sa.Column("batch_number", sa.String(64)),
    sa.Column("quantity", sa.BigInteger),
)


def upgrade() -> None:
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transit_us", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("short_of_shipment", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    r, i, sl, rl = _receipt, _invoice, _shipment_line, _receipt_line
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
    op.execute(
        sa.update(r).values(
            transit_us=r.c.received_us
            - sa.select(i.c.shipped_us).where(i.c.number == r.c.invoice_number).scalar_subquery(),
            short_of_shipment=sa.exists(
                sa.select(sl.c.product_id)
                .where(sl.c.number == r.c.invoice_number)
                .group_by(sl.c.product_id, sl.c.batch_number)
                .having(sa.func.sum(sl.c.quantity) > got)
            ),
        )
    )
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipt_transit_us"), ["transit_us"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipt_short_of_shipment"), ["short_of_shipment"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_short_of_shipment"))
        batch_op.drop_index(batch_op.f("ix_receipt_transit_us"))
        batch_op.drop_column("short_of_shipment")
        batch_op.drop_column("transit_us")
