"""TLS and mutual TLS connections, and the client certificate hash that Deliver requires."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from fabrx.endpoint import Endpoint
from fabrx.errors import ArgumentError, ConnectionFailure
from fabrx.gateway import connect

from .fakes import ClientIdentity, FakeFabric, FakeServer, new_tls_material

TLS = new_tls_material()


def test_tls_connection_verifies_the_server_certificate(client: ClientIdentity, fabric: FakeFabric) -> None:
    with FakeServer(fabric, tls=TLS) as server:
        endpoint = Endpoint(address=server.address, tls_root_certs=TLS.ca_cert)
        with connect(endpoint, identity=client.identity, signer=client.signer) as gateway:
            contract = gateway.get_network("mychannel").get_contract("basic")
            assert contract.evaluate_transaction("Read") == b"Read"


def test_untrusted_server_certificate_is_a_connection_failure(
    client: ClientIdentity, fabric: FakeFabric
) -> None:
    other = new_tls_material()
    with FakeServer(fabric, tls=TLS) as server:
        endpoint = Endpoint(address=server.address, tls_root_certs=other.ca_cert)
        gateway = connect(endpoint, identity=client.identity, signer=client.signer)
        with gateway, pytest.raises(ConnectionFailure):
            gateway.get_network("mychannel").get_contract("basic").evaluate_transaction("Read")


def test_mutual_tls_block_events_carry_the_client_certificate_hash(
    client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.ledger.append_block([])
    with FakeServer(fabric, tls=TLS, mutual_tls=True) as server:
        endpoint = Endpoint(
            address=server.address,
            tls_root_certs=TLS.ca_cert,
            client_cert=TLS.client_cert,
            client_key=TLS.client_key,
        )
        gateway = connect(endpoint, identity=client.identity, signer=client.signer)
        with gateway, gateway.get_network("mychannel").block_events(start_block=1) as blocks:
            assert next(blocks).header.number == 1
    _, header, _ = fabric.received.seek[0]
    assert header.tls_cert_hash == TLS.client_cert_der_hash


def test_caller_owned_mutual_tls_channel_uses_the_given_client_certificate(
    client: ClientIdentity, fabric: FakeFabric
) -> None:
    fabric.ledger.append_block([])
    with FakeServer(fabric, tls=TLS, mutual_tls=True) as server:
        credentials = grpc.ssl_channel_credentials(TLS.ca_cert, TLS.client_key, TLS.client_cert)
        channel = grpc.secure_channel(server.address, credentials)
        gateway = connect(
            channel=channel, identity=client.identity, signer=client.signer, tls_client_cert=TLS.client_cert
        )
        with gateway, gateway.get_network("mychannel").filtered_block_events(start_block=1) as blocks:
            assert next(blocks).number == 1
        channel.close()
    assert fabric.received.seek[0][1].tls_cert_hash == TLS.client_cert_der_hash


def test_tls_files_that_cannot_be_read_are_named_in_an_argument_error(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"cannot read .*missing\.pem: No such file"):
        Endpoint.from_files("127.0.0.1:7051", tls_root_cert=tmp_path / "missing.pem")
    with pytest.raises(ArgumentError, match=rf"cannot read {tmp_path}: Is a directory"):
        Endpoint.from_files("127.0.0.1:7051", tls_root_cert=tmp_path)
