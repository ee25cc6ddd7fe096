from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from pharma_world import (
    A1,
    A2,
    AMOX,
    DIST_A,
    DIST_B,
    DIST_REMOTE,
    DIST_SUB,
    G1,
    GS1_ONLY,
    HOSP,
    HOSP_REMOTE,
    ISSUED,
    MAKER,
    O1,
    OTHER_MAKER,
    REG,
    SALES,
    World,
    amox_codes,
    at,
    patient,
    violates,
)

from fabrx_pharma import (
    AdverseEvent,
    Exemption,
    GoodsLine,
    InMemoryLedger,
    InvoiceKind,
    Party,
    Recall,
    Role,
    RuleId,
    RuleViolation,
    TwoInvoicePolicy,
)
from fabrx_pharma.rules import check_first_invoice, check_record
from fabrx_pharma.sample import sample_uscc
from fabrx_pharma.stock import Outflow

FIRST, SECOND, TRANSFER, DIRECT = (
    InvoiceKind.FIRST,
    InvoiceKind.SECOND,
    InvoiceKind.TRANSFER,
    InvoiceKind.DIRECT,
)


@pytest.fixture
def w() -> World:
    return World()


def one_invoice_world() -> World:
    return World(TwoInvoicePolicy(one_invoice_mode=True))


# --- parties --------------------------------------------------------------------------------------


def new_party(**changes: object) -> Party:
    base = Party("NewMSP", Role.DISTRIBUTOR, "new distributor", sample_uscc("91", "350100", "MA000099"))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_regulator_registers_parties_with_group_relations(w: World) -> None:
    w.ledger.submit(new_party(parent_party_id=DIST_A), submitter=REG)
    party = w.ledger.party("NewMSP")
    assert party is not None and party.parent_party_id == DIST_A


def test_only_the_regulator_registers_parties(w: World) -> None:
    violates(RuleId.ROLE, "party_id", lambda: w.ledger.submit(new_party(), submitter=DIST_A))
    violates(RuleId.ROLE, "party_id", lambda: w.ledger.submit(new_party(), submitter="NobodyMSP"))
    assert w.ledger.party("NewMSP") is None


def test_party_relations_must_name_registered_parties(w: World) -> None:
    violates(
        RuleId.UNKNOWN_PARTY,
        "parent_party_id",
        lambda: w.ledger.submit(new_party(parent_party_id="X"), submitter=REG),
    )
    violates(
        RuleId.UNKNOWN_PARTY,
        "counts_as_manufacturer_of[0]",
        lambda: w.ledger.submit(new_party(counts_as_manufacturer_of=("X",)), submitter=REG),
    )
    violates(
        RuleId.ROLE,
        "counts_as_manufacturer_of[1]",
        lambda: w.ledger.submit(
            new_party(host_msp_id=MAKER, counts_as_manufacturer_of=(MAKER, DIST_B)), submitter=REG
        ),
    )


def test_an_inactive_party_records_nothing_and_is_invoiced_by_nobody_until_reactivated(w: World) -> None:
    first = w.trade(FIRST, MAKER, DIST_B)  # trades before it leaves stay on the ledger
    registered = w.ledger.party(DIST_B)
    assert registered is not None and registered.active
    w.ledger.submit(replace(registered, active=False), submitter=REG)
    suspended = w.ledger.party(DIST_B)
    assert suspended is not None and not suspended.active
    assert suspended.to_dict()["active"] is False and "active" not in registered.to_dict()
    assert Party.from_json(suspended.to_json()) == suspended
    violates(
        RuleId.PARTY_INACTIVE,
        "party_id",
        lambda: w.ledger.submit(w.invoice(SECOND, DIST_B, HOSP, ((A1, 1),)), submitter=DIST_B),
    )
    violates(
        RuleId.PARTY_INACTIVE,
        "buyer",
        lambda: w.ledger.submit(w.invoice(FIRST, MAKER, DIST_B), submitter=MAKER),
    )
    assert w.ledger.invoice(str(first.number)) is not None
    # Only the regulator changes it, never to inactive for itself; reactivated, it trades again.
    violates(RuleId.ROLE, "party_id", lambda: w.ledger.submit(registered, submitter=DIST_B))
    regulator = w.ledger.party(REG)
    assert regulator is not None
    violates(RuleId.ROLE, "active", lambda: w.ledger.submit(replace(regulator, active=False), submitter=REG))
    w.ledger.submit(registered, submitter=REG)
    w.ledger.submit(w.invoice(SECOND, DIST_B, HOSP, ((A1, 1),)), submitter=DIST_B)


def test_bootstrap_registers_only_a_regulator() -> None:
    with pytest.raises(ValueError, match="bootstrap registers the regulator"):
        InMemoryLedger().bootstrap(new_party())


# --- hosted parties -------------------------------------------------------------------------------

CLINIC = sample_uscc("52", "350102", "MJ000001")  # a hosted clinic: the regulator gave it its USCC as id
HOSTING = "CityHostingMSP"  # a city hosting centre: a member organization that runs nodes, trades nothing


def hosted_clinic(host: str = HOSP) -> Party:
    return Party(CLINIC, Role.HOSPITAL, "Sample Street Clinic", CLINIC, host)


def test_a_hosted_clinic_buys_and_dispenses_under_the_rules_of_a_member(w: World) -> None:
    w.ledger.submit(hosted_clinic(), submitter=REG)
    clinic = w.ledger.party(CLINIC)
    assert clinic is not None and (clinic.host_msp_id, clinic.is_member) == (HOSP, False)
    w.stock_hospital(CLINIC)  # MAKER → DIST_A on a first invoice, DIST_A → the clinic on a second
    w.ledger.submit(w.prescription(CLINIC, items=[(A1, 2, amox_codes(1, 2))]), submitter=CLINIC)
    assert w.ledger.stock(CLINIC, "AMOX", "A1").on_hand == 8
    assert w.ledger.stock(HOSP, "AMOX", "A1").received == 0  # the host holds none of its stock
    assert w.ledger.dispensed_in(amox_codes(2, 1)[0]) == "RX-1"
    # The same rules as for a member: its host cannot act for it, and it dispenses only what it received.
    again = w.prescription(CLINIC, items=[(A1, 1, amox_codes(3, 1))], prescription_id="RX-2")
    violates(RuleId.ROLE, "hospital", lambda: w.ledger.submit(again, submitter=HOSP))
    too_many = w.prescription(CLINIC, items=[(A1, 9)], prescription_id="RX-2")
    violates(RuleId.CONSERVATION, "items[0].quantity", lambda: w.ledger.submit(too_many, submitter=CLINIC))
    reused = w.prescription(CLINIC, prescription_id="RX-3", who="patient-2")
    violates(
        RuleId.TRACE_CODE_REUSED, "items[0].trace_codes[0]", lambda: w.ledger.submit(reused, submitter=CLINIC)
    )
    w.ledger.submit(again, submitter=CLINIC)


def test_a_hosting_centre_hosts_a_distributor_and_trades_nothing(w: World) -> None:
    w.ledger.submit(
        Party(HOSTING, Role.HOST, "city hosting centre", sample_uscc("12", "350100", "MB000001")),
        submitter=REG,
    )
    w.ledger.submit(new_party(host_msp_id=HOSTING), submitter=REG)  # a small distributor it hosts
    w.trade(FIRST, MAKER, "NewMSP", [(A1, 10)])
    w.trade(SECOND, "NewMSP", HOSP, [(A1, 4)])
    assert w.ledger.stock("NewMSP", "AMOX", "A1").on_hand == 6
    violates(RuleId.ROLE, "buyer", lambda: w.ledger.submit(w.invoice(FIRST, MAKER, HOSTING), submitter=MAKER))
    violates(
        RuleId.ROLE, "seller", lambda: w.ledger.submit(w.invoice(SECOND, HOSTING, HOSP), submitter=HOSTING)
    )


def test_only_a_registered_member_organization_hosts(w: World) -> None:
    w.ledger.submit(hosted_clinic(), submitter=REG)
    violates(
        RuleId.ROLE, "host_msp_id", lambda: w.ledger.submit(new_party(host_msp_id=CLINIC), submitter=REG)
    )
    violates(
        RuleId.UNKNOWN_PARTY,
        "host_msp_id",
        lambda: w.ledger.submit(new_party(host_msp_id="NobodyMSP"), submitter=REG),
    )
    assert w.ledger.party("NewMSP") is None


def test_a_party_counting_as_a_manufacturer_is_hosted_where_the_manufacturer_is(w: World) -> None:
    for host in (DIST_A, "NewMSP"):  # hosted by another member, or a member itself
        violates(
            RuleId.ROLE,
            "counts_as_manufacturer_of[0]",
            lambda host=host: w.ledger.submit(  # type: ignore[misc]
                new_party(host_msp_id=host, counts_as_manufacturer_of=(MAKER,)), submitter=REG
            ),
        )
    violates(
        RuleId.ROLE,
        "counts_as_manufacturer_of[0]",
        lambda: w.ledger.submit(
            new_party(host_msp_id=MAKER, counts_as_manufacturer_of=(OTHER_MAKER,)), submitter=REG
        ),
    )
    w.ledger.submit(new_party(host_msp_id=MAKER, counts_as_manufacturer_of=(MAKER,)), submitter=REG)
    w.trade(FIRST, "NewMSP", DIST_A, [(A1, 10)])
    assert w.ledger.stock(MAKER, "AMOX", "A1").transferred == 10


# --- products and batches -------------------------------------------------------------------------


def test_manufacturer_or_its_sales_company_registers_products(w: World) -> None:
    w.ledger.submit(replace(AMOX, product_id="AMOX-2"), submitter=MAKER)
    w.ledger.submit(replace(AMOX, product_id="AMOX-3"), submitter=SALES)
    assert w.ledger.product("AMOX-3") is not None


def test_product_registration_violations(w: World) -> None:
    new = replace(AMOX, product_id="AMOX-2")
    violates(RuleId.ROLE, "manufacturer", lambda: w.ledger.submit(new, submitter=DIST_A))
    violates(RuleId.ROLE, "manufacturer", lambda: w.ledger.submit(new, submitter=OTHER_MAKER))
    violates(
        RuleId.ROLE,
        "manufacturer",
        lambda: w.ledger.submit(replace(new, manufacturer=DIST_A), submitter=DIST_A),
    )
    violates(
        RuleId.UNKNOWN_PARTY,
        "manufacturer",
        lambda: w.ledger.submit(replace(new, manufacturer="X"), submitter=MAKER),
    )
    violates(RuleId.DUPLICATE_RECORD, "product_id", lambda: w.ledger.submit(AMOX, submitter=MAKER))


def test_batch_recording_violations(w: World) -> None:
    new = replace(A1, batch_number="A9")
    violates(
        RuleId.UNKNOWN_PRODUCT,
        "product_id",
        lambda: w.ledger.submit(replace(new, product_id="X"), submitter=MAKER),
    )
    violates(
        RuleId.PRODUCT_BATCH_MATCH,
        "manufacturer",
        lambda: w.ledger.submit(replace(new, manufacturer=OTHER_MAKER), submitter=OTHER_MAKER),
    )
    violates(RuleId.ROLE, "manufacturer", lambda: w.ledger.submit(new, submitter=DIST_A))
    violates(RuleId.DUPLICATE_RECORD, "batch_number", lambda: w.ledger.submit(A1, submitter=MAKER))
    w.ledger.submit(new, submitter=SALES)
    assert w.ledger.stock(MAKER, "AMOX", "A9").received == A1.quantity


# --- first invoices -------------------------------------------------------------------------------


def test_compliant_first_invoice_moves_stock_from_manufacturer_to_distributor(w: World) -> None:
    invoice = w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    assert w.ledger.invoice(str(invoice.number)) == invoice
    assert w.ledger.stock(MAKER, "AMOX", "A1").available(Outflow.ONWARD) == 900
    assert w.ledger.stock(DIST_A, "AMOX", "A1").received == 100


def test_sales_company_counting_as_manufacturer_issues_first_invoices_from_its_stock(w: World) -> None:
    w.trade(FIRST, SALES, DIST_A, [(A1, 100)])
    assert w.ledger.stock(MAKER, "AMOX", "A1").transferred == 100
    w.trade(SECOND, DIST_A, HOSP, [(A1, 10)])


def test_first_invoice_roles(w: World) -> None:
    invoice = w.invoice(FIRST, MAKER, DIST_A)
    violates(RuleId.ROLE, "seller", lambda: w.ledger.submit(invoice, submitter=DIST_A))
    violates(
        RuleId.ROLE, "seller", lambda: w.ledger.submit(w.invoice(FIRST, DIST_B, DIST_A), submitter=DIST_B)
    )
    violates(
        RuleId.ROLE,
        "seller",
        lambda: w.ledger.submit(w.invoice(FIRST, OTHER_MAKER, DIST_A), submitter=OTHER_MAKER),
    )
    violates(RuleId.ROLE, "buyer", lambda: w.ledger.submit(w.invoice(FIRST, MAKER, HOSP), submitter=MAKER))
    violates(
        RuleId.UNKNOWN_PARTY, "buyer", lambda: w.ledger.submit(w.invoice(FIRST, MAKER, "X"), submitter=MAKER)
    )
    violates(
        RuleId.UNKNOWN_PARTY, "seller", lambda: w.ledger.submit(w.invoice(FIRST, "X", DIST_A), submitter="X")
    )


def test_invoice_number_cannot_be_reused(w: World) -> None:
    invoice = w.trade(FIRST, MAKER, DIST_A)
    again = w.invoice(FIRST, MAKER, DIST_B, number=str(invoice.number))
    violates(RuleId.INVOICE_REUSED, "number", lambda: w.ledger.submit(again, submitter=MAKER))


def test_digital_invoice_number_year_must_match_issue_date(w: World) -> None:
    invoice = w.invoice(FIRST, MAKER, DIST_A, number="23352000000000000001")
    violates(RuleId.INVOICE_NUMBER_DATE, "number", lambda: w.ledger.submit(invoice, submitter=MAKER))
    legacy = w.invoice(FIRST, MAKER, DIST_A, number="3500221130-04567890")
    w.ledger.submit(legacy, submitter=MAKER)  # a legacy number carries no year to compare


def test_invoice_lines_must_name_known_products_and_batches(w: World) -> None:
    unknown_product = w.invoice(FIRST, MAKER, DIST_A, [(replace(A1, product_id="NOPE"), 1)])
    violates(
        RuleId.UNKNOWN_PRODUCT,
        "lines[0].product_id",
        lambda: w.ledger.submit(unknown_product, submitter=MAKER),
    )
    unknown_batch = w.invoice(FIRST, MAKER, DIST_A, [(A1, 1), (replace(A1, batch_number="NOPE"), 1)])
    violates(
        RuleId.UNKNOWN_BATCH, "lines[1].batch_number", lambda: w.ledger.submit(unknown_batch, submitter=MAKER)
    )


def test_invoice_cannot_predate_production(w: World) -> None:
    invoice = w.invoice(FIRST, MAKER, DIST_A, [(A2, 1)], issued=date(2024, 3, 31))
    violates(RuleId.TIME_ORDER, "issue_date", lambda: w.ledger.submit(invoice, submitter=MAKER))


def test_expired_batch_cannot_be_sold(w: World) -> None:
    last_day = w.invoice(FIRST, MAKER, DIST_A, [(A2, 1)], issued=date(2024, 6, 30))
    w.ledger.submit(last_day, submitter=MAKER)
    expired = w.invoice(FIRST, MAKER, DIST_A, [(A2, 1)], issued=date(2024, 7, 1))
    violates(RuleId.BATCH_EXPIRED, "lines[0].batch_number", lambda: w.ledger.submit(expired, submitter=MAKER))


def test_recalled_batch_cannot_be_sold(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 50)])
    w.ledger.submit(Recall("AMOX", "A1", "contamination", at(date(2024, 5, 10)), REG), submitter=REG)
    violates(
        RuleId.BATCH_RECALLED,
        "lines[0].batch_number",
        lambda: w.ledger.submit(
            w.invoice(SECOND, DIST_A, HOSP, [(A1, 5)], issued=date(2024, 5, 11)), submitter=DIST_A
        ),
    )


def test_invoice_and_shipment_must_carry_the_same_goods(w: World) -> None:
    short = w.invoice(FIRST, MAKER, DIST_A, [(A1, 10)], shipment_lines=(GoodsLine("AMOX", "A1", 9),))
    error = violates(
        RuleId.INVOICE_GOODS_RECEIPT, "shipment.lines", lambda: w.ledger.submit(short, submitter=MAKER)
    )
    assert "AMOX/A1×10" in error.message and "AMOX/A1×9" in error.message
    other_batch = w.invoice(FIRST, MAKER, DIST_A, [(A1, 10)], shipment_lines=(GoodsLine("AMOX", "A2", 10),))
    violates(
        RuleId.INVOICE_GOODS_RECEIPT, "shipment.lines", lambda: w.ledger.submit(other_batch, submitter=MAKER)
    )
    split = w.invoice(
        FIRST,
        MAKER,
        DIST_A,
        [(A1, 10)],
        shipment_lines=(GoodsLine("AMOX", "A1", 4), GoodsLine("AMOX", "A1", 6)),
    )
    w.ledger.submit(split, submitter=MAKER)


def test_shipment_must_travel_with_the_invoice(w: World) -> None:
    late = w.invoice(FIRST, MAKER, DIST_A, shipped_at=at(ISSUED + timedelta(days=8)))
    violates(RuleId.TIME_ORDER, "shipment.shipped_at", lambda: w.ledger.submit(late, submitter=MAKER))
    w.ledger.submit(
        w.invoice(FIRST, MAKER, DIST_A, shipped_at=at(ISSUED + timedelta(days=7))), submitter=MAKER
    )


def test_shipment_cannot_precede_production(w: World) -> None:
    early = w.invoice(
        FIRST, MAKER, DIST_A, [(A2, 1)], issued=date(2024, 4, 2), shipped_at=at(date(2024, 3, 31))
    )
    violates(RuleId.TIME_ORDER, "shipment.shipped_at", lambda: w.ledger.submit(early, submitter=MAKER))


def test_dates_of_timestamps_are_read_in_china_time(w: World) -> None:
    # 07:00 in Beijing on the production day is still the previous day in UTC.
    dawn = w.invoice(
        FIRST, MAKER, DIST_A, [(A2, 1)], issued=date(2024, 4, 1), shipped_at=at(date(2024, 4, 1), 7)
    )
    w.ledger.submit(dawn, submitter=MAKER)


def test_manufacturer_cannot_invoice_more_than_the_batch(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(G1, 200)])
    too_much = w.invoice(FIRST, MAKER, DIST_B, [(G1, 60), (G1, 41)])
    error = violates(
        RuleId.CONSERVATION, "lines[0].quantity", lambda: w.ledger.submit(too_much, submitter=MAKER)
    )
    assert "produced 300" in error.message


def test_shipped_trace_codes_must_belong_to_the_product(w: World) -> None:
    foreign = w.invoice(FIRST, MAKER, DIST_A, [(A1, 1, ("81234990000000000001",))])
    violates(
        RuleId.PRODUCT_BATCH_MATCH,
        "shipment.lines[0].trace_codes[0]",
        lambda: w.ledger.submit(foreign, submitter=MAKER),
    )


def test_gs1_trace_codes_are_matched_by_gtin_batch_and_expiry(w: World) -> None:
    good = f"(01){GS1_ONLY.gtin}(17)260228(10)G1(21)S0001"
    w.ledger.submit(w.invoice(FIRST, MAKER, DIST_A, [(G1, 1, (good,))]), submitter=MAKER)
    for bad in (
        f"(01){GS1_ONLY.gtin}(10)G2(21)S0002",  # another batch
        f"(01){GS1_ONLY.gtin}(17)270228(21)S0003",  # another expiry
        f"(01){AMOX.gtin}(21)S0004",  # another product
        "81234010000000000001",  # a 20-digit code for a product registered with a GTIN only
    ):
        invoice = w.invoice(FIRST, MAKER, DIST_A, [(G1, 1, (bad,))])
        violates(
            RuleId.PRODUCT_BATCH_MATCH,
            "shipment.lines[0].trace_codes[0]",
            lambda invoice=invoice: w.ledger.submit(invoice, submitter=MAKER),  # type: ignore[misc]
        )


def test_rule_function_refuses_an_invoice_of_another_kind(w: World) -> None:
    with pytest.raises(ValueError, match="expected a first invoice"):
        check_first_invoice(w.invoice(SECOND, DIST_A, HOSP), w.ledger, submitter=DIST_A)


# --- second invoices ------------------------------------------------------------------------------


def test_compliant_two_invoice_chain(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    w.trade(SECOND, DIST_A, HOSP, [(A1, 60)])
    w.trade(SECOND, DIST_A, HOSP_REMOTE, [(A1, 40)])
    position = w.ledger.stock(DIST_A, "AMOX", "A1")
    assert (position.sold, position.sold_remote, position.on_hand) == (60, 40, 0)


def test_second_invoice_seller_must_have_bought_the_batch(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    error = violates(
        RuleId.BUYER_SELLER_MATCH,
        "seller",
        lambda: w.ledger.submit(w.invoice(SECOND, DIST_B, HOSP, [(A1, 1)]), submitter=DIST_B),
    )
    assert DIST_B in error.message


def test_second_invoice_cannot_sell_goods_not_yet_received(w: World) -> None:
    w.ledger.submit(w.invoice(FIRST, MAKER, DIST_A, [(A1, 100)]), submitter=MAKER)  # no receipt
    violates(
        RuleId.CONSERVATION,
        "lines[0].quantity",
        lambda: w.ledger.submit(w.invoice(SECOND, DIST_A, HOSP, [(A1, 1)]), submitter=DIST_A),
    )


def test_sales_never_exceed_what_the_distributor_received(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    w.trade(SECOND, DIST_A, HOSP, [(A1, 70)])
    w.trade(FIRST, MAKER, DIST_A, [(A2, 5)])
    over = w.invoice(SECOND, DIST_A, HOSP_REMOTE, [(A2, 1), (A1, 20), (A1, 11)])
    error = violates(
        RuleId.CONSERVATION, "lines[1].quantity", lambda: w.ledger.submit(over, submitter=DIST_A)
    )
    assert "received 100" in error.message and "sold or dispensed 70" in error.message
    w.trade(SECOND, DIST_A, HOSP_REMOTE, [(A2, 1), (A1, 30)])


def test_second_invoice_roles(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    violates(
        RuleId.ROLE, "buyer", lambda: w.ledger.submit(w.invoice(SECOND, DIST_A, DIST_B), submitter=DIST_A)
    )
    violates(RuleId.ROLE, "seller", lambda: w.ledger.submit(w.invoice(SECOND, MAKER, HOSP), submitter=MAKER))
    violates(RuleId.ROLE, "seller", lambda: w.ledger.submit(w.invoice(SECOND, DIST_A, HOSP), submitter=HOSP))


# --- exemptions: a third invoice ------------------------------------------------------------------


def test_group_transfer_to_a_wholly_owned_subsidiary_allows_a_third_invoice(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    w.trade(TRANSFER, DIST_A, DIST_SUB, [(A1, 40)], exemption=Exemption.GROUP_TRANSFER)
    w.trade(SECOND, DIST_SUB, HOSP, [(A1, 40)])
    assert w.ledger.stock(DIST_SUB, "AMOX", "A1").on_hand == 0


def test_group_transfer_outside_the_group_is_a_third_invoice(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    invoice = w.invoice(TRANSFER, DIST_A, DIST_B, [(A1, 40)], exemption=Exemption.GROUP_TRANSFER)
    violates(RuleId.CHAIN_LENGTH, "buyer", lambda: w.ledger.submit(invoice, submitter=DIST_A))
    upward = w.invoice(TRANSFER, DIST_SUB, DIST_A, [(A1, 1)], exemption=Exemption.GROUP_TRANSFER)
    violates(RuleId.CHAIN_LENGTH, "buyer", lambda: w.ledger.submit(upward, submitter=DIST_SUB))


def test_group_transfer_can_be_disabled() -> None:
    w = World(TwoInvoicePolicy(allow_group_transfer=False))
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    invoice = w.invoice(TRANSFER, DIST_A, DIST_SUB, [(A1, 40)], exemption=Exemption.GROUP_TRANSFER)
    violates(RuleId.CHAIN_LENGTH, "exemption", lambda: w.ledger.submit(invoice, submitter=DIST_A))


def test_remote_delivery_allows_a_third_invoice_only_to_remote_facilities(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    w.trade(TRANSFER, DIST_A, DIST_REMOTE, [(A1, 30)], exemption=Exemption.REMOTE_DELIVERY)
    w.trade(SECOND, DIST_REMOTE, HOSP_REMOTE, [(A1, 10)])
    city = w.invoice(SECOND, DIST_REMOTE, HOSP, [(A1, 1)])
    error = violates(
        RuleId.CHAIN_LENGTH, "lines[0].quantity", lambda: w.ledger.submit(city, submitter=DIST_REMOTE)
    )
    assert "transfer invoice" in error.message


def test_remote_delivery_needs_a_remote_area_buyer_and_can_be_disabled(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    invoice = w.invoice(TRANSFER, DIST_A, DIST_B, [(A1, 5)], exemption=Exemption.REMOTE_DELIVERY)
    violates(RuleId.CHAIN_LENGTH, "buyer", lambda: w.ledger.submit(invoice, submitter=DIST_A))
    strict = World(TwoInvoicePolicy(allow_remote_delivery=False))
    strict.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    invoice = strict.invoice(TRANSFER, DIST_A, DIST_REMOTE, [(A1, 5)], exemption=Exemption.REMOTE_DELIVERY)
    violates(RuleId.CHAIN_LENGTH, "exemption", lambda: strict.ledger.submit(invoice, submitter=DIST_A))


def test_goods_received_on_a_transfer_cannot_be_transferred_again(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    w.trade(TRANSFER, DIST_A, DIST_SUB, [(A1, 40)], exemption=Exemption.GROUP_TRANSFER)
    fourth = w.invoice(TRANSFER, DIST_SUB, DIST_REMOTE, [(A1, 10)], exemption=Exemption.REMOTE_DELIVERY)
    violates(RuleId.CHAIN_LENGTH, "lines[0].quantity", lambda: w.ledger.submit(fourth, submitter=DIST_SUB))


def test_direct_stock_of_a_remote_distributor_may_go_to_any_hospital(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_REMOTE, [(A1, 5)])
    w.trade(FIRST, MAKER, DIST_A, [(A1, 100)])
    w.trade(TRANSFER, DIST_A, DIST_REMOTE, [(A1, 10)], exemption=Exemption.REMOTE_DELIVERY)
    w.trade(SECOND, DIST_REMOTE, HOSP, [(A1, 5)])
    violates(
        RuleId.CHAIN_LENGTH,
        "lines[0].quantity",
        lambda: w.ledger.submit(w.invoice(SECOND, DIST_REMOTE, HOSP, [(A1, 1)]), submitter=DIST_REMOTE),
    )
    w.trade(SECOND, DIST_REMOTE, HOSP_REMOTE, [(A1, 10)])
    violates(
        RuleId.CONSERVATION,
        "lines[0].quantity",
        lambda: w.ledger.submit(
            w.invoice(SECOND, DIST_REMOTE, HOSP_REMOTE, [(A1, 1)]), submitter=DIST_REMOTE
        ),
    )


# --- one-invoice mode ----------------------------------------------------------------------------


def test_one_invoice_mode_allows_only_direct_invoices() -> None:
    w = one_invoice_world()
    w.trade(DIRECT, MAKER, HOSP, [(A1, 10)])
    w.trade(DIRECT, SALES, HOSP_REMOTE, [(A1, 10)])
    for kind, seller, buyer in ((FIRST, MAKER, DIST_A), (SECOND, DIST_A, HOSP)):
        invoice = w.invoice(kind, seller, buyer)
        violates(
            RuleId.ONE_INVOICE_MODE,
            "kind",
            lambda invoice=invoice, seller=seller: w.ledger.submit(invoice, submitter=seller),  # type: ignore[misc]
        )


def test_direct_invoice_roles(w: World) -> None:
    w.trade(DIRECT, MAKER, HOSP, [(A1, 10)])  # also allowed under the two-invoice system
    violates(RuleId.ROLE, "buyer", lambda: w.ledger.submit(w.invoice(DIRECT, MAKER, DIST_A), submitter=MAKER))
    violates(
        RuleId.ROLE, "seller", lambda: w.ledger.submit(w.invoice(DIRECT, DIST_A, HOSP), submitter=DIST_A)
    )


# --- receipts -------------------------------------------------------------------------------------


def test_receipt_violations(w: World) -> None:
    invoice = w.invoice(FIRST, MAKER, DIST_A, [(A1, 10)])
    w.ledger.submit(invoice, submitter=MAKER)
    receipt = w.receipt(invoice)
    violates(
        RuleId.UNKNOWN_INVOICE,
        "invoice_number",
        lambda: w.ledger.submit(
            replace(receipt, invoice_number=w.invoice(FIRST, MAKER, DIST_A).number), submitter=DIST_A
        ),
    )
    violates(RuleId.ROLE, "receiver", lambda: w.ledger.submit(receipt, submitter=DIST_B))
    violates(
        RuleId.ROLE, "receiver", lambda: w.ledger.submit(replace(receipt, receiver=DIST_B), submitter=DIST_B)
    )
    early = replace(receipt, received_at=invoice.shipment.shipped_at - timedelta(minutes=1))
    violates(RuleId.TIME_ORDER, "received_at", lambda: w.ledger.submit(early, submitter=DIST_A))
    w.ledger.submit(receipt, submitter=DIST_A)
    violates(RuleId.DUPLICATE_RECORD, "invoice_number", lambda: w.ledger.submit(receipt, submitter=DIST_A))


def test_receipt_must_match_the_shipment(w: World) -> None:
    invoice = w.invoice(SECOND, DIST_A, HOSP, [(A1, 3, amox_codes(1, 3))])
    w.trade(FIRST, MAKER, DIST_A, [(A1, 10)])
    w.ledger.submit(invoice, submitter=DIST_A)
    cases = {
        "lines[0].batch_number": (GoodsLine("AMOX", "A2", 3),),
        "lines[1].quantity": (GoodsLine("AMOX", "A1", 2), GoodsLine("AMOX", "A1", 2)),
        "lines[0].trace_codes[1]": (GoodsLine("AMOX", "A1", 2, (amox_codes(1, 1)[0], amox_codes(9, 1)[0])),),
    }
    for field, lines in cases.items():
        receipt = w.receipt(invoice, lines=lines)
        violates(
            RuleId.INVOICE_GOODS_RECEIPT,
            field,
            lambda receipt=receipt: w.ledger.submit(receipt, submitter=HOSP),  # type: ignore[misc]
        )


def test_partial_receipt_is_accepted_and_only_received_goods_count(w: World) -> None:
    invoice = w.invoice(FIRST, MAKER, DIST_A, [(A1, 10)])
    w.ledger.submit(invoice, submitter=MAKER)
    w.ledger.submit(w.receipt(invoice, lines=(GoodsLine("AMOX", "A1", 8),)), submitter=DIST_A)
    position = w.ledger.stock(DIST_A, "AMOX", "A1")
    assert (position.purchased, position.received) == (10, 8)
    violates(
        RuleId.CONSERVATION,
        "lines[0].quantity",
        lambda: w.ledger.submit(w.invoice(SECOND, DIST_A, HOSP, [(A1, 9)]), submitter=DIST_A),
    )


def test_a_sale_dated_or_shipped_before_the_seller_received_the_batch_is_refused(w: World) -> None:
    bought = w.invoice(FIRST, MAKER, DIST_A, [(A1, 10)], issued=date(2024, 5, 10))
    w.ledger.submit(bought, submitter=MAKER)
    w.ledger.submit(w.receipt(bought, received_at=at(date(2024, 5, 12))), submitter=DIST_A)
    early = w.invoice(SECOND, DIST_A, HOSP, [(A1, 5)], issued=date(2024, 5, 11))
    error = violates(RuleId.TIME_ORDER, "issue_date", lambda: w.ledger.submit(early, submitter=DIST_A))
    assert "2024-05-12" in error.message
    shipped_early = w.invoice(
        SECOND, DIST_A, HOSP, [(A1, 5)], issued=date(2024, 5, 13), shipped_at=at(date(2024, 5, 11))
    )
    violates(
        RuleId.TIME_ORDER, "shipment.shipped_at", lambda: w.ledger.submit(shipped_early, submitter=DIST_A)
    )
    onward = w.invoice(
        TRANSFER, DIST_A, DIST_SUB, [(A1, 5)], issued=date(2024, 5, 11), exemption=Exemption.GROUP_TRANSFER
    )
    violates(RuleId.TIME_ORDER, "issue_date", lambda: w.ledger.submit(onward, submitter=DIST_A))
    w.ledger.submit(w.invoice(SECOND, DIST_A, HOSP, [(A1, 5)], issued=date(2024, 5, 12)), submitter=DIST_A)


# --- prescriptions --------------------------------------------------------------------------------


def test_compliant_dispensing_reduces_hospital_stock(w: World) -> None:
    w.stock_hospital()
    w.ledger.submit(w.prescription(items=[(A1, 2, amox_codes(1, 2))]), submitter=HOSP)
    assert w.ledger.stock(HOSP, "AMOX", "A1").on_hand == 8
    assert w.ledger.dispensed_in(amox_codes(2, 1)[0]) == "RX-1"


def test_prescription_roles_and_duplicates(w: World) -> None:
    w.stock_hospital()
    violates(RuleId.ROLE, "hospital", lambda: w.ledger.submit(w.prescription(), submitter=DIST_A))
    violates(
        RuleId.ROLE, "hospital", lambda: w.ledger.submit(w.prescription(hospital=DIST_A), submitter=DIST_A)
    )
    w.ledger.submit(w.prescription(), submitter=HOSP)
    duplicate = w.prescription(items=[(A1, 1, amox_codes(2, 1))])
    violates(RuleId.DUPLICATE_RECORD, "prescription_id", lambda: w.ledger.submit(duplicate, submitter=HOSP))


def test_same_trace_code_dispensed_twice_is_refused(w: World) -> None:
    w.stock_hospital()
    w.ledger.submit(w.prescription(), submitter=HOSP)
    resold = w.prescription(prescription_id="RX-2", who="patient-2")
    error = violates(
        RuleId.TRACE_CODE_REUSED, "items[0].trace_codes[0]", lambda: w.ledger.submit(resold, submitter=HOSP)
    )
    assert "RX-1" in error.message
    twice_in_one = w.prescription(
        items=[(A1, 1, amox_codes(5, 1)), (A1, 1, amox_codes(5, 1))], prescription_id="RX-3"
    )
    violates(
        RuleId.TRACE_CODE_REUSED,
        "items[1].trace_codes[0]",
        lambda: w.ledger.submit(twice_in_one, submitter=HOSP),
    )


def test_a_hospital_dispenses_only_codes_its_own_receipts_brought_in(w: World) -> None:
    w.stock_hospital(HOSP, [(A1, 4, amox_codes(1, 4))])
    w.stock_hospital(HOSP_REMOTE, [(A1, 4, amox_codes(11, 4))])
    # Another hospital's package: refused, and so it cannot block the hospital that holds it.
    grab = w.prescription(HOSP_REMOTE, [(A1, 1, amox_codes(2, 1))], prescription_id="RX-GRAB")
    error = violates(
        RuleId.TRACE_CODE_NOT_RECEIVED,
        "items[0].trace_codes[0]",
        lambda: w.ledger.submit(grab, submitter=HOSP_REMOTE),
    )
    assert HOSP_REMOTE in error.message and amox_codes(2, 1)[0] in error.message
    w.ledger.submit(w.prescription(HOSP, [(A1, 1, amox_codes(2, 1))]), submitter=HOSP)
    w.ledger.submit(
        w.prescription(HOSP_REMOTE, [(A1, 1, amox_codes(11, 1))], prescription_id="RX-2"),
        submitter=HOSP_REMOTE,
    )
    assert w.ledger.received_in(HOSP, amox_codes(2, 1)[0]) is not None
    assert w.ledger.received_in(HOSP_REMOTE, amox_codes(2, 1)[0]) is None


def test_a_receipt_listing_no_codes_receives_the_codes_the_shipment_listed(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 10)])
    sale = w.invoice(SECOND, DIST_A, HOSP, [(A1, 3, amox_codes(1, 3))])
    w.ledger.submit(sale, submitter=DIST_A)
    w.ledger.submit(w.receipt(sale, lines=(GoodsLine("AMOX", "A1", 3),)), submitter=HOSP)
    assert w.ledger.received_in(HOSP, amox_codes(3, 1)[0]) == str(sale.number)
    w.ledger.submit(w.prescription(HOSP, [(A1, 1, amox_codes(3, 1))]), submitter=HOSP)


def test_dispensing_checks_batch_and_codes(w: World) -> None:
    w.stock_hospital()
    unknown = w.prescription(items=[(replace(A1, batch_number="ZZ"), 1)])
    violates(RuleId.UNKNOWN_BATCH, "items[0].batch_number", lambda: w.ledger.submit(unknown, submitter=HOSP))
    foreign = w.prescription(items=[(A1, 1, ("81234990000000000001",))])
    violates(
        RuleId.PRODUCT_BATCH_MATCH,
        "items[0].trace_codes[0]",
        lambda: w.ledger.submit(foreign, submitter=HOSP),
    )
    too_early = w.prescription(when=at(date(2024, 2, 1)))
    violates(RuleId.TIME_ORDER, "prescribed_at", lambda: w.ledger.submit(too_early, submitter=HOSP))


def test_hospital_cannot_dispense_more_than_it_received(w: World) -> None:
    w.stock_hospital(goods=[(A1, 2)])
    violates(
        RuleId.CONSERVATION,
        "items[0].quantity",
        lambda: w.ledger.submit(w.prescription(items=[(A1, 3)]), submitter=HOSP),
    )
    never = w.prescription(hospital=HOSP_REMOTE, items=[(A1, 1)])
    violates(RuleId.CONSERVATION, "items[0].quantity", lambda: w.ledger.submit(never, submitter=HOSP_REMOTE))


def test_recalled_or_expired_batch_cannot_be_dispensed(w: World) -> None:
    w.stock_hospital(goods=[(A1, 5), (A2, 5)])
    expired = w.prescription(items=[(A2, 1)], when=at(date(2024, 7, 1)))
    violates(RuleId.BATCH_EXPIRED, "items[0].batch_number", lambda: w.ledger.submit(expired, submitter=HOSP))
    w.ledger.submit(Recall("AMOX", "A1", "impurity", at(date(2024, 5, 30)), MAKER), submitter=MAKER)
    violates(
        RuleId.BATCH_RECALLED,
        "items[0].batch_number",
        lambda: w.ledger.submit(w.prescription(items=[(A1, 1)]), submitter=HOSP),
    )


# --- adverse events -------------------------------------------------------------------------------


def adverse_event(**changes: object) -> AdverseEvent:
    base = AdverseEvent(
        "ADR-1", HOSP, "RX-1", patient("patient-1"), at(date(2024, 6, 2)), "rash", "AMOX", "A1"
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_adverse_event_is_reported_by_the_dispensing_hospital(w: World) -> None:
    w.stock_hospital()
    w.ledger.submit(w.prescription(), submitter=HOSP)
    w.ledger.submit(adverse_event(), submitter=HOSP)
    assert w.ledger.adverse_event("ADR-1") is not None
    violates(RuleId.DUPLICATE_RECORD, "report_id", lambda: w.ledger.submit(adverse_event(), submitter=HOSP))


@pytest.mark.parametrize(
    ("changes", "submitter", "rule", "field"),
    [
        ({}, DIST_A, RuleId.ROLE, "hospital"),
        ({"hospital": HOSP_REMOTE}, HOSP_REMOTE, RuleId.ROLE, "hospital"),
        ({"prescription_id": "RX-404"}, HOSP, RuleId.UNKNOWN_PRESCRIPTION, "prescription_id"),
        ({"patient_pseudonym": patient("someone else")}, HOSP, RuleId.PATIENT_MISMATCH, "patient_pseudonym"),
        ({"batch_number": "A2"}, HOSP, RuleId.PRODUCT_BATCH_MATCH, "batch_number"),
        ({"reported_at": at(date(2024, 5, 31))}, HOSP, RuleId.TIME_ORDER, "reported_at"),
    ],
)
def test_adverse_event_violations(
    w: World, changes: dict[str, object], submitter: str, rule: RuleId, field: str
) -> None:
    w.stock_hospital()
    w.ledger.submit(w.prescription(), submitter=HOSP)
    violates(rule, field, lambda: w.ledger.submit(adverse_event(**changes), submitter=submitter))


# --- recalls --------------------------------------------------------------------------------------


def recall(**changes: object) -> Recall:
    return replace(Recall("AMOX", "A1", "out of specification", at(date(2024, 6, 1)), REG), **changes)  # type: ignore[arg-type]


def test_regulator_or_manufacturer_recalls_a_batch_once(w: World) -> None:
    w.ledger.submit(recall(), submitter=REG)
    w.ledger.submit(recall(batch_number="A2", by=SALES), submitter=SALES)
    assert w.ledger.recall("AMOX", "A2") is not None
    violates(
        RuleId.BATCH_RECALLED, "batch_number", lambda: w.ledger.submit(recall(by=MAKER), submitter=MAKER)
    )


@pytest.mark.parametrize(
    ("changes", "submitter", "rule", "field"),
    [
        ({"by": DIST_A}, DIST_A, RuleId.ROLE, "by"),
        ({"by": OTHER_MAKER}, OTHER_MAKER, RuleId.ROLE, "by"),
        ({}, MAKER, RuleId.ROLE, "by"),
        ({"batch_number": "NOPE"}, REG, RuleId.UNKNOWN_BATCH, "batch_number"),
        ({"recalled_at": at(date(2024, 2, 1))}, REG, RuleId.TIME_ORDER, "recalled_at"),
    ],
)
def test_recall_violations(
    w: World, changes: dict[str, object], submitter: str, rule: RuleId, field: str
) -> None:
    violates(rule, field, lambda: w.ledger.submit(recall(**changes), submitter=submitter))


# --- general --------------------------------------------------------------------------------------


def test_a_refused_write_leaves_the_ledger_unchanged(w: World) -> None:
    w.trade(FIRST, MAKER, DIST_A, [(A1, 10)])
    before = (len(w.ledger.entries), dict(w.ledger.stock_positions))
    violates(
        RuleId.CONSERVATION,
        "lines[0].quantity",
        lambda: w.ledger.submit(w.invoice(SECOND, DIST_A, HOSP, [(A1, 11)]), submitter=DIST_A),
    )
    assert (len(w.ledger.entries), dict(w.ledger.stock_positions)) == before


def test_check_record_dispatches_every_record_type(w: World) -> None:
    records: list[tuple[object, str]] = [
        (new_party(), DIST_A),
        (replace(AMOX, product_id="X1"), DIST_A),
        (replace(O1, batch_number="O9"), MAKER),
        (w.invoice(FIRST, MAKER, DIST_A), DIST_A),
        (w.receipt(w.invoice(FIRST, MAKER, DIST_A)), DIST_A),
        (w.prescription(), DIST_A),
        (adverse_event(), DIST_A),
        (recall(by=DIST_A), DIST_A),
    ]
    for record, submitter in records:
        with pytest.raises(RuleViolation):
            check_record(record, w.ledger, submitter=submitter)  # type: ignore[arg-type]
