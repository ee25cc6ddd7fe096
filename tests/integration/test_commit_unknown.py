"""The gateway peer stops between submit and commit status: the outcome is unknown, and the ledger knows.

The transaction reached ordering, so it commits although its client lost the peer it was waiting on.
The client gets ``CommitStatusUnknown`` with the transaction id (never the retryable
``ConnectionFailure``), and once a peer is reachable again ``Network.transaction_status`` shows the
transaction VALID: a retry that asks first records nothing twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

import fabrx
from fabrx.errors import CommitStatusUnknown, ConnectionFailure
from fabrx.gateway import Status, StatusCode
from fabrx_network import ConsortiumNetwork

CHANNEL = "pharma"
GATEWAY_ORG = "Manufacturer"
GATEWAY_PEER = "peer0.Manufacturer"


def _connect(network: ConsortiumNetwork, org_name: str) -> fabrx.Gateway:
    org = network.consortium.org(org_name)
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    return fabrx.connect(network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer)


def _committed(network: fabrx.Network, transaction_id: str, timeout: float = 60.0) -> Status:
    """Ask the ledger until it holds the transaction: a restarted peer first catches up with ordering."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = network.transaction_status(transaction_id)
        except ConnectionFailure:
            status = None  # the peer is still starting: asking is always safe
        if status is not None:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"transaction {transaction_id} not in the ledger after {timeout:g} s")
        time.sleep(0.2)


def test_gateway_peer_stopped_after_submit_gives_an_unknown_outcome_and_the_ledger_shows_it_valid(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    key = f"unknown-outcome-{uuid.uuid4().hex[:8]}"
    with _connect(network, GATEWAY_ORG) as gateway:
        channel = gateway.get_network(CHANNEL)
        proposal = channel.get_contract("asset-py").new_proposal(
            "CreateAsset", args=[key, "amber", "1", "manufacturer", "5"]
        )
        commit = proposal.endorse().submit()
        assert network.stop_node(GATEWAY_PEER)
        try:
            with pytest.raises(CommitStatusUnknown) as caught:
                commit.status()
        finally:
            network.start_node(GATEWAY_PEER)

        error = caught.value
        assert not isinstance(error, ConnectionFailure)
        assert error.transaction_id == commit.transaction_id
        assert error.code == "UNAVAILABLE"
        # The restarted gateway peer's ledger, and another organization's, both hold it VALID.
        own = _committed(channel, commit.transaction_id)
    other = _committed(gateway_for("Regulator").get_network(CHANNEL), commit.transaction_id)
    assert own == other
    assert own.code is StatusCode.VALID and own.block_number > 0
    # A transaction id the ledger never saw: None, not an error.
    assert gateway_for("Regulator").get_network(CHANNEL).transaction_status("0" * 64) is None
    # Later tests choose endorsers through this peer's gateway: let gossip see every peer again.
    network.wait_converged()
