"""Unusable arguments raise ArgumentError (in the fabrx tree, also a ValueError), naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

import fabrx
from fabrx.endpoint import Endpoint
from fabrx.errors import ArgumentError, FabrxError
from fabrx.gateway import Reconnect


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:99999", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:70x1", "the port must be a number from 1 to 65535"),
        ("peer0.example.com", "must be host:port"),
        (":7051", "must be host:port"),
        ("::1:7051", "write an IPv6 host in brackets"),
    ],
)
def test_an_endpoint_with_a_bad_address_is_refused_instead_of_dialling_another_port(
    address: str, message: str
) -> None:
    with pytest.raises(ArgumentError, match=message) as caught:
        Endpoint(address=address)
    assert repr(address) in str(caught.value)
    assert isinstance(caught.value, FabrxError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("address", ["127.0.0.1:7051", "[::1]:7051", "peer0.example.com:65535", "dns:///p:1"])
def test_well_formed_addresses_are_accepted(address: str) -> None:
    assert Endpoint(address=address).address == address


def test_connect_profile_errors_are_in_the_fabrx_tree(tmp_path: Path) -> None:
    identity_args = {"org": "Org1", "identity": None, "signer": None}
    with pytest.raises(ArgumentError, match="cannot read the connection profile"):
        fabrx.connect_profile(tmp_path / "missing.json", **identity_args)  # type: ignore[arg-type]
    broken = tmp_path / "profile.json"
    broken.write_text("{not json")
    with pytest.raises(ArgumentError, match="not a valid connection profile"):
        fabrx.connect_profile(broken, **identity_args)  # type: ignore[arg-type]
    broken.write_text('{"organizations": {}}')
    with pytest.raises(FabrxError):
        fabrx.connect_profile(broken, **identity_args)  # type: ignore[arg-type]


def test_connect_needs_exactly_one_of_endpoint_and_channel() -> None:
    with pytest.raises(ArgumentError, match="exactly one of endpoint="):
        fabrx.connect(identity=None)  # type: ignore[arg-type]


def test_a_reconnect_policy_that_cannot_work_is_refused() -> None:
    with pytest.raises(ArgumentError, match="initial_delay"):
        Reconnect(initial_delay=-1)


def test_offline_signed_requests_rebuilt_from_garbage_bytes_raise_argument_error() -> None:
    from fabrx.gateway import _messages as messages

    garbage = b"\xff\xff\xff\xff"
    for rebuild, what in [
        (messages.with_proposal_signature, "a proposal"),
        (messages.with_transaction_signature, "an endorsed transaction"),
        (messages.with_commit_signature, "a commit status request"),
        (messages.with_events_signature, "a chaincode events request"),
    ]:
        with pytest.raises(ArgumentError, match=f"not the bytes of {what}"):
            rebuild(garbage, b"signature")  # type: ignore[operator]


def test_arguments_of_the_wrong_type_are_in_the_fabrx_tree_and_still_type_errors() -> None:
    from fabrx.errors import ArgumentTypeError
    from fabrx.gateway import _messages as messages
    from fabrx.gateway._contract import check_collections

    for call in (lambda: messages.to_bytes(5, "argument 1"), lambda: check_collections("private")):  # type: ignore[arg-type]
        with pytest.raises(ArgumentTypeError) as caught:
            call()
        assert isinstance(caught.value, FabrxError) and isinstance(caught.value, TypeError)
