"""Evaluate and submit through the sync Gateway against the fake gateway peer."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2

from fabrx.endpoint import Endpoint
from fabrx.errors import (
    ArgumentError,
    ArgumentTypeError,
    CommitError,
    CommitStatusError,
    CommitStatusUnknown,
    ConnectionFailure,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
)
from fabrx.gateway import Gateway, Status, StatusCode, Timeouts, connect

from .fakes import ClientIdentity, FakeFabric, FakeServer, Invocation


def contract_of(gateway: Gateway, contract_name: str | None = None):
    return gateway.get_network("mychannel").get_contract("basic", contract_name)


def test_evaluate_returns_the_chaincode_result_and_sends_str_and_bytes_args(
    gateway: Gateway, fabric: FakeFabric
) -> None:
    assert (
        contract_of(gateway).evaluate_transaction("ReadAsset", "asset1", b"\x00\xff")
        == b"ReadAsset asset1 \x00\xff"
    )
    [invocation] = fabric.received.invocations
    assert invocation.chaincode_name == "basic"
    assert invocation.channel_id == "mychannel"
    assert invocation.args == [b"asset1", b"\x00\xff"]
    assert fabric.received.submit == []


def test_contract_name_qualifies_the_transaction_name(gateway: Gateway, fabric: FakeFabric) -> None:
    contract_of(gateway, "AssetContract").evaluate_transaction("ReadAsset")
    assert fabric.received.invocations[0].transaction_name == "AssetContract:ReadAsset"


def test_transaction_id_is_sha256_of_nonce_and_creator(gateway: Gateway, fabric: FakeFabric) -> None:
    proposal = contract_of(gateway).new_proposal("ReadAsset")
    proposal.evaluate()
    request = fabric.received.evaluate[0]
    header = common_pb2.Header.FromString(
        proposal_pb2.Proposal.FromString(request.proposed_transaction.proposal_bytes).header
    )
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert signature_header.creator == gateway.identity.serialize()
    assert request.transaction_id == proposal.transaction_id
    assert (
        proposal.transaction_id
        == hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
    )


def test_transient_data_and_endorsing_organizations_reach_the_peers(
    gateway: Gateway, fabric: FakeFabric
) -> None:
    contract = contract_of(gateway)
    contract.submit_transaction(
        "CreatePrivate",
        "k",
        transient={"price": b"\x01\x02", "note": "text"},
        endorsing_organizations=["Org1MSP"],
    )
    contract.evaluate_transaction("ReadPrivate", endorsing_organizations=["Org2MSP"])
    endorse_invocation, evaluate_invocation = fabric.received.invocations
    assert endorse_invocation.transient == {"price": b"\x01\x02", "note": b"text"}
    assert list(fabric.received.endorse[0].endorsing_organizations) == ["Org1MSP"]
    assert list(fabric.received.evaluate[0].target_organizations) == ["Org2MSP"]
    assert evaluate_invocation.transient == {}


def test_transient_data_is_not_written_into_the_transaction(gateway: Gateway, fabric: FakeFabric) -> None:
    contract_of(gateway).submit_transaction("CreatePrivate", transient={"secret": b"s3cr3t"})
    assert b"s3cr3t" not in fabric.received.submit[0].prepared_transaction.payload


def test_submit_transaction_returns_result_once_committed(gateway: Gateway, fabric: FakeFabric) -> None:
    result = contract_of(gateway).submit_transaction("CreateAsset", "asset1", "blue")
    assert result == b"CreateAsset asset1 blue"
    [submit] = fabric.received.submit
    assert fabric.ledger.find(submit.transaction_id) is not None
    [status_request] = fabric.received.commit_status
    assert status_request.transaction_id == submit.transaction_id
    assert status_request.channel_id == "mychannel"
    assert status_request.identity == gateway.identity.serialize()


def test_submit_transaction_raises_commit_error_with_validation_code(
    gateway: Gateway, fabric: FakeFabric
) -> None:
    fabric.validation_code = lambda invocation: StatusCode.MVCC_READ_CONFLICT
    with pytest.raises(CommitError) as caught:
        contract_of(gateway).submit_transaction("UpdateAsset", "asset1")
    assert caught.value.validation_code == "MVCC_READ_CONFLICT"
    assert caught.value.transaction_id == fabric.received.submit[0].transaction_id
    assert caught.value.block_number == 1
    assert "MVCC_READ_CONFLICT" in str(caught.value)


def test_submit_async_returns_result_and_a_commit_to_wait_for(gateway: Gateway, fabric: FakeFabric) -> None:
    fabric.validation_code = lambda invocation: StatusCode.ENDORSEMENT_POLICY_FAILURE
    result, commit = contract_of(gateway).submit_async("CreateAsset", "a")
    assert result == b"CreateAsset a"
    status = commit.status()
    assert status == Status(commit.transaction_id, StatusCode.ENDORSEMENT_POLICY_FAILURE, 1)
    assert not status.successful


def test_step_by_step_proposal_endorse_submit_status(gateway: Gateway, fabric: FakeFabric) -> None:
    proposal = contract_of(gateway).new_proposal("CreateAsset", args=["a", b"b"])
    assert proposal.evaluate() == b"CreateAsset a b"
    transaction = proposal.endorse()
    assert transaction.result == b"CreateAsset a b"
    assert transaction.transaction_id == proposal.transaction_id
    commit = transaction.submit()
    status = commit.status()
    assert status.successful and status.code is StatusCode.VALID
    assert status.block_number == fabric.ledger.find(proposal.transaction_id)[0]  # type: ignore[index]


def test_non_text_arguments_are_rejected_with_a_clear_error(gateway: Gateway) -> None:
    with pytest.raises(TypeError, match="must be str or bytes, not int"):
        contract_of(gateway).evaluate_transaction("ReadAsset", 42)  # type: ignore[arg-type]


def test_wrongly_typed_transient_endorsers_timeout_and_transaction_ids_are_argument_errors(
    gateway: Gateway,
) -> None:
    # Each of these raised a bare AttributeError or TypeError, or read "RegulatorMSP" as 12 MSP ids.
    contract = contract_of(gateway)
    with pytest.raises(ArgumentTypeError, match="transient must be a mapping"):
        contract.evaluate_transaction("ReadAsset", transient=[("k", "v")])  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match=r"endorsing_organizations must be a list .*\['Org1MSP'\]"):
        contract.submit_transaction("ReadAsset", endorsing_organizations="Org1MSP")
    with pytest.raises(ArgumentError, match="timeout must be a positive number of seconds, got '5'"):
        contract.evaluate_transaction("ReadAsset", timeout="5")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="not a transaction id: 5"):
        gateway.get_network("mychannel").transaction_status(5)  # type: ignore[arg-type]


DETAIL = ErrorDetail(
    address="peer1.org2.example.com:9051", msp_id="Org2MSP", message="chaincode response 500, no"
)


@pytest.mark.parametrize(
    ("step", "error_type", "call"),
    [
        ("evaluate", GatewayError, lambda c: c.evaluate_transaction("Read")),
        ("endorse", EndorseError, lambda c: c.submit_transaction("Create")),
        ("submit", SubmitError, lambda c: c.submit_transaction("Create")),
        ("commit_status", CommitStatusUnknown, lambda c: c.submit_transaction("Create")),
    ],
)
def test_step_failures_raise_the_step_error_with_peer_details(
    gateway: Gateway, fabric: FakeFabric, step: str, error_type: type[GatewayError], call
) -> None:
    fabric.fail(step, grpc.StatusCode.ABORTED, f"{step} went wrong", DETAIL)
    with pytest.raises(error_type) as caught:
        call(contract_of(gateway))
    error = caught.value
    assert type(error) is error_type
    assert not isinstance(error, grpc.RpcError)
    assert error.code == "ABORTED"
    assert error.details == (DETAIL,)
    requests = fabric.received.evaluate or fabric.received.endorse
    assert error.transaction_id == requests[0].transaction_id
    assert f"{step} went wrong" in str(error)
    assert "peer1.org2.example.com:9051 (Org2MSP)" in str(error)


def test_chaincode_error_is_an_endorse_error_naming_the_peer(gateway: Gateway, fabric: FakeFabric) -> None:
    def refuse(invocation: Invocation) -> bytes:
        raise ValueError("asset1 already exists")

    fabric.handler = refuse
    with pytest.raises(EndorseError) as caught:
        contract_of(gateway).submit_transaction("CreateAsset", "asset1")
    assert caught.value.transaction_id
    [detail] = caught.value.details
    assert detail.msp_id == "Org1MSP"
    assert "asset1 already exists" in detail.message


def test_unreachable_peer_is_a_connection_failure(client: ClientIdentity, server: FakeServer) -> None:
    server.stop()
    gateway = connect(Endpoint(address=server.address), identity=client.identity, signer=client.signer)
    with gateway, pytest.raises(ConnectionFailure) as caught:
        contract_of(gateway).evaluate_transaction("Read")
    assert caught.value.code == "UNAVAILABLE"


def test_commit_status_deadline_raises_commit_status_error(
    client: ClientIdentity, server: FakeServer, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False
    timeouts = Timeouts(commit_status=0.2)
    with connect(
        Endpoint(address=server.address), identity=client.identity, signer=client.signer, timeouts=timeouts
    ) as gw:
        _, commit = contract_of(gw).submit_async("Create")
        with pytest.raises(CommitStatusError) as caught:
            commit.status()
        assert caught.value.code == "DEADLINE_EXCEEDED"
        assert caught.value.transaction_id == commit.transaction_id
        fabric.commit(fabric.received.invocations[0])
        assert commit.status(timeout=2).successful


def test_caller_owned_channel_stays_open_after_gateway_close(
    client: ClientIdentity, server: FakeServer
) -> None:
    channel = grpc.insecure_channel(server.address)
    try:
        with connect(channel=channel, identity=client.identity, signer=client.signer) as gateway:
            contract_of(gateway).evaluate_transaction("Read")
        with connect(channel=channel, identity=client.identity, signer=client.signer) as again:
            assert contract_of(again).evaluate_transaction("Read") == b"Read"
    finally:
        channel.close()


def test_connect_needs_exactly_one_of_endpoint_and_channel(client: ClientIdentity) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        connect(identity=client.identity)
    channel = grpc.insecure_channel("127.0.0.1:25999")
    with pytest.raises(ValueError, match="exactly one"):
        connect(Endpoint(address="127.0.0.1:25999"), channel=channel, identity=client.identity)
    channel.close()


def test_gateway_is_shared_safely_by_threads(gateway: Gateway, fabric: FakeFabric) -> None:
    contract = contract_of(gateway)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: contract.submit_transaction("Create", str(i)), range(64)))
    assert results == [f"Create {i}".encode() for i in range(64)]
    transaction_ids = {request.transaction_id for request in fabric.received.submit}
    assert len(transaction_ids) == 64
    assert fabric.ledger.height == 65
