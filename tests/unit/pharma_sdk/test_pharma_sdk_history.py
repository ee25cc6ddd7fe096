"""The regulator's history queries and the policy over time, through the facade and the real contract on
the memory ledger (its history database answers ``GetHistoryForKey``)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from pharma_sdk_fakes import NOW, LedgerContract, PeerLedger, memory_ledger

from fabrx.pharma import Change, PharmaError, RecordNotFound, Regulator
from fabrx_pharma import Party, TwoInvoicePolicy
from fabrx_pharma.sample import build_sample_scenario

SAMPLE = build_sample_scenario()
PARTY = next(r for r in SAMPLE.records(Party) if isinstance(r, Party) and r.party_id == "DistributorAMSP")


@pytest.fixture
def ledger() -> PeerLedger:
    ledger = memory_ledger(peer_known=True)
    regulator = Regulator(LedgerContract(ledger, "RegulatorMSP"), "RegulatorMSP")
    regulator.bootstrap(SAMPLE.regulator)
    regulator.register_party(PARTY)
    return ledger


def test_the_policy_history_lists_each_change_with_its_transaction_and_time(ledger: PeerLedger) -> None:
    regulator = Regulator(LedgerContract(ledger, "RegulatorMSP"), "RegulatorMSP")
    regulator.set_policy(TwoInvoicePolicy(one_invoice_mode=True))
    switched, bootstrapped = regulator.policy_history()
    assert isinstance(switched, Change) and switched.policy.one_invoice_mode
    assert bootstrapped.policy == TwoInvoicePolicy()
    assert switched.transaction_id != bootstrapped.transaction_id and switched.timestamp == NOW
    assert regulator.read_policy().one_invoice_mode
    assert not regulator.read_policy(at=NOW - timedelta(seconds=1)).one_invoice_mode
    with pytest.raises(PharmaError) as naive:
        regulator.read_policy(at=NOW.replace(tzinfo=None))
    assert naive.value.field == "at"


def test_the_party_history_reads_each_registration_as_a_party(ledger: PeerLedger) -> None:
    regulator = Regulator(LedgerContract(ledger, "RegulatorMSP"), "RegulatorMSP")
    regulator.register_party(dataclasses.replace(PARTY, active=False))
    latest, first = regulator.party_history("DistributorAMSP")
    assert not latest.party.active and first.party.active
    assert latest.anchor.submitter == "RegulatorMSP"
    (record,) = regulator.record_history("party", "RegulatorMSP")
    assert record.party.party_id == "RegulatorMSP"
    with pytest.raises(RecordNotFound):
        regulator.party_history("NobodyMSP")


def test_a_distributor_is_refused_the_history(ledger: PeerLedger) -> None:
    posing = Regulator(LedgerContract(ledger, "DistributorAMSP"), "DistributorAMSP")
    with pytest.raises(PharmaError) as refused:
        posing.policy_history()
    assert (refused.value.rule, refused.value.field) == ("ROLE", "party_id")
