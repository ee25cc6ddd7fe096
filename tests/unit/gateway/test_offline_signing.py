"""Offline signing: every request exposes bytes and digest and is rebuilt with a detached signature."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fabric_protos.gateway import gateway_pb2

from fabrx.endpoint import Endpoint
from fabrx.errors import IdentityError
from fabrx.gateway import Gateway, connect

from .fakes import ClientIdentity, FakeFabric, FakeServer, FakeTransaction


@pytest.fixture
def unsigned_gateway(server: FakeServer, client: ClientIdentity) -> Iterator[Gateway]:
    with connect(Endpoint(address=server.address), identity=client.identity) as gateway:
        yield gateway


def test_gateway_without_signer_refuses_to_sign_with_a_clear_error(unsigned_gateway: Gateway) -> None:
    contract = unsigned_gateway.get_network("mychannel").get_contract("basic")
    with pytest.raises(IdentityError, match=r"no signer.*new_signed_proposal"):
        contract.evaluate_transaction("Read")


def test_full_submit_signed_offline(
    unsigned_gateway: Gateway, client: ClientIdentity, fabric: FakeFabric
) -> None:
    contract = unsigned_gateway.get_network("mychannel").get_contract("basic")
    unsigned = contract.new_proposal("Create", args=["a"], endorsing_organizations=["Org1MSP"])
    proposed = gateway_pb2.ProposedTransaction.FromString(unsigned.bytes)
    assert proposed.proposal.signature == b""
    assert unsigned.digest == hashlib.sha256(proposed.proposal.proposal_bytes).digest()

    proposal = unsigned_gateway.new_signed_proposal(unsigned.bytes, client.signer(unsigned.digest))
    assert proposal.transaction_id == unsigned.transaction_id
    unsigned_transaction = proposal.endorse()
    assert list(fabric.received.endorse[0].endorsing_organizations) == ["Org1MSP"]

    transaction = unsigned_gateway.new_signed_transaction(
        unsigned_transaction.bytes, client.signer(unsigned_transaction.digest)
    )
    assert transaction.result == b"Create a"
    unsigned_commit = transaction.submit()
    commit = unsigned_gateway.new_signed_commit(unsigned_commit.bytes, client.signer(unsigned_commit.digest))
    assert commit.transaction_id == proposal.transaction_id
    assert commit.status().successful
    assert fabric.rejected == []


def test_unsigned_commit_cannot_be_sent(unsigned_gateway: Gateway, client: ClientIdentity) -> None:
    contract = unsigned_gateway.get_network("mychannel").get_contract("basic")
    unsigned = contract.new_proposal("Create")
    transaction = unsigned_gateway.new_signed_proposal(
        unsigned.bytes, client.signer(unsigned.digest)
    ).endorse()
    signed = unsigned_gateway.new_signed_transaction(transaction.bytes, client.signer(transaction.digest))
    with pytest.raises(IdentityError, match="no signer"):
        signed.submit().status()


def test_chaincode_events_request_signed_offline(
    unsigned_gateway: Gateway, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.ledger.append_block([FakeTransaction("t1", "basic", event_name="E", event_payload=b"p")])
    network = unsigned_gateway.get_network("mychannel")
    unsigned = network.new_chaincode_events_request("basic", start_block=1)
    assert (
        unsigned.digest
        == hashlib.sha256(
            gateway_pb2.SignedChaincodeEventsRequest.FromString(unsigned.bytes).request
        ).digest()
    )
    request = unsigned_gateway.new_signed_chaincode_events_request(
        unsigned.bytes, client.signer(unsigned.digest)
    )
    with request.events() as events:
        event = next(events)
    assert (event.block_number, event.transaction_id, event.payload) == (1, "t1", b"p")
    assert fabric.rejected == []


def test_signed_gateway_signs_each_step_itself(gateway: Gateway, fabric: FakeFabric) -> None:
    proposal = gateway.get_network("mychannel").get_contract("basic").new_proposal("Create")
    assert gateway_pb2.ProposedTransaction.FromString(proposal.bytes).proposal.signature == b""
    commit = proposal.endorse().submit()
    assert gateway_pb2.SignedCommitStatusRequest.FromString(commit.bytes).signature != b""
    assert commit.status().successful
    assert fabric.rejected == []
