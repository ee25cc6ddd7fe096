"""Hosted parties (节点账号): accounts on a member's node, every rule as for members, privacy between them."""

from __future__ import annotations

import pytest
from pharma_cc_world import A1, DIST_A, HOSP, MAKER, REG, RulesWorld, _party

from fabrx_pharma import InvoiceKind, Role
from fabrx_pharma_chaincode import (
    AccessDenied,
    ChaincodeError,
    NotHeldHere,
    composite_key,
    implicit_collection,
)
from fabrx_pharma_chaincode.ledger import PARTY_ATTRIBUTE
from fabrx_pharma_chaincode.service import ROLE_ATTRIBUTE, PharmaService

HOST = "CityHostMSP"
CLINIC_1 = "CLINIC-0001"
CLINIC_2 = "CLINIC-0002"


@pytest.fixture
def world() -> RulesWorld:
    world = RulesWorld()
    world.channel.add_member(HOST)
    for party in (
        _party(HOST, Role.HOST, "MA000020"),
        _party(CLINIC_1, Role.HOSPITAL, "48800021", host_msp_id=HOST),
        _party(CLINIC_2, Role.HOSPITAL, "48800022", host_msp_id=HOST),
    ):
        world.by_id[party.party_id] = party
        world.submit(REG, party)
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 50, ()),)))
    return world


def test_a_hosted_party_trades_under_every_rule_endorsed_by_its_host_and_the_regulator(
    world: RulesWorld,
) -> None:
    assert world.endorsers(CLINIC_1) == (HOST, REG)
    invoice = world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, CLINIC_1, ((A1, 5, ()),)))
    key = composite_key("invoice", str(invoice.number))
    # The buyer's copy is on its host's node from its receipt on; the host keeps its accounts' data.
    assert world.channel.value(implicit_collection(HOST), key) == invoice.to_json()
    stock = world.evaluate(CLINIC_1, lambda s: s.read_stock(CLINIC_1, "AMOX", "A1"))
    assert stock.received == 5
    # The same rules as for a member: dispensing more than received is refused.
    error = world.refuse(CLINIC_1, world.prescription("RX-C1", CLINIC_1, quantity=6))
    assert (error.code, error.field) == ("CONSERVATION", "items[0].quantity")
    world.submit(CLINIC_1, world.prescription("RX-C1", CLINIC_1, quantity=5))


def test_hosted_parties_of_the_same_host_cannot_read_each_others_trade(world: RulesWorld) -> None:
    invoice = world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, CLINIC_1, ((A1, 5, ()),)))
    number = str(invoice.number)
    assert world.evaluate(CLINIC_1, lambda s: s.read_invoice(number)) == invoice
    # CLINIC-2 asks the same host's peer, which holds the copy: the chaincode refuses it.
    with pytest.raises(AccessDenied, match=f"{CLINIC_2} is not a party"):
        world.evaluate(CLINIC_2, lambda s: s.read_invoice(number))
    with pytest.raises(AccessDenied):
        world.evaluate(CLINIC_2, lambda s: s.read_stock(CLINIC_1, "AMOX", "A1"))


def test_another_members_node_keeps_no_copy_of_a_hosted_partys_data(world: RulesWorld) -> None:
    invoice = world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, CLINIC_1, ((A1, 5, ()),)))
    key = composite_key("receipt", str(invoice.number))
    store = world.store(HOSP)
    with pytest.raises(NotHeldHere):
        store.get_private_data(implicit_collection(HOST), key)
    with pytest.raises(AccessDenied):
        world.evaluate(HOSP, lambda s: s.read_receipt(str(invoice.number)), peer=REG)


def test_a_client_cannot_act_for_a_party_its_organization_does_not_host(world: RulesWorld) -> None:
    # A client of HospitalA's organization whose certificate claims CLINIC-0001.
    store = world.channel.transaction(
        HOSP, attributes={PARTY_ATTRIBUTE: CLINIC_1, ROLE_ATTRIBUTE: "hospital"}, peer=HOSP
    )
    with pytest.raises(ChaincodeError) as refused:
        PharmaService(store).read_stock(CLINIC_1, "AMOX", "A1")
    assert (refused.value.code, refused.value.field) == ("ROLE", "party_id")
    assert f"hosted by {HOST}" in refused.value.message


def test_the_host_itself_trades_nothing(world: RulesWorld) -> None:
    invoice = world.invoice(InvoiceKind.SECOND, DIST_A, CLINIC_1, ((A1, 5, ()),))
    world.submit(DIST_A, invoice)
    error = world.refuse(HOST, world.receipt(invoice))
    assert (error.code, error.field) == ("ROLE", "receiver")
