"""Every rule of fabrx_pharma.rules, checked on write: refused with the rule code and field, nothing put."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from pharma_cc_world import (
    A1,
    A2,
    AMOX,
    DIST_A,
    DIST_B,
    DIST_SUB,
    HOSP,
    HOSP_B,
    KEY,
    MAKER,
    OTHER_MAKER,
    REG,
    SALES,
    RulesWorld,
    amox_codes,
    at,
)

from fabrx_pharma import (
    AdverseEvent,
    Batch,
    Exemption,
    GoodsLine,
    InvoiceKind,
    Party,
    Product,
    Recall,
    Role,
    pseudonymise,
)
from fabrx_pharma.sample import sample_uscc
from fabrx_pharma_chaincode import RECORD_TRANSIENT_KEY, ChaincodeError, PharmaService, RecordRefused
from fabrx_pharma_chaincode.errors import WITHHELD


@pytest.fixture
def world() -> RulesWorld:
    return RulesWorld()


def refusal(world: RulesWorld, msp_id: str, record: object, **kwargs: object) -> tuple[str, str]:
    error = world.refuse(msp_id, record, **kwargs)  # type: ignore[arg-type]
    assert str(error).startswith(f"{error.code} {error.field}: ")
    return error.code, error.field


# --- role authorization -----------------------------------------------------------------------------------


def test_only_the_regulator_registers_parties(world: RulesWorld) -> None:
    newcomer = Party("NewDistMSP", Role.DISTRIBUTOR, "new", sample_uscc("91", "350100", "MA000009"))
    assert refusal(world, DIST_A, newcomer) == ("ROLE", "party_id")


def test_a_client_whose_role_attribute_differs_from_its_registration_is_refused(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    assert refusal(world, MAKER, invoice, role="regulator") == ("ROLE", "party_id")


def test_an_invoice_can_only_be_issued_by_its_seller(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    assert refusal(world, DIST_A, invoice) == ("ROLE", "seller")


def test_a_distributor_cannot_issue_first_invoices_for_a_maker_it_does_not_count_as(
    world: RulesWorld,
) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, DIST_B, DIST_A)
    assert refusal(world, DIST_B, invoice) == ("ROLE", "seller")


def test_only_the_buyer_records_a_receipt_even_without_reading_the_trade(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    world.submit(MAKER, invoice)
    stranger = replace(world.receipt(invoice), receiver=DIST_B)
    assert refusal(world, DIST_B, stranger) == ("ROLE", "receiver")


def test_an_adverse_event_about_another_hospitals_prescription_is_refused(world: RulesWorld) -> None:
    world.stock_hospital(HOSP)
    world.submit(HOSP, world.prescription("RX-1", HOSP))
    event = AdverseEvent(
        "ADR-1", HOSP_B, "RX-1", pseudonymise(KEY, "p1"), at(date(2024, 6, 4)), "rash", "AMOX", "A1"
    )
    assert refusal(world, HOSP_B, event) == ("ROLE", "hospital")


def test_a_regulator_query_by_anyone_else_is_refused(world: RulesWorld) -> None:
    for call in (
        PharmaService.compliance_report,
        PharmaService.diversion_signals,
        lambda s: s.trace(prescription_id="RX-1"),
        lambda s: s.recall_scope("AMOX", "A1"),
    ):
        store = world.store(HOSP)
        with pytest.raises(ChaincodeError) as caught:
            call(PharmaService(store))
        assert (caught.value.code, caught.value.field) == ("ROLE", "party_id")


# --- registration -----------------------------------------------------------------------------------------


def test_unknown_parties_products_and_batches_are_named(world: RulesWorld) -> None:
    ghost = world.invoice(InvoiceKind.FIRST, MAKER, "GhostMSP")
    assert refusal(world, MAKER, ghost) == ("UNKNOWN_PARTY", "buyer")
    orphan = Batch("NOPE", "N1", MAKER, date(2024, 3, 1), date(2026, 1, 1), 5)
    assert refusal(world, MAKER, orphan) == ("UNKNOWN_PRODUCT", "product_id")
    unknown_batch = world.invoice(
        InvoiceKind.FIRST, MAKER, DIST_A, ((replace(A1, batch_number="ZZ"), 1, ()),)
    )
    assert refusal(world, MAKER, unknown_batch) == ("UNKNOWN_BATCH", "lines[0].batch_number")


def test_duplicates_are_refused(world: RulesWorld) -> None:
    assert refusal(world, MAKER, replace(A1, quantity=999)) == ("DUPLICATE_RECORD", "batch_number")
    assert refusal(world, MAKER, replace(AMOX, name="renamed")) == ("DUPLICATE_RECORD", "product_id")
    invoice = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A))
    changed = world.receipt(invoice, hours=6)
    assert refusal(world, DIST_A, changed) == ("DUPLICATE_RECORD", "invoice_number")


def test_resending_a_record_already_on_the_ledger_returns_its_anchor_and_writes_nothing(
    world: RulesWorld,
) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    first = world.submit(MAKER, invoice)
    again = world.submit(MAKER, invoice)
    assert again == first
    assert world.last is not None and not world.last.written
    # The same number with other content is still a reuse.
    other = replace(invoice, issue_date=invoice.issue_date)  # same content: idempotent
    assert world.submit(MAKER, other) == first
    changed = world.invoice(InvoiceKind.FIRST, MAKER, DIST_B, number=str(invoice.number))
    assert refusal(world, MAKER, changed) == ("INVOICE_REUSED", "number")


def test_a_prescription_id_used_at_another_hospital_is_a_duplicate(world: RulesWorld) -> None:
    world.stock_hospital(HOSP)
    world.stock_hospital(HOSP_B)
    world.submit(HOSP, world.prescription("RX-SHARED", HOSP))
    assert refusal(world, HOSP_B, world.prescription("RX-SHARED", HOSP_B)) == (
        "DUPLICATE_RECORD",
        "prescription_id",
    )


# --- invoices ---------------------------------------------------------------------------------------------


def test_an_invoice_number_used_in_another_trade_is_refused(world: RulesWorld) -> None:
    first = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A))
    reused = world.invoice(InvoiceKind.FIRST, MAKER, DIST_B, number=str(first.number))
    assert refusal(world, MAKER, reused) == ("INVOICE_REUSED", "number")
    # DIST_B cannot read the MAKER–DIST_A trade, yet the number is reserved for it too.
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_B))
    second = world.invoice(InvoiceKind.SECOND, DIST_B, HOSP, number=str(first.number))
    assert refusal(world, DIST_B, second) == ("INVOICE_REUSED", "number")


def test_the_number_year_must_match_the_issue_date(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, number="23352000000000000001")
    assert refusal(world, MAKER, invoice) == ("INVOICE_NUMBER_DATE", "number")


def test_a_third_invoice_without_an_exemption_is_refused(world: RulesWorld) -> None:
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A))
    transfer = world.invoice(InvoiceKind.TRANSFER, DIST_A, DIST_B, exemption=Exemption.GROUP_TRANSFER)
    assert refusal(world, DIST_A, transfer) == ("CHAIN_LENGTH", "buyer")


def test_a_group_transfer_and_the_subsidiarys_sale_are_accepted(world: RulesWorld) -> None:
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A))
    transfer = world.invoice(InvoiceKind.TRANSFER, DIST_A, DIST_SUB, exemption=Exemption.GROUP_TRANSFER)
    anchor = world.submit(DIST_A, transfer)
    assert anchor.collections == (f"_implicit_org_{DIST_A}", f"_implicit_org_{REG}")
    world.submit(DIST_SUB, world.receipt(transfer))
    world.deliver(world.invoice(InvoiceKind.SECOND, DIST_SUB, HOSP, ((A1, 5, ()),)))
    again = world.invoice(
        InvoiceKind.TRANSFER, DIST_SUB, DIST_A, ((A1, 1, ()),), exemption=Exemption.GROUP_TRANSFER
    )
    assert refusal(world, DIST_SUB, again)[0] == "CHAIN_LENGTH"


def test_one_invoice_mode_refuses_first_invoices_and_accepts_direct_ones() -> None:
    world = RulesWorld(policy_json=b'{"one_invoice_mode": true}')
    first = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    assert refusal(world, MAKER, first) == ("ONE_INVOICE_MODE", "kind")
    direct = world.invoice(InvoiceKind.DIRECT, MAKER, HOSP)
    assert world.submit(MAKER, direct).collections == (f"_implicit_org_{MAKER}", f"_implicit_org_{REG}")


def test_selling_a_batch_never_bought_breaks_buyer_seller_match(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.SECOND, DIST_B, HOSP)
    assert refusal(world, DIST_B, invoice) == ("BUYER_SELLER_MATCH", "seller")


def test_selling_bought_but_unreceived_goods_is_refused_until_the_receipt(world: RulesWorld) -> None:
    # A buyer's node learns of a purchase with its receipt (the invoice's copies are the seller's and
    # the regulator's until then), so the sale is refused as not bought; after the receipt it passes.
    first = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    world.submit(MAKER, first)
    invoice = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP)
    assert refusal(world, DIST_A, invoice) == ("BUYER_SELLER_MATCH", "seller")
    world.submit(DIST_A, world.receipt(first))
    world.submit(DIST_A, invoice)


def test_selling_more_than_received_breaks_conservation(world: RulesWorld) -> None:
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 10, ()),)))
    world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 8, ()),)))
    too_many = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP_B, ((A1, 3, ()),))
    error = world.refuse(DIST_A, too_many)
    assert (error.code, error.field) == ("CONSERVATION", "lines[0].quantity")
    assert "received 10" in error.message


def test_a_manufacturer_cannot_invoice_more_than_it_produced(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 1001, ()),))
    assert refusal(world, MAKER, invoice) == ("CONSERVATION", "lines[0].quantity")


def test_a_sales_company_invoices_from_the_makers_stock(world: RulesWorld) -> None:
    world.deliver(world.invoice(InvoiceKind.FIRST, SALES, DIST_A, ((A1, 990, ()),)))
    over = world.invoice(InvoiceKind.FIRST, MAKER, DIST_B, ((A1, 11, ()),))
    assert refusal(world, MAKER, over) == ("CONSERVATION", "lines[0].quantity")
    stock = world.run(SALES, lambda s: s.read_stock(MAKER, "AMOX", "A1"))
    assert stock.transferred == 990


def test_trace_codes_must_belong_to_the_product(world: RulesWorld) -> None:
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A))
    wrong = ("81234990000000000001",)
    invoice = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 1, wrong),))
    assert refusal(world, DIST_A, invoice) == ("PRODUCT_BATCH_MATCH", "shipment.lines[0].trace_codes[0]")


def test_expired_batches_cannot_be_sold(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A2, 5, ()),), issued=date(2024, 7, 2))
    error = world.refuse(MAKER, invoice, timestamp=datetime(2024, 7, 3, tzinfo=UTC))
    assert (error.code, error.field) == ("BATCH_EXPIRED", "lines[0].batch_number")


def test_a_future_issue_date_is_refused(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    assert refusal(world, MAKER, invoice, timestamp=datetime(2024, 5, 1, tzinfo=UTC)) == (
        "TIME_ORDER",
        "issue_date",
    )


def test_a_sale_dated_before_the_seller_received_the_batch_is_refused(world: RulesWorld) -> None:
    bought = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, issued=date(2024, 5, 6))
    world.submit(MAKER, bought)
    world.submit(DIST_A, world.receipt(bought, hours=24 * 3))  # received on 2024-05-09
    early = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 2, ()),), issued=date(2024, 5, 8))
    assert refusal(world, DIST_A, early) == ("TIME_ORDER", "issue_date")
    world.submit(
        DIST_A, world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 2, ()),), issued=date(2024, 5, 9))
    )


def test_an_approval_year_after_the_transaction_is_refused(world: RulesWorld) -> None:
    older = replace(AMOX, product_id="AMOX-OLD", approval_number="国药准字HJ20190001")
    world.submit(MAKER, older, timestamp=datetime(2024, 5, 1, tzinfo=UTC))
    later = replace(AMOX, product_id="AMOX-NEW", approval_number="国药准字HJ20250001")
    assert refusal(world, MAKER, later, timestamp=datetime(2024, 5, 1, tzinfo=UTC)) == (
        "TIME_ORDER",
        "approval_number",
    )


# --- receipts ---------------------------------------------------------------------------------------------


def test_receipts_must_agree_with_the_shipment_and_follow_it(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    world.submit(MAKER, invoice)
    more = world.receipt(invoice, lines=(GoodsLine("AMOX", "A1", 11),))
    assert refusal(world, DIST_A, more) == ("INVOICE_GOODS_RECEIPT", "lines[0].quantity")
    early = world.receipt(invoice, hours=-2)
    assert refusal(world, DIST_A, early) == ("TIME_ORDER", "received_at")
    future = world.receipt(invoice)
    moment = future.received_at - timedelta(hours=1)
    assert refusal(world, DIST_A, future, timestamp=moment) == ("TIME_ORDER", "received_at")


def test_a_receipt_for_an_unknown_invoice_is_refused(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    assert refusal(world, DIST_A, world.receipt(invoice)) == ("UNKNOWN_INVOICE", "invoice_number")


# --- hospital side ----------------------------------------------------------------------------------------


def test_dispensing_more_than_received_breaks_conservation(world: RulesWorld) -> None:
    world.stock_hospital(HOSP, 3)
    assert refusal(world, HOSP, world.prescription("RX-1", HOSP, quantity=4)) == (
        "CONSERVATION",
        "items[0].quantity",
    )


def test_a_code_dispensed_at_one_hospital_cannot_be_dispensed_at_another(world: RulesWorld) -> None:
    codes = amox_codes(1, 2)
    world.stock_hospital(HOSP, 2, codes)
    world.stock_hospital(HOSP_B, 2)
    world.submit(HOSP, world.prescription("RX-1", HOSP, codes[:1]))
    resold = world.prescription("RX-2", HOSP_B, codes[:1])
    assert refusal(world, HOSP_B, resold) == ("TRACE_CODE_REUSED", "items[0].trace_codes[0]")


def test_a_dispensing_refusal_names_the_field_but_withholds_the_code_and_the_pseudonym(
    world: RulesWorld,
) -> None:
    # Peers write every refusal's message to their logs: no dispensed code or patient pseudonym in it.
    codes = amox_codes(1, 2)
    world.stock_hospital(HOSP, 2, codes)
    world.stock_hospital(HOSP_B, 2)
    world.submit(HOSP, world.prescription("RX-1", HOSP, codes[:1]))
    for hospital, prescription in (
        (HOSP_B, world.prescription("RX-2", HOSP_B, codes[:1])),  # TRACE_CODE_REUSED
        (HOSP_B, world.prescription("RX-3", HOSP_B, codes[1:])),  # TRACE_CODE_NOT_RECEIVED
    ):
        error = world.refuse(hospital, prescription)
        assert error.field == "items[0].trace_codes[0]"
        assert WITHHELD in error.message
        for secret in (*prescription.items[0].trace_codes, prescription.patient_pseudonym):
            assert secret not in str(error)


def test_a_recalled_batch_cannot_be_dispensed(world: RulesWorld) -> None:
    world.stock_hospital(HOSP)
    world.submit(REG, Recall("AMOX", "A1", "contamination", at(date(2024, 6, 1)), REG))
    assert refusal(world, HOSP, world.prescription("RX-1", HOSP)) == (
        "BATCH_RECALLED",
        "items[0].batch_number",
    )


def test_only_the_regulator_or_the_maker_recalls(world: RulesWorld) -> None:
    assert refusal(world, OTHER_MAKER, Recall("AMOX", "A1", "x", at(date(2024, 6, 1)), OTHER_MAKER)) == (
        "ROLE",
        "by",
    )


def test_adverse_events_must_match_the_prescription(world: RulesWorld) -> None:
    world.stock_hospital(HOSP)
    world.submit(HOSP, world.prescription("RX-1", HOSP))
    other_patient = AdverseEvent(
        "ADR-1", HOSP, "RX-1", pseudonymise(KEY, "p2"), at(date(2024, 6, 4)), "rash", "AMOX", "A1"
    )
    assert refusal(world, HOSP, other_patient) == ("PATIENT_MISMATCH", "patient_pseudonym")
    unknown = replace(other_patient, prescription_id="RX-404")
    assert refusal(world, HOSP, unknown) == ("UNKNOWN_PRESCRIPTION", "prescription_id")


# --- malformed input --------------------------------------------------------------------------------------


def test_a_malformed_record_lists_every_problem(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    data = invoice.to_dict()
    data["lines"] = [{**data["lines"][0], "amount": "1.00"}]  # type: ignore[index]
    data["buyer"] = "bad msp id!"

    store = world.store(MAKER, transient={RECORD_TRANSIENT_KEY: json.dumps(data).encode()})
    with pytest.raises(RecordRefused) as caught:
        PharmaService(store).issue_invoice()
    assert caught.value.code == "RECORD"
    fields = {field for field, _ in caught.value.problems}
    assert {"buyer", "lines[0].amount"} <= fields
    assert not store.written


def test_a_private_record_must_come_in_the_transient_map(world: RulesWorld) -> None:
    store = world.store(MAKER)
    with pytest.raises(RecordRefused) as caught:
        PharmaService(store).issue_invoice()
    assert (caught.value.code, caught.value.field) == ("RECORD", "<transient:record>")


def test_any_registered_member_id_works_without_a_chaincode_definition_change(world: RulesWorld) -> None:
    # Implicit collections exist for every channel member, whatever its MSP id: registering is enough.
    dotted = Party("dist.example", Role.DISTRIBUTOR, "dotted", sample_uscc("91", "350100", "MA000010"))
    world.channel.add_member("dist.example")
    world.by_id[dotted.party_id] = dotted
    world.submit(REG, dotted)
    world.submit(MAKER, world.invoice(InvoiceKind.FIRST, MAKER, "dist.example"))


def test_products_are_registered_by_their_maker_only(world: RulesWorld) -> None:
    product = Product("NEW", "new drug", MAKER, "国药准字H20243009", None, "8123411")
    assert refusal(world, OTHER_MAKER, product) == ("ROLE", "manufacturer")
