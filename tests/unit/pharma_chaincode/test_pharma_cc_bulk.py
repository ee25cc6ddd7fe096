"""Many records of one submitter in one transaction: every rule on each, refusals by index, idempotence."""

from __future__ import annotations

import json

import pytest
from pharma_cc_world import A1, DIST_A, DIST_B, HOSP, HOSP_B, MAKER, REG, RulesWorld, _party, amox_codes

from fabrx_pharma import InvoiceKind, Role
from fabrx_pharma_chaincode import composite_key, implicit_collection
from fabrx_pharma_chaincode.errors import BatchRefused, RecordRefused
from fabrx_pharma_chaincode.service import MAX_RECORDS, records_from_json


@pytest.fixture
def world() -> RulesWorld:
    world = RulesWorld()
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 100, ()),)))
    return world


def test_many_invoices_in_one_transaction_are_each_checked_and_written(world: RulesWorld) -> None:
    invoices = [
        world.invoice(InvoiceKind.SECOND, DIST_A, HOSP if i % 2 else HOSP_B, ((A1, 10, ()),))
        for i in range(6)
    ]
    anchors = world.run(DIST_A, lambda s: s.write_records(invoices))
    assert [a.key for a in anchors] == [str(i.number) for i in invoices]
    assert len({a.transaction_id for a in anchors}) == 1
    # Conservation is counted across the records of the transaction: 6 x 10 of the 100 received.
    stock = world.evaluate(DIST_A, lambda s: s.read_stock(DIST_A, "AMOX", "A1"))
    assert (stock.received, stock.sold) == (100, 60)
    for invoice in invoices:
        key = composite_key("invoice", str(invoice.number))
        assert world.channel.value(implicit_collection(DIST_A), key) == invoice.to_json()
        assert world.channel.value(implicit_collection(REG), key) == invoice.to_json()


def test_a_bad_record_among_many_is_named_by_index_rule_and_field_and_nothing_is_written(
    world: RulesWorld,
) -> None:
    good = [world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 10, ()),)) for _ in range(3)]
    too_many = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 95, ()),))
    records = [good[0], too_many, good[1], good[2]]
    before = dict(world.channel.public)
    with pytest.raises(BatchRefused) as refused:
        world.run(DIST_A, lambda s: s.write_records(records))
    assert [(i, e.code, e.field) for i, e in refused.value.refusals] == [
        (1, "CONSERVATION", "lines[0].quantity")
    ]
    assert refused.value.code == "BATCH" and refused.value.field == "records[1].lines[0].quantity"
    assert refused.value.to_list()[0]["index"] == 1
    assert world.channel.public == before
    # The client drops the refused one and sends the rest again: accepted.
    anchors = world.run(DIST_A, lambda s: s.write_records([good[0], good[1], good[2]]))
    assert len(anchors) == 3


def test_every_refused_record_is_listed_not_only_the_first(world: RulesWorld) -> None:
    ok = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 10, ()),))
    foreign = world.invoice(InvoiceKind.SECOND, DIST_B, HOSP, ((A1, 1, ()),))
    reused = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 3, ()),), number=str(ok.number))
    with pytest.raises(BatchRefused) as refused:
        world.run(DIST_A, lambda s: s.write_records([ok, foreign, reused]))
    assert [(i, e.code, e.field) for i, e in refused.value.refusals] == [
        (1, "ROLE", "seller"),
        (2, "INVOICE_REUSED", "number"),
    ]


def test_sending_the_same_batch_again_returns_the_anchors_and_writes_nothing(world: RulesWorld) -> None:
    invoices = [world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 5, ()),)) for _ in range(4)]
    first = world.run(DIST_A, lambda s: s.write_records(invoices))
    again = world.run(DIST_A, lambda s: s.write_records(invoices))
    assert again == first
    assert world.last is not None and not world.last.written


def test_receipts_in_bulk_carry_the_invoices_for_the_buyers_copies(world: RulesWorld) -> None:
    invoices = [world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 5, ()),)) for _ in range(3)]
    world.run(DIST_A, lambda s: s.write_records(invoices))
    receipts = [world.receipt(invoice) for invoice in invoices]
    world.run(HOSP, lambda s: s.write_records(receipts, invoices))
    for invoice in invoices:
        key = composite_key("invoice", str(invoice.number))
        assert world.channel.value(implicit_collection(HOSP), key) == invoice.to_json()
    assert world.evaluate(HOSP, lambda s: s.read_stock(HOSP, "AMOX", "A1")).received == 15


def test_a_hospital_dispenses_codes_it_received_earlier_in_the_same_transaction(world: RulesWorld) -> None:
    codes = amox_codes(1, 3)
    sale = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 3, codes),))
    world.submit(DIST_A, sale)
    receipt = world.receipt(sale)
    dispensed = world.prescription("RX-1", HOSP, codes[:2])
    foreign = world.prescription("RX-2", HOSP, amox_codes(50, 1), patient="p2")
    with pytest.raises(BatchRefused) as refused:
        world.run(HOSP, lambda s: s.write_records([receipt, dispensed, foreign], [sale]))
    assert [(i, e.code, e.field) for i, e in refused.value.refusals] == [
        (2, "TRACE_CODE_NOT_RECEIVED", "items[0].trace_codes[0]")
    ]
    anchors = world.run(HOSP, lambda s: s.write_records([receipt, dispensed], [sale]))
    assert [a.record_type for a in anchors] == ["receipt", "prescription"]


def test_the_regulator_registers_many_parties_at_once(world: RulesWorld) -> None:
    clinics = [
        _party(f"CLINIC-{i:04d}", Role.HOSPITAL, f"4880{i:04d}", host_msp_id=HOSP) for i in range(1, 41)
    ]
    anchors = world.run(REG, lambda s: s.write_records(clinics))
    assert len(anchors) == 40
    assert world.evaluate(HOSP, lambda s: s.read_party("CLINIC-0040")).host_msp_id == HOSP


def test_malformed_entries_are_refused_by_index() -> None:
    entries = [
        {"record_type": "invoice", "record": {"number": "x"}},
        {"record_type": "spaceship", "record": {}},
        "not an entry",
    ]
    with pytest.raises(BatchRefused) as refused:
        records_from_json(json.dumps(entries).encode())
    assert [(i, e.code) for i, e in refused.value.refusals] == [(0, "RECORD"), (1, "RECORD"), (2, "RECORD")]
    with pytest.raises(RecordRefused):
        records_from_json(b"{}")
    with pytest.raises(RecordRefused):
        records_from_json(None)
    # Nested deeper than Python's parser recurses: refused naming the entry, not a crash (status 500).
    with pytest.raises(RecordRefused, match="nested too deeply"):
        records_from_json(b"[" * 100_000 + b"]" * 100_000)


def test_a_batch_has_a_size_limit(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 1, ()),))
    with pytest.raises(RecordRefused, match=f"at most {MAX_RECORDS}"):
        world.run(DIST_A, lambda s: s.write_records([invoice] * (MAX_RECORDS + 1)))
