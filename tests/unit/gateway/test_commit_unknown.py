"""An unknown commit outcome is its own error, and the ledger can be asked how a transaction committed.

A transaction whose submit or commit status fails for a reason that says nothing about the transaction
(the gateway peer died, a deadline passed) may have committed VALID: retrying it as a new transaction
could record it twice. Such failures raise ``CommitStatusUnknown`` with the transaction id, never the
retryable ``ConnectionFailure``, and ``Network.transaction_status`` tells what the ledger holds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
import pytest

from fabrx import aio
from fabrx.endpoint import Endpoint
from fabrx.errors import (
    ArgumentError,
    CommitStatusError,
    CommitStatusUnknown,
    ConnectionFailure,
    ErrorDetail,
    SubmitError,
)
from fabrx.gateway import Gateway, Status, StatusCode, Timeouts, connect

from .conftest import FAST_RECONNECT, TIMEOUTS
from .fakes import ClientIdentity, FakeFabric, FakeServer

CHANNEL = "mychannel"
T = TypeVar("T")


def contract_of(gateway: Gateway):
    return gateway.get_network(CHANNEL).get_contract("basic")


def _when_reachable(call: Callable[[], T], timeout: float = 10.0) -> T:
    """``call()`` once the restarted peer accepts connections again (a ConnectionFailure is safe to retry:
    nothing reached ordering)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ConnectionFailure:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_peer_lost_while_waiting_for_the_commit_status_is_an_unknown_outcome_not_a_connection_failure(
    gateway: Gateway, fabric: FakeFabric
) -> None:
    fabric.fail("commit_status", grpc.StatusCode.UNAVAILABLE, "Socket closed")

    with pytest.raises(CommitStatusUnknown) as caught:
        contract_of(gateway).submit_transaction("Create", "a")

    error = caught.value
    assert not isinstance(error, ConnectionFailure)
    assert isinstance(error, CommitStatusError)  # callers that caught the old error still catch it
    assert error.code == "UNAVAILABLE"
    [submitted] = fabric.received.submit
    assert error.transaction_id == submitted.transaction_id
    assert "ask the ledger (Network.transaction_status)" in str(error)
    # It had committed: the ledger says so.
    status = gateway.get_network(CHANNEL).transaction_status(error.transaction_id)
    assert status == Status(error.transaction_id, StatusCode.VALID, fabric.ledger.height - 1)
    # A caller holding only the contract asks the same ledger.
    assert contract_of(gateway).transaction_status(error.transaction_id) == status
    assert contract_of(gateway).transaction_status("ab" * 32) is None


def test_a_commit_status_deadline_is_an_unknown_outcome(
    client: ClientIdentity, server: FakeServer, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False
    with connect(
        Endpoint(address=server.address),
        identity=client.identity,
        signer=client.signer,
        timeouts=Timeouts(commit_status=0.2),
    ) as gateway:
        _, commit = contract_of(gateway).submit_async("Create")
        with pytest.raises(CommitStatusUnknown) as caught:
            commit.status()
        assert caught.value.code == "DEADLINE_EXCEEDED"
        assert caught.value.transaction_id == commit.transaction_id
        # Not in the ledger yet: None, and the transaction may still commit.
        assert gateway.get_network(CHANNEL).transaction_status(commit.transaction_id) is None


def test_the_gateway_peer_dying_between_submit_and_commit_status_then_the_ledger_answers(
    client: ClientIdentity, server: FakeServer, fabric: FakeFabric
) -> None:
    with connect(
        Endpoint(address=server.address),
        identity=client.identity,
        signer=client.signer,
        timeouts=TIMEOUTS,
        reconnect=FAST_RECONNECT,
    ) as gateway:
        _, commit = contract_of(gateway).submit_async("Create")
        server.stop()
        with pytest.raises(CommitStatusUnknown) as caught:
            commit.status()
        assert caught.value.code == "UNAVAILABLE"
        server.start()  # the same port, the same ledger
        status = _when_reachable(
            lambda: gateway.get_network(CHANNEL).transaction_status(commit.transaction_id)
        )
        assert status is not None and status.successful
        # A fresh commit status request answers too, for a transaction that committed long ago.
        again = gateway.get_network(CHANNEL).commit_status(caught.value.transaction_id)
        assert again == status


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_submit_cut_off_in_flight_is_an_unknown_outcome(
    gateway: Gateway, fabric: FakeFabric, code: grpc.StatusCode
) -> None:
    fabric.fail("submit", code, "connection reset")
    with pytest.raises(CommitStatusUnknown) as caught:
        contract_of(gateway).submit_transaction("Create")
    assert caught.value.code == code.name
    assert caught.value.transaction_id == fabric.received.submit[0].transaction_id


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.UNAVAILABLE])
def test_a_submit_refused_by_ordering_stays_a_submit_error(
    gateway: Gateway, fabric: FakeFabric, code: grpc.StatusCode
) -> None:
    # What the gateway answers when every orderer refused: the orderers' answers as details.
    orderer = ErrorDetail("orderer0.example.com:7050", "OrdererMSP", "received unsuccessful response")
    fabric.fail("submit", code, "no orderers could successfully process transaction", orderer)
    with pytest.raises(SubmitError) as caught:
        contract_of(gateway).submit_transaction("Create")
    assert not isinstance(caught.value, CommitStatusUnknown | ConnectionFailure)
    assert caught.value.details == (orderer,)


def test_transaction_status_reports_an_invalid_transaction_with_its_code_and_block(
    gateway: Gateway, fabric: FakeFabric
) -> None:
    fabric.validation_code = lambda invocation: StatusCode.MVCC_READ_CONFLICT  # type: ignore[method-assign]
    _, commit = contract_of(gateway).submit_async("Create")
    committed = commit.status()
    status = gateway.get_network(CHANNEL).transaction_status(commit.transaction_id)
    assert status == committed
    assert status is not None and status.code is StatusCode.MVCC_READ_CONFLICT and not status.successful


def test_transaction_status_of_an_unknown_id_is_none_and_of_a_malformed_id_an_error(gateway: Gateway) -> None:
    network = gateway.get_network(CHANNEL)
    assert network.transaction_status("ab" * 32) is None
    for bad in ("", "not-a-transaction-id", "AB" * 32, "ab" * 33):
        with pytest.raises(ArgumentError, match="not a transaction id"):
            network.transaction_status(bad)
        with pytest.raises(ArgumentError, match="not a transaction id"):
            network.commit_status(bad)


def test_async_unknown_outcome_and_transaction_status(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.fail("commit_status", grpc.StatusCode.UNAVAILABLE, "Socket closed")

    async def main() -> tuple[CommitStatusUnknown, Status | None, Status | None]:
        async with aio.connect(
            Endpoint(address=server.address),
            identity=client.identity,
            signer=client.signer,
            timeouts=TIMEOUTS,
        ) as gateway:
            network = gateway.get_network(CHANNEL)
            with pytest.raises(CommitStatusUnknown) as caught:
                await network.get_contract("basic").submit_transaction("Create")
            known = await network.transaction_status(caught.value.transaction_id)
            unknown = await network.transaction_status("cd" * 32)
            return caught.value, known, unknown

    error, known, unknown = asyncio.run(main())
    assert error.transaction_id == fabric.received.submit[0].transaction_id
    assert known is not None and known.successful and known.transaction_id == error.transaction_id
    assert unknown is None


def test_async_fresh_commit_status_waits_for_the_commit(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False

    async def main() -> Status:
        async with aio.connect(
            Endpoint(address=server.address),
            identity=client.identity,
            signer=client.signer,
            timeouts=TIMEOUTS,
        ) as gateway:
            network = gateway.get_network(CHANNEL)
            _, commit = await network.get_contract("basic").submit_async("Create")
            [invocation] = [
                i for i in fabric.received.invocations if i.transaction_id == commit.transaction_id
            ]
            threading.Timer(0.2, fabric.commit, [invocation]).start()
            return await network.commit_status(commit.transaction_id)

    status = asyncio.run(main())
    assert status.successful and status.block_number == fabric.ledger.height - 1
