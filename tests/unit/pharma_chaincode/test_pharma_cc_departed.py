"""A member leaves the channel: the records it traded stay on the ledger and under supervision.

When a config update removes an organization, Fabric drops its implicit collection from the chaincode's
view: the peers refuse every read of it, hashes included. The copies the others keep (the seller's
host's and the regulator's) still prove the records, and the regulator's reports run as before.
"""

from __future__ import annotations

import pytest
from pharma_cc_world import A1, DIST_A, MAKER, REG, RulesWorld, _party

from fabrx_pharma import InvoiceKind, Role
from fabrx_pharma_chaincode import CollectionGone, VerificationRequest, implicit_collection

LEAVER = "HospitalDMSP"


@pytest.fixture
def world() -> RulesWorld:
    world = RulesWorld()
    world.channel.add_member(LEAVER)
    party = _party(LEAVER, Role.HOSPITAL, "48830001")
    world.by_id[party.party_id] = party
    world.submit(REG, party)
    return world


def test_the_regulators_reports_and_verification_survive_a_member_leaving(world: RulesWorld) -> None:
    first = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 5, ()),)))
    second = world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, LEAVER, ((A1, 5, ()),)))
    request = VerificationRequest(str(second.number), (first.to_json(),))
    before = world.evaluate(REG, lambda s: s.compliance_report())
    (verified_before,) = world.evaluate(REG, lambda s: s.verify_invoices([request]))
    assert verified_before.verified, verified_before.discrepancies

    world.channel.remove_member(LEAVER)
    store = world.store(REG)
    with pytest.raises(CollectionGone):
        store.get_private_data_hash(implicit_collection(LEAVER), "anything")

    assert world.evaluate(REG, lambda s: s.compliance_report()) == before
    (verified_after,) = world.evaluate(REG, lambda s: s.verify_invoices([request]))
    assert verified_after.verified, verified_after.discrepancies
    assert world.evaluate(REG, lambda s: s.read_invoice(str(second.number))) == second
    assert world.evaluate(DIST_A, lambda s: s.read_invoice(str(second.number))) == second
    # A write still checks the other copies: the distributor sells on to another hospital.
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 3, ()),)))
