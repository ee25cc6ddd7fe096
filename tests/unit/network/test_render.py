"""Rendering a consortium: process specs, configtx.yaml and MSP settings, compared with golden files.

Golden files live in ``golden/<variant>/``. After an intended change of the rendered output, rewrite
them and review the diff:

    FABRX_UPDATE_GOLDEN=1 pytest tests/unit/network/test_render.py

Without the variable every difference fails the test.
"""

from __future__ import annotations

import difflib
import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabrx_network.config import Consortium, load_consortium
from fabrx_network.layout import RunLayout
from fabrx_network.render import (
    NODE_OU_CONFIG,
    ProcessSpec,
    RenderedNetwork,
    RenderError,
    render_env_file,
    render_network,
    write_rendered,
)

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
DEFAULT_CONSORTIUM = HERE.parents[2] / "network" / "consortium.yaml"
UPDATE_GOLDEN = os.environ.get("FABRX_UPDATE_GOLDEN") == "1"
ROOT = Path("/srv/fabrx/run/pharma")


@dataclass(frozen=True)
class _Fabric:
    bin_dir: Path = Path("/opt/fabric/3.1.5/bin")
    ca_bin_dir: Path = Path("/opt/fabric-ca/1.5.21/bin")
    config_dir: Path = Path("/opt/fabric/3.1.5/config")


def _passwords(consortium: Consortium) -> dict[str, str]:
    names = [consortium.orderer_org.name, *(o.name for o in consortium.orgs)]
    return {name: f"pw-{name}-Zq8x" for name in names}


def _render(consortium: Consortium, root: Path = ROOT) -> RenderedNetwork:
    return render_network(consortium, RunLayout(root), _Fabric(), _passwords(consortium))


def _assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    regenerate = "FABRX_UPDATE_GOLDEN=1 pytest tests/unit/network/test_render.py"
    assert path.is_file(), f"golden file {path} is missing; create it with: {regenerate}"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True), str(path), "rendered"
            )
        )
        pytest.fail(f"rendered output differs from {path}:\n{diff}\nIf the change is intended: {regenerate}")


def _process_document(rendered: RenderedNetwork) -> str:
    def spec(p: ProcessSpec) -> dict[str, Any]:
        return {
            "name": p.name,
            "kind": p.kind,
            "argv": list(p.argv),
            "cwd": str(p.cwd),
            "log_path": str(p.log_path),
            "health_url": p.health_url,
            "ports": list(p.ports),
            "env_file": str(p.env_file),
            "env": dict(p.env),
        }

    document = {
        "cas": [
            {
                "org": ca.org,
                "ca_name": ca.ca_name,
                "url": ca.url,
                "ca_cert": str(ca.ca_cert),
                "tls": {"cert": str(ca.tls.cert), "key": str(ca.tls.key)},
                "init_argv": list(ca.redacted_init_argv),
                "init_env": dict(ca.init_env),
            }
            for ca in rendered.cas
        ],
        "processes": [spec(p) for p in rendered.processes],
        "files": sorted(str(path) for path in rendered.files),
    }
    return yaml.safe_dump(document, sort_keys=False, width=1000)


# --------------------------------------------------------------------------------------------------
# Golden files: the default consortium with each orderer variant


@pytest.mark.parametrize("variant", ["raft1", "raft3", "bft4"])
def test_default_consortium_renders_as_the_golden_files(variant: str) -> None:
    rendered = _render(load_consortium(DEFAULT_CONSORTIUM, consensus=variant))

    _assert_golden(f"{variant}/configtx.yaml", rendered.configtx_yaml)
    _assert_golden(f"{variant}/processes.yaml", _process_document(rendered))


def test_msp_node_ou_config_matches_the_golden_file() -> None:
    _assert_golden("msp-config.yaml", NODE_OU_CONFIG)


def test_golden_comparison_fails_on_any_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.UPDATE_GOLDEN", False)

    with pytest.raises(pytest.fail.Exception, match="differs from"):
        _assert_golden("msp-config.yaml", NODE_OU_CONFIG + "# changed\n")


# --------------------------------------------------------------------------------------------------
# Processes


def _tiny(**changes: Any) -> Consortium:
    document: dict[str, Any] = {
        "name": "tiny",
        "port_base": 21000,
        "orderer_org": {
            "name": "Ord",
            "consensus": "raft1",
            "variants": {"raft1": {"type": "etcdraft", "orderers": [{"name": "o0"}]}},
        },
        "orgs": [
            {"name": "Reg", "role": "regulator", "peers": [{"name": "peer0"}, {"name": "peer1"}]},
            {
                "name": "Maker",
                "role": "manufacturer",
                "peers": [{"name": "peer0"}],
                "clients": [{"name": "erp"}],
            },
        ],
        "channels": [
            {"name": "alpha"},
            {
                "name": "beta",
                "orgs": ["Reg"],
                "block_cutting": {"batch_timeout": "2s", "max_message_count": 10},
            },
        ],
    }
    document.update(changes)
    return load_consortium(yaml.safe_dump(document))


def test_bootstrap_password_appears_only_in_the_ca_init_command() -> None:
    consortium = _tiny()
    passwords = _passwords(consortium)
    rendered = _render(consortium)

    searchable = [
        *rendered.files.values(),
        repr(rendered),
        *(arg for p in rendered.processes for arg in p.argv),
        *(value for p in rendered.processes for value in p.env.values()),
        *(arg for ca in rendered.cas for arg in ca.redacted_init_argv),
    ]
    for password in passwords.values():
        assert not any(password in text for text in searchable)
    for ca in rendered.cas:
        assert f"ca-admin:{passwords[ca.org]}" in ca.init_argv
        assert "ca-admin:***" in ca.redacted_init_argv
        assert ca.init_argv[1] == "init"


def test_ca_init_runs_without_the_operations_settings_whose_tls_files_come_later() -> None:
    ca = _render(_tiny()).cas[0]

    assert "FABRIC_CA_SERVER_OPERATIONS_TLS_CERT_FILE" in ca.process.env
    assert not any(key.startswith("FABRIC_CA_SERVER_OPERATIONS") for key in ca.init_env)
    assert Path(ca.process.env["FABRIC_CA_SERVER_OPERATIONS_TLS_CERT_FILE"]) == ca.tls.cert
    assert "--tls.certfile" in ca.process.argv and str(ca.tls.key) in ca.process.argv


def test_render_network_names_the_organization_without_a_ca_password() -> None:
    consortium = _tiny()
    passwords = _passwords(consortium)
    del passwords["Maker"]

    with pytest.raises(RenderError, match="organization 'Maker'"):
        render_network(consortium, RunLayout(ROOT), _Fabric(), passwords)


def test_every_endpoint_uses_tls() -> None:
    rendered = _render(_tiny())

    for spec in rendered.processes:
        assert spec.health_url.startswith("https://127.0.0.1:")
    for peer in rendered.peers:
        assert peer.env["CORE_PEER_TLS_ENABLED"] == "true"
        assert peer.env["CORE_OPERATIONS_TLS_ENABLED"] == "true"
        assert Path(peer.env["CORE_PEER_TLS_CERT_FILE"]).name == "server.crt"
    for orderer in rendered.orderers:
        assert orderer.env["ORDERER_GENERAL_TLS_ENABLED"] == "true"
        assert orderer.env["ORDERER_OPERATIONS_TLS_ENABLED"] == "true"
        assert orderer.env["ORDERER_ADMIN_TLS_ENABLED"] == "true"
        assert orderer.env["ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED"] == "true"
    for ca in rendered.cas:
        assert "--tls.enabled" in ca.process.argv
        assert ca.process.env["FABRIC_CA_SERVER_OPERATIONS_TLS_ENABLED"] == "true"
        assert ca.url.startswith("https://")


def test_processes_listen_on_distinct_ports_of_the_consortium() -> None:
    consortium = _tiny()
    rendered = _render(consortium)

    ports = [port for spec in rendered.processes for port in spec.ports]
    assert len(ports) == len(set(ports)) == 2 * 3 + 1 * 3 + 3 * 3
    reg = consortium.org("Reg")
    peer1 = next(p for p in rendered.peers if p.name == "peer1.Reg")
    assert peer1.ports == (reg.peers[1].port, reg.peers[1].chaincode_port, reg.peers[1].operations_port)
    assert peer1.env["CORE_PEER_LISTENADDRESS"] == f"127.0.0.1:{reg.peers[1].port}"


def test_peers_start_without_docker_using_the_ccaas_builder() -> None:
    peer = _render(_tiny()).peers[0]

    assert peer.argv == ("/opt/fabric/3.1.5/bin/peer", "node", "start")
    assert peer.env["FABRIC_CFG_PATH"] == "/opt/fabric/3.1.5/config"
    assert peer.env["CORE_VM_ENDPOINT"] == ""
    builders = yaml.safe_load(peer.env["CORE_CHAINCODE_EXTERNALBUILDERS"])
    assert builders == [
        {
            "name": "ccaas",
            "path": str(ROOT / "builders" / "ccaas"),
            "propagateEnvironment": ["CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"],
        }
    ]


def test_gossip_bootstraps_from_another_peer_of_the_same_organization() -> None:
    consortium = _tiny()
    rendered = _render(consortium)
    by_name = {p.name: p for p in rendered.peers}
    reg, maker = consortium.org("Reg"), consortium.org("Maker")

    assert by_name["peer0.Reg"].env["CORE_PEER_GOSSIP_BOOTSTRAP"] == f"127.0.0.1:{reg.peers[1].port}"
    assert by_name["peer1.Reg"].env["CORE_PEER_GOSSIP_BOOTSTRAP"] == f"127.0.0.1:{reg.peers[0].port}"
    assert by_name["peer0.Maker"].env["CORE_PEER_GOSSIP_BOOTSTRAP"] == f"127.0.0.1:{maker.peers[0].port}"


def test_chaincode_execute_timeout_comes_from_the_consortium() -> None:
    rendered = _render(_tiny(chaincode_execute_timeout="5s"))

    assert {p.env["CORE_CHAINCODE_EXECUTETIMEOUT"] for p in rendered.peers} == {"5s"}


def test_env_file_reads_back_as_the_process_environment() -> None:
    spec = _render(_tiny()).peers[0]

    text = render_env_file(spec)

    parsed = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, quoted = line.partition("=")
            parsed[key] = "".join(shlex.split(quoted))
    assert parsed == spec.env
    assert shlex.join(spec.argv) in text


# --------------------------------------------------------------------------------------------------
# configtx.yaml


def test_configtx_has_one_profile_per_channel_with_its_members_and_block_cutting() -> None:
    configtx = yaml.safe_load(_render(_tiny()).configtx_yaml)

    assert list(configtx["Profiles"]) == ["alpha", "beta"]
    alpha, beta = configtx["Profiles"]["alpha"], configtx["Profiles"]["beta"]
    assert [o["Name"] for o in alpha["Application"]["Organizations"]] == ["Reg", "Maker"]
    assert [o["Name"] for o in beta["Application"]["Organizations"]] == ["Reg"]
    assert (alpha["Orderer"]["BatchTimeout"], alpha["Orderer"]["BatchSize"]["MaxMessageCount"]) == (
        "20ms",
        100,
    )
    assert (beta["Orderer"]["BatchTimeout"], beta["Orderer"]["BatchSize"]["MaxMessageCount"]) == ("2s", 10)
    assert alpha["Capabilities"] == {"V3_0": True}
    assert alpha["Application"]["Policies"]["LifecycleEndorsement"]["Rule"] == "MAJORITY Endorsement"


def test_configtx_organizations_use_node_ou_policies_and_inline_anchor_peers() -> None:
    consortium = _tiny()
    configtx = yaml.safe_load(_render(consortium).configtx_yaml)
    reg = next(o for o in configtx["Organizations"] if o["Name"] == "Reg")

    assert reg["ID"] == "RegMSP"
    assert reg["MSPDir"] == str(ROOT / "orgs" / "Reg" / "msp")
    assert reg["Policies"]["Readers"]["Rule"] == "OR('RegMSP.admin', 'RegMSP.peer', 'RegMSP.client')"
    assert reg["Policies"]["Writers"]["Rule"] == "OR('RegMSP.admin', 'RegMSP.client')"
    assert reg["Policies"]["Admins"]["Rule"] == "OR('RegMSP.admin')"
    assert reg["Policies"]["Endorsement"]["Rule"] == "OR('RegMSP.peer')"
    assert reg["AnchorPeers"] == [{"Host": "127.0.0.1", "Port": consortium.org("Reg").peers[0].port}]


def test_raft_profile_lists_each_orderer_as_consenter_and_endpoint() -> None:
    consortium = load_consortium(DEFAULT_CONSORTIUM, consensus="raft3")
    orderer = yaml.safe_load(_render(consortium).configtx_yaml)["Profiles"]["pharma"]["Orderer"]

    ports = [o.port for o in consortium.orderer_org.orderers]
    assert orderer["OrdererType"] == "etcdraft"
    assert [c["Port"] for c in orderer["EtcdRaft"]["Consenters"]] == ports
    assert orderer["EtcdRaft"]["Consenters"][1]["ServerTLSCert"] == str(
        ROOT / "orgs" / "Orderer" / "orderers" / "orderer1" / "tls" / "server.crt"
    )
    assert orderer["Organizations"][0]["OrdererEndpoints"] == [f"127.0.0.1:{p}" for p in ports]
    assert "Addresses" not in orderer  # global endpoints are refused with the V3_0 capability


def test_bft_profile_cuts_blocks_by_the_channel_batch_timeout() -> None:
    consortium = load_consortium(DEFAULT_CONSORTIUM, consensus="bft4")
    orderer = yaml.safe_load(_render(consortium).configtx_yaml)["Profiles"]["pharma"]["Orderer"]

    assert orderer["OrdererType"] == "BFT"
    assert [c["ID"] for c in orderer["ConsenterMapping"]] == [1, 2, 3, 4]
    assert orderer["ConsenterMapping"][0]["MSPID"] == "OrdererMSP"
    assert orderer["ConsenterMapping"][0]["Identity"] == str(
        ROOT / "orgs" / "Orderer" / "orderers" / "orderer0" / "msp" / "signcerts" / "cert.pem"
    )
    assert orderer["SmartBFT"]["RequestBatchMaxInterval"] == "20ms"
    assert orderer["SmartBFT"]["RequestBatchMaxCount"] == 100
    assert "EtcdRaft" not in orderer


# --------------------------------------------------------------------------------------------------
# Writing


def test_rendering_touches_no_file(tmp_path: Path) -> None:
    _render(_tiny(), tmp_path / "run")

    assert list(tmp_path.iterdir()) == []


def test_write_rendered_writes_every_file_and_the_node_folders(tmp_path: Path) -> None:
    consortium = _tiny()
    layout = RunLayout(tmp_path / "run")
    rendered = _render(consortium, layout.root)

    written = write_rendered(rendered, layout)

    assert sorted(written) == sorted(rendered.files)
    for path, text in rendered.files.items():
        assert path.read_text(encoding="utf-8") == text
    assert layout.configtx_file.read_text(encoding="utf-8") == rendered.configtx_yaml
    assert layout.org_msp("Reg").config_yaml.read_text(encoding="utf-8") == NODE_OU_CONFIG
    assert layout.peer_msp("Reg", "peer1").config_yaml.is_file()
    assert layout.user_msp("Maker", "erp").config_yaml.is_file()
    assert layout.user_msp("Maker", "admin").config_yaml.is_file()
    assert layout.orderer_msp("Ord", "o0").config_yaml.is_file()
    assert layout.node_data("peer0.Maker").is_dir()
    assert layout.node_data("o0.Ord").is_dir()
    assert layout.logs_dir.is_dir()
    assert stat.S_IMODE(layout.ca_home("Reg").stat().st_mode) == 0o700
    assert not list(layout.root.rglob("*.tmp"))


def test_write_rendered_replaces_files_of_an_earlier_run(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    write_rendered(_render(_tiny(), layout.root), layout)

    write_rendered(_render(_tiny(chaincode_execute_timeout="7s"), layout.root), layout)

    assert "CORE_CHAINCODE_EXECUTETIMEOUT=7s" in layout.node_env_file("peer0.Reg").read_text(encoding="utf-8")
