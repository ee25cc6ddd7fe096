"""The regulator's queries on its own peer: compliance report, traces, recall scope, diversion signals."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pharma_cc_world import (
    DIST_A,
    DIST_B,
    HOSP,
    HOSP_B,
    MAKER,
    REG,
    SCENARIO,
    RulesWorld,
    amox_codes,
    at,
    sample_consortium,
)

from fabrx_pharma import (
    Invoice,
    InvoiceKind,
    Prescription,
    Recall,
    RuleId,
    Severity,
    compliance_report,
    recall_scope,
    trace_prescription,
)
from fabrx_pharma.policy import CHINA_STANDARD_TIME
from fabrx_pharma.privacy import implicit_collection
from fabrx_pharma.sample import HOSPITAL_A, REGULATOR
from fabrx_pharma_chaincode import (
    AccessDenied,
    ChaincodeError,
    NotFound,
    PharmaService,
    RecordRefused,
    encode,
)
from fabrx_pharma_chaincode.layout import Anchor
from fabrx_pharma_chaincode.store import composite_key
from fabrx_pharma_chaincode.supervision import _copy_of, load_ledger
from fabrx_pharma_chaincode.testing import MemoryStore


def test_the_compliant_sample_has_no_findings_on_the_chain() -> None:
    world = sample_consortium()
    assert world.run(REGULATOR, PharmaService.compliance_report) == compliance_report(SCENARIO.ledger()) == []


def test_re_registering_a_party_keeps_its_place_so_the_report_stays_clean() -> None:
    world = sample_consortium()
    later = world.channel.now + timedelta(days=1)
    for _, party in SCENARIO.writes[:5]:
        world.submit(REGULATOR, party, timestamp=later)
    assert world.run(REGULATOR, PharmaService.compliance_report) == []


def test_the_loaded_ledger_replays_every_write_in_order() -> None:
    world = sample_consortium()
    memory = world.run(REGULATOR, lambda s: load_ledger(s.ledger))
    expected = SCENARIO.ledger()
    assert [e.record for e in memory.entries] == [e.record for e in expected.entries]
    assert [e.submitter for e in memory.entries] == [e.submitter for e in expected.entries]
    assert dict(memory.stock_positions) == dict(expected.stock_positions)


def test_trace_from_a_prescription_matches_the_domain_trace_and_reaches_raw_materials() -> None:
    world = sample_consortium()
    traces = world.run(REGULATOR, lambda s: s.trace(prescription_id="RX-A-0002"))
    assert traces == trace_prescription(SCENARIO.ledger(), prescription_id="RX-A-0002")
    (trace,) = traces
    assert trace.manufacturer is not None and trace.manufacturer.party_id == "ManufacturerMSP"
    assert [lot.lot for lot in trace.raw_material_lots] == ["API-2403-11"]
    assert trace.adverse_events == ("ADR-A-0001",)
    data = json.loads(encode(traces))
    assert data[0]["batch"]["raw_material_lots"][0]["lot"] == "API-2403-11"
    assert data[0]["distributors"] == ["DistributorAMSP"]


def test_trace_by_patient_pseudonym_and_a_bad_query() -> None:
    world = sample_consortium()
    prescription = next(p for p in SCENARIO.records(Prescription) if isinstance(p, Prescription))
    traces = world.run(REGULATOR, lambda s: s.trace(patient_pseudonym=prescription.patient_pseudonym))
    assert {t.prescription_id for t in traces} == {prescription.prescription_id}
    with pytest.raises(RecordRefused):
        world.run(REGULATOR, lambda s: s.trace())


def test_recall_scope_names_distributors_hospitals_and_prescriptions() -> None:
    world = sample_consortium()
    recall = Recall("AMOX-0.25G-24", "A240301", "impurity", at(date(2024, 7, 1)), REGULATOR)
    world.submit(REGULATOR, recall)
    scope = world.run(REGULATOR, lambda s: s.recall_scope("AMOX-0.25G-24", "A240301"))
    ledger = SCENARIO.ledger()
    ledger.submit(recall, submitter=REGULATOR)
    assert scope == recall_scope(ledger, "AMOX-0.25G-24", "A240301")
    assert [h.party_id for h in scope.distributors] == ["DistributorAMSP", "DistributorBMSP"]
    assert {h.party_id for h in scope.hospitals} == {HOSPITAL_A, "HospitalBMSP"}
    assert scope.recall == recall
    data = json.loads(encode(scope))
    assert len(data["patients"]) == 2
    with pytest.raises(NotFound):
        world.run(REGULATOR, lambda s: s.recall_scope("AMOX-0.25G-24", "NOPE"))


def test_recall_scope_of_an_unknown_batch_is_not_found_from_its_anchor_without_reading_the_ledger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = sample_consortium()
    reads: list[str] = []
    for name in ("get_state", "scan_state", "get_private_data", "scan_private_data"):
        original = getattr(MemoryStore, name)

        def counted(self: MemoryStore, *args: object, _name: str = name, _original: Any = original) -> Any:
            reads.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(MemoryStore, name, counted)
    with pytest.raises(NotFound) as refused:
        world.run(REGULATOR, lambda s: s.recall_scope("AMOX-0.25G-24", "NOPE"))
    assert refused.value.field == "batch_number"
    assert "scan_state" not in reads and "get_private_data" not in reads, reads
    # The submitter's party record (authorization) and the batch's anchor, whatever the ledger's size.
    assert len(reads) <= 4, reads
    known = len(reads)
    reads.clear()
    with pytest.raises(NotFound):
        world.run(REGULATOR, lambda s: s.recall_scope("AMOX-0.25G-24\x00", "NOPE"))
    assert len(reads) <= known, reads
    # A known batch still reads the whole ledger (the scope needs every record).
    reads.clear()
    world.run(REGULATOR, lambda s: s.recall_scope("AMOX-0.25G-24", "A240301"))
    assert "scan_state" in reads


def test_report_warns_about_goods_never_received_and_lists_reasons() -> None:
    world = RulesWorld()
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    world.submit(MAKER, invoice)
    findings = world.run(
        REG, lambda s: s.compliance_report(datetime(2024, 6, 30, tzinfo=CHINA_STANDARD_TIME))
    )
    (finding,) = findings
    assert (finding.rule, finding.severity) == (RuleId.RECEIPT_MISSING, Severity.WARNING)
    assert finding.subject == f"invoice {invoice.number}"
    assert "no receipt recorded" in finding.reason
    assert (
        world.run(REG, lambda s: s.compliance_report(datetime(2024, 5, 7, tzinfo=CHINA_STANDARD_TIME))) == []
    )


def test_a_hospital_cannot_dispense_and_so_block_a_package_shipped_to_another() -> None:
    world = RulesWorld()
    codes = amox_codes(1, 2)
    world.stock_hospital(HOSP, 2, codes)
    world.stock_hospital(HOSP_B, 2, distributor=DIST_B)
    # HOSP_B has stock of the batch, but not that package: refused, nothing written.
    error = world.refuse(HOSP_B, world.prescription("RX-B-1", HOSP_B, codes[:1]))
    assert (error.code, error.field) == ("TRACE_CODE_NOT_RECEIVED", "items[0].trace_codes[0]")
    # The hospital it was shipped to dispenses it as usual.
    world.submit(HOSP, world.prescription("RX-A-1", HOSP, codes[:1]))
    assert world.run(REG, PharmaService.diversion_signals) == []


def test_a_non_regulator_cannot_load_everything_even_through_the_ledger() -> None:
    world = sample_consortium()
    with pytest.raises(AccessDenied) as caught:
        world.run(HOSPITAL_A, lambda s: load_ledger(s.ledger))
    assert caught.value.code == "PRIVATE_DATA"


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s.read_anchor("invoice", "a\x00b"),
        lambda s: s.read_party("a\x00b"),
        lambda s: s.read_product("a\x00b"),
        lambda s: s.read_batch("AMOX", "A\x001"),
        lambda s: s.read_recall("AMOX", "A\x001"),
        lambda s: s.read_prescription("RX\x00"),
        lambda s: s.read_adverse_event("AE\x00"),
        lambda s: s.read_stock(REG, "AMOX", "A\x001"),
    ],
)
def test_a_key_part_holding_u0000_is_answered_not_found_or_refused_by_field(read: object) -> None:
    """No composite key holds U+0000: such a read finds nothing or is refused naming its field, never a
    bare ValueError (a 500 at the peer)."""
    world = RulesWorld()
    assert callable(read)
    with pytest.raises(ChaincodeError) as caught:
        world.evaluate(REG, read)
    assert caught.value.code in ("NOT_FOUND", "RECORD")


def test_on_the_regulators_peer_the_private_copies_come_from_one_range_read_per_record_type() -> None:
    world = sample_consortium()
    fast = world.evaluate(REGULATOR, lambda s: load_ledger(s.ledger))
    ranged = world.last
    private_reads = [key for key in ranged.read_set if key[0]]
    world.channel.peer_msp_id_known = False
    slow = world.evaluate(REGULATOR, lambda s: load_ledger(s.ledger))
    one_by_one = [key for key in world.last.read_set if key[0]]
    assert [(e.record, e.submitter) for e in fast.entries] == [(e.record, e.submitter) for e in slow.entries]
    assert ranged.queried_private and not private_reads
    assert len(one_by_one) >= len(fast.entries) // 2, "the slow path reads each private copy"


def test_a_regulator_copy_that_does_not_match_its_anchor_is_not_taken_from_the_range_read() -> None:
    world = sample_consortium()
    number = next(str(r.number) for _, r in SCENARIO.writes if isinstance(r, Invoice))
    key = composite_key("invoice", number)
    anchor = Anchor.from_json(world.channel.public_value(key) or b"")
    genuine = world.channel.value(implicit_collection(world.regulator_msp_id), key)
    assert genuine is not None and anchor.collections
    record = _copy_of(anchor, genuine, Invoice.from_json)
    assert isinstance(record, Invoice) and str(record.number) == number
    altered = json.dumps({**json.loads(genuine), "total": "0.01"}).encode()
    assert _copy_of(anchor, altered, Invoice.from_json) is None
    assert _copy_of(anchor, None, Invoice.from_json) is None
