"""The policy over time and the regulator's history queries on the real consortium.

The module switches the session's network to one-invoice mode and back (restored in ``finally``, so
later test files find the two-invoice policy they expect), deactivates and reactivates one distributor,
and reads the history of the policy, that party and a record through the SDK facade and the CLI.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner

from fabrx.pharma import PharmaClients, PharmaError, Regulator
from fabrx.pharma.scenario import ScenarioReport, run_scenario
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork
from fabrx_pharma import Invoice, InvoiceKind, InvoiceNumber, Severity
from fabrx_pharma.sample import sample_invoice_number


@pytest.fixture(scope="module")
def clients(network: ConsortiumNetwork) -> Iterator[PharmaClients]:
    with PharmaClients(network) as opened:
        yield opened


@pytest.fixture(scope="module")
def scenario(clients: PharmaClients) -> ScenarioReport:
    return run_scenario(clients)


def _first_invoice(clients: PharmaClients, scenario: ScenarioReport) -> Invoice:
    number = next(
        anchor.key
        for actor, anchor in scenario.writes
        if anchor.record_type == "invoice" and actor == "ManufacturerMSP"
    )
    return clients.manufacturer.read_invoice(number)


def _violations(clients: PharmaClients) -> set[tuple[str, str]]:
    return {
        (f.rule.value, f.subject)
        for f in clients.regulator.compliance_report()
        if f.severity is Severity.VIOLATION
    }


def test_one_invoice_mode_refuses_later_first_invoices_and_flags_none_written_before(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    regulator = clients.regulator
    original = regulator.read_policy()
    assert not original.one_invoice_mode
    earlier = _first_invoice(clients, scenario)
    assert earlier.kind is InvoiceKind.FIRST
    before = _violations(clients)
    fresh = dataclasses.replace(
        earlier, number=InvoiceNumber.parse(sample_invoice_number(earlier.issue_date, 990_000_000_000_002))
    )
    regulator.set_policy(dataclasses.replace(original, one_invoice_mode=True))
    try:
        (switch, *_) = regulator.policy_history()
        assert switch.policy.one_invoice_mode and switch.timestamp is not None
        assert regulator.read_policy().one_invoice_mode
        assert not regulator.read_policy(at=switch.timestamp - timedelta(microseconds=1)).one_invoice_mode
        with pytest.raises(PharmaError) as refused:
            clients.manufacturer.issue_invoice(fresh)
        assert (refused.value.rule, refused.value.field) == ("ONE_INVOICE_MODE", "kind")
        # Every lawful two-invoice record written before the switch is still judged by the policy then.
        after = _violations(clients)
        assert after == before
        assert not any(rule == "ONE_INVOICE_MODE" for rule, _ in after)
    finally:
        regulator.set_policy(original)
    assert regulator.read_policy() == original
    restored, switched, *_ = regulator.policy_history()
    assert restored.policy == original and switched.policy.one_invoice_mode
    assert restored.timestamp is not None and switched.timestamp is not None
    assert restored.timestamp >= switched.timestamp


def test_the_history_of_a_party_lists_its_deactivation_and_reactivation(clients: PharmaClients) -> None:
    regulator = clients.regulator
    regulator.set_party_active("DistributorBMSP", False)
    regulator.set_party_active("DistributorBMSP", True)
    reactivated, deactivated, *older = regulator.party_history("DistributorBMSP")
    assert reactivated.party.active and not deactivated.party.active
    assert reactivated.transaction_id != deactivated.transaction_id
    assert older and older[-1].party.party_id == "DistributorBMSP"
    assert all(change.anchor.submitter == regulator.party_id for change in (reactivated, deactivated))
    with pytest.raises(PharmaError) as unknown:
        regulator.party_history("NoSuchPartyMSP")
    assert (unknown.value.rule, unknown.value.field) == ("NOT_FOUND", "party_id")


def test_the_history_of_a_record_names_the_transaction_that_wrote_its_anchor(
    clients: PharmaClients, scenario: ScenarioReport
) -> None:
    invoice = _first_invoice(clients, scenario)
    anchor = clients.regulator.read_anchor("invoice", str(invoice.number))
    (change,) = clients.regulator.record_history("invoice", str(invoice.number))
    assert change.transaction_id == anchor.transaction_id
    assert change.anchor.hash == anchor.hash and change.timestamp == anchor.timestamp
    assert "lines" not in (change.value or {}).get("public", {})  # the anchor only, no trade terms


def test_only_the_regulator_reads_history(clients: PharmaClients, scenario: ScenarioReport) -> None:
    contract = clients.gateway("DistributorAMSP").get_network("pharma").get_contract("pharma")
    posing = Regulator(contract, "DistributorAMSP")
    number = str(_first_invoice(clients, scenario).number)
    for call in (
        posing.policy_history,
        lambda: posing.party_history("DistributorAMSP"),
        lambda: posing.record_history("invoice", number),
    ):
        with pytest.raises(PharmaError) as refused:
            call()
        assert (refused.value.rule, refused.value.field) == ("ROLE", "party_id")


def test_the_cli_lists_the_history_of_the_policy_and_a_party(network: ConsortiumNetwork) -> None:
    base = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]
    result = CliRunner().invoke(cli, [*base, "--json", "pharma", "--org", "Regulator", "history", "policy"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)
    assert changes and all(c["transaction_id"] and c["timestamp"] for c in changes)
    assert changes[-1]["value"]["one_invoice_mode"] is False  # the bootstrap policy, oldest last
    party = CliRunner().invoke(
        cli, [*base, "pharma", "--org", "Regulator", "history", "party", "HospitalAMSP"]
    )
    assert party.exit_code == 0, party.output
    assert "hospital hosted by HospitalAMSP, active" in party.output
    refused = CliRunner().invoke(cli, [*base, "pharma", "--org", "HospitalA", "history", "policy"])
    assert refused.exit_code != 0
