"""kill -9 of one node at a time under load, brought back the documented way: nothing acknowledged is lost.

Six runs (``make reliability``; marker ``faults``): on the session's shared network (one Raft orderer)
a non-gateway peer (the buyer's), the gateway peer (the seller's, which its SDK client is connected
to), the seller's chaincode server and the regulator's peer (an endorser of every write); on the
``raft3`` variant the Raft leader; on ``bft4`` one of the four BFT orderers. Each run is
:func:`faultload.run_fault`: second invoices at C=8 for ``FABRX_RELIABILITY_SECONDS`` seconds (default
40), the node killed a third of the way in and brought back after 5 s. Asserted per run: 0 acknowledged
writes lost, 0 duplicates, every failure typed and carrying its transaction id, 0 failures reported for
a transaction that committed, every acknowledged write's event delivered once to a listener that was
reopened from its checkpoint meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from bench.pharma_workload import PharmaWorkload
from faultload import describe, raft_leader, run_fault
from netsupport import DEFAULT_CONSORTIUM, TEST_PORT_BASE, installed_fabric
from relsupport import FaultRun, Figures, supply

from fabrx.pharma import PharmaClients
from fabrx_network import ConsortiumNetwork, open_network

pytestmark = pytest.mark.faults

DURATION_S = float(os.environ.get("FABRX_RELIABILITY_SECONDS", "40"))
DOWN_S = 5.0
VARIANT_PORT_BASE = TEST_PORT_BASE + 4000  # the suite's block, clear of the shared network
LANE_CAPACITY = 2000


def _assert_clean(run: FaultRun) -> None:
    summary = describe(run)
    assert run.acked > 0, f"nothing was acknowledged: {summary}"
    assert run.lost == 0, summary
    assert run.duplicates == 0, summary
    assert run.failed_untyped == 0, summary
    assert run.failed_without_transaction_id == 0, summary
    assert run.failed_but_committed == 0, summary
    assert run.events_missing == 0 and run.events_duplicated == 0, summary


@pytest.fixture(scope="module")
def shared(network: ConsortiumNetwork) -> Iterator[tuple[PharmaClients, PharmaWorkload]]:
    with PharmaClients(network) as clients:
        yield clients, supply(clients, lanes=8, capacity=LANE_CAPACITY)


@pytest.mark.parametrize(
    ("scenario", "node", "how"),
    [
        ("non-gateway peer", "peer0.HospitalA", "up"),
        ("gateway peer", "peer0.DistributorA", "restart"),
        ("chaincode server", "chaincode.pharma.DistributorA", "restart"),
        ("regulator's peer", "peer0.Regulator", "restart"),
    ],
)
def test_a_node_of_the_shared_network_killed_under_load_loses_nothing_acknowledged(
    network: ConsortiumNetwork,
    shared: tuple[PharmaClients, PharmaWorkload],
    figures: Figures,
    tmp_path: Path,
    scenario: str,
    node: str,
    how: str,
) -> None:
    clients, workload = shared
    run = run_fault(
        network,
        clients,
        workload,
        scenario=scenario,
        node=node,
        how=how,
        duration_s=DURATION_S,
        down_s=DOWN_S,
        workdir=tmp_path,
    )
    figures.faults.append(run)
    print(describe(run))
    _assert_clean(run)


def _variant(tmp_path: Path, consensus: str) -> ConsortiumNetwork:
    data = yaml.safe_load(DEFAULT_CONSORTIUM.read_text(encoding="utf-8"))
    data["port_base"] = VARIANT_PORT_BASE
    config = tmp_path / "consortium.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return open_network(config, tmp_path / "run", consensus=consensus)


def _bft_node(network: ConsortiumNetwork) -> Callable[[], str]:
    org = network.consortium.orderer_org
    return lambda: f"{org.orderers[1].name}.{org.name}"


@pytest.mark.parametrize(
    ("scenario", "consensus"),
    [("Raft leader", "raft3"), ("BFT orderer", "bft4")],
)
def test_an_orderer_killed_under_load_loses_nothing_acknowledged(
    tmp_path: Path, figures: Figures, scenario: str, consensus: str
) -> None:
    network = _variant(tmp_path, consensus)
    try:
        network.up(fabric=installed_fabric())
        with PharmaClients(network) as clients:
            workload = supply(clients, lanes=8, capacity=LANE_CAPACITY)
            node = (lambda: raft_leader(network)) if consensus == "raft3" else _bft_node(network)
            run = run_fault(
                network,
                clients,
                workload,
                scenario=scenario,
                node=node,
                how="restart",
                duration_s=DURATION_S,
                down_s=DOWN_S,
                workdir=tmp_path,
            )
    finally:
        network.down(purge=True)
    figures.faults.append(run)
    print(describe(run))
    _assert_clean(run)
