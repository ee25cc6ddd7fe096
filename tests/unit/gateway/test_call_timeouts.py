"""Per-call timeouts bound a whole call, sync and asyncio; cancelling an asyncio call cancels the request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from fabrx import aio
from fabrx.endpoint import Endpoint
from fabrx.errors import ArgumentError, CommitStatusUnknown, EndorseError, FabrxError, GatewayError
from fabrx.gateway import Gateway, Timeouts, connect
from fabrx.gateway._deadline import Deadline

from .fakes import ClientIdentity, FakeFabric, FakeServer, Invocation

# No step has a deadline of its own: only the per-call timeout can end a call that hangs.
UNBOUNDED = Timeouts(evaluate=None, endorse=None, submit=None, commit_status=None)


@pytest.fixture
def unbounded(server: FakeServer, client: ClientIdentity) -> Iterator[Gateway]:
    with connect(
        Endpoint(address=server.address), identity=client.identity, signer=client.signer, timeouts=UNBOUNDED
    ) as gateway:
        yield gateway


@pytest.fixture
def hanging(fabric: FakeFabric) -> Iterator[threading.Event]:
    """The chaincode hangs until the test ends."""
    release = threading.Event()

    def hang(invocation: Invocation) -> bytes:
        release.wait(30)
        return b"late"

    fabric.handler = hang
    yield release
    release.set()


def contract_of(gateway: Gateway):
    return gateway.get_network("mychannel").get_contract("basic")


def test_evaluate_transaction_timeout_ends_a_hanging_query(
    unbounded: Gateway, hanging: threading.Event
) -> None:
    with pytest.raises(GatewayError) as caught:
        contract_of(unbounded).evaluate_transaction("Read", timeout=0.3)
    assert caught.value.code == "DEADLINE_EXCEEDED"


def test_submit_transaction_timeout_before_the_submit_means_nothing_was_ordered(
    unbounded: Gateway, fabric: FakeFabric, hanging: threading.Event
) -> None:
    with pytest.raises(EndorseError) as caught:
        contract_of(unbounded).submit_transaction("Create", timeout=0.3)
    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert fabric.received.submit == []


def test_submit_transaction_timeout_while_waiting_for_the_commit_is_an_unknown_outcome(
    unbounded: Gateway, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False  # ordered, never committed: without the timeout this call would never end
    with pytest.raises(CommitStatusUnknown) as caught:
        contract_of(unbounded).submit_transaction("Create", timeout=0.5)
    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert caught.value.transaction_id == fabric.received.submit[0].transaction_id


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_a_timeout_that_is_not_a_positive_number_is_refused_before_anything_is_sent(
    gateway: Gateway, fabric: FakeFabric, timeout: float
) -> None:
    for call in (
        lambda: contract_of(gateway).evaluate_transaction("Read", timeout=timeout),
        lambda: contract_of(gateway).submit_transaction("Create", timeout=timeout),
        lambda: contract_of(gateway).submit_async("Create", timeout=timeout),
    ):
        with pytest.raises(ArgumentError, match="timeout must be a positive number") as caught:
            call()
        assert isinstance(caught.value, FabrxError) and isinstance(caught.value, ValueError)
    assert fabric.received.evaluate == [] and fabric.received.endorse == []


def test_a_deadline_hands_each_step_what_is_left_of_the_whole_budget() -> None:
    now = [100.0]
    deadline = Deadline(10.0, clock=lambda: now[0])
    assert deadline.left() == 10.0
    now[0] += 4.0
    assert deadline.left() == 6.0
    now[0] += 7.0
    assert deadline.left() == 0.0  # the next step fails at once with DEADLINE_EXCEEDED
    assert Deadline(None).left() is None  # each step keeps the Gateway's own default


def _run_async(server: FakeServer, client: ClientIdentity, body):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with aio.connect(
            Endpoint(address=server.address),
            identity=client.identity,
            signer=client.signer,
            timeouts=UNBOUNDED,
        ) as gateway:
            return await body(gateway.get_network("mychannel").get_contract("basic"))

    return asyncio.run(main())


def test_async_timeouts_bound_evaluate_and_submit(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False

    async def body(contract: aio.Contract) -> tuple[str, str]:
        with pytest.raises(CommitStatusUnknown) as submitted:
            await contract.submit_transaction("Create", timeout=0.5)
        release = threading.Event()
        fabric.handler = lambda invocation: release.wait(30) and b"late"  # type: ignore[assignment, return-value]
        try:
            with pytest.raises(GatewayError) as evaluated:
                await contract.evaluate_transaction("Read", timeout=0.3)
        finally:
            release.set()
        return submitted.value.code, evaluated.value.code

    assert _run_async(server, client, body) == ("DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED")


def test_cancelling_an_async_submit_cancels_the_request_in_flight(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False

    async def body(contract: aio.Contract) -> bytes:
        task = asyncio.create_task(contract.submit_transaction("Create", "x"))
        while not fabric.received.commit_status:  # waiting for the commit, which never comes
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The connection is still usable: cancelling ended only that call.
        return await contract.evaluate_transaction("Read", "y")

    assert _run_async(server, client, body) == b"Read y"
    assert len(fabric.received.submit) == 1


def test_setting_cancel_ends_a_sync_evaluate_in_flight(unbounded: Gateway, hanging: threading.Event) -> None:
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(GatewayError) as caught:
        contract_of(unbounded).evaluate_transaction("Read", cancel=cancel)
    assert caught.value.code == "CANCELLED"
    assert "evaluate cancelled by the caller" in str(caught.value)


def test_cancelling_a_sync_submit_while_it_waits_for_the_commit_is_an_unknown_outcome(
    unbounded: Gateway, fabric: FakeFabric
) -> None:
    fabric.auto_commit = False
    cancel = threading.Event()

    def cancel_once_waiting() -> None:
        while not fabric.received.commit_status:
            threading.Event().wait(0.01)
        cancel.set()

    threading.Thread(target=cancel_once_waiting, daemon=True).start()
    with pytest.raises(CommitStatusUnknown) as caught:
        contract_of(unbounded).submit_transaction("Create", cancel=cancel)
    assert caught.value.code == "CANCELLED"
    assert caught.value.transaction_id == fabric.received.submit[0].transaction_id
    # The connection is still usable.
    assert contract_of(unbounded).evaluate_transaction("Read", "z") == b"Read z"


def test_cancelling_a_sync_endorse_means_nothing_was_ordered(
    unbounded: Gateway, fabric: FakeFabric, hanging: threading.Event
) -> None:
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(EndorseError) as caught:
        contract_of(unbounded).submit_transaction("Create", cancel=cancel)
    assert caught.value.code == "CANCELLED"
    assert fabric.received.submit == []
