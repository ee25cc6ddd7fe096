"""Pure pieces shared by the sync and asyncio clients: messages, status codes, reconnect decisions."""

from __future__ import annotations

import pytest
from fabric_protos.peer import transaction_pb2

import fabrx.aio
import fabrx.gateway
from fabrx._protocol import new_transaction_context
from fabrx.errors import ConnectionFailure, GatewayError
from fabrx.gateway import Reconnect, StatusCode
from fabrx.gateway import _messages as messages
from fabrx.gateway._reconnect import Outage


def test_status_codes_match_fabric_validation_codes() -> None:
    assert {code.name: code.value for code in StatusCode} == dict(transaction_pb2.TxValidationCode.items())
    assert StatusCode.of(11) is StatusCode.MVCC_READ_CONFLICT
    assert StatusCode.of(999) is StatusCode.INVALID_OTHER_REASON


def test_proposal_channel_id_and_round_trip_of_offline_signature() -> None:
    context = new_transaction_context(b"creator")
    proposed = messages.new_proposed_transaction(
        context, "ch1", "cc", "Fn", ["a"], transient=None, endorsing_organizations=["Org1MSP"]
    )
    rebuilt, channel_id = messages.with_proposal_signature(proposed.SerializeToString(), b"sig")
    assert channel_id == "ch1"
    assert rebuilt.proposal.signature == b"sig"
    assert rebuilt.transaction_id == context.transaction_id
    assert list(rebuilt.endorsing_organizations) == ["Org1MSP"]


def test_start_position_rejects_negative_blocks() -> None:
    assert messages.start_position(None).HasField("next_commit")
    assert messages.start_position(7).specified.number == 7
    with pytest.raises(ValueError, match="start block must be >= 0"):
        messages.start_position(-1)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_outage_backs_off_exponentially_up_to_the_cap_then_gives_up() -> None:
    clock = Clock()
    outage = Outage(Reconnect(initial_delay=1, max_delay=4, multiplier=2, give_up_after=10), "events", clock)
    unavailable = GatewayError("down", code="UNAVAILABLE")
    delays = []
    with pytest.raises(ConnectionFailure, match=r"gave up reconnecting after 10\.0 s") as caught:
        while True:
            outage.opened()
            delay = outage.next_delay(unavailable)
            delays.append(delay)
            clock.now += delay
    assert delays == [1, 2, 4, 3]
    assert caught.value.__cause__ is unavailable


def test_outage_resets_after_the_stream_delivered_again() -> None:
    clock = Clock()
    outage = Outage(Reconnect(initial_delay=1, max_delay=4, give_up_after=5), "events", clock)
    unavailable = GatewayError("down", code="UNAVAILABLE")
    outage.opened()
    assert outage.next_delay(unavailable) == 1
    clock.now += 1
    outage.opened()
    assert outage.next_delay(unavailable) == 2
    outage.progressed()
    clock.now += 100
    assert outage.next_delay(unavailable) == 1


@pytest.mark.parametrize("policy", [None, Reconnect()])
def test_outage_does_not_retry_refusals(policy: Reconnect | None) -> None:
    refused = GatewayError("no", code="PERMISSION_DENIED")
    with pytest.raises(GatewayError) as caught:
        Outage(policy, "events").next_delay(refused)
    assert caught.value is refused


def test_reconnect_rejects_inconsistent_delays() -> None:
    with pytest.raises(ValueError, match="initial_delay <= max_delay"):
        Reconnect(initial_delay=5, max_delay=1)


def test_public_names_are_pinned() -> None:
    assert fabrx.gateway.__all__ == [
        "Block",
        "BlockAndPrivateData",
        "BlockEventsRequest",
        "ChaincodeEvent",
        "ChaincodeEventsRequest",
        "Checkpoint",
        "Checkpointer",
        "Commit",
        "Contract",
        "EventStream",
        "FileCheckpointer",
        "FilteredBlock",
        "Gateway",
        "InMemoryCheckpointer",
        "Network",
        "Proposal",
        "Reconnect",
        "Status",
        "StatusCode",
        "Timeouts",
        "Transaction",
        "connect",
        "connect_profile",
    ]
    assert fabrx.aio.__all__ == [
        "BlockEventsRequest",
        "ChaincodeEventsRequest",
        "Commit",
        "Contract",
        "EventStream",
        "Gateway",
        "Network",
        "Proposal",
        "Transaction",
        "connect",
    ]
