from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from feeding import blocks_of, same_findings

from fabrx_pharma import (
    InMemoryLedger,
    RuleId,
    compliance_report,
    recall_scope,
    trace_prescription,
)
from fabrx_pharma_supervision import SupervisionStore
from fabrx_pharma_supervision import schema as t
from fabrx_pharma_supervision.province import (
    FINDINGS_PER_VIOLATION,
    Province,
    ProvinceSpec,
    Violation,
    ViolationRates,
    load_province,
    write_province,
)

# Small, with every violation frequent enough to appear several times.
RATES = ViolationRates(
    missing_receipt=0.03,
    late_receipt=0.03,
    short_receipt=0.03,
    diversion=0.02,
    oversell=0.02,
    code_reuse=0.04,
    code_diversion=0.04,
    invoice_reuse=0.02,
)
SPEC = ProvinceSpec(
    manufacturers=4, distributors=12, hospitals=40, products=60, invoice_lines=2_500, seed=7, rates=RATES
)


def domain_ledger(province: Province) -> InMemoryLedger:
    ledger = InMemoryLedger()
    for submitter, record in province.writes():
        ledger.apply(record, submitter=submitter)
    return ledger


@pytest.fixture(scope="module")
def generated() -> tuple[Province, InMemoryLedger, list[tuple[str, object]]]:
    province = Province(SPEC)
    writes = list(province.writes())
    ledger = InMemoryLedger()
    for submitter, record in writes:
        ledger.apply(record, submitter=submitter)  # type: ignore[arg-type]
    return province, ledger, writes  # type: ignore[return-value]


def test_every_violation_kind_is_injected_and_gives_exactly_its_findings_in_the_domain(generated) -> None:
    province, ledger, _ = generated
    assert set(province.injected) == set(Violation)
    assert all(count >= 2 for count in province.injected.values()), province.injected
    assert Counter(f.rule for f in compliance_report(ledger)) == province.expected_findings
    assert province.invoice_lines >= SPEC.invoice_lines
    assert FINDINGS_PER_VIOLATION[Violation.DIVERSION] == {RuleId.BUYER_SELLER_MATCH: 1, RuleId.DIVERSION: 1}


def test_a_generated_province_fed_block_by_block_gives_the_domains_answers(
    store: SupervisionStore, generated
) -> None:
    province, ledger, writes = generated
    store.apply_blocks(blocks_of(writes, per_block=25))
    report = store.compliance_report()
    assert same_findings(report, compliance_report(ledger))
    assert Counter(f.rule for f in report) == province.expected_findings
    flagged = {f.subject.split(" ", 1)[1] for f in report if f.subject.startswith("prescription ")}
    with_events = {e.prescription_id for e in ledger.adverse_events}
    sample = [p.prescription_id for p in ledger.prescriptions[::25]]
    for prescription_id in sorted(flagged | with_events | set(sample)):
        assert store.trace_prescription(prescription_id=prescription_id) == trace_prescription(
            ledger, prescription_id=prescription_id
        ), prescription_id
    patient = ledger.prescriptions[0].patient_pseudonym
    assert store.trace_prescription(patient_pseudonym=patient) == trace_prescription(
        ledger, patient_pseudonym=patient
    )
    for batch in [*ledger.batches[::7], *(ledger.batch(*r.batch_key) for r in ledger.recalls)]:
        assert batch is not None
        assert store.recall_scope(batch.product_id, batch.batch_number) == recall_scope(
            ledger, batch.product_id, batch.batch_number
        )
    assert store.reevaluate() == sum(
        1 for f in report if f.rule in (RuleId.RECEIPT_LATE, RuleId.DIVERSION, RuleId.INVOICE_GOODS_RECEIPT)
    )
    assert same_findings(store.compliance_report(), report)


def test_a_province_loaded_in_bulk_gives_the_same_report(store: SupervisionStore, generated) -> None:
    province, ledger, writes = generated
    result = load_province(store, Province(SPEC), writes_per_block=700, blocks_per_transaction=2)
    assert result.writes == len(writes)
    assert result.invoice_lines == province.invoice_lines
    assert store.checkpoint() == result.blocks - 1
    assert same_findings(store.compliance_report(), compliance_report(ledger))


@pytest.fixture
def other_store(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[SupervisionStore]:
    if store_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    with SupervisionStore.open(url) as opened:
        yield opened


# Block boundaries differ (the bulk writer's tail starts a block) and ids and times are the database's.
_NOT_COMPARED = {"block_number", "finding_id", "updated_us"}


def _contents(store: SupervisionStore) -> dict[str, list[tuple[object, ...]]]:
    contents = {}
    with store.transaction() as connection:
        for table in t.metadata.sorted_tables:
            columns = [c for c in table.c if c.name not in _NOT_COMPARED]
            rows = connection.execute(sa.select(*columns)).all()
            contents[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return contents


def test_the_bulk_writer_stores_exactly_what_the_checked_loader_stores(
    store: SupervisionStore, other_store: SupervisionStore, generated
) -> None:
    province, ledger, writes = generated
    bulk = write_province(store, Province(SPEC), writes_per_block=300, writes_per_transaction=1_000)
    checked = load_province(other_store, Province(SPEC), writes_per_block=300, blocks_per_transaction=3)
    assert (bulk.writes, bulk.invoice_lines, bulk.findings) == (
        len(writes),
        province.invoice_lines,
        checked.findings,
    )
    assert store.checkpoint() == bulk.blocks - 1
    report = store.compliance_report()
    assert Counter(f.rule for f in report) == province.expected_findings
    assert same_findings(report, compliance_report(ledger))
    bulk_rows, checked_rows = _contents(store), _contents(other_store)
    assert bulk_rows.keys() == checked_rows.keys()
    for name in bulk_rows:
        assert bulk_rows[name] == checked_rows[name], name
    assert len(bulk_rows["stock"]) > 100 and len(bulk_rows["dispensed"]) > 10


def test_the_generator_is_deterministic_and_refuses_impossible_provinces() -> None:
    small = ProvinceSpec(manufacturers=2, distributors=3, hospitals=5, products=4, invoice_lines=200, seed=3)
    assert list(Province(small).writes()) == list(Province(small).writes())
    with pytest.raises(ValueError, match="hospitals: must be at least 1"):
        ProvinceSpec(hospitals=0)
    with pytest.raises(ValueError, match="every manufacturer needs at least one product"):
        ProvinceSpec(manufacturers=10, products=5)


def test_the_receipt_facts_migration_fills_the_receipts_already_stored(
    store: SupervisionStore, generated
) -> None:
    from alembic import command

    from fabrx_pharma_supervision._ledger_rules import _short_groups
    from fabrx_pharma_supervision.migrate import _config, current_revision, head_revision, upgrade

    province, ledger, writes = generated
    store.apply_blocks(blocks_of(writes, per_block=50))
    before = store.compliance_report()
    engine = store._engine
    with engine.begin() as connection:
        command.downgrade(_config(connection), "0001")
    with engine.begin() as connection:
        assert "short_of_shipment" not in {c["name"] for c in sa.inspect(connection).get_columns("receipt")}
    upgrade(engine)
    with store.transaction() as connection:
        assert current_revision(connection) == head_revision()
        flagged = set(
            connection.execute(
                sa.select(t.receipt.c.invoice_number).where(t.receipt.c.short_of_shipment)
            ).scalars()
        )
        gaps = _short_groups(None)
        summed = set(
            connection.execute(
                sa.select(gaps.c.number)
                .distinct()
                .join(t.receipt, t.receipt.c.invoice_number == gaps.c.number)
            ).scalars()
        )
    # every receipt short of its shipment by the sums over all lines, and no other, is flagged
    assert flagged == summed and len(flagged) >= province.injected[Violation.SHORT_RECEIPT] > 0
    store.reevaluate()
    assert same_findings(store.compliance_report(), before)
    assert same_findings(before, compliance_report(ledger))


def test_the_invoice_line_buyer_migration_fills_the_lines_already_stored(
    store: SupervisionStore, generated
) -> None:
    from alembic import command

    from fabrx_pharma_supervision.migrate import _config, current_revision, head_revision, upgrade

    _, ledger, writes = generated
    store.apply_blocks(blocks_of(writes, per_block=50))
    prescriptions = [p.prescription_id for p in ledger.prescriptions[::40]]
    before = [store.trace_prescription(prescription_id=p) for p in prescriptions]
    engine = store._engine
    with engine.begin() as connection:
        command.downgrade(_config(connection), "0002")
    with engine.begin() as connection:
        assert "buyer" not in {c["name"] for c in sa.inspect(connection).get_columns("invoice_line")}
    upgrade(engine)
    with store.transaction() as connection:
        assert current_revision(connection) == head_revision()
        il, i = t.invoice_line, t.invoice
        lines = connection.execute(sa.select(sa.func.count()).select_from(il)).scalar_one()
        matching = connection.execute(
            sa.select(sa.func.count())
            .select_from(il.join(i, i.c.number == il.c.number))
            .where(il.c.buyer == i.c.buyer)
        ).scalar_one()
    assert lines == matching > 0
    assert [store.trace_prescription(prescription_id=p) for p in prescriptions] == before
    assert before == [trace_prescription(ledger, prescription_id=p) for p in prescriptions]
