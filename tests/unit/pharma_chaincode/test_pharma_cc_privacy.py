"""Privacy: who can read which collection, what the public state shows, and the endorsement design."""

from __future__ import annotations

import json

import pytest
from pharma_cc_world import SCENARIO, Consortium, sample_consortium

from fabrx_pharma import Invoice, Party, Prescription, Role, ValidationError
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
    AccessDenied,
    chaincode_endorsement_policy,
    collection_plan,
)
from fabrx_pharma_chaincode.testing import CollectionAccessError


@pytest.fixture(scope="module")
def world() -> Consortium:
    return sample_consortium()


def invoice_between(seller: str, buyer: str) -> Invoice:
    for record in SCENARIO.records(Invoice):
        assert isinstance(record, Invoice)
        if (record.seller, record.buyer) == (seller, buyer):
            return record
    raise AssertionError(f"no sample invoice {seller} -> {buyer}")


def test_a_hospital_cannot_read_another_hospitals_trade(world: Consortium) -> None:
    theirs = invoice_between(DISTRIBUTOR_B, HOSPITAL_B)
    with pytest.raises(AccessDenied) as caught:
        world.run(HOSPITAL_A, lambda s: s.read_invoice(str(theirs.number)))
    assert (caught.value.code, caught.value.field) == ("PRIVATE_DATA", "number")
    assert f"trade_{DISTRIBUTOR_B}_{HOSPITAL_B}" in caught.value.message


def test_a_competing_distributor_cannot_read_a_rivals_trade_or_books(world: Consortium) -> None:
    rival = invoice_between(MANUFACTURER, DISTRIBUTOR_A)
    with pytest.raises(AccessDenied):
        world.run(DISTRIBUTOR_B, lambda s: s.read_invoice(str(rival.number)))
    with pytest.raises(AccessDenied):
        world.run(DISTRIBUTOR_B, lambda s: s.read_stock(DISTRIBUTOR_A, "AMOX-0.25G-24", "A240301"))


def test_a_hospital_cannot_read_another_hospitals_prescriptions(world: Consortium) -> None:
    prescription = next(p for p in SCENARIO.records(Prescription) if isinstance(p, Prescription))
    assert prescription.hospital == HOSPITAL_A
    with pytest.raises(AccessDenied):
        world.run(HOSPITAL_B, lambda s: s.read_prescription(prescription.prescription_id))


def test_the_peer_itself_refuses_non_members(world: Consortium) -> None:
    store = world.store(HOSPITAL_A)
    with pytest.raises(CollectionAccessError):
        store.get_private_data(f"trade_{DISTRIBUTOR_B}_{HOSPITAL_B}", "any")
    with pytest.raises(CollectionAccessError):
        store.put_private_data(f"trade_{DISTRIBUTOR_B}_{HOSPITAL_B}", "any", b"x")
    # The hash of a private value is public, as in Fabric.
    assert store.get_private_data_hash(f"trade_{DISTRIBUTOR_B}_{HOSPITAL_B}", "any") is None


def test_the_public_state_holds_no_prices_lines_patients_or_raw_materials(world: Consortium) -> None:
    public = b"".join(world.channel.public.values()).decode("utf-8")
    public += "".join(payload.decode("utf-8") for _, payload in world.channel.events)
    for secret in (
        "unit_price",
        "amount",
        "total",
        "lines",
        "patient_pseudonym",
        "description",
        "API-2402-17",
    ):
        assert secret not in public, secret
    for prescription in SCENARIO.records(Prescription):
        assert isinstance(prescription, Prescription)
        assert prescription.patient_pseudonym not in public
        for item in prescription.items:
            for code in item.trace_codes:
                assert code not in public  # the dispensing index is keyed by the code's hash


def test_the_public_state_does_show_what_supervision_needs(world: Consortium) -> None:
    invoice = invoice_between(DISTRIBUTOR_A, HOSPITAL_A)
    anchor = json.loads(
        world.channel.public[next(k for k in world.channel.public if str(invoice.number) in k)]
    )
    assert anchor["public"]["seller"] == DISTRIBUTOR_A
    assert anchor["public"]["kind"] == "second"
    assert len(anchor["hash"]) == 64


def test_collection_plan_names_every_trading_pair_and_books_by_msp_id() -> None:
    parties = [record for _, record in SCENARIO.writes if isinstance(record, Party)]
    plan = {spec.name: spec for spec in collection_plan([SCENARIO.regulator, *parties])}
    assert set(plan) == {
        f"trade_{MANUFACTURER}_{DISTRIBUTOR_A}",
        f"trade_{MANUFACTURER}_{DISTRIBUTOR_B}",
        f"trade_{MANUFACTURER}_{HOSPITAL_A}",
        f"trade_{MANUFACTURER}_{HOSPITAL_B}",
        f"trade_{DISTRIBUTOR_A}_{DISTRIBUTOR_B}",
        f"trade_{DISTRIBUTOR_A}_{HOSPITAL_A}",
        f"trade_{DISTRIBUTOR_A}_{HOSPITAL_B}",
        f"trade_{DISTRIBUTOR_B}_{HOSPITAL_A}",
        f"trade_{DISTRIBUTOR_B}_{HOSPITAL_B}",
        *(f"books_{p.msp_id}" for p in parties),
    }
    trade = plan[f"trade_{DISTRIBUTOR_A}_{HOSPITAL_A}"]
    assert trade.members == (DISTRIBUTOR_A, HOSPITAL_A, REGULATOR)
    assert trade.policy == f"OR('{DISTRIBUTOR_A}.member', '{HOSPITAL_A}.member', '{REGULATOR}.member')"
    assert (
        trade.endorsement_policy
        == f"AND('{REGULATOR}.peer', OR('{DISTRIBUTOR_A}.peer', '{HOSPITAL_A}.peer'))"
    )
    assert (trade.member_only_read, trade.member_only_write, trade.block_to_live) == (True, True, 0)
    books = plan[f"books_{DISTRIBUTOR_A}"]
    assert books.members == (DISTRIBUTOR_A, REGULATOR)
    assert (books.member_only_read, books.member_only_write, books.endorsement_policy) == (True, True, None)


def test_a_sales_company_is_a_member_of_its_makers_books() -> None:
    maker = Party("MakerMSP", Role.MANUFACTURER, "maker", sample_uscc("91", "350100", "MA000001"))
    sales = Party(
        "SalesMSP",
        Role.DISTRIBUTOR,
        "sales",
        sample_uscc("91", "350100", "MA000002"),
        counts_as_manufacturer_of=("MakerMSP",),
    )
    plan = {spec.name: spec for spec in collection_plan([SCENARIO.regulator, maker, sales])}
    assert plan["books_MakerMSP"].members == ("MakerMSP", "SalesMSP", REGULATOR)


def test_the_endorsement_policy_needs_the_regulator_and_one_more_organization() -> None:
    parties = [SCENARIO.regulator] + [r for _, r in SCENARIO.writes if isinstance(r, Party)]
    policy = chaincode_endorsement_policy(parties)
    assert policy == (
        f"AND('{REGULATOR}.peer', OutOf(1, '{MANUFACTURER}.peer', '{DISTRIBUTOR_A}.peer', "
        f"'{DISTRIBUTOR_B}.peer', '{HOSPITAL_A}.peer', '{HOSPITAL_B}.peer'))"
    )
    with pytest.raises(ValidationError, match="needs a regulator"):
        chaincode_endorsement_policy(parties[1:])


def test_a_peer_running_altered_chaincode_cannot_get_the_regulator_to_endorse_a_forgery(
    world: Consortium,
) -> None:
    # DistributorB's client submits a second invoice attributed to DistributorA. Whatever DistributorB's
    # own peer returns, the regulator's honest peer runs this check and refuses to endorse.
    forged = Invoice.from_dict(
        {**invoice_between(DISTRIBUTOR_A, HOSPITAL_A).to_dict(), "number": "24352000000000007001"}
    )
    error = world.refuse(DISTRIBUTOR_B, forged)
    assert (error.code, error.field) == ("ROLE", "seller")
