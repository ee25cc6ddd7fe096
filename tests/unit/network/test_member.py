"""A member file: the organization's own nodes and the channel's public facts, checked like a consortium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fabrx_network.config import ConfigError
from fabrx_network.errors import NetworkError
from fabrx_network.layout import RunLayout
from fabrx_network.member import MemberDeployment, load_member

MEMBER: dict[str, Any] = {
    "name": "HospitalD",
    "msp_id": "HospitalDMSP",
    "role": "hospital",
    "host": "127.0.1.7",
    "port_base": 9100,
    "peers": [{"name": "peer0"}, {"name": "peer1", "port": 9200}],
    "channel": {"name": "pharma", "orderers": [{"address": "127.0.0.1:7052", "tls_ca_cert": "orderer.pem"}]},
    "chaincodes": [{"name": "pharma", "version": "1.0", "runtime": {"python": "pkg.module:Contract"}}],
}


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "member.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_member_file_gives_the_organizations_own_nodes_with_their_ports(tmp_path: Path) -> None:
    member = load_member(_write(tmp_path, MEMBER))
    org = member.org
    assert (org.name, org.msp_id, member.consortium.host) == ("HospitalD", "HospitalDMSP", "127.0.1.7")
    assert (org.ca.port, org.ca.operations_port) == (9100, 9101)
    assert [(p.port, p.chaincode_port, p.operations_port) for p in org.peers] == [
        (9102, 9103, 9104),
        (9200, 9105, 9106),
    ]
    assert member.chaincodes[0].server.ports == {"HospitalD": 9107}  # its own chaincode server
    assert [c.name for c in org.clients] == ["client"]
    assert member.channel == "pharma"
    assert [(o.address, o.tls_ca_cert) for o in member.orderers] == [
        ("127.0.0.1:7052", tmp_path / "orderer.pem")
    ]


def test_every_problem_of_a_member_file_is_named_at_its_own_path(tmp_path: Path) -> None:
    document = {
        **MEMBER,
        "peers": [{"name": "peer0", "port": 70000}],
        "chanel": "x",
        "channel": {"name": "pharma", "orderers": [{"address": "nohost", "tls_ca_cert": "x.pem"}]},
    }
    with pytest.raises(ConfigError) as refused:
        load_member(_write(tmp_path, document))
    message = str(refused.value)
    assert "errors in the member definition" in message
    paths = {p.path for p in refused.value.problems}
    assert {"chanel", "channel.orderers[0].address", "peers[0].port"} <= paths, paths


def test_a_missing_orderer_certificate_is_named(tmp_path: Path) -> None:
    document = {
        **MEMBER,
        "channel": {"name": "pharma", "orderers": [{"address": "h:1", "tls_ca_cert": "no.pem"}]},
    }
    with pytest.raises(ConfigError, match=r"channel.orderers\[0\].tls_ca_cert: no file"):
        load_member(_write(tmp_path, document))


def test_a_member_deployment_hands_out_its_own_identities_only(tmp_path: Path) -> None:
    deployment = MemberDeployment(load_member(_write(tmp_path, MEMBER)), RunLayout(tmp_path / "run"))
    assert [o.name for o in deployment.consortium.orgs] == ["HospitalD"]
    with pytest.raises(NetworkError, match="HospitalA is not this member's organization"):
        deployment.client_msp("HospitalA")
    with pytest.raises(NetworkError, match="run `fabrx member init`"):
        deployment.client_msp("HospitalDMSP")
    with pytest.raises(NetworkError, match=r"no identity 'admin' of HospitalD .*: run `fabrx member init`"):
        list(deployment.peer_admins())  # join and approve act as the admin: not a raw MSP-folder error
    assert deployment.nodes() == [
        "ca.HospitalD",
        "peer0.HospitalD",
        "peer1.HospitalD",
        "chaincode.pharma.HospitalD",
    ]
