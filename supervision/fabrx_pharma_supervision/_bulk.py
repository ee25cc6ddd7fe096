"""Rows straight into tables, for loads of millions of rows: the bulk loader's writer.

:class:`BulkRows` buffers rows per table as tuples (the column's own bind conversions applied, as
SQLAlchemy would) and sends them on the caller's connection, inside its transaction: ``COPY ... FROM
STDIN`` on PostgreSQL, one ``executemany`` of a prepared ``INSERT`` per table on SQLite. Nothing of
SQLAlchemy's per-row statement compilation is paid, which is most of the cost of an ``executemany``
through SQLAlchemy at this size.

:func:`stock_from_trade` fills the stock counters from the trade tables in one ``INSERT ... SELECT``
(what ``fabrx_pharma.stock_effects`` adds up write by write, for first, second and direct invoices).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from . import schema as t

__all__ = ["BulkRows", "deferred_indexes", "stock_from_trade"]


class BulkRows:
    """Buffered rows for several tables, sent by :meth:`flush` (or when ``limit`` rows are waiting)."""

    def __init__(self, connection: sa.Connection, *, limit: int = 200_000) -> None:
        self._connection = connection
        self._limit = limit
        self._waiting = 0
        self._rows: dict[sa.Table, list[tuple[Any, ...]]] = {}
        self._columns: dict[sa.Table, tuple[str, ...]] = {}
        self._pick: dict[sa.Table, Callable[[Mapping[str, object]], tuple[Any, ...]]] = {}
        self.sent = 0
        """Rows sent so far."""

    def add(self, table: sa.Table, row: Mapping[str, object]) -> None:
        """Buffer one row (its keys are column names; a column left out must have a default). Every
        row of a table must have the keys of the table's first row."""
        pick = self._pick.get(table)
        if pick is None:
            pick = self._pick[table] = self._layout(table, row)
            self._rows.setdefault(table, [])
        self._rows[table].append(pick(row))
        self._waiting += 1
        if self._waiting >= self._limit:
            self.flush()

    def _layout(
        self, table: sa.Table, row: Mapping[str, object]
    ) -> Callable[[Mapping[str, object]], tuple[Any, ...]]:
        dialect = self._connection.dialect
        names = self._columns[table] = tuple(row)
        needed: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(names):
            convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                needed.append((i, convert))
        if len(names) == 1:
            only = names[0]

            def get(row: Mapping[str, object]) -> tuple[Any, ...]:
                return (row[only],)

        else:
            get = itemgetter(*names)  # type: ignore[assignment]
        if not needed:
            return get

        def pick(row: Mapping[str, object]) -> tuple[Any, ...]:
            values = list(get(row))
            for i, convert in needed:
                values[i] = convert(values[i])
            return tuple(values)

        return pick

    def flush(self) -> None:
        """Send every buffered row."""
        raw = self._connection.connection.driver_connection
        postgres = self._connection.dialect.name == "postgresql"
        for table, rows in self._rows.items():
            if not rows:
                continue
            names = self._columns[table]
            if postgres:
                quoted = ", ".join(f'"{name}"' for name in names)
                statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
                with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(names))
                cursor = raw.cursor()  # type: ignore[union-attr]
                try:
                    cursor.executemany(
                        f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({marks})', rows
                    )
                finally:
                    cursor.close()
            self.sent += len(rows)
        self._rows = {table: [] for table in self._rows}
        self._waiting = 0


@contextmanager
def deferred_indexes(
    transaction: Callable[[], AbstractContextManager[sa.Connection]], tables: Iterable[sa.Table]
) -> Iterator[None]:
    """Drop the non-unique secondary indexes of ``tables`` for the block and create them again after
    it (one sorted build each instead of millions of index inserts), also when the block raises.
    ``transaction`` opens a database transaction (:meth:`SupervisionStore.transaction`)."""
    indexes = [
        index
        for table in tables
        for index in sorted(table.indexes, key=lambda i: str(i.name))
        if not index.unique
    ]
    with transaction() as connection:
        for index in indexes:
            index.drop(connection)
    try:
        yield
    finally:
        with transaction() as connection:
            for index in indexes:
                index.create(connection)


def stock_from_trade(connection: sa.Connection) -> int:
    """Replace the stock counters by the sums over batches, invoice lines, receipt lines and
    dispensings; return how many (holder, product, batch) rows there are.

    The same counters as ``fabrx_pharma.stock_effects`` applied to every record once: a batch adds its
    quantity to its manufacturer; an invoice line counts a purchase for the buyer and, for the holder
    it draws on (the batch's manufacturer for first and direct invoices, else the seller), a transfer
    (first invoices) or a sale (to a hospital; ``sold_remote`` when the buyer is a remote-area
    hospital); a receipt line adds to the receiver; a dispensing counts for the hospital. Transfer
    invoices (group and remote-delivery inflows) are not covered: a store holding them is not loaded
    this way.
    """
    inv, line, bat, buyer = t.invoice, t.invoice_line, t.batch, t.party.alias("buyer")
    zero = sa.literal(0, sa.BigInteger)
    names = ("purchased", "received", "transferred", "sold", "sold_remote", "dispensed")

    def part(holder: Any, product: Any, batch: Any, **counters: Any) -> sa.Select[Any]:
        values = [counters.get(name, zero).label(name) for name in names]
        return sa.select(
            holder.label("holder"), product.label("product_id"), batch.label("batch_number"), *values
        )

    first = inv.c.kind.in_(("first", "direct"))
    onward = inv.c.kind == "first"
    remote = sa.and_(sa.not_(onward), buyer.c.remote_area.is_(True))
    sale = sa.select(
        sa.case((first, bat.c.manufacturer), else_=inv.c.seller).label("holder"),
        line.c.product_id,
        line.c.batch_number,
        zero.label("purchased"),
        zero.label("received"),
        sa.case((onward, line.c.quantity), else_=0).label("transferred"),
        sa.case((sa.or_(onward, remote), 0), else_=line.c.quantity).label("sold"),
        sa.case((remote, line.c.quantity), else_=0).label("sold_remote"),
        zero.label("dispensed"),
    ).select_from(
        line.join(inv, inv.c.number == line.c.number)
        .join(bat, sa.and_(bat.c.product_id == line.c.product_id, bat.c.batch_number == line.c.batch_number))
        .outerjoin(buyer, buyer.c.party_id == inv.c.buyer)
    )
    parts = sa.union_all(
        part(bat.c.manufacturer, bat.c.product_id, bat.c.batch_number, received=bat.c.quantity),
        sale,
        part(
            inv.c.buyer,
            line.c.product_id,
            line.c.batch_number,
            purchased=line.c.quantity,
        ).select_from(line.join(inv, inv.c.number == line.c.number)),
        part(
            t.receipt.c.receiver,
            t.receipt_line.c.product_id,
            t.receipt_line.c.batch_number,
            received=t.receipt_line.c.quantity,
        ).select_from(
            t.receipt_line.join(t.receipt, t.receipt.c.invoice_number == t.receipt_line.c.invoice_number)
        ),
        part(
            t.prescription.c.hospital,
            t.dispensing.c.product_id,
            t.dispensing.c.batch_number,
            dispensed=t.dispensing.c.quantity,
        ).select_from(
            t.dispensing.join(
                t.prescription, t.prescription.c.prescription_id == t.dispensing.c.prescription_id
            )
        ),
    ).subquery("effects")
    totals = sa.select(
        parts.c.holder,
        parts.c.product_id,
        parts.c.batch_number,
        *(sa.func.sum(parts.c[name]).label(name) for name in names),
        zero.label("received_group"),
        zero.label("received_remote"),
    ).group_by(parts.c.holder, parts.c.product_id, parts.c.batch_number)
    connection.execute(t.stock.delete())
    connection.execute(
        t.stock.insert().from_select(
            ["holder", "product_id", "batch_number", *names, "received_group", "received_remote"], totals
        )
    )
    return int(connection.execute(sa.select(sa.func.count()).select_from(t.stock)).scalar() or 0)
