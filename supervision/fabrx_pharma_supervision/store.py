"""The supervision store: an event-fed relational projection of the pharma ledger.

One class, :class:`SupervisionStore`, over a SQLAlchemy engine: SQLite by default (a file, nothing to
start) or PostgreSQL (``postgresql://user@host:port/db``). It is fed blocks of ledger writes
(:class:`~fabrx_pharma_supervision.writes.LedgerBlock`), checks each write with the domain's rules as it
arrives, keeps the whole-ledger findings up to date, and answers the regulator's queries with the same
results as ``fabrx_pharma``'s in-memory analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, TextIO

import sqlalchemy as sa

from fabrx_pharma import Finding, RecallScope, RuleId, Severity, Trace, TwoInvoicePolicy
from fabrx_pharma.analysis import DEFAULT_RECEIPT_DUE

from . import _analysis, queries
from . import schema as t
from ._ingest import Ingest, load_policy
from ._ledger_rules import batch_diversions, code_diversions, missing_receipts, receipt_problems
from ._rows import micros
from .errors import FeedOutOfOrder, NotFound, SchemaMismatch, StoreUnavailable
from .export import write_csv
from .migrate import current_revision, head_revision, upgrade
from .view import DecodedRecords
from .writes import LedgerBlock

__all__ = ["DEFAULT_FEED", "SupervisionStore", "engine_url"]

DEFAULT_FEED = "pharma"
"""The checkpoint name used when none is given: the pharma channel."""


def engine_url(url: str) -> sa.URL:
    """The SQLAlchemy URL for a store URL: ``postgresql://`` (or ``postgres://``) uses psycopg 3.

    Raises :class:`StoreUnavailable` for a URL that is neither SQLite nor PostgreSQL.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreUnavailable(f"store URL {url!r} is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreUnavailable(f"store URL {parsed!r}: only sqlite:// and postgresql:// stores are supported")
    return parsed


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL: readers do not block the feed; a killed process never loses a committed block.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A 256 MiB page cache and in-memory temporary tables (sorts, group-bys of the re-evaluation).
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


class SupervisionStore:
    """The regulator's (or a member's) projection of the ledger in a relational database.

    Open it with :meth:`open`; use it as a context manager or call :meth:`close`. Every method runs in
    its own database transaction; :meth:`apply` writes a block's rows, findings and checkpoint in one.
    """

    def __init__(self, engine: sa.Engine, *, receipt_due: timedelta = DEFAULT_RECEIPT_DUE) -> None:
        self._engine = engine
        self._receipt_due = receipt_due
        self._decoded = DecodedRecords()

    @classmethod
    def open(
        cls, url: str, *, migrate: bool = True, receipt_due: timedelta = DEFAULT_RECEIPT_DUE
    ) -> SupervisionStore:
        """Connect to the store at ``url`` and (by default) bring its schema to the head revision.

        ``receipt_due`` is how long goods may travel before a late receipt is a finding (the domain's
        default, 7 days). With ``migrate=False`` the schema is only checked. Raises
        :class:`StoreUnavailable` if the database cannot be reached, :class:`SchemaMismatch` if it is at
        another revision and ``migrate`` is false.
        """
        engine = sa.create_engine(engine_url(url))
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, receipt_due=receipt_due)
        try:
            if migrate:
                store.upgrade()
            else:
                store.check_schema()
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Release the engine's connections."""
        self._engine.dispose()

    def __enter__(self) -> SupervisionStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def receipt_due(self) -> timedelta:
        return self._receipt_due

    # --- schema -------------------------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Run every migration the database has not had yet."""
        with self._translated():
            upgrade(self._engine)

    def check_schema(self) -> None:
        """Raise :class:`SchemaMismatch` unless the database is at this code's revision."""
        with self.transaction() as connection:
            found = current_revision(connection)
        if found != head_revision():
            raise SchemaMismatch(found, head_revision())

    # --- the one boundary where database errors are translated --------------------------------------------

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as exc:
            orig = exc.orig if exc.orig is not None else exc
            first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
            raise StoreUnavailable(
                f"store {self._engine.url!r}: {type(orig).__name__}: {first_line}"
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A connection in a database transaction: committed when the block exits normally, rolled back
        (with nothing written) when it raises. Driver errors become :class:`StoreUnavailable`."""
        with self._translated(), self._engine.begin() as connection:
            yield connection

    # --- feeding ------------------------------------------------------------------------------------------

    def checkpoint(self, feed: str = DEFAULT_FEED) -> int | None:
        """The number of the last block applied from ``feed``, ``None`` before the first."""
        with self.transaction() as connection:
            return _checkpoint(connection, feed)

    def apply(self, block: LedgerBlock, *, feed: str = DEFAULT_FEED) -> bool:
        """Apply one block's writes and advance the checkpoint, in one database transaction.

        Returns ``False`` (and changes nothing) for a block at or below the checkpoint: replaying a
        block is harmless, so a feed that crashed between applying a block and learning it was applied
        simply offers it again. Raises :class:`FeedOutOfOrder` for a block that would leave a gap, and
        :class:`StoreUnavailable` if the database fails; either way nothing of the block is stored.
        """
        return self.apply_blocks([block], feed=feed) == 1

    def apply_blocks(
        self, blocks: Iterable[LedgerBlock], *, feed: str = DEFAULT_FEED, ledger_rules: bool = True
    ) -> int:
        """Apply several consecutive blocks in one database transaction; return how many were new.

        With ``ledger_rules=False`` the whole-ledger findings are not kept up to date block by block
        (the bulk loader's choice): call :meth:`reevaluate` afterwards.
        """
        with self.transaction() as connection:
            checkpoint = _checkpoint(connection, feed, lock=True)
            ingest = Ingest(
                connection, receipt_due=self._receipt_due, ledger_rules=ledger_rules, decoded=self._decoded
            )
            last = checkpoint
            new: list[LedgerBlock] = []
            for block in blocks:
                if last is not None and block.number <= last:
                    continue
                if last is not None and block.number != last + 1:
                    raise FeedOutOfOrder(feed, last, block.number)
                new.append(block)
                last = block.number
            # What the rules read for the whole range is loaded at once; the whole-ledger findings of
            # everything the range touched are brought up to date once, before the commit.
            ingest.prefetch([write for block in new for write in block.writes])
            for block in new:
                for write in block.writes:
                    ingest.write(write, block.number)
            ingest.flush()
            if last is not None and last != checkpoint:
                _set_checkpoint(connection, feed, last, exists=checkpoint is not None)
        # Committed: what the range decoded from the write log may now serve later transactions.
        self._decoded.add(ingest.view.decoded)
        return len(new)

    def reevaluate(self) -> int:
        """Recompute every whole-ledger finding from the tables (SQL set operations); return how many
        there are. Write-time findings are facts about each write, kept as the ingest found them."""
        with self.transaction() as connection:
            _whole_ledger_memory(connection)
            ingest = Ingest(connection, receipt_due=self._receipt_due)
            return ingest.refresh_ledger_findings(None, None, None)

    def analyze(self) -> None:
        """Refresh the statistics the database's query planner reads (``ANALYZE`` of every table).

        Run it after a large import into a store: until then the planner knows little of the rows
        that came in and may pick scans where the queries expect index lookups. PostgreSQL's
        autovacuum gets there too, but only a while later; the bulk writers
        (:mod:`~fabrx_pharma_supervision.province`) call it themselves. A feed's blocks need none.
        SQLite samples :data:`SQLITE_ANALYSIS_LIMIT` rows per index (its full ``ANALYZE`` reads every
        index whole: seconds per million invoice lines, for nearly the same figures).
        """
        with self.transaction() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            connection.exec_driver_sql("ANALYZE")

    # --- the regulator's answers, equal to fabrx_pharma's analysis --------------------------------------

    def policy(self) -> TwoInvoicePolicy:
        """The two-invoice policy in force (the domain default until the feed applied a policy write)."""
        with self.transaction() as connection:
            return load_policy(connection)

    def compliance_report(
        self, *, as_of: datetime | None = None, receipt_due: timedelta | None = None
    ) -> list[Finding]:
        """Every finding with its reason: the same findings as ``fabrx_pharma.compliance_report`` over the
        same writes (write-time findings in write order, then the whole-ledger ones).

        ``as_of`` only decides which missing receipts are due (shipped more than ``receipt_due`` before
        it; all of them when ``None``). A ``receipt_due`` other than the store's computes the receipt
        findings afresh instead of reading the stored ones.
        """
        due = self._receipt_due if receipt_due is None else receipt_due
        with self.transaction() as connection:
            _whole_ledger_memory(connection)
            findings = [
                _finding(row)
                for row in connection.execute(
                    sa.select(t.finding.c.rule, t.finding.c.severity, t.finding.c.subject, t.finding.c.reason)
                    .where(t.finding.c.origin == "write")
                    .order_by(t.finding.c.seq, t.finding.c.finding_id)
                )
            ]
            located = missing_receipts(connection, as_of_us=_us(as_of), due=due)
            if due == self._receipt_due:
                findings += [
                    _finding(row)
                    for row in connection.execute(
                        sa.select(
                            t.finding.c.rule, t.finding.c.severity, t.finding.c.subject, t.finding.c.reason
                        )
                        .where(t.finding.c.origin == "ledger")
                        .order_by(t.finding.c.finding_id)
                    )
                ]
            else:
                located += receipt_problems(connection, due=due)
                located += batch_diversions(connection) + code_diversions(connection)
            findings += [item.finding for item in located]
        unique: dict[tuple[RuleId, str, str], Finding] = {}
        for finding in findings:
            unique.setdefault((finding.rule, finding.subject, finding.reason), finding)
        return list(unique.values())

    def trace_prescription(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]:
        """Trace every dispensing of one prescription or of one patient pseudonym's prescriptions, as
        ``fabrx_pharma.trace_prescription`` does. Raises ``ValueError`` unless exactly one is given."""
        if (prescription_id is None) == (patient_pseudonym is None):
            raise ValueError("pass exactly one of prescription_id and patient_pseudonym")
        with self.transaction() as connection:
            return _analysis.trace_prescription(
                connection, prescription_id=prescription_id, patient_pseudonym=patient_pseudonym
            )

    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope:
        """Everyone a batch reached, as ``fabrx_pharma.recall_scope`` answers. Raises
        :class:`~fabrx_pharma_supervision.errors.NotFound` (a ``KeyError``) for an unknown batch."""
        with self.transaction() as connection:
            return _analysis.recall_scope(connection, product_id, batch_number)

    # --- queries beyond the chaincode's -------------------------------------------------------------------

    def findings(
        self, where: queries.FindingFilter | None = None, *, as_of: datetime | None = None
    ) -> list[queries.StoredFinding]:
        """Findings that pass ``where`` (all by default), with their party, counterparty, regions, batch
        and business time: write-time ones in write order, then the whole-ledger ones, then the missing
        receipts due at ``as_of`` (every one when ``None``)."""
        with self.transaction() as connection:
            return queries.findings(
                connection, where or queries.FindingFilter(), as_of=as_of, receipt_due=self._receipt_due
            )

    def finding_counts(
        self, by: str, where: queries.FindingFilter | None = None, *, as_of: datetime | None = None
    ) -> dict[str, dict[RuleId, int]]:
        """Findings counted per rule under each value of ``by``: ``party``, ``counterparty``, ``region``
        (of the party), ``product`` or ``month`` (``YYYY-MM`` of the business time, UTC). Findings
        without that dimension count under ``""``. Raises ``ValueError`` for another ``by``."""
        pick = {
            "party": lambda f: f.party_id,
            "counterparty": lambda f: f.counterparty_id,
            "region": lambda f: f.region,
            "product": lambda f: f.product_id,
            "month": lambda f: f.occurred_at.strftime("%Y-%m") if f.occurred_at else None,
        }
        if by not in pick:
            raise ValueError(f"by: must be one of {', '.join(pick)}, not {by!r}")
        counts: dict[str, dict[RuleId, int]] = {}
        for item in self.findings(where, as_of=as_of):
            per_rule = counts.setdefault(pick[by](item) or "", {})
            per_rule[item.finding.rule] = per_rule.get(item.finding.rule, 0) + 1
        return dict(sorted(counts.items()))

    def purchases(
        self,
        party_id: str,
        *,
        product_id: str | None = None,
        batch_number: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[queries.TradeRow]:
        """What ``party_id`` bought, per seller, invoice kind and batch (issued in ``[since, until)``)."""
        with self.transaction() as connection:
            return queries.trade(
                connection,
                party_id,
                side="purchases",
                product_id=product_id,
                batch_number=batch_number,
                since=since,
                until=until,
            )

    def sales(
        self,
        party_id: str,
        *,
        product_id: str | None = None,
        batch_number: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[queries.TradeRow]:
        """What ``party_id`` sold, per buyer, invoice kind and batch (issue dates in ``[since, until)``)."""
        with self.transaction() as connection:
            return queries.trade(
                connection,
                party_id,
                side="sales",
                product_id=product_id,
                batch_number=batch_number,
                since=since,
                until=until,
            )

    def invoices(self, party_id: str, *, side: str = "both", limit: int = 100) -> list[queries.InvoiceRow]:
        """The party's invoices, newest first: its ``sales``, ``purchases`` or ``both``, at most ``limit``."""
        with self.transaction() as connection:
            return queries.party_invoices(connection, party_id, side=side, limit=limit)

    def stock(
        self, *, holder: str | None = None, product_id: str | None = None, batch_number: str | None = None
    ) -> list[queries.Holding]:
        """Stock counters per holder and batch, as the rules count them."""
        with self.transaction() as connection:
            return queries.stock_positions(
                connection, holder=holder, product_id=product_id, batch_number=batch_number
            )

    def code_chain(self, trace_code: str) -> queries.CodeChain:
        """The full chain of one traceability code: batch and raw-material lots, manufacturer, every
        shipment that listed it (with its receipt), the invoice chain from the manufacturer, every
        dispensing, the recall. Raises :class:`~fabrx_pharma_supervision.errors.NotFound` if no
        shipment or prescription names the code."""
        with self.transaction() as connection:
            chain = queries.code_chain(connection, trace_code.strip())
        if chain is None:
            raise NotFound(f"traceability code {trace_code.strip()} is on no shipment and no prescription")
        return chain

    def export_findings(
        self, out: TextIO, where: queries.FindingFilter | None = None, *, as_of: datetime | None = None
    ) -> int:
        """Write :meth:`findings` to ``out`` as CSV; return the number of rows."""
        items = self.findings(where, as_of=as_of)
        return write_csv((item.to_row() for item in items), queries.FINDING_COLUMNS, out)

    def export_trade(
        self, out: TextIO, party_id: str, *, side: str, since: date | None = None, until: date | None = None
    ) -> int:
        """Write a party's ``purchases`` or ``sales`` (``side``) to ``out`` as CSV; return the number of
        rows. Raises ``ValueError`` for another ``side``."""
        with self.transaction() as connection:
            rows = queries.trade(connection, party_id, side=side, since=since, until=until)
        return write_csv((row.to_row() for row in rows), queries.TRADE_COLUMNS, out)

    def export_stock(self, out: TextIO, *, holder: str | None = None, product_id: str | None = None) -> int:
        """Write :meth:`stock` to ``out`` as CSV; return the number of rows."""
        rows = self.stock(holder=holder, product_id=product_id)
        return write_csv((row.to_row() for row in rows), queries.HOLDING_COLUMNS, out)


SQLITE_ANALYSIS_LIMIT = 1000
"""Rows SQLite's ``ANALYZE`` reads per index (``PRAGMA analysis_limit``) in ``SupervisionStore.analyze``."""

WHOLE_LEDGER_WORK_MEM = "256MB"
"""PostgreSQL's memory per sort or hash for the whole-ledger queries (its default, 4 MB, sends the
group-bys and hashes of a million invoice lines to disk in several batches)."""


def _whole_ledger_memory(connection: sa.Connection) -> None:
    """Give this transaction's sorts and hashes room for a whole ledger (PostgreSQL; SQLite's page cache
    and in-memory temporary tables are set per connection)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{WHOLE_LEDGER_WORK_MEM}'")


def _us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("as_of must be an aware datetime (with a UTC offset)")
    return micros(moment)


def _finding(row: Sequence[Any]) -> Finding:
    return Finding(RuleId(row[0]), Severity(row[1]), row[2], row[3])


def _checkpoint(connection: sa.Connection, feed: str, *, lock: bool = False) -> int | None:
    query = sa.select(t.feed_checkpoint.c.block_number).where(t.feed_checkpoint.c.feed == feed)
    if lock:
        # Two feeds writing the same store would interleave blocks; the row lock makes the second wait.
        query = query.with_for_update()
    found = connection.execute(query).scalar()
    return None if found is None else int(found)


def _set_checkpoint(connection: sa.Connection, feed: str, block_number: int, *, exists: bool) -> None:
    now = micros(datetime.now(UTC))
    if exists:
        connection.execute(
            t.feed_checkpoint.update()
            .where(t.feed_checkpoint.c.feed == feed)
            .values(block_number=block_number, updated_us=now)
        )
    else:
        connection.execute(
            t.feed_checkpoint.insert().values(feed=feed, block_number=block_number, updated_us=now)
        )
