"""Privacy: who can read which collection, what the public state shows, and the endorsement design."""

from __future__ import annotations

import json

import pytest
from pharma_cc_world import SCENARIO, Consortium, sample_consortium

from fabrx_pharma import Invoice, Prescription, ValidationError
from fabrx_pharma.sample import (
    DISTRIBUTOR_A,
    DISTRIBUTOR_B,
    HOSPITAL_A,
    HOSPITAL_B,
    MANUFACTURER,
    REGULATOR,
)
from fabrx_pharma_chaincode import (
    AccessDenied,
    NotHeldHere,
    chaincode_endorsement_policy,
    composite_key,
    copy_collections,
    endorsing_organizations,
    implicit_collection,
)
from fabrx_pharma_chaincode.testing import EndorsementPolicyFailure


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
    assert f"{HOSPITAL_A} is not a party to invoice" in caught.value.message


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


def test_a_peer_stores_only_its_own_organizations_copies(world: Consortium) -> None:
    theirs = invoice_between(DISTRIBUTOR_B, HOSPITAL_B)
    key = composite_key("invoice", str(theirs.number))
    store = world.store(HOSPITAL_A)
    with pytest.raises(NotHeldHere):
        store.get_private_data(implicit_collection(DISTRIBUTOR_B), key)
    # The hash of a private value is public, as in Fabric.
    assert store.get_private_data_hash(implicit_collection(DISTRIBUTOR_B), key) is not None


def test_an_invoices_copies_are_the_sellers_and_the_regulators_then_the_buyers_with_its_receipt(
    world: Consortium,
) -> None:
    invoice = invoice_between(DISTRIBUTOR_A, HOSPITAL_A)
    key = composite_key("invoice", str(invoice.number))
    holders = {c for c, values in world.channel.private.items() if key in values}
    # The sample story records HospitalA's receipt of this invoice, which brings the buyer its copy.
    assert holders == {
        implicit_collection(DISTRIBUTOR_A),
        implicit_collection(REGULATOR),
        implicit_collection(HOSPITAL_A),
    }
    anchor = world.run(HOSPITAL_A, lambda s: s.read_anchor("invoice", str(invoice.number)))
    assert anchor.collections == (implicit_collection(DISTRIBUTOR_A), implicit_collection(REGULATOR))
    assert anchor.parties == (DISTRIBUTOR_A, HOSPITAL_A)


def test_a_buyer_reads_its_invoice_through_the_sellers_or_the_regulators_peer_before_its_receipt() -> None:
    world = sample_consortium()
    invoice = invoice_between(DISTRIBUTOR_A, HOSPITAL_A)
    number = str(invoice.number)
    for peer in (DISTRIBUTOR_A, REGULATOR, HOSPITAL_A):
        assert world.evaluate(HOSPITAL_A, lambda s: s.read_invoice(number), peer=peer) == invoice
    with pytest.raises(AccessDenied, match="keeps no copy"):
        world.evaluate(HOSPITAL_A, lambda s: s.read_invoice(number), peer=HOSPITAL_B)
    with pytest.raises(AccessDenied, match="not a party"):
        world.evaluate(HOSPITAL_B, lambda s: s.read_invoice(number), peer=REGULATOR)


def test_the_public_state_holds_no_prices_lines_patients_or_raw_materials(world: Consortium) -> None:
    public = b"".join(value for value, _ in world.channel.public.values()).decode("utf-8")
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
        world.channel.public[next(k for k in world.channel.public if str(invoice.number) in k)][0]
    )
    assert anchor["public"]["seller"] == DISTRIBUTOR_A
    assert anchor["public"]["kind"] == "second"
    assert len(anchor["hash"]) == 64


def test_the_endorsement_policy_and_the_endorsers_do_not_grow_with_the_members() -> None:
    assert chaincode_endorsement_policy(REGULATOR) == f"OR('{REGULATOR}.peer')"
    assert endorsing_organizations(DISTRIBUTOR_A, REGULATOR) == (DISTRIBUTOR_A, REGULATOR)
    assert endorsing_organizations(REGULATOR, REGULATOR) == (REGULATOR,)
    assert copy_collections(["CityHostMSP", "CityHostMSP"], REGULATOR) == (
        "_implicit_org_CityHostMSP",
        f"_implicit_org_{REGULATOR}",
    )
    with pytest.raises(ValidationError):
        chaincode_endorsement_policy("not an msp id")


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


def test_altered_chaincode_on_one_peer_cannot_write_a_record_of_another_party(world: Consortium) -> None:
    # DistributorB's peer runs altered chaincode that writes a "second invoice of DistributorA" straight
    # into DistributorA's collection, and the regulator's peer is fooled too: the write still needs
    # DistributorA's own peer, whose implicit collection it is.
    forged = invoice_between(DISTRIBUTOR_A, HOSPITAL_A)
    store = world.store(DISTRIBUTOR_B)
    store.put_private_data(implicit_collection(DISTRIBUTOR_A), "\x00invoice\x00forged\x00", forged.to_json())
    store.put_state("\x00invoice\x00forged\x00", b"{}")
    with pytest.raises(EndorsementPolicyFailure, match=f"needs {DISTRIBUTOR_A}.peer"):
        store.check_policies([DISTRIBUTOR_B, REGULATOR])
    with pytest.raises(EndorsementPolicyFailure, match=f"needs {REGULATOR}.peer"):
        store.check_policies([DISTRIBUTOR_B, DISTRIBUTOR_A])
