"""A member leaves the channel: the records it traded stay on the ledger and under supervision.

When a config update removes an organization, Fabric drops its implicit collection from the chaincode's
view: the peers refuse every read of it, hashes included. The copies the others keep (the seller's
host's and the regulator's) still prove the records, and the regulator's reports run as before.
"""

from __future__ import annotations

import pytest
from pharma_cc_world import A1, DIST_A, MAKER, REG, RulesWorld, _party

from fabrx_pharma import InvoiceKind, Party, Role, RuleId
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


def test_a_party_made_inactive_later_is_not_reported_for_what_it_recorded_while_active(
    world: RulesWorld,
) -> None:
    world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 5, ()),)))
    world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, LEAVER, ((A1, 5, ()),)))
    before = world.evaluate(REG, lambda s: s.compliance_report())

    party = world.by_id[LEAVER]
    world.submit(REG, Party.from_dict({**party.to_dict(), "active": False}))
    # Its invoice and receipt were lawful when written: the report judges them as then.
    after = world.evaluate(REG, lambda s: s.compliance_report())
    assert after == before
    assert not [f for f in after if f.rule is RuleId.PARTY_INACTIVE]
    # From now on it records nothing (refused at write).
    error = world.refuse(DIST_A, world.invoice(InvoiceKind.SECOND, DIST_A, LEAVER, ((A1, 1, ()),)))
    assert error.code == "PARTY_INACTIVE"
