"""systemd units for one organization's nodes of the running consortium, checked by systemd itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fabrx_network import ConsortiumNetwork, NetworkError


def test_units_of_a_member_run_its_ca_peer_and_chaincode_server_as_up_does(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    units = network.systemd_units("HospitalAMSP", user="fabrx")
    prefix = f"fabrx-{network.consortium.name}-HospitalA"
    assert sorted(units.files) == sorted(
        [
            f"{prefix}.target",
            f"{prefix}-ca.HospitalA.service",
            f"{prefix}-peer0.HospitalA.service",
            f"{prefix}-chaincode.pharma.HospitalA.service",
        ]
    )
    peer = units.files[f"{prefix}-peer0.HospitalA.service"]
    spec = network.node_spec("peer0.HospitalA")
    assert f"ExecStart={spec.argv[0]} node start" in peer.splitlines()
    assert f"WorkingDirectory={spec.cwd}" in peer.splitlines()
    assert f'Environment="CORE_PEER_MSPCONFIGPATH={spec.env["CORE_PEER_MSPCONFIGPATH"]}"' in peer.splitlines()
    assert str(network.run_dir) in peer
    written = units.write(tmp_path)
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of Debian's systemd package"
    result = subprocess.run(
        [analyze, "verify", *map(str, written)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_orderer_organization_runs_its_orderers_and_the_shared_chaincode_servers(
    network: ConsortiumNetwork,
) -> None:
    units = network.systemd_units("Orderer", user="fabrx")
    nodes = {name.removeprefix(f"fabrx-{network.consortium.name}-Orderer-") for name in units.files}
    assert {"ca.Orderer.service", "orderer0.Orderer.service", "chaincode.asset-py.service"} <= nodes
    assert not any("HospitalA" in name for name in nodes)


def test_units_of_an_unknown_organization_are_refused_with_the_list(network: ConsortiumNetwork) -> None:
    with pytest.raises(NetworkError, match=r"no organization 'HospitalZ' .*HospitalA"):
        network.systemd_units("HospitalZ", user="fabrx")
