from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from feeding import T0, blocks_of, ledger_writes, same_findings

from fabrx_pharma import (
    Exemption,
    InvoiceKind,
    InvoiceNumber,
    RuleId,
    compliance_report,
    recall_scope,
    record_from_json,
    trace_prescription,
)
from fabrx_pharma.sample import build_sample_scenario
from fabrx_pharma_supervision import (
    FeedOutOfOrder,
    LedgerBlock,
    LedgerWrite,
    NotFound,
    SchemaMismatch,
    StoreUnavailable,
    SupervisionStore,
    WriteInvalid,
)
from fabrx_pharma_supervision import _ingest as ingest_module
from fabrx_pharma_supervision import schema as t
from fabrx_pharma_supervision.migrate import current_revision, head_revision

SCENARIO = build_sample_scenario()


def sample_ledger():
    return SCENARIO.ledger()


def count(store: SupervisionStore, table: sa.Table) -> int:
    with store.transaction() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_migrations_create_exactly_the_declared_schema(store: SupervisionStore) -> None:
    with store.transaction() as connection:
        assert current_revision(connection) == head_revision()
        assert compare_metadata(MigrationContext.configure(connection), t.metadata) == []


def test_opening_an_unmigrated_database_without_migrating_is_refused(store_url: str) -> None:
    with pytest.raises(SchemaMismatch, match=r"run SupervisionStore\.upgrade"):
        SupervisionStore.open(store_url, migrate=False)
    SupervisionStore.open(store_url).close()
    SupervisionStore.open(store_url, migrate=False).close()


def test_sample_story_gives_the_domains_report_traces_and_recall_scopes(store: SupervisionStore) -> None:
    ledger = sample_ledger()
    for block in blocks_of(ledger_writes(ledger)):
        assert store.apply(block)
    assert store.compliance_report() == compliance_report(ledger) == []
    for prescription in ledger.prescriptions:
        pid = prescription.prescription_id
        assert store.trace_prescription(prescription_id=pid) == trace_prescription(
            ledger, prescription_id=pid
        )
        pseudonym = prescription.patient_pseudonym.upper()
        assert store.trace_prescription(patient_pseudonym=pseudonym) == trace_prescription(
            ledger, patient_pseudonym=pseudonym
        )
    for batch in ledger.batches:
        assert store.recall_scope(batch.product_id, batch.batch_number) == recall_scope(
            ledger, batch.product_id, batch.batch_number
        )
    assert store.trace_prescription(prescription_id="RX-UNKNOWN") == ()
    with pytest.raises(NotFound, match="NOPE/1 is not on the ledger"):
        store.recall_scope("NOPE", "1")
    with pytest.raises(ValueError, match="exactly one"):
        store.trace_prescription()


def test_a_trace_reads_its_records_in_two_queries_and_each_items_chains_in_one_more(
    store: SupervisionStore,
) -> None:
    ledger = sample_ledger()
    store.apply_blocks(blocks_of(ledger_writes(ledger)))
    statements: list[str] = []

    def count_statement(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count_statement)
    try:
        # One item and two items, each over a two-invoice chain (manufacturer, distributor, hospital).
        for prescription_id, items in (("RX-A-0001", 1), ("RX-B-0001", 2)):
            statements.clear()
            traces = store.trace_prescription(prescription_id=prescription_id)
            assert traces == trace_prescription(ledger, prescription_id=prescription_id)
            assert [len(chain) for trace in traces for chain in trace.chains] == [2] * items
            assert len(statements) == 2 + items, statements
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count_statement)


def _pharma_world() -> ModuleType:
    """The pharma rule tests' small consortium (tests/unit/pharma/pharma_world.py)."""
    spec = importlib.util.spec_from_file_location(
        "pharma_world", Path(__file__).parents[1] / "pharma" / "pharma_world.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_traces_keep_the_domains_chain_rules_pinned_ambiguous_and_three_invoices_deep(
    store: SupervisionStore,
) -> None:
    w = _pharma_world()
    world = w.World()
    world.trade(InvoiceKind.FIRST, w.MAKER, w.DIST_A, [(w.A1, 20)])
    world.trade(InvoiceKind.FIRST, w.MAKER, w.DIST_B, [(w.A1, 20)])
    world.trade(InvoiceKind.TRANSFER, w.DIST_A, w.DIST_SUB, [(w.A1, 10)], exemption=Exemption.GROUP_TRANSFER)
    world.trade(InvoiceKind.SECOND, w.DIST_A, w.HOSP, [(w.A1, 5, w.amox_codes(1, 5))])
    world.trade(InvoiceKind.SECOND, w.DIST_B, w.HOSP, [(w.A1, 5, w.amox_codes(11, 5))])
    world.trade(InvoiceKind.SECOND, w.DIST_SUB, w.HOSP_REMOTE, [(w.A1, 5)])
    submit = world.ledger.submit
    submit(world.prescription(items=[(w.A1, 1, w.amox_codes(2, 1))]), submitter=w.HOSP)
    submit(world.prescription(items=[(w.A1, 1)], prescription_id="RX-2"), submitter=w.HOSP)
    submit(world.prescription(w.HOSP_REMOTE, [(w.A1, 1)], prescription_id="RX-3"), submitter=w.HOSP_REMOTE)
    store.apply_blocks(blocks_of(ledger_writes(world.ledger)))
    chains = {}
    for prescription_id in ("RX-1", "RX-2", "RX-3"):
        (trace,) = store.trace_prescription(prescription_id=prescription_id)
        assert (trace,) == trace_prescription(world.ledger, prescription_id=prescription_id)
        chains[prescription_id] = [[hop.kind.value for hop in chain] for chain in trace.chains]
    assert chains == {
        "RX-1": [["first", "second"]],  # pinned by its code to the invoice from DIST_A
        "RX-2": [["first", "second"], ["first", "second"]],  # no code: both
        "RX-3": [["first", "transfer", "second"]],
    }


def test_analyze_gives_the_planner_statistics_and_changes_no_answer(store: SupervisionStore) -> None:
    ledger = sample_ledger()
    store.apply_blocks(blocks_of(ledger_writes(ledger)))
    traces = [store.trace_prescription(prescription_id=p.prescription_id) for p in ledger.prescriptions]

    def analyzed() -> int:
        with store.transaction() as connection:
            if store.backend == "postgresql":
                query = "SELECT count(*) FROM pg_stats WHERE tablename = 'invoice_line'"
            elif connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).first():
                query = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'invoice_line'"
            else:
                return 0
            return int(connection.exec_driver_sql(query).scalar_one())

    # Too few rows for PostgreSQL's autovacuum to have analyzed them meanwhile.
    assert analyzed() == 0
    store.analyze()
    assert analyzed() > 0
    assert [
        store.trace_prescription(prescription_id=p.prescription_id) for p in ledger.prescriptions
    ] == traces
    assert store.compliance_report() == compliance_report(ledger)


def test_the_checkpoint_advances_with_each_block_and_a_replayed_block_changes_nothing(
    store: SupervisionStore,
) -> None:
    blocks = blocks_of(ledger_writes(sample_ledger()), per_block=4)
    assert store.checkpoint() is None
    assert store.apply_blocks(blocks[:3]) == 3
    assert store.checkpoint() == 2
    writes = count(store, t.ledger_write)
    assert not store.apply(blocks[1])
    assert store.apply_blocks(blocks[:3]) == 0
    assert count(store, t.ledger_write) == writes
    assert store.apply_blocks(blocks) == len(blocks) - 3
    assert store.checkpoint() == len(blocks) - 1
    assert count(store, t.ledger_write) == len(sample_ledger().entries)


def test_a_block_after_a_gap_is_refused_and_nothing_of_it_is_stored(store: SupervisionStore) -> None:
    blocks = blocks_of(ledger_writes(sample_ledger()))
    store.apply(blocks[0])
    with pytest.raises(FeedOutOfOrder, match="apply block 1 first"):
        store.apply(blocks[2])
    assert store.checkpoint() == 0
    assert count(store, t.ledger_write) == 1
    assert store.checkpoint("another-channel") is None


def test_a_failure_mid_block_rolls_back_rows_findings_and_checkpoint_so_the_block_applies_again(
    store: SupervisionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = sample_ledger()
    blocks = blocks_of(ledger_writes(ledger), per_block=8)
    store.apply(blocks[0])
    before = {table.name: count(store, table) for table in t.metadata.sorted_tables}

    def crash(self: object, *args: object) -> None:
        raise StoreUnavailable("simulated crash after the rows were written")

    decoded = len(store._decoded)
    monkeypatch.setattr(ingest_module.Ingest, "refresh_ledger_findings", crash)
    with pytest.raises(StoreUnavailable, match="simulated crash"):
        store.apply(blocks[1])
    assert {table.name: count(store, table) for table in t.metadata.sorted_tables} == before
    assert store.checkpoint() == 0
    # What the rolled-back transaction decoded is not kept: its sequence numbers are reused next.
    assert len(store._decoded) == decoded
    monkeypatch.undo()
    assert store.apply_blocks(blocks) == len(blocks) - 1
    assert len(store._decoded) > decoded
    assert count(store, t.ledger_write) == len(ledger.entries)
    assert store.compliance_report() == []


def test_records_decoded_in_one_transaction_serve_later_ones_by_their_write(store: SupervisionStore) -> None:
    ledger = sample_ledger()
    blocks = blocks_of(ledger_writes(ledger), per_block=4)
    for block in blocks:
        store.apply(block)
    with store.transaction() as connection:
        rows = {
            seq: (kind, data)
            for seq, kind, data in connection.execute(
                sa.select(t.ledger_write.c.seq, t.ledger_write.c.record_type, t.ledger_write.c.record_json)
            )
        }
    assert len(store._decoded) > 0
    for seq in range(1, max(rows) + 1):
        cached = store._decoded.get(seq)
        if cached is not None:
            # the cached record is the one its write log row holds, never another write's
            kind, data = rows[seq]
            assert kind == cached.RECORD_TYPE and cached == record_from_json(kind, data)


def test_the_decoded_record_cache_is_bounded() -> None:
    from fabrx_pharma_supervision.view import DecodedRecords

    party = SCENARIO.ledger().entries[0].record
    cache = DecodedRecords(limit=3)
    cache.add({1: party, 2: party})
    cache.add({3: party})
    assert len(cache) == 3
    cache.add({4: party})
    assert len(cache) == 1 and cache.get(4) is party and cache.get(1) is None


def test_findings_appear_with_the_block_that_causes_them(store: SupervisionStore) -> None:
    ledger = sample_ledger()
    writes = ledger_writes(ledger)
    store.apply_blocks(blocks_of(writes))
    second = next(r for _, r in writes if getattr(r, "kind", None) == "second")
    late = ledger.receipt_of(str(second.number))
    assert late is not None
    reused = type(second)(
        number=InvoiceNumber.parse(str(second.number)),
        kind=second.kind,
        seller=second.seller,
        buyer=second.buyer,
        issue_date=second.issue_date,
        lines=second.lines,
        total=second.total,
        shipment=second.shipment,
    )
    store.apply(blocks_of([(second.seller, reused)], first=len(writes))[0])
    ledger.apply(reused, submitter=second.seller)
    report = store.compliance_report()
    assert [f.rule for f in report] == [RuleId.INVOICE_REUSED]
    assert report == compliance_report(ledger)
    # A missing receipt is due only once the goods had time to arrive.
    unreceived = next(i for i in ledger.invoices if ledger.receipt_of(str(i.number)) is not None)
    assert same_findings(
        store.compliance_report(as_of=unreceived.shipment.shipped_at),
        compliance_report(ledger, as_of=unreceived.shipment.shipped_at),
    )
    assert same_findings(
        store.compliance_report(receipt_due=timedelta(hours=1)),
        compliance_report(ledger, receipt_due=timedelta(hours=1)),
    )
    assert {f.rule for f in store.compliance_report(receipt_due=timedelta(hours=1))} == {
        RuleId.INVOICE_REUSED,
        RuleId.RECEIPT_LATE,
    }


def test_reevaluation_recomputes_the_whole_ledger_findings(store: SupervisionStore) -> None:
    ledger = sample_ledger()
    store.apply_blocks(blocks_of(ledger_writes(ledger)), ledger_rules=False)
    assert store.reevaluate() == 0
    assert store.compliance_report() == compliance_report(ledger)


def test_malformed_writes_are_refused_before_anything_is_stored() -> None:
    record = SCENARIO.regulator
    with pytest.raises(WriteInvalid, match="timestamp: must be an aware datetime"):
        LedgerWrite(record, "RegulatorMSP", "tx", datetime(2024, 1, 1), 1)
    with pytest.raises(WriteInvalid, match="submitter"):
        LedgerWrite(record, "", "tx", T0, 1)
    with pytest.raises(WriteInvalid, match="order"):
        LedgerWrite(record, "RegulatorMSP", "tx", T0, -1)
    with pytest.raises(WriteInvalid, match="block number"):
        LedgerBlock(-1)
    with pytest.raises(WriteInvalid, match=r"writes\[0\]: must be a LedgerWrite"):
        LedgerBlock(0, (record,))  # type: ignore[arg-type]


def test_unusable_urls_and_unreachable_servers_are_store_errors(tmp_path: object) -> None:
    with pytest.raises(StoreUnavailable, match="only sqlite:// and postgresql://"):
        SupervisionStore.open("mysql://localhost/store")
    with pytest.raises(StoreUnavailable, match="not a database URL"):
        SupervisionStore.open("not a url")
    with pytest.raises(StoreUnavailable, match=r"store postgresql\+psycopg://fabrx:\*\*\*@127.0.0.1:1/x"):
        SupervisionStore.open("postgresql://fabrx:secret@127.0.0.1:1/x")
