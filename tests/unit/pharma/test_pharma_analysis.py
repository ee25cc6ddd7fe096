from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from pharma_world import A1, DIST_A, DIST_B, DIST_SUB, HOSP, MAKER, World, amox_codes

from fabrx_pharma import (
    Exemption,
    Finding,
    GoodsLine,
    InMemoryLedger,
    Invoice,
    InvoiceKind,
    InvoiceNumber,
    PolicyHistory,
    Prescription,
    Recall,
    Receipt,
    RuleId,
    Severity,
    TwoInvoicePolicy,
    compliance_report,
    recall_scope,
    render_findings,
    render_recall_scope,
    render_trace,
    trace_prescription,
)
from fabrx_pharma.sample import (
    DISTRIBUTOR_A,
    DISTRIBUTOR_B,
    HOSPITAL_A,
    HOSPITAL_B,
    MANUFACTURER,
    REGULATOR,
    build_sample_scenario,
    sample_invoice_number,
)

SCENARIO = build_sample_scenario()


@pytest.fixture
def ledger() -> InMemoryLedger:
    return SCENARIO.ledger()


def invoices() -> dict[str, Invoice]:
    return {f"{i.seller}->{i.buyer}": i for i in SCENARIO.records(Invoice)}  # type: ignore[union-attr]


def prescriptions() -> dict[str, Prescription]:
    return {p.prescription_id: p for p in SCENARIO.records(Prescription)}  # type: ignore[union-attr]


def by_rule(findings: list[Finding]) -> dict[RuleId, list[Finding]]:
    result: dict[RuleId, list[Finding]] = {}
    for finding in findings:
        result.setdefault(finding.rule, []).append(finding)
    return result


def new_invoice(template: Invoice, sequence: int, **changes: object) -> Invoice:
    number = InvoiceNumber.parse(sample_invoice_number(template.issue_date, sequence))
    return replace(template, number=number, **changes)  # type: ignore[arg-type]


# --- compliance report --------------------------------------------------------------------------------------


def test_compliant_sample_has_no_findings(ledger: InMemoryLedger) -> None:
    assert compliance_report(ledger) == []
    assert render_findings([]) == "No findings: every record complies.\n"


def test_report_lists_violations_that_got_onto_the_ledger(ledger: InMemoryLedger) -> None:
    second_a = invoices()[f"{DISTRIBUTOR_A}->{HOSPITAL_A}"]
    oversold = new_invoice(
        second_a,
        9001,
        lines=(replace(second_a.lines[0], quantity=500, amount=second_a.lines[0].unit_price * 500),),
        total=second_a.lines[0].unit_price * 500,
        shipment=replace(second_a.shipment, lines=(GoodsLine("AMOX-0.25G-24", "A240301", 500),)),
    )
    ledger.apply(oversold)  # written by a faulty peer, bypassing the rules
    found = by_rule(compliance_report(ledger))
    (conservation,) = found[RuleId.CONSERVATION]
    assert conservation.severity is Severity.VIOLATION
    assert conservation.subject == f"invoice {oversold.number}"
    assert conservation.reason.startswith("lines[0].quantity: ")
    assert "received 200" in conservation.reason


def test_report_flags_a_batch_reaching_a_hospital_through_a_distributor_that_never_had_it(
    ledger: InMemoryLedger,
) -> None:
    second_a = invoices()[f"{DISTRIBUTOR_A}->{HOSPITAL_A}"]
    diverted = new_invoice(second_a, 9002, seller=DISTRIBUTOR_B, buyer=HOSPITAL_B)
    ledger.apply(diverted)
    arrival = diverted.shipment.shipped_at + timedelta(hours=3)
    ledger.apply(Receipt("RCV-9002", diverted.number, HOSPITAL_B, arrival, diverted.shipment.lines))
    found = by_rule(compliance_report(ledger))
    assert [f.subject for f in found[RuleId.BUYER_SELLER_MATCH]] == [f"invoice {diverted.number}"]
    # Distributor B did buy amoxicillin batch A240301, but never any ceftriaxone.
    (diversion,) = found[RuleId.DIVERSION]
    assert diversion.subject == f"invoice {diverted.number}"
    assert "CEFT-1G/C240320" in diversion.reason and "never received" in diversion.reason


def test_report_flags_a_trace_code_dispensed_twice_and_at_the_wrong_hospital(ledger: InMemoryLedger) -> None:
    original = prescriptions()["RX-A-0001"]
    resold = replace(
        prescriptions()["RX-B-0001"],
        prescription_id="RX-B-0099",
        items=(replace(original.items[0], quantity=1, trace_codes=original.items[0].trace_codes[:1]),),
    )
    ledger.apply(resold)
    found = by_rule(compliance_report(ledger))
    (reused,) = found[RuleId.TRACE_CODE_REUSED]
    assert reused.subject == "prescription RX-B-0099" and "RX-A-0001" in reused.reason
    (wrong_place,) = found[RuleId.DIVERSION]
    assert (
        f"shipped to {HOSPITAL_A}" in wrong_place.reason
        and f"dispensed at {HOSPITAL_B}" in wrong_place.reason
    )


def test_report_warns_about_missing_late_and_short_receipts(ledger: InMemoryLedger) -> None:
    first_a = invoices()[f"{MANUFACTURER}->{DISTRIBUTOR_A}"]
    unreceived = new_invoice(first_a, 9003)
    late = new_invoice(first_a, 9004)
    short = new_invoice(first_a, 9005)
    for invoice in (unreceived, late, short):
        ledger.submit(invoice, submitter=MANUFACTURER)
    receipt = ledger.receipts[0]
    ledger.submit(
        replace(
            receipt, invoice_number=late.number, received_at=late.shipment.shipped_at + timedelta(days=9)
        ),
        submitter=DISTRIBUTOR_A,
    )
    ledger.submit(
        replace(
            receipt,
            invoice_number=short.number,
            lines=(replace(short.shipment.lines[0], quantity=150), short.shipment.lines[1]),
        ),
        submitter=DISTRIBUTOR_A,
    )
    found = by_rule(compliance_report(ledger))
    assert [f.subject for f in found[RuleId.RECEIPT_MISSING]] == [f"invoice {unreceived.number}"]
    assert [f.subject for f in found[RuleId.RECEIPT_LATE]] == [f"invoice {late.number}"]
    (shortfall,) = found[RuleId.INVOICE_GOODS_RECEIPT]
    assert shortfall.severity is Severity.WARNING and "received 150 of the 200 shipped" in shortfall.reason
    # Goods still within their transit time are not reported missing.
    as_of = unreceived.shipment.shipped_at + timedelta(days=3)
    assert RuleId.RECEIPT_MISSING not in by_rule(compliance_report(ledger, as_of=as_of))
    assert "RECEIPT_MISSING" in render_findings(compliance_report(ledger))


def test_rendered_findings_put_violations_first_and_count_them() -> None:
    text = render_findings(
        [
            Finding(RuleId.RECEIPT_LATE, Severity.WARNING, "invoice 1", "late"),
            Finding(RuleId.CONSERVATION, Severity.VIOLATION, "invoice 2", "oversold"),
        ]
    )
    lines = text.splitlines()
    assert lines[0].startswith("VIOLATION") and "invoice 2: oversold" in lines[0]
    assert lines[-1] == "2 finding(s): 1 violation(s), 1 warning(s)"


# --- tracing ------------------------------------------------------------------------------------------------


def test_trace_from_prescription_reaches_batch_manufacturer_raw_materials_and_invoices(
    ledger: InMemoryLedger,
) -> None:
    (trace,) = trace_prescription(ledger, prescription_id="RX-A-0002")
    assert (trace.product_id, trace.batch_number, trace.hospital) == ("CEFT-1G", "C240320", HOSPITAL_A)
    assert trace.manufacturer is not None and trace.manufacturer.party_id == MANUFACTURER
    assert [lot.lot for lot in trace.raw_material_lots] == ["API-2403-11"]
    (chain,) = trace.chains
    first_a, second_a = (
        invoices()[f"{MANUFACTURER}->{DISTRIBUTOR_A}"],
        invoices()[f"{DISTRIBUTOR_A}->{HOSPITAL_A}"],
    )
    assert [(h.number, h.kind) for h in chain] == [
        (str(first_a.number), InvoiceKind.FIRST),
        (str(second_a.number), InvoiceKind.SECOND),
    ]
    assert all(hop.received_at is not None for hop in chain)
    assert trace.distributors == (DISTRIBUTOR_A,)
    assert trace.adverse_events == ("ADR-A-0001",)
    text = render_trace(trace)
    assert "API-2403-11" in text and str(first_a.number) in text and "ADR-A-0001" in text


def test_trace_by_patient_pseudonym_covers_every_dispensing(ledger: InMemoryLedger) -> None:
    pseudonym = prescriptions()["RX-B-0001"].patient_pseudonym
    traces = trace_prescription(ledger, patient_pseudonym=pseudonym.upper())
    assert [(t.prescription_id, t.batch_number) for t in traces] == [
        ("RX-B-0001", "A240301"),
        ("RX-B-0001", "A240415"),
    ]
    assert {t.distributors for t in traces} == {(DISTRIBUTOR_B,)}


def test_trace_needs_exactly_one_key_and_finds_nothing_for_unknowns(ledger: InMemoryLedger) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        trace_prescription(ledger)
    with pytest.raises(ValueError, match="exactly one"):
        trace_prescription(ledger, prescription_id="RX-A-0001", patient_pseudonym="00")
    assert trace_prescription(ledger, prescription_id="RX-NONE") == ()


def test_trace_codes_pin_the_chain_when_a_hospital_bought_a_batch_twice() -> None:
    w = World()
    w.trade(InvoiceKind.FIRST, MAKER, DIST_A, [(A1, 20)])
    w.trade(InvoiceKind.FIRST, MAKER, DIST_B, [(A1, 20)])
    via_a = w.trade(InvoiceKind.SECOND, DIST_A, HOSP, [(A1, 5, amox_codes(1, 5))])
    w.trade(InvoiceKind.SECOND, DIST_B, HOSP, [(A1, 5, amox_codes(11, 5))])
    w.ledger.submit(w.prescription(items=[(A1, 1, amox_codes(2, 1))]), submitter=HOSP)
    w.ledger.submit(w.prescription(items=[(A1, 1)], prescription_id="RX-2"), submitter=HOSP)
    (pinned,) = trace_prescription(w.ledger, prescription_id="RX-1")
    assert [hop.number for hop in pinned.chains[0]][-1] == str(via_a.number) and len(pinned.chains) == 1
    (ambiguous,) = trace_prescription(w.ledger, prescription_id="RX-2")
    assert len(ambiguous.chains) == 2 and set(ambiguous.distributors) == {DIST_A, DIST_B}


def test_trace_follows_a_group_transfer_as_a_three_invoice_chain() -> None:
    w = World()
    w.trade(InvoiceKind.FIRST, MAKER, DIST_A, [(A1, 20)])
    w.trade(InvoiceKind.TRANSFER, DIST_A, DIST_SUB, [(A1, 10)], exemption=Exemption.GROUP_TRANSFER)
    w.trade(InvoiceKind.SECOND, DIST_SUB, HOSP, [(A1, 5)])
    w.ledger.submit(w.prescription(items=[(A1, 1)]), submitter=HOSP)
    (trace,) = trace_prescription(w.ledger, prescription_id="RX-1")
    (chain,) = trace.chains
    assert [hop.kind for hop in chain] == [InvoiceKind.FIRST, InvoiceKind.TRANSFER, InvoiceKind.SECOND]
    assert trace.distributors == (DIST_A, DIST_SUB)


# --- recall scope -------------------------------------------------------------------------------------------


def test_recall_scope_lists_distributors_hospitals_prescriptions_and_quantities(
    ledger: InMemoryLedger,
) -> None:
    scope = recall_scope(ledger, "AMOX-0.25G-24", "A240301")
    assert (scope.manufacturer, scope.produced) == (MANUFACTURER, 1000)
    assert [(h.party_id, h.received, h.passed_on, h.on_hand) for h in scope.distributors] == [
        (DISTRIBUTOR_A, 200, 10, 190),
        (DISTRIBUTOR_B, 150, 6, 144),
    ]
    assert [(h.party_id, h.received, h.passed_on, h.on_hand) for h in scope.hospitals] == [
        (HOSPITAL_A, 10, 2, 8),
        (HOSPITAL_B, 6, 1, 5),
    ]
    assert [(p.prescription_id, p.hospital, p.quantity) for p in scope.prescriptions] == [
        ("RX-A-0001", HOSPITAL_A, 2),
        ("RX-B-0001", HOSPITAL_B, 1),
    ]
    assert len(scope.patients) == 2 and len(scope.invoices) == 4
    assert scope.adverse_events == () and scope.recall is None


def test_recall_scope_shows_the_recall_and_adverse_events(ledger: InMemoryLedger) -> None:
    ledger.submit(
        Recall(
            "CEFT-1G",
            "C240320",
            "adverse reactions reported",
            ledger.adverse_events[0].reported_at,
            REGULATOR,
        ),
        submitter=REGULATOR,
    )
    scope = recall_scope(ledger, "CEFT-1G", "C240320")
    assert scope.recall is not None and scope.adverse_events == ("ADR-A-0001",)
    assert [h.party_id for h in scope.distributors] == [DISTRIBUTOR_A] and scope.patients
    text = render_recall_scope(scope)
    assert "recalled" in text and "RX-A-0002" in text and "ADR-A-0001" in text
    (trace,) = trace_prescription(ledger, prescription_id="RX-A-0002")
    assert trace.recall is not None and "RECALLED" in render_trace(trace)


def test_recall_scope_of_an_unknown_batch_is_an_error(ledger: InMemoryLedger) -> None:
    with pytest.raises(KeyError, match="NOPE"):
        recall_scope(ledger, "AMOX-0.25G-24", "NOPE")


def test_sample_scenario_is_deterministic_and_uses_the_sample_dates() -> None:
    again = build_sample_scenario()
    assert again == SCENARIO
    assert min(i.issue_date for i in invoices().values()) == date(2024, 5, 6)


# --- the policy in force when a record was written ------------------------------------------------------


def _timed_ledger(policy: TwoInvoicePolicy | PolicyHistory, start: datetime) -> InMemoryLedger:
    """The sample written one minute apart from ``start`` on, each write dated."""
    ledger = InMemoryLedger(policy=policy)
    writes = [(REGULATOR, SCENARIO.regulator), *SCENARIO.writes]
    for minute, (submitter, record) in enumerate(writes):
        ledger.apply(record, submitter=submitter, written_at=start + timedelta(minutes=minute))
    return ledger


SWITCH = datetime(2025, 6, 1, tzinfo=UTC)
ONE_INVOICE = TwoInvoicePolicy(one_invoice_mode=True)


def test_records_written_before_a_switch_to_one_invoice_mode_are_judged_by_the_policy_then() -> None:
    history = PolicyHistory.single().changed(ONE_INVOICE, SWITCH, "tx-switch")
    assert history.in_force(SWITCH - timedelta(microseconds=1)) == TwoInvoicePolicy()
    assert history.in_force(SWITCH) == ONE_INVOICE
    before = _timed_ledger(history, SWITCH - timedelta(days=30))
    assert compliance_report(before) == []
    # Judged by today's policy alone, the same lawful two-invoice chains would all be flagged.
    assert by_rule(compliance_report(_timed_ledger(ONE_INVOICE, SWITCH - timedelta(days=30))))


def test_records_written_after_a_switch_are_judged_by_the_new_policy() -> None:
    history = PolicyHistory.single().changed(ONE_INVOICE, SWITCH, "tx-switch")
    after = _timed_ledger(history, SWITCH + timedelta(minutes=1))
    flagged = {f.subject for f in compliance_report(after) if f.severity is Severity.VIOLATION}
    second_a = invoices()[f"{DISTRIBUTOR_A}->{HOSPITAL_A}"]
    assert f"invoice {second_a.number}" in flagged


def test_a_policy_change_cannot_reach_back_before_the_one_in_force() -> None:
    history = PolicyHistory.single().changed(ONE_INVOICE, SWITCH, "tx-switch")
    with pytest.raises(ValueError, match=r"^effective_from: "):
        history.changed(TwoInvoicePolicy(), SWITCH - timedelta(seconds=1), "tx-late")
    again = PolicyHistory.from_json(history.to_json())
    assert again == history
    with pytest.raises(ValueError, match=r"^\[1\]\.effective_from: "):
        PolicyHistory.from_json(
            b'[{"effective_from": "1970-01-01T00:00:00+00:00", "policy": {}},'
            b' {"effective_from": "yesterday", "policy": {}}]'
        )
