"""Loading the consortium definition: every problem found at once, with its path; defaults resolved."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabrx_network import _config_rules
from fabrx_network.config import (
    AUTO_PORT,
    ByteSize,
    ConfigError,
    Consortium,
    Duration,
    EndorsementPolicy,
    Problem,
    load_consortium,
    signature_policy_principals,
)

REPO = Path(__file__).resolve().parents[3]
DEFAULT_CONSORTIUM = REPO / "network" / "consortium.yaml"

# A small valid consortium; each test changes one thing.
BASE: dict[str, Any] = {
    "name": "tiny",
    "port_base": 21000,
    "orderer_org": {
        "name": "Orderer",
        "consensus": "raft1",
        "variants": {
            "raft1": {"type": "etcdraft", "orderers": [{"name": "orderer0"}]},
            "bft4": {"type": "BFT", "orderers": [{"name": f"orderer{i}"} for i in range(4)]},
        },
    },
    "orgs": [
        {"name": "Regulator", "role": "regulator", "peers": [{"name": "peer0"}]},
        {"name": "Maker", "role": "manufacturer", "peers": [{"name": "peer0"}]},
        {"name": "Dist", "role": "distributor", "peers": [{"name": "peer0"}]},
    ],
    "channels": [{"name": "trade"}],
    "chaincodes": [{"name": "asset", "channel": "trade", "runtime": {"python": "tests.asset:AssetContract"}}],
}

Change = Callable[[dict[str, Any]], None]


def _load(change: Change | None = None) -> Consortium:
    document = copy.deepcopy(BASE)
    if change is not None:
        change(document)
    return load_consortium(yaml.safe_dump(document, sort_keys=False))


def _problems(change: Change) -> list[Problem]:
    with pytest.raises(ConfigError) as raised:
        _load(change)
    return raised.value.problems


def _set(path: str, value: Any) -> Change:
    """A change setting ``a.b[0].c`` to value (``None`` deletes the key)."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]

    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for part in parts[:-1]:
            node = node[part]
        if value is None:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value

    return change


def _both(*changes: Change) -> Change:
    def change(document: dict[str, Any]) -> None:
        for one in changes:
            one(document)

    return change


# --------------------------------------------------------------------------------------------------
# The default consortium


def test_default_consortium_loads_without_problems() -> None:
    consortium = load_consortium(DEFAULT_CONSORTIUM)

    assert consortium.warnings == ()
    assert [(o.name, o.msp_id, o.role) for o in consortium.orgs] == [
        ("Regulator", "RegulatorMSP", "regulator"),
        ("Manufacturer", "ManufacturerMSP", "manufacturer"),
        ("DistributorA", "DistributorAMSP", "distributor"),
        ("DistributorB", "DistributorBMSP", "distributor"),
        ("HospitalA", "HospitalAMSP", "hospital"),
        ("HospitalB", "HospitalBMSP", "hospital"),
    ]
    assert [len(o.peers) for o in consortium.orgs] == [1] * 6
    assert consortium.orderer_org.consensus_type == "etcdraft"
    assert [o.name for o in consortium.orderer_org.orderers] == ["orderer0"]
    assert {name: len(v.orderers) for name, v in consortium.orderer_org.variants.items()} == {
        "raft1": 1,
        "raft3": 3,
        "bft4": 4,
    }
    channel = consortium.channel("pharma")
    assert channel.block_cutting.batch_timeout == Duration(20)
    assert channel.block_cutting.max_message_count == 100


def test_default_chaincode_is_endorsed_by_the_regulator_and_defines_no_collections() -> None:
    # The pharma chaincode keeps private data in Fabric's implicit per-organization collections, so its
    # definition names neither collections nor members: it does not grow as members join.
    chaincode = load_consortium(DEFAULT_CONSORTIUM).chaincodes[0]

    policy = chaincode.endorsement_policy.signature_policy
    assert policy == "OR('RegulatorMSP.peer')"
    assert {msp for msp, _ in signature_policy_principals(policy)} == {"RegulatorMSP"}
    assert chaincode.runtime.python == "fabrx_pharma_chaincode.contract:PharmaContract"
    assert chaincode.collections == ()


def test_port_table_in_the_default_file_matches_the_allocation() -> None:
    consortium = load_consortium(DEFAULT_CONSORTIUM, consensus="bft4")
    actual: dict[str, list[int]] = {}
    actual[f"ca.{consortium.orderer_org.name}"] = [
        consortium.orderer_org.ca.port,
        consortium.orderer_org.ca.operations_port,
    ]
    for o in consortium.orderer_org.orderers:
        actual[f"{o.name}.{consortium.orderer_org.name}"] = [o.port, o.admin_port, o.operations_port]
    for org in consortium.orgs:
        actual[f"ca.{org.name}"] = [org.ca.port, org.ca.operations_port]
        for p in org.peers:
            actual[f"{p.name}.{org.name}"] = [p.port, p.chaincode_port, p.operations_port]
    for cc in consortium.chaincodes:
        for org, port in cc.server.ports.items():
            actual[f"chaincode.{cc.name}.{org}"] = [port]

    documented: dict[str, list[int]] = {}
    table = DEFAULT_CONSORTIUM.read_text().split("# Ports of this file", 1)[1]
    for line in table.splitlines():
        row = re.match(r"^#   (\S+(?: server \S+)?)\s+(\d+)\D", line + " ")
        if row:
            documented[row.group(1)] = [int(n) for n in re.findall(r"\b(\d{4,5})\b", line)]

    assert documented == actual


# --------------------------------------------------------------------------------------------------
# Resolution of defaults


def test_resolution_fills_msp_ids_clients_channel_members_and_role_attributes() -> None:
    consortium = _load()

    regulator = consortium.org("Regulator")
    assert regulator.msp_id == "RegulatorMSP"
    assert consortium.orderer_org.msp_id == "OrdererMSP"
    assert [(c.name, c.attrs) for c in regulator.clients] == [("client", {"fabrx.role": "regulator"})]
    assert consortium.channel("trade").orgs == ("Regulator", "Maker", "Dist")
    assert consortium.chaincodes[0].endorsement_policy == EndorsementPolicy(
        channel_config_policy="/Channel/Application/Endorsement"
    )
    assert consortium.chaincodes[0].collections == ()
    assert consortium.chaincode_execute_timeout == Duration(30_000)
    assert consortium.host == "127.0.0.1"


def test_client_attributes_given_are_kept_next_to_the_role() -> None:
    consortium = _load(
        _set("orgs[1].clients", [{"name": "erp", "attrs": {"department": "sales", "level": 3}}])
    )

    assert consortium.org("Maker").clients[0].attrs == {
        "fabrx.role": "manufacturer",
        "department": "sales",
        "level": "3",
    }


def test_ports_are_allocated_in_file_order_from_port_base() -> None:
    consortium = _load()

    assert (consortium.orderer_org.ca.port, consortium.orderer_org.ca.operations_port) == (21000, 21001)
    orderer0 = consortium.orderer_org.orderers[0]
    assert (orderer0.port, orderer0.admin_port, orderer0.operations_port) == (21002, 21003, 21004)
    # orderer1..3 exist only in bft4 but keep their ports whichever variant runs
    assert consortium.orderer_org.variants["bft4"].orderers[3].operations_port == 21013
    regulator = consortium.org("Regulator")
    assert (regulator.ca.port, regulator.ca.operations_port) == (21014, 21015)
    assert (
        regulator.peers[0].port,
        regulator.peers[0].chaincode_port,
        regulator.peers[0].operations_port,
    ) == (
        21016,
        21017,
        21018,
    )
    # every organization with peers runs its own server of the chaincode, allocated after every node
    assert consortium.chaincodes[0].server.ports == {"Regulator": 21029, "Maker": 21030, "Dist": 21031}


def test_a_shared_chaincode_server_has_one_port_and_no_serving_organization() -> None:
    consortium = _load(_set("chaincodes[0].server", {"shared": True}))
    chaincode = consortium.chaincodes[0]
    assert (chaincode.server.shared, chaincode.server.port, chaincode.server.ports) == (True, 21029, {})
    assert consortium.chaincode_server_orgs(chaincode) == ()


def test_only_the_organizations_of_a_chaincodes_channel_run_its_servers() -> None:
    def change(document: dict[str, Any]) -> None:
        document["channels"][0]["orgs"] = ["Regulator", "Dist"]
        document["chaincodes"][0]["server"] = {"ports": {"Dist": 21500}}

    consortium = _load(change)
    chaincode = consortium.chaincodes[0]
    assert chaincode.server.ports == {"Regulator": 21029, "Dist": 21500}
    assert [o.name for o in consortium.chaincode_server_orgs(chaincode)] == ["Regulator", "Dist"]


def test_allocation_skips_every_explicit_port() -> None:
    def change(document: dict[str, Any]) -> None:
        document["orgs"][2]["peers"][0]["port"] = 21001
        document["orderer_org"]["ca"] = {"operations_port": 21003}

    consortium = _load(change)

    assert (consortium.orderer_org.ca.port, consortium.orderer_org.ca.operations_port) == (21000, 21003)
    assert consortium.orderer_org.orderers[0].port == 21002
    assert consortium.orderer_org.orderers[0].admin_port == 21004
    assert consortium.org("Dist").peers[0].port == 21001
    every_port = _all_ports(consortium)
    assert AUTO_PORT not in every_port
    assert len(every_port) == len(set(every_port))


def test_an_orderer_has_the_same_ports_in_every_variant() -> None:
    consortium = _load(_set("orderer_org.variants.bft4.orderers[0].port", 21500))

    assert consortium.orderer_org.variants["raft1"].orderers[0].port == 21500
    assert consortium.orderer_org.variants["bft4"].orderers[0].port == 21500


def test_consensus_argument_selects_another_variant() -> None:
    consortium = _load()
    bft = load_consortium(yaml.safe_dump(BASE), consensus="bft4")

    assert consortium.orderer_org.consensus_type == "etcdraft"
    assert bft.orderer_org.consensus_type == "BFT"
    assert [o.name for o in bft.orderer_org.orderers] == ["orderer0", "orderer1", "orderer2", "orderer3"]
    assert bft.orderer_org.orderers[0].port == consortium.orderer_org.orderers[0].port


def test_roles_are_labels_carried_by_every_client_certificate() -> None:
    def change(document: dict[str, Any]) -> None:
        document["orgs"].append({"name": "CityHost", "role": "host", "peers": [{"name": "peer0"}]})

    consortium = _load(change)

    host = consortium.org("CityHost")
    assert host.role == "host"
    assert all(client.attrs["fabrx.role"] == "host" for client in host.clients)
    assert consortium.chaincodes[0].collections == ()


def _all_ports(consortium: Consortium) -> list[int]:
    ports = [consortium.orderer_org.ca.port, consortium.orderer_org.ca.operations_port]
    for variant in consortium.orderer_org.variants.values():
        for o in variant.orderers:
            if variant is consortium.orderer_org.variants["bft4"]:
                ports += [o.port, o.admin_port, o.operations_port]
    for org in consortium.orgs:
        ports += [org.ca.port, org.ca.operations_port]
        for p in org.peers:
            ports += [p.port, p.chaincode_port, p.operations_port]
    ports += [port for cc in consortium.chaincodes for port in cc.server.ports.values()]
    ports += [cc.server.port for cc in consortium.chaincodes if cc.server.shared]
    return ports


# --------------------------------------------------------------------------------------------------
# Broken configurations: each one reports the problem at its path

BROKEN: list[tuple[str, Change, str, str]] = [
    # required fields and types
    ("missing name", _set("name", None), "name", "required"),
    ("missing orgs", _set("orgs", None), "orgs", "required"),
    ("empty orgs", _set("orgs", []), "orgs", "at least one"),
    ("missing role", _set("orgs[1].role", None), "orgs[1].role", "required: a role label"),
    ("missing runtime", _set("chaincodes[0].runtime", None), "chaincodes[0].runtime", "required"),
    ("port as string", _set("orgs[0].peers[0].port", "7051"), "orgs[0].peers[0].port", "expected an integer"),
    ("port as bool", _set("port_base", True), "port_base", "expected an integer, got a boolean"),
    ("version as number", _set("chaincodes[0].version", 1.0), "chaincodes[0].version", 'quote it: "1.0"'),
    ("orgs not a list", _set("orgs", {"name": "x"}), "orgs", "expected a list"),
    ("org not a mapping", _set("orgs[2]", "Dist"), "orgs[2]", "expected a mapping"),
    ("peers empty", _set("orgs[0].peers", []), "orgs[0].peers", "at least one"),
    (
        "boolean as string",
        _set(
            "chaincodes[0].collections",
            [{"name": "c", "policy": "OR('MakerMSP.member')", "member_only_read": "yes"}],
        ),
        "chaincodes[0].collections[0].member_only_read",
        "expected true or false",
    ),
    # unknown keys
    ("unknown top key", _set("prot_base", 1), "prot_base", "did you mean 'port_base'"),
    (
        "unknown peer key",
        _set("orgs[0].peers[0].chaincodeport", 1),
        "orgs[0].peers[0].chaincodeport",
        "did you mean 'chaincode_port'",
    ),
    ("unknown key far", _set("orgs[0].colour", "red"), "orgs[0].colour", "known: name, role, peers"),
    # names
    ("org name with space", _set("orgs[1].name", "Big Pharma"), "orgs[1].name", "not a valid name"),
    (
        "peer name with dot",
        _set("orgs[1].peers[0].name", "peer.0"),
        "orgs[1].peers[0].name",
        "not a valid name",
    ),
    ("consortium name underscore", _set("name", "my_net"), "name", "not a valid name"),
    ("channel upper case", _set("channels[0].name", "Trade"), "channels[0].name", "lower-case"),
    ("chaincode name", _set("chaincodes[0].name", "as set"), "chaincodes[0].name", "not a valid name"),
    ("msp id", _set("orgs[0].msp_id", "Reg MSP"), "orgs[0].msp_id", "not a valid name"),
    (
        "collection leading underscore",
        _set("chaincodes[0].collections", [{"name": "_implicit", "policy": "OR('MakerMSP.member')"}]),
        "chaincodes[0].collections[0].name",
        "not starting with '_'",
    ),
    # uniqueness
    (
        "duplicate org name",
        _set("orgs[2].name", "maker"),
        "orgs[2].name",
        "organization name 'maker' already used by orgs[1]",
    ),
    (
        "org named like orderer org",
        _set("orgs[2].name", "Orderer"),
        "orgs[2].name",
        "already used by orderer_org",
    ),
    (
        "duplicate msp id",
        _set("orgs[2].msp_id", "MakerMSP"),
        "orgs[2].msp_id",
        "MSP ID 'MakerMSP' already used by orgs[1]",
    ),
    (
        "duplicate peer",
        _set("orgs[0].peers", [{"name": "peer0"}, {"name": "PEER0"}]),
        "orgs[0].peers[1].name",
        "already used",
    ),
    (
        "duplicate client",
        _set("orgs[0].clients", [{"name": "app"}, {"name": "app"}]),
        "orgs[0].clients[1].name",
        "already used",
    ),
    (
        "client named admin",
        _set("orgs[0].clients", [{"name": "admin"}]),
        "orgs[0].clients[0].name",
        "reserved",
    ),
    (
        "duplicate channel",
        _set("channels", [{"name": "trade"}, {"name": "trade"}]),
        "channels[1].name",
        "already used",
    ),
    (
        "duplicate orderer",
        _set("orderer_org.variants.raft1.orderers", [{"name": "o"}, {"name": "o"}, {"name": "x"}]),
        "orderer_org.variants.raft1.orderers[1].name",
        "already used",
    ),
    # roles and choices
    ("bad role", _set("orgs[1].role", "chief buyer"), "orgs[1].role", "a role label"),
    (
        "bad consensus type",
        _set("orderer_org.variants.raft1.type", "raft"),
        "orderer_org.variants.raft1.type",
        "not one of etcdraft, BFT",
    ),
    (
        "private data generators are gone",
        _set("chaincodes[0].private_data", "trading_pairs"),
        "chaincodes[0].private_data",
        "unknown key",
    ),
    # ports
    (
        "duplicate peer port",
        _both(_set("orgs[0].peers[0].port", 21051), _set("orgs[2].peers[0].port", 21051)),
        "orgs[2].peers[0].port",
        "21051 already used by orgs[0].peers[0]",
    ),
    (
        "port shared across kinds",
        _both(
            _set("orgs[0].peers[0].chaincode_port", 21060),
            _set("orderer_org.variants.bft4.orderers[2].admin_port", 21060),
        ),
        "orgs[0].peers[0].chaincode_port",
        "21060 already used by orderer_org.variants.bft4.orderers[2].admin_port",
    ),
    (
        "ca port clash",
        _both(_set("orgs[1].ca", {"port": 21100}), _set("chaincodes[0].server", {"ports": {"Maker": 21100}})),
        "chaincodes[0].server.ports.Maker",
        "already used by orgs[1].ca",
    ),
    (
        "one port for per-organization chaincode servers",
        _set("chaincodes[0].server", {"port": 21100}),
        "chaincodes[0].server.port",
        "pin a port per organization under server.ports",
    ),
    (
        "chaincode server port for an organization that runs none",
        _set("chaincodes[0].server", {"ports": {"Maker2": 21100}}),
        "chaincodes[0].server.ports.Maker2",
        "'Maker2' runs no server of chaincode 'asset'",
    ),
    (
        "per-organization ports on a shared chaincode server",
        _set("chaincodes[0].server", {"shared": True, "ports": {"Maker": 21100}}),
        "chaincodes[0].server.ports",
        "a shared server has one port",
    ),
    (
        "chaincode server port not a number",
        _set("chaincodes[0].server", {"ports": {"Maker": "x"}}),
        "chaincodes[0].server.ports.Maker",
        "expected an integer",
    ),
    ("port too low", _set("orgs[0].peers[0].port", 80), "orgs[0].peers[0].port", "between 1024 and 65535"),
    (
        "port too high",
        _set("orgs[0].ca", {"operations_port": 70000}),
        "orgs[0].ca.operations_port",
        "between 1024 and 65535",
    ),
    (
        "orderer ports differ between variants",
        _both(
            _set("orderer_org.variants.raft1.orderers[0].port", 21200),
            _set("orderer_org.variants.bft4.orderers[0].port", 21201),
        ),
        "orderer_org.variants.bft4.orderers[0].port",
        "keeps its ports in every variant",
    ),
    ("allocation past 65535", _set("port_base", 65530), "port_base", "runs past 65535"),
    # references
    (
        "channel names unknown org",
        _set("channels[0].orgs", ["Regulator", "Makr"]),
        "channels[0].orgs[1]",
        "no organization 'Makr' under orgs; did you mean 'Maker'",
    ),
    (
        "channel lists orderer org",
        _set("channels[0].orgs", ["Orderer"]),
        "channels[0].orgs[0]",
        "orderer organization",
    ),
    (
        "channel lists org twice",
        _set("channels[0].orgs", ["Maker", "Maker"]),
        "channels[0].orgs[1]",
        "listed twice",
    ),
    ("channel orgs empty", _set("channels[0].orgs", []), "channels[0].orgs", "leave the key out to mean all"),
    (
        "chaincode channel unknown",
        _set("chaincodes[0].channel", "trades"),
        "chaincodes[0].channel",
        "no channel 'trades' under channels; did you mean 'trade'",
    ),
    (
        "collection member unknown",
        _set(
            "chaincodes[0].collections", [{"name": "c", "policy": "OR('MakerMSP.member', 'GhostMSP.member')"}]
        ),
        "chaincodes[0].collections[0].policy",
        "names MSP ID 'GhostMSP'",
    ),
    (
        "collection member off channel",
        _both(
            _set("channels[0].orgs", ["Regulator", "Maker"]),
            _set("chaincodes[0].collections", [{"name": "c", "policy": "OR('DistMSP.member')"}]),
        ),
        "chaincodes[0].collections[0].policy",
        "not an organization on channel 'trade'",
    ),
    (
        "endorsement names unknown msp",
        _set("chaincodes[0].endorsement_policy", "AND('MakerMSP.peer', 'DistMSP.peer', 'RegulaterMSP.peer')"),
        "chaincodes[0].endorsement_policy",
        "did you mean 'RegulatorMSP'",
    ),
    (
        "consensus variant unknown",
        _set("orderer_org.consensus", "raft3"),
        "orderer_org.consensus",
        "no variant 'raft3'",
    ),
    (
        "duplicate collection",
        _set(
            "chaincodes[0].collections",
            [
                {"name": "c", "policy": "OR('MakerMSP.member')"},
                {"name": "c", "policy": "OR('DistMSP.member')"},
            ],
        ),
        "chaincodes[0].collections[1].name",
        "collection name 'c' already used",
    ),
    (
        "duplicate chaincode",
        _set(
            "chaincodes",
            [
                {"name": "cc", "channel": "trade", "runtime": {"node": "x"}},
                {"name": "cc", "channel": "trade", "runtime": {"node": "y"}},
            ],
        ),
        "chaincodes[1].name",
        "already used",
    ),
    # consensus sizes
    (
        "bft with three",
        _set("orderer_org.variants.bft4.orderers", [{"name": f"o{i}"} for i in range(3)]),
        "orderer_org.variants.bft4.orderers",
        "BFT needs at least 4 orderers",
    ),
    (
        "raft with none",
        _set("orderer_org.variants.raft1.orderers", []),
        "orderer_org.variants.raft1.orderers",
        "at least one",
    ),
    (
        "no variants",
        _set("orderer_org.variants", {}),
        "orderer_org.variants",
        "at least one consensus variant",
    ),
    # durations, sizes, policies, runtimes
    (
        "duration without unit",
        _set("channels[0].block_cutting", {"batch_timeout": 2}),
        "channels[0].block_cutting.batch_timeout",
        "expected a duration",
    ),
    (
        "duration bad unit",
        _set("channels[0].block_cutting", {"batch_timeout": "2 sec"}),
        "channels[0].block_cutting.batch_timeout",
        "not a duration",
    ),
    (
        "duration zero",
        _set("chaincode_execute_timeout", "0s"),
        "chaincode_execute_timeout",
        "longer than 0ms",
    ),
    (
        "size bad unit",
        _set("channels[0].block_cutting", {"absolute_max_bytes": "10 MiB"}),
        "channels[0].block_cutting.absolute_max_bytes",
        "not a size",
    ),
    (
        "size too big",
        _set("channels[0].block_cutting", {"absolute_max_bytes": "5 GB"}),
        "channels[0].block_cutting.absolute_max_bytes",
        "below 4 GB",
    ),
    (
        "preferred above absolute",
        _set("channels[0].block_cutting", {"absolute_max_bytes": "1 MB", "preferred_max_bytes": "2 MB"}),
        "channels[0].block_cutting.preferred_max_bytes",
        "larger than absolute_max_bytes",
    ),
    (
        "message count zero",
        _set("channels[0].block_cutting", {"max_message_count": 0}),
        "channels[0].block_cutting.max_message_count",
        "at least 1",
    ),
    (
        "policy syntax",
        _set("chaincodes[0].endorsement_policy", "OR('MakerMSP.peer' 'DistMSP.peer')"),
        "chaincodes[0].endorsement_policy",
        "expected ',' or ')'",
    ),
    (
        "policy role",
        _set("chaincodes[0].endorsement_policy", "OR('MakerMSP.boss')"),
        "chaincodes[0].endorsement_policy",
        "a principal is '<MSP id>.<role>'",
    ),
    (
        "policy threshold",
        _set("chaincodes[0].endorsement_policy", "OutOf(3, 'MakerMSP.peer', 'DistMSP.peer')"),
        "chaincodes[0].endorsement_policy",
        "OutOf needs 1 <= n <= 2",
    ),
    (
        "channel policy path",
        _set("chaincodes[0].endorsement_policy", {"channel_config_policy": "Endorsement"}),
        "chaincodes[0].endorsement_policy",
        "not a channel policy path",
    ),
    (
        "both policy kinds",
        _set(
            "chaincodes[0].endorsement_policy",
            {
                "channel_config_policy": "/Channel/Application/Endorsement",
                "signature_policy": "OR('MakerMSP.peer')",
            },
        ),
        "chaincodes[0].endorsement_policy",
        "exactly one of",
    ),
    (
        "collection endorsement policy written as null",
        _set(
            "chaincodes[0].collections",
            [{"name": "c", "policy": "OR('MakerMSP.member')", "endorsement_policy": None}],
        ),
        "chaincodes[0].collections[0].endorsement_policy",
        "expected a mapping with keys signature_policy, channel_config_policy; got nothing (null)",
    ),
    (
        "empty policy string",
        _set("chaincodes[0].endorsement_policy", ""),
        "chaincodes[0].endorsement_policy",
        "give exactly one of signature_policy or channel_config_policy",
    ),
    (
        "policy with an unknown key names neither kind",
        _set("chaincodes[0].endorsement_policy", {"signature": "OR('MakerMSP.peer')"}),
        "chaincodes[0].endorsement_policy",
        "give exactly one of",
    ),
    (
        "both runtimes",
        _set("chaincodes[0].runtime", {"python": "a.b:C", "node": "dir"}),
        "chaincodes[0].runtime",
        "exactly one of python",
    ),
    ("no runtime kind", _set("chaincodes[0].runtime", {}), "chaincodes[0].runtime", "exactly one of python"),
    (
        "python entry point",
        _set("chaincodes[0].runtime", {"python": "contract.py"}),
        "chaincodes[0].runtime.python",
        "not an entry point",
    ),
    ("sequence zero", _set("chaincodes[0].sequence", 0), "chaincodes[0].sequence", "at least 1"),
    (
        "required above max peers",
        _set(
            "chaincodes[0].collections",
            [{"name": "c", "policy": "OR('MakerMSP.member')", "required_peer_count": 2, "max_peer_count": 1}],
        ),
        "chaincodes[0].collections[0].required_peer_count",
        "more than max_peer_count",
    ),
    (
        "role attribute given",
        _set("orgs[0].clients", [{"name": "app", "attrs": {"fabrx.role": "hospital"}}]),
        "orgs[0].clients[0].attrs.fabrx.role",
        "set from the organization's role",
    ),
    (
        "fabric ca attribute",
        _set("orgs[0].clients", [{"name": "app", "attrs": {"hf.Revoker": "true"}}]),
        "orgs[0].clients[0].attrs.hf.Revoker",
        "reserved by Fabric CA",
    ),
    # versions and host
    ("fabric 2.4", _set("fabric", {"version": "2.4.9"}), "fabric.version", "not supported"),
    (
        "BFT on fabric 2.5",
        _both(_set("fabric", {"version": "2.5.16"}), _set("orderer_org.consensus", "bft4")),
        "orderer_org.consensus",
        "BFT, which needs Fabric 3",
    ),
    ("loose version", _set("fabric", {"version": "3.1"}), "fabric.version", "not a release number"),
    ("host not an address", _set("host", "my-laptop"), "host", "not an IP address"),
]


@pytest.mark.parametrize(
    ("change", "path", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_config_reports_the_problem_at_its_path(change: Change, path: str, message: str) -> None:
    problems = _problems(change)

    matching = [p for p in problems if p.path == path and message in p.message and p.severity == "error"]
    assert matching, f"no error at {path} containing {message!r}; got:\n" + "\n".join(map(str, problems))


def test_every_problem_is_reported_at_once() -> None:
    def change(document: dict[str, Any]) -> None:
        document["orgs"][0]["role"] = "auditor general"
        document["orgs"][1]["peers"][0]["port"] = "x"
        document["channels"][0]["orgs"] = ["Nobody"]
        document["colour"] = "blue"

    with pytest.raises(ConfigError) as raised:
        _load(change)

    paths = {p.path for p in raised.value.problems}
    assert {"orgs[0].role", "orgs[1].peers[0].port", "channels[0].orgs[0]", "colour"} <= paths
    lines = str(raised.value).splitlines()
    assert lines[0] == "<consortium text>: 4 errors in the consortium definition"
    assert any(line.startswith("  orgs[0].role: ") and "a role label" in line for line in lines)


def test_rules_across_fields_still_run_when_a_required_field_is_missing_or_unusable() -> None:
    def change(document: dict[str, Any]) -> None:
        del document["orgs"][1]["name"]
        document["orderer_org"]["variants"]["raft1"]["orderers"] = "orderer0"
        document["channels"][0]["orgs"] = ["Maker"]

    problems = {str(p) for p in _problems(change)}

    assert problems == {
        "orgs[1].name: required: letters, digits and '-' (not first or last), at most 63 characters",
        "orderer_org.variants.raft1.orderers: expected a list, got a string ('orderer0')",
        "channels[0].orgs[0]: no organization 'Maker' under orgs",
    }


WRONG_VALUES: list[Any] = [None, True, 1.5, 7, "x", [], [1], {}, {"k": 1}]


def _leaves(node: Any, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [path] * bool(path) + [
            q for k, v in node.items() for q in _leaves(v, f"{path}.{k}".lstrip("."))
        ]
    if isinstance(node, list):
        return [path] + [q for i, v in enumerate(node) for q in _leaves(v, f"{path}[{i}]")]
    return [path]


def test_every_problem_is_worded_by_fabrx_never_by_the_schema_library() -> None:
    # The models are pydantic's; its messages ("Input should be a valid integer", "Field required") are
    # translated at one boundary. Every section and value of the file set to every kind of wrong value.
    worded: set[str] = set()
    for path in _leaves(BASE):
        for value in WRONG_VALUES:
            try:
                _load(_set(path, value))
            except ConfigError as raised:
                worded.update(p.message for p in raised.problems if p.severity == "error")
    assert len(worded) > 50
    leaked = [m for m in worded if re.search(r"Input should|Field required|Extra inputs|pydantic", m)]
    assert not leaked, leaked


def test_warnings_do_not_stop_loading() -> None:
    def change(document: dict[str, Any]) -> None:
        document["orderer_org"]["variants"]["raft2"] = {
            "type": "etcdraft",
            "orderers": [{"name": "a"}, {"name": "b"}],
        }
        document["orderer_org"]["variants"]["bft5"] = {
            "type": "BFT",
            "orderers": [{"name": f"b{i}"} for i in range(5)],
        }
        document["host"] = "192.0.2.10"

    consortium = _load(change)

    assert {(p.path, p.severity) for p in consortium.warnings} == {
        ("orderer_org.variants.raft2.orderers", "warning"),
        ("orderer_org.variants.bft5.orderers", "warning"),
        ("host", "warning"),
    }
    raft2 = next(p for p in consortium.warnings if p.path == "orderer_org.variants.raft2.orderers")
    assert str(raft2).endswith("an odd count is recommended (warning)")


def test_warnings_are_listed_with_the_errors() -> None:
    def change(document: dict[str, Any]) -> None:
        document["host"] = "192.0.2.10"
        document["name"] = "bad name"

    with pytest.raises(ConfigError) as raised:
        _load(change)

    assert [p.severity for p in raised.value.problems] == ["error", "warning"]
    assert str(raised.value).splitlines()[-1].endswith("(warning)")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError) as raised:
        load_consortium("name: x\norgs: [\n  - a\n")

    assert raised.value.problems[0].path.startswith("line ")
    assert "not valid YAML" in raised.value.problems[0].message


def test_duplicate_yaml_key_is_a_problem() -> None:
    text = yaml.safe_dump(BASE, sort_keys=False) + "port_base: 22000\n"

    with pytest.raises(ConfigError) as raised:
        load_consortium(text)

    assert [str(p) for p in raised.value.problems] == [
        f"line {text.count(chr(10))}: key 'port_base' appears twice in the same mapping; keep one"
    ]


def test_document_that_is_not_a_mapping_is_a_problem() -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping, got a list"):
        load_consortium("- a\n- b\n")


def test_missing_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError) as raised:
        load_consortium(missing)

    assert raised.value.source == str(missing)
    assert "cannot read the file" in str(raised.value)


def test_a_binary_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    # It raised UnicodeDecodeError, which the command line printed as a traceback.
    binary = tmp_path / "consortium.yaml"
    binary.write_bytes(b"\x00\x01\xff\xfe")

    with pytest.raises(ConfigError) as raised:
        load_consortium(binary)

    assert raised.value.source == str(binary)
    assert "is not UTF-8 text (byte 2)" in str(raised.value)


def test_collections_nested_too_deep_are_refused_before_they_are_built() -> None:
    # 5000 levels of flow lists took seconds to parse and then raised RecursionError.
    for text in (
        "orgs: " + "[" * 5000 + "]" * 5000,
        "a:\n" + "".join(" " * i + "- x:\n" for i in range(0, 400, 2)),
    ):
        with pytest.raises(ConfigError, match="nested more than 64 deep"):
            load_consortium(text)


def test_an_empty_host_is_refused_rather_than_listening_on_every_interface() -> None:
    data = yaml.safe_load(DEFAULT_CONSORTIUM.read_text(encoding="utf-8"))
    data["host"] = ""
    with pytest.raises(ConfigError, match=r"host: must be an IP address"):
        load_consortium(yaml.safe_dump(data))


def test_config_error_is_a_network_error() -> None:
    from fabrx_network.errors import NetworkError

    assert issubclass(ConfigError, NetworkError)


# --------------------------------------------------------------------------------------------------
# Value types


@pytest.mark.parametrize(
    ("text", "milliseconds", "shown"),
    [
        ("50ms", 50, "50ms"),
        ("2s", 2000, "2s"),
        ("1m30s", 90_000, "90s"),
        ("1h", 3_600_000, "3600s"),
        ("1500ms", 1500, "1500ms"),
    ],
)
def test_duration_parses_go_style_text(text: str, milliseconds: int, shown: str) -> None:
    assert Duration.parse(text) == Duration(milliseconds)
    assert str(Duration(milliseconds)) == shown


@pytest.mark.parametrize("text", ["", "2", "2 s", "2sec", "-1s", "1.5s"])
def test_duration_rejects_text_without_a_go_unit(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        Duration.parse(text)


@pytest.mark.parametrize(
    ("text", "num_bytes", "shown"),
    [
        ("10 MB", 10 << 20, "10 MB"),
        ("512 KB", 512 << 10, "512 KB"),
        ("1GB", 1 << 30, "1 GB"),
        ("1000", 1000, "1000"),
        (2048, 2048, "2 KB"),
    ],
)
def test_byte_size_parses_configtx_style_sizes(text: str | int, num_bytes: int, shown: str) -> None:
    assert ByteSize.parse(text) == ByteSize(num_bytes)
    assert str(ByteSize(num_bytes)) == shown


def test_signature_policy_principals_are_all_listed() -> None:
    policy = "AND('RegulatorMSP.peer', OutOf(1, 'A-1.MSP.admin', \"B.client\"), or('C.member'))"

    assert sorted(signature_policy_principals(policy)) == [
        ("A-1.MSP", "admin"),
        ("B", "client"),
        ("C", "member"),
        ("RegulatorMSP", "peer"),
    ]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("", "end of policy"),
        ("OR(", "end of policy"),
        ("NOT('A.peer')", "unknown gate: use AND, OR or OutOf"),
        ("OR('A.peer')) ", "unexpected text after the policy"),
        ("OutOf('A.peer')", "needs a whole number as its first argument"),
        ("OR('A.peer'; 'B.peer')", "unexpected character"),
    ],
)
def test_signature_policy_errors_say_what_is_wrong(policy: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        signature_policy_principals(policy)


# ports in the kernel's ephemeral range


@pytest.fixture
def linux_ephemeral_range(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The range as Linux sets it by default, whatever this machine's kernel says."""
    monkeypatch.setattr(_config_rules, "ephemeral_port_range", lambda: (32768, 60999))
    return (32768, 60999)


def test_an_explicit_port_in_the_ephemeral_range_is_refused(linux_ephemeral_range: tuple[int, int]) -> None:
    problems = _problems(_set("orgs[1].peers[0].port", 40000))
    assert [str(p) for p in problems] == [
        "orgs[1].peers[0].port: 40000 lies in the kernel's ephemeral port range 32768-60999, from which "
        "outgoing connections take their ports, so a restarting node can find it taken; choose a port "
        "below 32768 or above 60999"
    ]


def test_ports_allocated_into_the_ephemeral_range_are_refused_at_port_base(
    linux_ephemeral_range: tuple[int, int],
) -> None:
    problems = _problems(_set("port_base", 32750))
    assert len(problems) == 1
    assert problems[0].path == "port_base"
    assert "reach into the kernel's ephemeral port range 32768-60999 (32768...)" in problems[0].message
    assert "below 32768 or above 60999" in problems[0].message
    # Just below or just above the range is fine.
    assert _load(_set("port_base", 61000)).port_base == 61000


def test_the_default_consortium_file_keeps_every_port_outside_this_machines_ephemeral_range() -> None:
    low, high = _config_rules.ephemeral_port_range()
    consortium = load_consortium(DEFAULT_CONSORTIUM)
    ports = [slot.port for slot in _config_rules._port_slots(consortium)]
    assert ports and not [port for port in ports if low <= port <= high]


def test_the_ephemeral_range_is_read_from_the_kernel_with_linuxs_default_as_fallback(tmp_path: Path) -> None:
    source = tmp_path / "ip_local_port_range"
    source.write_text("40000\t50000\n")
    assert _config_rules.ephemeral_port_range(source) == (40000, 50000)
    assert _config_rules.ephemeral_port_range(tmp_path / "missing") == (32768, 60999)
    source.write_text("garbage\n")
    assert _config_rules.ephemeral_port_range(source) == (32768, 60999)


def test_gossip_timers_default_to_one_second_and_take_fabrics_for_a_province() -> None:
    assert str(_load(lambda d: None).gossip.state_info_interval) == "1s"

    def province(document: dict[str, Any]) -> None:
        document["gossip"] = {
            "alive_interval": "5s",
            "alive_expiration": "25s",
            "state_info_interval": "4s",
            "pull_interval": "4s",
        }

    gossip = _load(province).gossip
    assert [str(d) for d in (gossip.alive_interval, gossip.alive_expiration)] == ["5s", "25s"]
    assert [str(d) for d in (gossip.state_info_interval, gossip.pull_interval)] == ["4s", "4s"]

    def broken(document: dict[str, Any]) -> None:
        document["gossip"] = {"pull_interval": "often", "push": "1s"}

    with pytest.raises(ConfigError) as raised:
        _load(broken)
    paths = {p.path for p in raised.value.problems}
    assert {"gossip.pull_interval", "gossip.push"} <= paths
