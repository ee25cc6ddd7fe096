"""Every pharma transaction through PharmaService on an in-memory channel: the compliant sample story."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pharma_cc_world import SCENARIO, Consortium, sample_consortium

from fabrx_pharma import (
    DEFAULT_POLICY,
    AdverseEvent,
    Batch,
    Dispensing,
    Invoice,
    Party,
    Prescription,
    Recall,
    Receipt,
    Role,
    StockPosition,
    record_hash,
)
from fabrx_pharma.sample import (
    DISTRIBUTOR_A,
    DISTRIBUTOR_B,
    HOSPITAL_A,
    HOSPITAL_B,
    MANUFACTURER,
    REGULATOR,
    sample_uscc,
)
from fabrx_pharma_chaincode import (
    ChaincodeError,
    NotFound,
    PharmaService,
    RuleRefused,
    composite_key,
)


@pytest.fixture(scope="module")
def world() -> Consortium:
    return sample_consortium()


def records(cls: type) -> list:
    return [r for r in SCENARIO.records(cls)]


def test_every_sample_write_is_accepted_and_leaves_an_event(world: Consortium) -> None:
    names = [name for name, _ in world.channel.events]
    assert names[0] == "pharma.party"
    assert names.count("pharma.invoice") == 4
    assert names.count("pharma.receipt") == 4
    assert names.count("pharma.prescription") == 3
    assert names[-1] == "pharma.adverse_event"
    payload = json.loads(world.channel.events[-1][1])
    assert payload["submitter"] == HOSPITAL_A
    assert "description" not in json.dumps(payload)


def test_invoice_anchor_holds_the_record_hash_and_its_collections(world: Consortium) -> None:
    invoice = records(Invoice)[0]
    anchor = world.run(HOSPITAL_B, lambda s: s.read_anchor("invoice", str(invoice.number)))
    assert anchor.hash == record_hash(invoice)
    assert anchor.collections == (f"_implicit_org_{MANUFACTURER}", f"_implicit_org_{REGULATOR}")
    assert anchor.parties == (MANUFACTURER, DISTRIBUTOR_A)
    assert anchor.submitter == MANUFACTURER
    assert dict(anchor.public) == {
        "number": str(invoice.number),
        "kind": "first",
        "seller": MANUFACTURER,
        "buyer": DISTRIBUTOR_A,
        "issue_date": invoice.issue_date.isoformat(),
    }


def test_members_read_the_full_invoice(world: Consortium) -> None:
    invoice = records(Invoice)[2]  # DistributorA -> HospitalA
    for reader in (DISTRIBUTOR_A, HOSPITAL_A, REGULATOR):
        assert world.run(reader, lambda s: s.read_invoice(str(invoice.number))) == invoice


def test_receipt_prescription_and_adverse_event_are_readable_by_their_owners(world: Consortium) -> None:
    receipt = records(Receipt)[0]
    assert world.run(DISTRIBUTOR_A, lambda s: s.read_receipt(str(receipt.invoice_number))) == receipt
    prescription = records(Prescription)[0]
    assert world.run(HOSPITAL_A, lambda s: s.read_prescription(prescription.prescription_id)) == prescription
    event = records(AdverseEvent)[0]
    assert world.run(REGULATOR, lambda s: s.read_adverse_event(event.report_id)) == event


def test_public_reads_of_parties_products_and_batches(world: Consortium) -> None:
    assert world.run(HOSPITAL_B, lambda s: s.read_party(MANUFACTURER)).role is Role.MANUFACTURER
    assert world.run(HOSPITAL_B, lambda s: s.read_product("CEFT-1G")).manufacturer == MANUFACTURER
    batch = records(Batch)[0]
    public = world.run(HOSPITAL_B, lambda s: s.read_batch(batch.product_id, batch.batch_number))
    assert public.raw_material_lots == ()
    assert public.expiry_date == batch.expiry_date
    full = world.run(MANUFACTURER, lambda s: s.read_batch(batch.product_id, batch.batch_number))
    assert full == batch
    assert world.run(REGULATOR, lambda s: s.read_batch(batch.product_id, batch.batch_number)) == batch


def test_stock_counts_production_sales_receipts_and_dispensing(world: Consortium) -> None:
    maker = world.run(MANUFACTURER, lambda s: s.read_stock(MANUFACTURER, "AMOX-0.25G-24", "A240301"))
    assert (maker.received, maker.transferred) == (1000, 350)
    dist = world.run(DISTRIBUTOR_A, lambda s: s.read_stock(DISTRIBUTOR_A, "AMOX-0.25G-24", "A240301"))
    assert (dist.purchased, dist.received, dist.sold) == (200, 200, 10)
    hospital = world.run(HOSPITAL_A, lambda s: s.read_stock(HOSPITAL_A, "AMOX-0.25G-24", "A240301"))
    assert (hospital.received, hospital.dispensed, hospital.on_hand) == (10, 2, 8)


def test_stock_matches_the_domain_ledger_for_every_holder(world: Consortium) -> None:
    # A holder's node knows its purchases from its receipts: ``purchased`` reads what it received.
    expected = SCENARIO.ledger().stock_positions
    for key, position in expected.items():
        got = world.run(REGULATOR, lambda s, key=key: s.read_stock(*key))  # type: ignore[misc]
        assert got == replace(position, purchased=position.received), key


def test_trace_code_status_tells_whether_a_package_was_dispensed(world: Consortium) -> None:
    prescription = records(Prescription)[0]
    code = prescription.items[0].trace_codes[0]
    status = world.run(DISTRIBUTOR_B, lambda s: s.trace_code_status(code))
    assert (status.dispensed, status.prescription_id, status.hospital) == (
        True,
        prescription.prescription_id,
        HOSPITAL_A,
    )
    fresh = world.run(DISTRIBUTOR_B, lambda s: s.trace_code_status("81234010000000009999"))
    assert not fresh.dispensed


def test_recall_is_public_and_stops_later_sales() -> None:
    world = sample_consortium()
    recall = Recall(
        "AMOX-0.25G-24",
        "A240301",
        "dissolution out of specification",
        datetime(2024, 7, 1, 9, tzinfo=UTC),
        REGULATOR,
    )
    world.submit(REGULATOR, recall)
    assert world.run(HOSPITAL_B, lambda s: s.read_recall("AMOX-0.25G-24", "A240301")) == recall
    second = records(Invoice)[2]
    again = Invoice.from_dict({**second.to_dict(), "number": "24352000000000009001"})
    error = world.refuse(DISTRIBUTOR_A, again)
    assert (error.code, error.field) == ("BATCH_RECALLED", "lines[0].batch_number")


def test_missing_records_are_not_found(world: Consortium) -> None:
    with pytest.raises(NotFound) as caught:
        world.run(HOSPITAL_A, lambda s: s.read_invoice("24352000000000000404"))
    assert str(caught.value).startswith("NOT_FOUND number: ")
    with pytest.raises(NotFound):
        world.run(HOSPITAL_A, lambda s: s.read_party("NobodyMSP"))
    with pytest.raises(NotFound):
        world.run(HOSPITAL_A, lambda s: s.read_anchor("batch", "AMOX-0.25G-24", "NOPE"))


def test_bootstrap_happens_once_and_only_for_the_configured_regulator() -> None:
    regulator = SCENARIO.regulator
    world = Consortium(regulator, [])
    with pytest.raises(RuleRefused) as again:
        world.run(REGULATOR, lambda s: s.bootstrap(regulator.to_json()))
    assert (again.value.code, again.value.field) == ("DUPLICATE_RECORD", "party_id")

    impostor = Party("ImpostorMSP", Role.REGULATOR, "impostor", sample_uscc("11", "350000", "00309999"))
    fresh = Consortium(regulator, [])
    fresh.channel.public.clear()
    with pytest.raises(RuleRefused) as refused:
        fresh.run("ImpostorMSP", lambda s: s.bootstrap(impostor.to_json()), role="regulator")
    assert (refused.value.code, refused.value.field) == ("ROLE", "party_id")


def test_policy_is_set_by_the_regulator_and_read_by_everyone() -> None:
    world = Consortium(SCENARIO.regulator, [])
    assert world.run(REGULATOR, PharmaService.read_policy) == DEFAULT_POLICY
    world.run(REGULATOR, lambda s: s.set_policy(b'{"one_invoice_mode": true}'))
    assert world.run("AnyMSP", PharmaService.read_policy).one_invoice_mode
    with pytest.raises(ChaincodeError) as bad:
        world.run(REGULATOR, lambda s: s.set_policy(b'{"max_invoice_shipment_days": "seven"}'))
    assert (bad.value.code, bad.value.field) == ("RECORD", "max_invoice_shipment_days")


def test_anchor_order_follows_dependencies_even_when_client_clocks_disagree() -> None:
    world = sample_consortium()
    invoice = records(Invoice)[3]  # DistributorB -> HospitalB
    invoice_anchor = world.run(HOSPITAL_B, lambda s: s.read_anchor("invoice", str(invoice.number)))
    receipt_anchor = world.run(HOSPITAL_B, lambda s: s.read_anchor("receipt", str(invoice.number)))
    assert receipt_anchor.order > invoice_anchor.order
    # A later write whose client clock runs five minutes behind is still ordered after what it read.
    behind = world.channel.now - timedelta(minutes=5)
    prescription = Prescription(
        "RX-CLOCK-1",
        HOSPITAL_B,
        records(Prescription)[2].patient_pseudonym,
        datetime(2024, 6, 10, 9, tzinfo=UTC),
        (Dispensing("AMOX-0.25G-24", "A240301", 1, ()),),
    )
    anchor = world.submit(HOSPITAL_B, prescription, timestamp=behind)
    assert anchor.order > receipt_anchor.order
    assert anchor.timestamp == behind


def test_stored_private_values_are_canonical_json_so_fabric_hashes_are_record_hashes(
    world: Consortium,
) -> None:
    invoice = records(Invoice)[0]
    for collection in (f"_implicit_org_{MANUFACTURER}", f"_implicit_org_{REGULATOR}"):
        stored = world.channel.value(collection, composite_key("invoice", str(invoice.number)))
        assert stored == invoice.to_json()
    assert (
        world.channel.value(f"_implicit_org_{DISTRIBUTOR_B}", composite_key("invoice", str(invoice.number)))
        is None
    )
    position = world.run(DISTRIBUTOR_B, lambda s: s.read_stock(DISTRIBUTOR_B, "AMOX-0.25G-24", "A240415"))
    assert isinstance(position, StockPosition)
    assert position.received == 100


def test_an_invoice_writes_its_record_and_the_sellers_counters_nothing_more(world: Consortium) -> None:
    # The invoice and the seller's counters, each in the seller's collection and the regulator's: no
    # other key (the buyer's node learns of the purchase with its receipt).
    second = next(i for i in records(Invoice) if i.seller == DISTRIBUTOR_A)
    fresh = Consortium(SCENARIO.regulator, [r for _, r in SCENARIO.writes if isinstance(r, Party)])
    for submitter, record in SCENARIO.writes:
        if isinstance(record, Party):
            continue
        fresh.submit(submitter, record)
        if record is second:
            assert fresh.last is not None
            written = {collection for collection, _ in fresh.last.private_writes}
            assert written == {f"_implicit_org_{DISTRIBUTOR_A}", f"_implicit_org_{REGULATOR}"}
            batches = {(line.product_id, line.batch_number) for line in second.lines}
            assert len(fresh.last.private_writes) == 2 * (1 + len(batches))
            break
    else:
        raise AssertionError("the sample story has no second invoice of DistributorA")


def test_valid_writes_never_run_a_private_range_query() -> None:
    # Summing purchases needs a private range query, after which Fabric refuses every write: a record
    # that passes the rules (a sale that fits the seller's stock) must not ask for them.
    parties = [record for _, record in SCENARIO.writes if isinstance(record, Party)]
    world = Consortium(SCENARIO.regulator, parties)
    for submitter, record in SCENARIO.writes:
        if not isinstance(record, Party):
            world.submit(submitter, record)
            assert world.last is not None and not world.last.queried_private, record.key


def test_read_stock_sums_the_invoices_addressed_to_the_holder(world: Consortium) -> None:
    dist = world.run(DISTRIBUTOR_A, lambda s: s.read_stock(DISTRIBUTOR_A, "AMOX-0.25G-24", "A240301"))
    assert dist.purchased == 200


def test_a_write_after_a_private_range_query_is_refused_like_fabric_does() -> None:
    from fabrx_pharma_chaincode.testing import PrivateQueryWriteError

    world = sample_consortium()
    store = world.channel.transaction(REGULATOR)
    list(store.scan_private_data(f"books_{MANUFACTURER}", "stock"))
    with pytest.raises(PrivateQueryWriteError):
        store.put_state("k", b"v")
