"""Offline signing: every request exposes bytes and digest and is rebuilt with a detached signature."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from fabrx.endpoint import Endpoint
from fabrx.errors import IdentityError
from fabrx.gateway import BlockEventsRequest, Gateway, Network, connect

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


# Each kind of block events request: how to make it, how to rebuild it, the Deliver service the peer
# sees, and the block number of an item.
BLOCK_KINDS = {
    "block": (
        Network.new_block_events_request,
        Gateway.new_signed_block_events_request,
        lambda block: block.header.number,
    ),
    "filtered": (
        Network.new_filtered_block_events_request,
        Gateway.new_signed_filtered_block_events_request,
        lambda block: block.number,
    ),
    "private": (
        Network.new_block_and_private_data_events_request,
        Gateway.new_signed_block_and_private_data_events_request,
        lambda block: block.block.header.number,
    ),
}


@pytest.mark.parametrize("kind", list(BLOCK_KINDS))
def test_block_events_request_signed_offline_reaches_the_peer_with_the_detached_signature(
    unsigned_gateway: Gateway, client: ClientIdentity, fabric: FakeFabric, kind: str
) -> None:
    new_request, new_signed, number_of = BLOCK_KINDS[kind]
    fabric.ledger.append_block([FakeTransaction("t1")])
    unsigned: BlockEventsRequest = new_request(unsigned_gateway.get_network("mychannel"), start_block=1)
    envelope = common_pb2.Envelope.FromString(unsigned.bytes)
    assert envelope.signature == b""
    assert unsigned.digest == hashlib.sha256(envelope.payload).digest()
    assert unsigned.start_block == 1

    signature = client.signer(unsigned.digest)
    request: BlockEventsRequest = new_signed(unsigned_gateway, unsigned.bytes, signature)
    with request.events() as blocks:
        assert number_of(next(blocks)) == 1
    (received_kind, header, seek), received = fabric.received.seek[0], fabric.received.seek_envelopes[0]
    assert received_kind == kind
    assert (received.payload, received.signature) == (envelope.payload, signature)
    assert header.channel_id == "mychannel" and seek.start.specified.number == 1
    assert fabric.rejected == []


def test_block_events_request_from_a_signing_gateway_is_signed_when_opened(
    gateway: Gateway, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.ledger.append_block([FakeTransaction("t1")])
    request = gateway.get_network("mychannel").new_block_events_request(start_block=1)
    assert common_pb2.Envelope.FromString(request.bytes).signature == b""
    with request.events() as blocks:
        assert next(blocks).header.number == 1
    assert fabric.received.seek_envelopes[0].payload == common_pb2.Envelope.FromString(request.bytes).payload
    assert fabric.rejected == []


def test_unsigned_block_events_request_cannot_be_opened(unsigned_gateway: Gateway) -> None:
    request = unsigned_gateway.get_network("mychannel").new_filtered_block_events_request(start_block=0)
    assert request.start_block == 0
    with pytest.raises(IdentityError, match="new_signed_block_events_request"):
        next(request.events())


def test_other_bytes_are_not_rebuilt_as_a_block_events_request(
    unsigned_gateway: Gateway, client: ClientIdentity
) -> None:
    network = unsigned_gateway.get_network("mychannel")
    proposal = network.get_contract("basic").new_proposal("Read")
    events = network.new_chaincode_events_request("basic", start_block=0)
    for foreign in (proposal.bytes, events.bytes):
        with pytest.raises(ValueError, match="not a block events request"):
            unsigned_gateway.new_signed_block_events_request(foreign, b"signature")


def test_offline_signed_block_stream_reuses_its_envelope_until_a_block_arrives_then_cannot_resume(
    unsigned_gateway: Gateway, client: ClientIdentity, fabric: FakeFabric, server: FakeServer
) -> None:
    network = unsigned_gateway.get_network("mychannel")
    unsigned = network.new_block_events_request(start_block=1)
    request = unsigned_gateway.new_signed_block_events_request(unsigned.bytes, client.signer(unsigned.digest))
    with request.events() as blocks:
        # The stream is open (waiting for block 1) when the peer restarts; then block 1 is committed.
        threading.Timer(0.3, server.restart).start()
        threading.Timer(0.6, fabric.ledger.append_block, [[FakeTransaction("t1")]]).start()
        assert next(blocks).header.number == 1
        assert len(fabric.received.seek_envelopes) >= 2
        assert {e.SerializeToString() for e in fabric.received.seek_envelopes} == {request.bytes}
        server.restart()
        with pytest.raises(IdentityError, match="newly signed request"):
            next(blocks)
    assert fabric.rejected == []
