"""Each invoice line names its invoice's buyer, indexed with its batch: a trace's one range read.

A trace walks back from a holder of a batch to the invoices that brought the batch to it. With the
lines indexed by (product, batch) only, each step read every line of the batch and its invoice to keep
the few bought by that holder: hundreds of lines per batch in a province of ten million lines. The
index (product, batch, buyer) replaces the (product, batch) one, whose queries it serves too. Existing
lines are filled from their invoices.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The tables as this revision knows them (never the application's schema module, which moves on).
_meta = sa.MetaData()
_invoice_line = sa.Table(
    "invoice_line", _meta, sa.Column("number", sa.String(32)), sa.Column("buyer", sa.String(64))
)
_invoice = sa.Table("invoice", _meta, sa.Column("number", sa.String(32)), sa.Column("buyer", sa.String(64)))


def upgrade() -> None:
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer", sa.String(length=64), nullable=True))
    line, invoice = _invoice_line, _invoice
    op.execute(
        sa.update(line).values(
            buyer=sa.select(invoice.c.buyer).where(invoice.c.number == line.c.number).scalar_subquery()
        )
    )
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.alter_column("buyer", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index(batch_op.f("ix_invoice_line_product_id_batch_number"))
        batch_op.create_index(
            batch_op.f("ix_invoice_line_product_id_batch_number_buyer"),
            ["product_id", "batch_number", "buyer"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_line_product_id_batch_number_buyer"))
        batch_op.create_index(
            batch_op.f("ix_invoice_line_product_id_batch_number"),
            ["product_id", "batch_number"],
            unique=False,
        )
        batch_op.drop_column("buyer")
