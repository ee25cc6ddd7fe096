"""The asyncio client against the same fake peer: same behaviour as the sync client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import pytest

from fabrx import aio
from fabrx.endpoint import Endpoint
from fabrx.errors import (
    CommitError,
    ConnectionFailure,
    EndorseError,
    ErrorDetail,
    GatewayError,
    IdentityError,
)
from fabrx.gateway import Reconnect, StatusCode

from .conftest import FAST_RECONNECT, TIMEOUTS
from .fakes import ClientIdentity, FakeFabric, FakeServer
from .test_events import add_events, key

T = TypeVar("T")


def run(
    server: FakeServer, client: ClientIdentity, body: Callable[[aio.Gateway], Awaitable[T]], **options
) -> T:
    async def main() -> T:
        settings = {"signer": client.signer, "timeouts": TIMEOUTS, "reconnect": FAST_RECONNECT, **options}
        async with aio.connect(
            Endpoint(address=server.address), identity=client.identity, **settings
        ) as gateway:
            return await body(gateway)

    return asyncio.run(main())


def test_async_evaluate_and_submit(server: FakeServer, client: ClientIdentity, fabric: FakeFabric) -> None:
    async def body(gateway: aio.Gateway) -> tuple[bytes, bytes]:
        contract = gateway.get_network("mychannel").get_contract("basic", "Assets")
        return await contract.evaluate_transaction("Read", "a"), await contract.submit_transaction(
            "Create", b"b"
        )

    assert run(server, client, body) == (b"Assets:Read a", b"Assets:Create b")
    assert fabric.ledger.find(fabric.received.submit[0].transaction_id) is not None
    assert fabric.rejected == []


def test_async_step_by_step_and_concurrent_submits(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    async def body(gateway: aio.Gateway) -> list[bool]:
        contract = gateway.get_network("mychannel").get_contract("basic")

        async def one(i: int) -> bool:
            transaction = await contract.new_proposal("Create", args=[str(i)], transient={"k": "v"}).endorse()
            assert transaction.result == f"Create {i}".encode()
            commit = await transaction.submit()
            return (await commit.status()).successful

        return await asyncio.gather(*(one(i) for i in range(20)))

    assert run(server, client, body) == [True] * 20
    assert fabric.ledger.height == 21
    assert all(invocation.transient == {"k": b"v"} for invocation in fabric.received.invocations)


def test_async_commit_error_and_submit_async(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.validation_code = lambda invocation: StatusCode.PHANTOM_READ_CONFLICT

    async def body(gateway: aio.Gateway) -> None:
        contract = gateway.get_network("mychannel").get_contract("basic")
        result, commit = await contract.submit_async("Create")
        assert result == b"Create"
        assert (await commit.status()).code is StatusCode.PHANTOM_READ_CONFLICT
        with pytest.raises(CommitError, match="PHANTOM_READ_CONFLICT"):
            await contract.submit_transaction("Create")

    run(server, client, body)


def test_async_errors_carry_details_and_never_leak_grpc_errors(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    detail = ErrorDetail("peer0.org2.example.com:9051", "Org2MSP", "policy not satisfied")
    fabric.fail("endorse", grpc.StatusCode.FAILED_PRECONDITION, "endorsement failed", detail)

    async def body(gateway: aio.Gateway) -> EndorseError:
        with pytest.raises(EndorseError) as caught:
            await gateway.get_network("mychannel").get_contract("basic").submit_transaction("Create")
        return caught.value

    error = run(server, client, body)
    assert error.code == "FAILED_PRECONDITION"
    assert error.details == (detail,)
    assert error.transaction_id == fabric.received.endorse[0].transaction_id


def test_async_unreachable_peer_is_a_connection_failure(server: FakeServer, client: ClientIdentity) -> None:
    server.stop()

    async def body(gateway: aio.Gateway) -> None:
        with pytest.raises(ConnectionFailure):
            await gateway.get_network("mychannel").get_contract("basic").evaluate_transaction("Read")

    run(server, client, body)


def test_async_offline_signing(server: FakeServer, client: ClientIdentity, fabric: FakeFabric) -> None:
    async def body(gateway: aio.Gateway) -> bool:
        contract = gateway.get_network("mychannel").get_contract("basic")
        with pytest.raises(IdentityError, match="no signer"):
            await contract.evaluate_transaction("Read")
        unsigned = contract.new_proposal("Create")
        proposal = gateway.new_signed_proposal(unsigned.bytes, client.signer(unsigned.digest))
        unsigned_transaction = await proposal.endorse()
        transaction = gateway.new_signed_transaction(
            unsigned_transaction.bytes, client.signer(unsigned_transaction.digest)
        )
        unsigned_commit = await transaction.submit()
        commit = gateway.new_signed_commit(unsigned_commit.bytes, client.signer(unsigned_commit.digest))
        return (await commit.status()).successful

    assert run(server, client, body, signer=None)
    assert fabric.rejected == []


def test_async_chaincode_events_survive_peer_restart_with_every_event_once(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    expected = add_events(fabric.ledger, 3, per_block=2)

    async def body(gateway: aio.Gateway) -> list[tuple]:
        received = []
        network = gateway.get_network("mychannel")
        async with await network.chaincode_events("basic", start_block=1) as events:
            async for event in events:
                received.append(key(event))
                if len(received) == 3:
                    await asyncio.to_thread(server.stop)
                    expected.extend(add_events(fabric.ledger, 2, per_block=2))
                    asyncio.get_running_loop().call_later(0.3, server.start)
                if len(received) == len(expected):
                    break
        return received

    assert run(server, client, body) == expected
    assert len(fabric.received.chaincode_events) >= 2


def test_async_events_give_up_when_the_peer_stays_down(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    add_events(fabric.ledger, 1)

    async def body(gateway: aio.Gateway) -> None:
        events = await gateway.get_network("mychannel").chaincode_events("basic", start_block=0)
        async with events:
            await anext(events)
            await asyncio.to_thread(server.stop)
            with pytest.raises(ConnectionFailure, match="gave up"):
                await anext(events)

    run(server, client, body, reconnect=Reconnect(initial_delay=0.01, max_delay=0.05, give_up_after=0.3))


def test_async_block_events_pinned_start_and_close(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    add_events(fabric.ledger, 2)

    async def body(gateway: aio.Gateway) -> list[int]:
        network = gateway.get_network("mychannel")
        blocks = await network.block_events()
        add_events(fabric.ledger, 1)
        async with blocks:
            first = await anext(blocks)
        filtered = await network.filtered_block_events(start_block=1)
        asyncio.get_running_loop().call_later(0.1, lambda: asyncio.ensure_future(filtered.close()))
        numbers = [block.number async for block in filtered]
        return [first.header.number, *numbers]

    assert run(server, client, body) == [3, 1, 2, 3]
    assert fabric.received.seek[0][2].start.specified.number == 3


def test_async_block_events_requests_signed_offline(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric
) -> None:
    add_events(fabric.ledger, 2)

    async def body(gateway: aio.Gateway) -> list[int]:
        network = gateway.get_network("mychannel")
        unsigned = await network.new_block_and_private_data_events_request(start_block=2)
        with pytest.raises(IdentityError, match="no signer"):
            await anext(unsigned.events())
        signed = gateway.new_signed_block_and_private_data_events_request(
            unsigned.bytes, client.signer(unsigned.digest)
        )
        async with signed.events() as private:
            first = (await anext(private)).block.header.number
        unsigned_filtered = await network.new_filtered_block_events_request(start_block=1)
        filtered = gateway.new_signed_filtered_block_events_request(
            unsigned_filtered.bytes, client.signer(unsigned_filtered.digest)
        )
        async with filtered.events() as blocks:
            return [first, (await anext(blocks)).number, (await anext(blocks)).number]

    assert run(server, client, body, signer=None) == [2, 1, 2]
    assert [kind for kind, _, _ in fabric.received.seek] == ["private", "filtered"]
    assert all(envelope.signature for envelope in fabric.received.seek_envelopes)
    assert fabric.rejected == []


def test_async_refused_events_raise(server: FakeServer, client: ClientIdentity, fabric: FakeFabric) -> None:
    fabric.fail("chaincode_events", grpc.StatusCode.PERMISSION_DENIED, "no")

    async def body(gateway: aio.Gateway) -> None:
        events = await gateway.get_network("mychannel").chaincode_events("basic", start_block=0)
        with pytest.raises(GatewayError) as caught:
            await anext(events)
        assert caught.value.code == "PERMISSION_DENIED"

    run(server, client, body)
