"""Chaincode and block events: order, checkpoints, resume after a peer restart, give-up, close."""

from __future__ import annotations

import logging
import threading
import time

import grpc
import pytest
from fabric_protos.common import common_pb2

from fabrx.endpoint import Endpoint
from fabrx.errors import ConnectionFailure, GatewayError
from fabrx.gateway import ChaincodeEvent, Gateway, InMemoryCheckpointer, Reconnect, connect

from .fakes import ClientIdentity, FakeFabric, FakeLedger, FakeServer, FakeTransaction


def add_events(
    ledger: FakeLedger, block_count: int, per_block: int = 1, chaincode: str = "basic"
) -> list[tuple]:
    """Append blocks of event-emitting transactions; return the expected (block, tx id, name, payload)."""
    expected: list[tuple] = []
    for _ in range(block_count):
        number = ledger.height
        transactions = [
            FakeTransaction(
                f"tx{number}-{i}", chaincode, event_name="Created", event_payload=b"%d.%d" % (number, i)
            )
            for i in range(per_block)
        ]
        ledger.append_block(transactions)
        expected.extend((number, t.transaction_id, t.event_name, t.event_payload) for t in transactions)
    return expected


def key(event: ChaincodeEvent) -> tuple:
    return (event.block_number, event.transaction_id, event.event_name, event.payload)


def take(iterator, count: int) -> list:
    return [next(iterator) for _ in range(count)]


def test_chaincode_events_from_start_block_in_ledger_order(gateway: Gateway, fabric: FakeFabric) -> None:
    expected = add_events(fabric.ledger, 3, per_block=2)
    fabric.ledger.append_block([FakeTransaction("other", "othercc", event_name="X")])
    fabric.ledger.append_block([FakeTransaction("bad", "basic", validation_code=11, event_name="X")])
    expected += add_events(fabric.ledger, 1)
    with gateway.get_network("mychannel").chaincode_events("basic", start_block=0) as events:
        received = take(events, len(expected))
    assert [key(e) for e in received] == expected
    assert received[0] == ChaincodeEvent(1, "tx1-0", "basic", "Created", b"1.0")
    [request] = fabric.received.chaincode_events
    assert request.start_position.specified.number == 0
    assert request.chaincode_id == "basic" and request.channel_id == "mychannel"
    assert request.identity == gateway.identity.serialize()


def test_chaincode_events_resume_after_checkpointed_transaction(gateway: Gateway, fabric: FakeFabric) -> None:
    expected = add_events(fabric.ledger, 2, per_block=3)
    checkpointer = InMemoryCheckpointer()
    network = gateway.get_network("mychannel")
    with network.chaincode_events("basic", start_block=0) as events:
        for event in take(events, 4):
            checkpointer.checkpoint_chaincode_event(event)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (2, "tx2-0")
    with network.chaincode_events("basic", start_block=0, checkpoint=checkpointer) as events:
        assert [key(e) for e in take(events, 2)] == expected[4:]
    resumed = fabric.received.chaincode_events[-1]
    assert resumed.start_position.specified.number == 2
    assert resumed.after_transaction_id == "tx2-0"


def test_chaincode_events_survive_peer_restart_with_every_event_once(
    gateway: Gateway, fabric: FakeFabric, server: FakeServer
) -> None:
    expected = add_events(fabric.ledger, 3, per_block=2)
    received: list[ChaincodeEvent] = []
    with gateway.get_network("mychannel").chaincode_events("basic", start_block=1) as events:
        received += take(events, 3)  # stops in the middle of block 2
        server.stop()
        expected += add_events(fabric.ledger, 2, per_block=2)  # committed while the peer is down
        threading.Timer(0.3, server.start).start()
        received += take(events, len(expected) - 3)
        expected += add_events(fabric.ledger, 1)
        received.append(next(events))
    assert [key(e) for e in received] == expected
    resumed = fabric.received.chaincode_events[-1]
    assert len(fabric.received.chaincode_events) >= 2
    # Resumed right after the last event received before the outage.
    position = (resumed.start_position.specified.number, resumed.after_transaction_id)
    assert position in {(e.block_number, e.transaction_id) for e in received[:-1]}
    assert fabric.rejected == []  # the fake verified the signature of the resumed request


def test_events_without_start_begin_at_the_pinned_next_block(gateway: Gateway, fabric: FakeFabric) -> None:
    add_events(fabric.ledger, 2)
    events = gateway.get_network("mychannel").chaincode_events("basic")
    expected = add_events(fabric.ledger, 1)  # committed before the first next(): still delivered
    with events:
        assert [key(e) for e in take(events, 1)] == expected
    assert fabric.received.chaincode_events[0].start_position.specified.number == 3
    assert fabric.received.invocations[0].chaincode_name == "qscc"


def test_events_give_up_with_connection_failure_when_peer_stays_down(
    client: ClientIdentity, fabric: FakeFabric, server: FakeServer
) -> None:
    add_events(fabric.ledger, 1)
    policy = Reconnect(initial_delay=0.01, max_delay=0.05, give_up_after=0.3)
    with connect(
        Endpoint(address=server.address), identity=client.identity, signer=client.signer, reconnect=policy
    ) as gw:
        events = gw.get_network("mychannel").chaincode_events("basic", start_block=0)
        next(events)
        server.stop()
        started = time.monotonic()
        with pytest.raises(ConnectionFailure, match="gave up reconnecting"):
            next(events)
        assert time.monotonic() - started < 3


def test_events_raise_at_once_for_a_refusal(gateway: Gateway, fabric: FakeFabric) -> None:
    fabric.fail("chaincode_events", grpc.StatusCode.PERMISSION_DENIED, "not a reader")
    events = gateway.get_network("mychannel").chaincode_events("basic", start_block=0)
    with pytest.raises(GatewayError) as caught:
        next(events)
    assert caught.value.code == "PERMISSION_DENIED"
    assert len(fabric.received.chaincode_events) == 1


def test_events_without_reconnect_raise_on_first_failure(
    client: ClientIdentity, fabric: FakeFabric, server: FakeServer
) -> None:
    add_events(fabric.ledger, 1)
    with connect(
        Endpoint(address=server.address), identity=client.identity, signer=client.signer, reconnect=None
    ) as gw:
        events = gw.get_network("mychannel").chaincode_events("basic", start_block=0)
        next(events)
        server.stop()
        with pytest.raises(ConnectionFailure):
            next(events)


def test_close_from_another_thread_ends_iteration(gateway: Gateway, fabric: FakeFabric) -> None:
    events = gateway.get_network("mychannel").chaincode_events("basic", start_block=0)
    threading.Timer(0.2, events.close).start()
    assert list(events) == []
    assert list(events) == []


def test_block_events_are_signed_seek_requests_and_resume_without_duplicates(
    gateway: Gateway, fabric: FakeFabric, server: FakeServer
) -> None:
    add_events(fabric.ledger, 3)
    with gateway.get_network("mychannel").block_events(start_block=1) as blocks:
        numbers = [b.header.number for b in take(blocks, 2)]
        server.stop()
        add_events(fabric.ledger, 1)
        threading.Timer(0.2, server.start).start()
        numbers += [b.header.number for b in take(blocks, 2)]
    assert numbers == [1, 2, 3, 4]
    (kind, header, seek), *_, (_, _, resumed) = fabric.received.seek
    assert kind == "block"
    assert header.type == common_pb2.DELIVER_SEEK_INFO and header.channel_id == "mychannel"
    assert header.tls_cert_hash == b""
    assert seek.start.specified.number == 1
    assert seek.stop.specified.number == 2**64 - 1
    # Resumed at the block after the last one received (block 3 may have arrived before the outage).
    assert resumed.start.specified.number in (3, 4)
    assert len(fabric.received.seek) >= 2


def test_filtered_and_private_data_block_events(gateway: Gateway, fabric: FakeFabric) -> None:
    add_events(fabric.ledger, 2)
    network = gateway.get_network("mychannel")
    with network.filtered_block_events(start_block=1) as filtered:
        block = next(filtered)
        assert block.number == 1
        assert block.filtered_transactions[0].txid == "tx1-0"
    with network.block_and_private_data_events(start_block=2) as private:
        assert next(private).block.header.number == 2
    assert [kind for kind, _, _ in fabric.received.seek] == ["filtered", "private"]


def test_block_events_from_checkpoint(gateway: Gateway, fabric: FakeFabric) -> None:
    add_events(fabric.ledger, 3)
    checkpointer = InMemoryCheckpointer()
    checkpointer.checkpoint_block(1)
    with gateway.get_network("mychannel").block_events(start_block=0, checkpoint=checkpointer) as blocks:
        assert next(blocks).header.number == 2


def test_refused_deliver_request_raises_with_status(gateway: Gateway, fabric: FakeFabric) -> None:
    fabric.deliver_status = common_pb2.FORBIDDEN
    with pytest.raises(GatewayError) as caught:
        next(gateway.get_network("mychannel").block_events(start_block=0))
    assert caught.value.code == "FORBIDDEN"
    assert len(fabric.received.seek) == 1


def test_reconnects_and_resumptions_are_logged_at_info_with_the_transaction_id(
    gateway: Gateway, fabric: FakeFabric, server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    add_events(fabric.ledger, 2)
    caplog.set_level(logging.INFO, logger="fabrx.gateway")
    with gateway.get_network("mychannel").chaincode_events("basic", start_block=1) as events:
        first = take(events, 2)
        server.stop()
        add_events(fabric.ledger, 1)
        threading.Timer(0.3, server.start).start()
        take(events, 1)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    last = first[-1]
    where = f"after transaction {last.transaction_id} in block {last.block_number}"
    assert any("stream broke (UNAVAILABLE); reconnecting in" in m and where in m for m in messages), messages
    assert any("chaincode events of 'basic'" in m and "resumed after" in m for m in messages), messages
