"""The policy in force over time, and the regulator's history transactions, on the in-memory channel."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pharma_cc_world import DIST_A, MAKER, REG, SCENARIO, RulesWorld, sample_consortium

from fabrx_pharma import Invoice, InvoiceKind, Party, RuleId
from fabrx_pharma.sample import DISTRIBUTOR_A, HOSPITAL_A, REGULATOR
from fabrx_pharma_chaincode import NotFound, PharmaService, RecordRefused, RuleRefused, encode
from fabrx_pharma_chaincode.layout import POLICY_KEY, POLICY_VERSIONS_KEY

ONE_INVOICE = b'{"one_invoice_mode": true}'


def test_switching_to_one_invoice_mode_does_not_flag_the_lawful_two_invoice_records_before_it() -> None:
    world = sample_consortium()
    switch = world.channel.now + timedelta(days=1)
    world.run(REGULATOR, lambda s: s.set_policy(ONE_INVOICE), timestamp=switch)
    assert world.run(REGULATOR, PharmaService.read_policy).one_invoice_mode
    assert not world.run(REGULATOR, lambda s: s.read_policy(switch - timedelta(seconds=1))).one_invoice_mode
    assert world.run(REGULATOR, lambda s: s.compliance_report()) == []
    assert world.run(REGULATOR, lambda s: s.diversion_signals()) == []


def test_a_write_is_checked_by_the_policy_in_force_at_its_transaction_time() -> None:
    world = RulesWorld()
    switch = world.channel.now + timedelta(hours=1)
    world.run(REG, lambda s: s.set_policy(ONE_INVOICE), timestamp=switch)
    first = world.invoice(InvoiceKind.FIRST, MAKER, DIST_A)
    refused = world.refuse(MAKER, first, timestamp=switch + timedelta(minutes=1))
    assert (refused.code, refused.field) == (RuleId.ONE_INVOICE_MODE.value, "kind")
    # The same invoice in a transaction dated before the switch was lawful then, and is still judged so.
    world.submit(MAKER, first, timestamp=switch - timedelta(minutes=1))
    report = world.run(REG, lambda s: s.compliance_report())
    assert [f for f in report if f.rule is RuleId.ONE_INVOICE_MODE] == []
    world.run(REG, lambda s: s.set_policy(b"{}"), timestamp=switch + timedelta(hours=1))
    assert world.run(REG, lambda s: s.read_policy(switch + timedelta(minutes=30))).one_invoice_mode


def test_a_policy_change_dated_before_the_one_in_force_is_refused_and_writes_nothing() -> None:
    world = RulesWorld()
    switch = world.channel.now + timedelta(hours=1)
    world.run(REG, lambda s: s.set_policy(ONE_INVOICE), timestamp=switch)
    store = world.store(REG, timestamp=switch - timedelta(seconds=1))
    with pytest.raises(RuleRefused) as caught:
        PharmaService(store).set_policy(b"{}")
    assert (caught.value.code, caught.value.field) == (RuleId.TIME_ORDER.value, "effective_from")
    assert not store.written


def test_the_policy_versions_are_kept_with_their_times_and_transactions() -> None:
    world = RulesWorld()
    switch = world.channel.now + timedelta(hours=1)
    world.run(REG, lambda s: s.set_policy(ONE_INVOICE), timestamp=switch)
    versions = json.loads(world.channel.public_value(POLICY_VERSIONS_KEY) or b"")
    assert [v["policy"]["one_invoice_mode"] for v in versions] == [False, True]
    assert versions[1]["effective_from"] == switch.isoformat()
    assert versions[0]["transaction_id"] and versions[1]["transaction_id"] != versions[0]["transaction_id"]
    # config/policy still holds the policy in force, as before.
    assert json.loads(world.channel.public_value(POLICY_KEY) or b"")["one_invoice_mode"] is True


def test_a_ledger_without_policy_versions_reads_its_policy_as_in_force_from_the_start() -> None:
    world = RulesWorld()
    del world.channel.public[POLICY_VERSIONS_KEY]
    switch = world.channel.now + timedelta(hours=1)
    world.run(REG, lambda s: s.set_policy(ONE_INVOICE), timestamp=switch)
    assert not world.run(REG, lambda s: s.read_policy(switch - timedelta(days=3650))).one_invoice_mode
    assert world.run(REG, lambda s: s.read_policy(switch)).one_invoice_mode


# --- history ------------------------------------------------------------------------------------------------


def test_the_regulator_lists_every_change_of_the_policy_newest_first() -> None:
    world = RulesWorld()
    switch = world.channel.now + timedelta(hours=1)
    world.run(REG, lambda s: s.set_policy(ONE_INVOICE), timestamp=switch)
    changes = world.evaluate(REG, PharmaService.policy_history)
    assert [c.timestamp for c in changes] == [switch, world.channel.now]
    data = json.loads(encode(changes))
    assert data[0]["value"]["one_invoice_mode"] is True and data[1]["value"]["one_invoice_mode"] is False
    assert data[0]["transaction_id"] and data[0]["is_delete"] is False


def test_the_history_of_a_party_shows_its_registration_and_deactivation() -> None:
    world = sample_consortium()
    later = world.channel.now + timedelta(days=2)
    party = next(p for _, p in SCENARIO.writes if isinstance(p, Party) and p.party_id == HOSPITAL_A)
    world.run(REGULATOR, lambda s: s.register_party(party.to_json()), timestamp=later)  # an update
    inactive = Party.from_dict({**party.to_dict(), "active": False})
    world.submit(REGULATOR, inactive, timestamp=later + timedelta(hours=1))
    changes = world.evaluate(REGULATOR, lambda s: s.party_history(HOSPITAL_A))
    assert len(changes) == 3
    values = [json.loads(c.value) for c in changes]
    assert values[0]["public"].get("active") is False
    assert "active" not in values[-1]["public"]
    assert changes[0].timestamp == later + timedelta(hours=1)


def test_the_history_of_a_record_lists_its_anchor_transactions() -> None:
    world = sample_consortium()
    invoice = next(r for _, r in SCENARIO.writes if isinstance(r, Invoice) and r.seller == DISTRIBUTOR_A)
    (change,) = world.evaluate(REGULATOR, lambda s: s.record_history("invoice", str(invoice.number)))
    anchor = world.evaluate(REGULATOR, lambda s: s.read_anchor("invoice", str(invoice.number)))
    assert change.transaction_id == anchor.transaction_id
    assert json.loads(change.value)["hash"] == anchor.hash
    line = invoice.lines[0]
    (batch_change,) = world.evaluate(
        REGULATOR, lambda s: s.record_history("batch", line.product_id, line.batch_number)
    )
    assert json.loads(batch_change.value)["record_type"] == "batch"


def test_only_regulators_read_history() -> None:
    world = sample_consortium()
    for call in (
        PharmaService.policy_history,
        lambda s: s.party_history(HOSPITAL_A),
        lambda s: s.record_history("party", HOSPITAL_A),
    ):
        with pytest.raises(RuleRefused) as caught:
            world.evaluate(DISTRIBUTOR_A, call)
        assert (caught.value.code, caught.value.field) == ("ROLE", "party_id")


@pytest.mark.parametrize(
    ("args", "error", "field"),
    [
        (("shipment", "X"), RecordRefused, "record_type"),
        (("batch", "AMOX"), RecordRefused, "key"),
        (("invoice", "not-a-number"), RecordRefused, "key"),
        (("prescription", "RX-NOBODY"), NotFound, "key"),
        (("prescription", "RX\x00A"), RecordRefused, "key"),
    ],
)
def test_a_bad_history_query_names_what_is_wrong(args: tuple[str, ...], error: type, field: str) -> None:
    world = sample_consortium()
    with pytest.raises(error) as caught:
        world.evaluate(REGULATOR, lambda s: s.record_history(*args))
    assert caught.value.field == field
    with pytest.raises(NotFound):
        world.evaluate(REGULATOR, lambda s: s.party_history("NobodyMSP"))
    with pytest.raises(RecordRefused) as nul:
        world.evaluate(REGULATOR, lambda s: s.party_history("Nobody\x00MSP"))
    assert nul.value.field == "party_id"
