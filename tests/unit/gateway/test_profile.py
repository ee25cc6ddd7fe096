"""Connection profiles: the organization's gateway peer, its TLS CA and host name override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fabrx.gateway import connect_profile
from fabrx.gateway._profile import endpoint_from_profile

from .fakes import ClientIdentity, FakeFabric, FakeServer, new_tls_material

TLS = new_tls_material()


def profile(address: str, ca: dict) -> dict:
    return {
        "name": "test-network-org1",
        "client": {"organization": "Org1"},
        "organizations": {
            "Org1": {"mspid": "Org1MSP", "peers": ["peer0.org1.example.com"]},
            "Org2": {"mspid": "Org2MSP", "peers": ["peer0.org2.example.com"]},
        },
        "peers": {
            "peer0.org1.example.com": {
                "url": f"grpcs://{address}",
                "tlsCACerts": ca,
                "grpcOptions": {"ssl-target-name-override": "localhost"},
            },
            "peer0.org2.example.com": {"url": "grpc://127.0.0.1:25998"},
        },
    }


def test_endpoint_of_the_client_organization_with_inline_pem() -> None:
    endpoint = endpoint_from_profile(profile("127.0.0.1:7051", {"pem": TLS.ca_cert.decode()}))
    assert endpoint.address == "127.0.0.1:7051"
    assert endpoint.tls_root_certs == TLS.ca_cert
    assert endpoint.server_name == "localhost"


def test_endpoint_of_another_organization_without_tls() -> None:
    endpoint = endpoint_from_profile(profile("127.0.0.1:7051", {"pem": ""}), org="Org2")
    assert (endpoint.address, endpoint.tls_root_certs) == ("127.0.0.1:25998", None)


def test_unknown_organization_is_reported_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"organization 'Org9' not found; known: \['Org1', 'Org2'\]"):
        endpoint_from_profile(profile("127.0.0.1:7051", {"pem": ""}), org="Org9")


def test_missing_tls_ca_is_reported() -> None:
    with pytest.raises(ValueError, match="tlsCACerts needs 'pem'"):
        endpoint_from_profile(profile("127.0.0.1:7051", {}))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_connect_profile_reaches_the_peer_with_a_ca_file_path(
    tmp_path: Path, suffix: str, client: ClientIdentity, fabric: FakeFabric
) -> None:
    (tmp_path / "ca.pem").write_bytes(TLS.ca_cert)
    with FakeServer(fabric, tls=TLS) as server:
        data = profile(server.address, {"path": "ca.pem"})
        path = tmp_path / f"connection-org1{suffix}"
        path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
        with connect_profile(path, identity=client.identity, signer=client.signer) as gateway:
            result = gateway.get_network("mychannel").get_contract("basic").evaluate_transaction("Ping")
    assert result == b"Ping"
