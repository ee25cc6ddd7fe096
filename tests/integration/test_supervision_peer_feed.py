"""The supervision store fed from real peers: the regulator's store reports what the chaincode reports.

The demo scenario writes its story (with its violations) on the session's consortium; the regulator's
feed then reads every block of the pharma channel, with private data, from the regulator's own peer
into an SQLite store, and a hospital's feed reads what the hospital's peer hands over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fabrx.pharma import PharmaClient, PharmaClients
from fabrx.pharma.scenario import ScenarioReport, run_scenario
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork
from fabrx_pharma_supervision import LedgerFeed, SupervisionStore
from fabrx_pharma_supervision.schema import invoice


@pytest.fixture(scope="module")
def clients(network: ConsortiumNetwork) -> Iterator[PharmaClients]:
    with PharmaClients(network) as opened:
        yield opened


@pytest.fixture(scope="module")
def scenario(clients: PharmaClients) -> ScenarioReport:
    return run_scenario(clients)


def height(network: ConsortiumNetwork, org_name: str) -> int:
    org = network.consortium.org(org_name)
    with network.peer_admin(org, org.peers[0]) as admin:
        return int(admin.chain_info("pharma").height)


def test_the_regulators_store_fed_from_its_peer_reports_what_the_chaincode_reports(
    network: ConsortiumNetwork,
    clients: PharmaClients,
    scenario: ScenarioReport,
    gateway_for: object,
    tmp_path: Path,
) -> None:
    regulator = clients.regulator
    chaincode_report = regulator.compliance_report()
    last = height(network, "Regulator") - 1
    channel = gateway_for("Regulator").get_network("pharma")  # type: ignore[operator]
    with SupervisionStore.open(f"sqlite:///{tmp_path / 'regulator.db'}") as store:
        progress = LedgerFeed(store, channel).run(until_block=last, timeout=300)
        assert progress.last_block == last == store.checkpoint("pharma")
        assert progress.missing == ()
        report = store.compliance_report()
        assert len(report) == len(set(report)) == len(chaincode_report)
        assert set(report) == set(chaincode_report)
        assert "RECEIPT_MISSING" in {f.rule.value for f in report}
        (trace,) = scenario.traces
        assert store.trace_prescription(prescription_id=trace.prescription_id) == regulator.trace(
            prescription_id=trace.prescription_id
        )
        scope = scenario.recall_scope
        assert scope is not None
        assert store.recall_scope(scope.product_id, scope.batch_number) == scope
        # Resuming applies nothing twice: a second feed on the same store starts after the checkpoint.
        again = LedgerFeed(store, channel).run(until_block=last, timeout=60)
        assert again.blocks == 0
        assert set(store.compliance_report()) == set(report)


def test_a_hospitals_store_holds_only_what_its_peer_may_read(
    network: ConsortiumNetwork, scenario: ScenarioReport, gateway_for: object, tmp_path: Path
) -> None:
    hospital = network.consortium.org("HospitalA").msp_id
    last = height(network, "HospitalA") - 1
    channel = gateway_for("HospitalA").get_network("pharma")  # type: ignore[operator]
    with SupervisionStore.open(f"sqlite:///{tmp_path / 'hospital.db'}") as store:
        progress = LedgerFeed(store, channel).run(until_block=last, timeout=300)
        assert progress.last_block == last
        assert progress.missing, "other parties' trades must not reach a hospital's peer"
        assert all(all(hospital not in c for c in m.anchor.collections) for m in progress.missing)
        bought = store.purchases(hospital)
        assert bought and all(row.party_id == hospital for row in bought)
        with store.transaction() as connection:
            pairs = {
                (row.seller, row.buyer)
                for row in connection.execute(sa.select(invoice.c.seller, invoice.c.buyer))
            }
        # HospitalA's peer keeps its own purchases and those of the parties it hosts (clinics of other
        # tests in this session), nothing else.
        ledger = PharmaClient(channel.get_contract("pharma"), hospital)
        named = {party_id for pair in pairs for party_id in pair}
        hosted = {party_id for party_id in named if ledger.read_party(party_id).host_msp_id == hospital}
        assert pairs and all(hosted & set(pair) for pair in pairs)


def test_the_feed_command_catches_a_store_up_with_the_regulators_peer(
    network: ConsortiumNetwork, clients: PharmaClients, scenario: ScenarioReport, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    base = ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)]
    result = CliRunner().invoke(
        cli, [*base, "--json", "supervision", "--store", url, "feed", "--org", "Regulator"]
    )
    assert result.exit_code == 0, result.output
    progress = json.loads(result.stdout)
    assert progress["missing"] == 0 and progress["blocks"] > 0
    report = CliRunner().invoke(cli, ["--json", "supervision", "--store", url, "report"])
    assert report.exit_code == 0
    rules = {finding["rule"] for finding in json.loads(report.stdout)}
    assert "RECEIPT_MISSING" in rules
    again = CliRunner().invoke(
        cli, [*base, "--json", "supervision", "--store", url, "feed", "--org", "Regulator"]
    )
    assert again.exit_code == 0
    assert json.loads(again.stdout)["last_block"] >= progress["last_block"]
