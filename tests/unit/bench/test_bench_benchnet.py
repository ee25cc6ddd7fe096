from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from bench.benchnet import (
    BENCH_CONSORTIUM,
    DEFAULT_CONSORTIUM,
    UpNetwork,
    describe_bench_network,
    load_template,
    ports_taken,
    variant,
)
from bench.runner import BenchError

from fabrx_network import NetworkError, ProcessError, RunLayout, load_consortium


def test_variant_moves_ports_sets_the_batch_timeout_and_leaves_the_template_alone() -> None:
    template = load_template(BENCH_CONSORTIUM)
    data = variant(template, port_base=61250, batch_timeout="250ms")
    assert data["port_base"] == 61250
    assert [c["block_cutting"]["batch_timeout"] for c in data["channels"]] == ["250ms"]
    assert template["port_base"] == 61050
    assert template["channels"][0]["block_cutting"]["batch_timeout"] == "20ms"


def test_variant_makes_node_chaincode_folders_absolute_and_appends_extra_chaincodes(tmp_path: Path) -> None:
    template: dict[str, Any] = {"chaincodes": [{"name": "a", "runtime": {"node": "js/cc"}}]}
    extra = {"name": "b", "runtime": {"python": "asset:AssetContract"}}
    data = variant(template, extra_chaincodes=[extra], root=tmp_path)
    assert data["chaincodes"][0]["runtime"]["node"] == str((tmp_path / "js" / "cc").resolve())
    assert data["chaincodes"][1] == extra
    assert template["chaincodes"][0]["runtime"]["node"] == "js/cc"


def test_bench_consortium_is_the_reference_setup(tmp_path: Path) -> None:
    config = tmp_path / "consortium.yaml"
    config.write_text(yaml.safe_dump(variant(load_template(BENCH_CONSORTIUM))), encoding="utf-8")
    consortium = load_consortium(config)
    assert [(o.msp_id, o.role, len(o.peers)) for o in consortium.orgs] == [
        ("RegulatorMSP", "regulator", 1),
        ("ManufacturerMSP", "manufacturer", 1),
    ]
    assert len(consortium.orderer_org.orderers) == 1
    cutting = consortium.channels[0].block_cutting
    assert cutting.max_message_count == 100
    assert {c.name: c.runtime.kind for c in consortium.chaincodes} == {
        "asset-py": "python",
        "asset-node": "node",
    }
    assert consortium.port_base >= 61000  # above Linux's ephemeral ports (32768-60999)


def test_default_consortium_template_has_the_pharma_chaincode() -> None:
    names = [c["name"] for c in load_template(DEFAULT_CONSORTIUM)["chaincodes"]]
    assert "pharma" in names


def test_ports_taken_recognizes_only_the_port_refusal() -> None:
    assert ports_taken(
        ProcessError("ports are not free:\n  - peer0.Org needs 127.0.0.1:61066, which is in use")
    )
    assert not ports_taken(ProcessError("cannot start peer0.Org: peer: not found"))
    assert not ports_taken(NetworkError("ports are not free"))


def _up(tmp_path: Path, processes: dict[str, int]) -> UpNetwork:
    """A stand-in for a running bench network: the real consortium file, a fake supervisor."""
    config = tmp_path / "consortium.yaml"
    config.write_text(yaml.safe_dump(variant(load_template(BENCH_CONSORTIUM))), encoding="utf-8")
    layout = RunLayout(tmp_path / "run")
    keystore = layout.user_msp("Regulator", "client").keystore
    keystore.mkdir(parents=True)
    (keystore / "priv_sk").write_text("key")
    network = SimpleNamespace(
        consortium=load_consortium(config),
        layout=layout,
        supervisor=SimpleNamespace(processes={n: SimpleNamespace(pid=p) for n, p in processes.items()}),
    )
    fabric = SimpleNamespace(bin_dir=tmp_path / "bin")
    return UpNetwork(network=network, steps=(), seconds=1.0, folder=tmp_path, fabric=fabric)


def test_describe_bench_network_maps_nodes_and_chaincode_servers_to_pids(tmp_path: Path) -> None:
    processes = {
        "peer0.Regulator": 11,
        "peer0.Manufacturer": 12,
        "orderer0.Orderer": 13,
        "chaincode.asset-py": 21,
        "chaincode.asset-node": 22,
    }
    network = describe_bench_network(_up(tmp_path, processes), description="bench")
    assert network.processes == {"gateway peer": 11, "other peer": 12, "orderer": 13}
    assert network.watched("fabrx")["chaincode"] == 21
    assert network.chaincodes["node"].name == "asset-node"
    assert network.msp_id == "RegulatorMSP"
    assert network.key.name == "priv_sk"
    assert network.channel == "benchchannel"
    assert network.fabric_bin == tmp_path / "bin"


def test_describe_bench_network_names_a_node_that_is_not_running(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"peer0\.Manufacturer"):
        describe_bench_network(_up(tmp_path, {"peer0.Regulator": 1, "orderer0.Orderer": 2}), description="")
