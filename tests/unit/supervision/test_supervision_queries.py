from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from test_supervision_province import SPEC

from fabrx_pharma import InMemoryLedger, InvoiceKind, RuleId, trace_prescription
from fabrx_pharma.trade import quantities
from fabrx_pharma_supervision import NotFound, SupervisionStore
from fabrx_pharma_supervision.export import write_csv
from fabrx_pharma_supervision.province import Province, load_province
from fabrx_pharma_supervision.queries import FINDING_COLUMNS, FindingFilter


@pytest.fixture(scope="module")
def ledger() -> InMemoryLedger:
    ledger = InMemoryLedger()
    for submitter, record in Province(SPEC).writes():
        ledger.apply(record, submitter=submitter)
    return ledger


@pytest.fixture
def loaded(store: SupervisionStore) -> SupervisionStore:
    load_province(store, Province(SPEC), writes_per_block=1_000)
    return store


def test_each_finding_filter_selects_exactly_the_findings_it_admits(loaded: SupervisionStore) -> None:
    everything = loaded.findings()
    assert len(everything) == len(loaded.compliance_report())
    some = next(f for f in everything if f.product_id and f.party_id and f.region and f.occurred_at)
    filters = [
        FindingFilter(rules={RuleId.DIVERSION, RuleId.RECEIPT_MISSING}),
        FindingFilter(party=some.party_id),
        FindingFilter(product_id=some.product_id),
        FindingFilter(product_id=some.product_id, batch_number=some.batch_number),
        FindingFilter(region=(some.region or "")[:4]),
        FindingFilter(since=datetime(2025, 6, 1, tzinfo=UTC), until=datetime(2025, 9, 1, tzinfo=UTC)),
        FindingFilter(rules={RuleId.RECEIPT_MISSING}, region="35", since=datetime(2025, 5, 1, tzinfo=UTC)),
    ]
    for where in filters:
        selected = loaded.findings(where)
        assert Counter(selected) == Counter(f for f in everything if where.admits(f)), where
        assert 0 < len(selected) < len(everything), where
    counts = loaded.finding_counts("region")
    assert sum(sum(per_rule.values()) for per_rule in counts.values()) == len(everything)
    by_month = loaded.finding_counts("month", FindingFilter(rules={RuleId.CONSERVATION}))
    assert sum(per_rule[RuleId.CONSERVATION] for per_rule in by_month.values()) == sum(
        1 for f in everything if f.finding.rule is RuleId.CONSERVATION
    )


def test_bad_filters_are_refused_with_the_field_named(loaded: SupervisionStore) -> None:
    with pytest.raises(ValueError, match="since: must be an aware datetime"):
        FindingFilter(since=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="region: must be 1 to 6 digits"):
        FindingFilter(region="Fujian")
    with pytest.raises(ValueError, match="batch_number: name the product_id too"):
        FindingFilter(batch_number="A000001")
    with pytest.raises(ValueError, match="by: must be one of"):
        loaded.finding_counts("colour")
    with pytest.raises(ValueError, match="side: must be 'purchases' or 'sales'"):
        loaded.export_trade(io.StringIO(), "D0001", side="gifts")


def test_purchases_sales_and_stock_agree_with_the_domain_ledger(
    loaded: SupervisionStore, ledger: InMemoryLedger
) -> None:
    distributor = "D0003"
    bought: Counter[tuple[str, str]] = Counter()
    sold: Counter[tuple[str, str]] = Counter()
    for invoice in ledger.invoices:
        for key, quantity in quantities(invoice.lines).items():
            if invoice.buyer == distributor:
                bought[key] += quantity
            if invoice.seller == distributor:
                sold[key] += quantity
    purchases = loaded.purchases(distributor)
    assert {r.kind for r in purchases} == {InvoiceKind.FIRST}
    assert Counter({(r.product_id, r.batch_number): r.quantity for r in purchases}) == bought
    sales = loaded.sales(distributor)
    totals: Counter[tuple[str, str]] = Counter()
    for row in sales:
        totals[(row.product_id, row.batch_number)] += row.quantity
    assert totals == sold
    first = sales[0]
    only = loaded.sales(distributor, product_id=first.product_id, batch_number=first.batch_number)
    assert {(r.product_id, r.batch_number) for r in only} == {(first.product_id, first.batch_number)}
    assert loaded.sales(distributor, since=date(2030, 1, 1)) == []
    stock = {(h.holder, h.product_id, h.batch_number): h.position for h in loaded.stock()}
    assert stock == dict(ledger.stock_positions)
    assert all(h.holder == distributor for h in loaded.stock(holder=distributor))


def test_the_chain_of_a_traceability_code_runs_from_raw_materials_to_every_dispensing(
    loaded: SupervisionStore, ledger: InMemoryLedger
) -> None:
    report = loaded.compliance_report()
    reused = next(f for f in report if f.rule is RuleId.TRACE_CODE_REUSED)
    code = reused.reason.split("traceability code ", 1)[1].split(" ", 1)[0]
    chain = loaded.code_chain(code)
    assert len(chain.dispensings) == 2
    assert chain.batch is not None and chain.batch.raw_material_lots
    assert chain.manufacturer is not None and chain.manufacturer.party_id == chain.batch.manufacturer
    assert [s.hop.kind for s in chain.shipments] == [InvoiceKind.SECOND]
    assert chain.shipments[0].received_listed in (True, False)
    first_dispensing = chain.dispensings[0]
    assert first_dispensing.hospital == chain.shipments[0].hop.buyer
    trace = next(
        t
        for t in trace_prescription(ledger, prescription_id=first_dispensing.prescription_id)
        if code in t.trace_codes
    )
    assert chain.chains == trace.chains
    assert chain.chains[0][0].kind is InvoiceKind.FIRST
    with pytest.raises(NotFound, match="on no shipment and no prescription"):
        loaded.code_chain("99999990000000000000")


def test_findings_trade_and_stock_export_as_csv(loaded: SupervisionStore) -> None:
    out = io.StringIO()
    count = loaded.export_findings(out, FindingFilter(rules={RuleId.DIVERSION}))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == len(rows) == len(loaded.findings(FindingFilter(rules={RuleId.DIVERSION})))
    assert tuple(rows[0]) == FINDING_COLUMNS
    assert {row["rule"] for row in rows} == {"DIVERSION"}
    out = io.StringIO()
    assert loaded.export_trade(out, "D0003", side="sales") == len(loaded.sales("D0003"))
    out = io.StringIO()
    assert loaded.export_stock(out, holder="H00001") == len(loaded.stock(holder="H00001"))
    assert "on_hand" in out.getvalue().splitlines()[0]


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_quoted() -> None:
    out = io.StringIO()
    write_csv([{"a": "=HYPERLINK(1)", "b": -3, "c": None}], ("a", "b", "c"), out)
    assert out.getvalue().splitlines() == ["a,b,c", "'=HYPERLINK(1),-3,"]
    with pytest.raises(KeyError):
        write_csv([{"a": 1}], ("a", "missing"), io.StringIO())
