"""From a loaded consortium to what Fabric needs: process specs, configtx.yaml and MSP settings.

Rendering is pure: :func:`render_network` computes every command line, environment and file text
from a :class:`~fabrx_network.config.Consortium`, a :class:`~fabrx_network.layout.RunLayout` and
the location of the Fabric programs, and touches nothing. :func:`write_rendered` is the only function
here that writes, and it writes exactly :attr:`RenderedNetwork.files` plus the folders the processes need.

Every node runs with ``FABRIC_CFG_PATH`` pointing at Fabric's own sample ``core.yaml`` /
``orderer.yaml`` and all per-node settings given as ``CORE_*`` / ``ORDERER_*`` environment overrides,
listed in :attr:`ProcessSpec.env` and copied to ``nodes/<node>/env`` for people to read. TLS is on for
every endpoint: gRPC, the orderer admin API (mutual TLS) and every operations endpoint.

A CA is brought up in three steps, because its operations endpoint needs TLS files before it starts:

1. run :attr:`CaServer.init_argv` (``fabric-ca-server init``) with :attr:`CaServer.init_env`: creates
   the CA key and ``ca-cert.pem``;
2. issue the CA's own TLS identity (:attr:`CaServer.tls`) signed by that CA key, for ``127.0.0.1`` and
   ``localhost`` (the orchestration does this; fabric-ca-server can only generate it while starting,
   after its operations endpoint would have needed it);
3. start :attr:`CaServer.process`.

The bootstrap admin password appears in ``init_argv`` only: fabric-ca-server stores it in its own
``fabric-ca-server-config.yaml`` at init, so ``start`` does not need it and no rendered file has it.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

from .config import ORG_ADMIN_USER, CertificateAuthority, Channel, Consortium, Orderer, Organization, Peer
from .errors import NetworkError
from .layout import RunLayout, TlsFiles, ca_node, orderer_node, peer_node

__all__ = [
    "CA_BOOTSTRAP_USER",
    "NODE_OU_CONFIG",
    "CaServer",
    "FabricPaths",
    "FoundingMember",
    "ProcessKind",
    "ProcessSpec",
    "RenderError",
    "RenderedNetwork",
    "is_fabric_2",
    "render_ca",
    "render_configtx",
    "render_env_file",
    "render_network",
    "render_orderer",
    "render_peer",
    "write_rendered",
]

CA_BOOTSTRAP_USER = "ca-admin"
"""The CA's bootstrap registrar. Not ``admin``, which is the organization admin identity it registers."""

ProcessKind = Literal["ca", "orderer", "peer", "chaincode"]

NODE_OU_CONFIG = """\
# Node OUs of this MSP, rendered by fabrx. Fabric CA writes each identity's type (admin, peer,
# orderer, client) into its certificate's OU; these settings turn them into Fabric roles, which the
# channel policies use (e.g. Endorsement: OR('<MSP ID>.peer')). No Certificate is pinned, so any CA
# certificate of this MSP may issue them.
NodeOUs:
  Enable: true
  ClientOUIdentifier:
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    OrganizationalUnitIdentifier: orderer
"""

# Capabilities of Fabric 3.1.5's sampleconfig/configtx.yaml; V3_0 is required for BFT.
_CHANNEL_CAPABILITIES = {"V3_0": True}
# Fabric 2.5 LTS (compatibility runs) knows V2_0 channel capabilities at most.
_CHANNEL_CAPABILITIES_2 = {"V2_0": True}
_ORDERER_CAPABILITIES = {"V2_0": True}
_APPLICATION_CAPABILITIES = {"V2_5": True}

# Raft options, written out so configtx.yaml shows every setting in force. Fabric's defaults except the
# tick: 200 ms instead of 500 ms, so a restarted orderer elects a leader in about 2 s instead of about 6 s
# (election after ElectionTick ticks); on loopback a heartbeat every 200 ms costs nothing.
_ETCDRAFT_OPTIONS = {
    "TickInterval": "200ms",
    "ElectionTick": 10,
    "HeartbeatTick": 1,
    "MaxInflightBlocks": 5,
    "SnapshotIntervalSize": "16 MB",
}


def is_fabric_2(consortium: Consortium) -> bool:
    """Whether the consortium runs Fabric 2.5 LTS (compatibility runs), which needs a few old settings."""
    return consortium.fabric.version.startswith("2.")


class RenderError(NetworkError):
    """Rendering was asked for something the inputs do not provide, e.g. a CA password is missing."""


class FabricPaths(Protocol):
    """Where Fabric is installed; ``fabrx_network.install.FabricInstall`` is one.

    ``bin_dir`` holds peer and orderer, ``ca_bin_dir`` fabric-ca-server, and ``config_dir`` Fabric's
    sampleconfig ``core.yaml`` and ``orderer.yaml``: every node gets it as ``FABRIC_CFG_PATH`` and
    overrides what it needs through the environment.
    """

    @property
    def bin_dir(self) -> Path: ...

    @property
    def ca_bin_dir(self) -> Path: ...

    @property
    def config_dir(self) -> Path: ...


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one long-running process of the network.

    Start ``argv`` in ``cwd`` with exactly ``env`` (add only ``PATH``, ``HOME`` and ``TMPDIR`` from the
    caller: the peer runs its external builders with its own ``PATH``), send stdout and stderr to
    ``log_path``, and consider it up when ``health_url`` answers 200 (HTTPS, served with the node's TLS
    certificate, which the organization's CA issued). ``ports`` are all the ports it listens on.
    """

    name: str
    kind: ProcessKind
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    health_url: str
    ports: tuple[int, ...]
    env_file: Path


@dataclass(frozen=True)
class CaServer:
    """One organization's Fabric CA: the one-shot init command, the TLS files it needs, the server.

    ``init_argv`` carries the bootstrap admin password; it is hidden from ``repr`` and
    :attr:`redacted_init_argv` is the form to show or log. Run it in ``process.cwd`` with ``init_env``,
    not ``process.env``: init reads the operations settings too and fails on TLS files that are only
    issued after it.
    """

    org: str
    ca_name: str
    url: str
    ca_cert: Path
    tls: TlsFiles
    process: ProcessSpec
    init_env: dict[str, str]
    init_argv: tuple[str, ...] = field(repr=False)

    @property
    def redacted_init_argv(self) -> tuple[str, ...]:
        """``init_argv`` with the bootstrap password replaced by ``***``."""
        return tuple(
            f"{CA_BOOTSTRAP_USER}:***" if previous == "-b" else arg
            for previous, arg in zip(("", *self.init_argv), self.init_argv, strict=False)
        )


@dataclass(frozen=True)
class RenderedNetwork:
    """Everything rendered for one network. ``files`` maps each path to the text written there."""

    cas: tuple[CaServer, ...]
    orderers: tuple[ProcessSpec, ...]
    peers: tuple[ProcessSpec, ...]
    configtx_yaml: str
    files: dict[Path, str]

    @property
    def processes(self) -> tuple[ProcessSpec, ...]:
        """Every long-running process in start order: CAs, orderers, peers."""
        return (*(ca.process for ca in self.cas), *self.orderers, *self.peers)


def render_network(
    consortium: Consortium,
    layout: RunLayout,
    fabric: FabricPaths,
    ca_passwords: Mapping[str, str],
) -> RenderedNetwork:
    """Render every process and file of ``consortium``; only the selected consensus variant's orderers.

    ``ca_passwords`` maps each organization name (the orderer organization included) to its CA's
    bootstrap admin password. Raises :class:`RenderError` if one is missing.
    """
    cas = tuple(
        render_ca(consortium, name, ca, layout, fabric, _password(ca_passwords, name))
        for name, ca in _cas(consortium)
    )
    orderers = tuple(render_orderer(consortium, o, layout, fabric) for o in consortium.orderer_org.orderers)
    peers = tuple(
        render_peer(consortium, org, peer, layout, fabric) for org in consortium.orgs for peer in org.peers
    )
    configtx = render_configtx(consortium, layout)
    files: dict[Path, str] = {layout.configtx_file: configtx}
    for msp in _msp_folders(consortium, layout):
        files[msp / "config.yaml"] = NODE_OU_CONFIG
    for spec in (*(ca.process for ca in cas), *orderers, *peers):
        files[spec.env_file] = render_env_file(spec)
    return RenderedNetwork(cas=cas, orderers=orderers, peers=peers, configtx_yaml=configtx, files=files)


def _password(passwords: Mapping[str, str], org: str) -> str:
    password = passwords.get(org, "")
    if not password:
        raise RenderError(f"no bootstrap admin password for the CA of organization {org!r}")
    return password


def _cas(consortium: Consortium) -> list[tuple[str, CertificateAuthority]]:
    return [
        (consortium.orderer_org.name, consortium.orderer_org.ca),
        *((o.name, o.ca) for o in consortium.orgs),
    ]


def _msp_folders(consortium: Consortium, layout: RunLayout) -> list[Path]:
    """Every MSP folder that needs the node OU settings: organizations, nodes, admins and clients."""
    orderer_org = consortium.orderer_org.name
    folders = [layout.org_msp(orderer_org).path]
    folders += [layout.orderer_msp(orderer_org, o.name).path for o in consortium.orderer_org.orderers]
    folders.append(layout.user_msp(orderer_org, ORG_ADMIN_USER).path)
    for org in consortium.orgs:
        folders.append(layout.org_msp(org.name).path)
        folders += [layout.peer_msp(org.name, p.name).path for p in org.peers]
        folders += [
            layout.user_msp(org.name, user).path for user in (ORG_ADMIN_USER, *(c.name for c in org.clients))
        ]
    return folders


# --------------------------------------------------------------------------------------------------
# Processes


def _address(consortium: Consortium, port: int) -> str:
    return f"{consortium.host}:{port}"


def _health_url(consortium: Consortium, operations_port: int) -> str:
    return f"https://{consortium.host}:{operations_port}/healthz"


def _path_list(paths: Iterable[Path]) -> str:
    """A list value for Fabric's environment overrides: ``[a, b]``."""
    return "[" + ", ".join(str(p) for p in paths) + "]"


def render_peer(
    consortium: Consortium, org: Organization, peer: Peer, layout: RunLayout, fabric: FabricPaths
) -> ProcessSpec:
    """The ``peer node start`` process of one peer, with the ccaas external builder and no Docker."""
    node = peer_node(org.name, peer.name)
    msp = layout.peer_msp(org.name, peer.name)
    tls = layout.peer_tls(org.name, peer.name)
    address = _address(consortium, peer.port)
    # Gossip inside the organization starts from another peer of it; a lone peer names itself,
    # which Fabric accepts. Other organizations learn the peer from the anchor peers in the channel.
    other = next((p for p in org.peers if p.name != peer.name), peer)
    builders = (
        f"[{{name: ccaas, path: {_yaml_string(layout.ccaas_builder)}, "
        "propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}]"
    )
    env = {
        # Fabric 2.5 ignores an empty CORE_VM_ENDPOINT, so its peers read a core.yaml whose vm.endpoint is
        # empty (written by the orchestration: see RunLayout.peer_config_dir).
        "FABRIC_CFG_PATH": str(layout.peer_config_dir if is_fabric_2(consortium) else fabric.config_dir),
        "CORE_PEER_ID": node,
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(msp.path),
        "CORE_PEER_LISTENADDRESS": address,
        "CORE_PEER_ADDRESS": address,
        "CORE_PEER_CHAINCODELISTENADDRESS": _address(consortium, peer.chaincode_port),
        "CORE_PEER_CHAINCODEADDRESS": _address(consortium, peer.chaincode_port),
        "CORE_PEER_GOSSIP_BOOTSTRAP": _address(consortium, other.port),
        "CORE_PEER_GOSSIP_EXTERNALENDPOINT": address,
        # Gossip timers from the consortium file (config.Gossip): 1 s periods by default, so that a
        # loopback consortium's discovery knows every peer about a second after start; Fabric's own
        # (alive 5 s, state info 4 s, pull 4 s) for a province, where checking each message against the
        # channel's policies costs more with every member.
        "CORE_PEER_GOSSIP_ALIVETIMEINTERVAL": str(consortium.gossip.alive_interval),
        "CORE_PEER_GOSSIP_ALIVEEXPIRATIONTIMEOUT": str(consortium.gossip.alive_expiration),
        "CORE_PEER_GOSSIP_RECONNECTINTERVAL": "1s",
        "CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL": str(consortium.gossip.state_info_interval),
        "CORE_PEER_GOSSIP_PULLINTERVAL": str(consortium.gossip.pull_interval),
        # A committing peer does not wait for the private data of transactions that are invalid anyway
        # (Fabric's default is to try to pull it for up to pullRetryThreshold, 60 s, stalling every later
        # block: a transaction endorsed by the wrong organizations, say, writes to collections whose
        # members never had its data).
        "CORE_PEER_GOSSIP_PVTDATA_SKIPPULLINGINVALIDTRANSACTIONSDURINGCOMMIT": "true",
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_CERT_FILE": str(tls.cert),
        "CORE_PEER_TLS_KEY_FILE": str(tls.key),
        "CORE_PEER_TLS_ROOTCERT_FILE": str(tls.ca_cert),
        "CORE_PEER_FILESYSTEMPATH": str(layout.node_data(node)),
        "CORE_LEDGER_SNAPSHOTS_ROOTDIR": str(layout.peer_snapshots(node)),
        "CORE_LEDGER_STATE_STATEDATABASE": "goleveldb",
        "CORE_PEER_GATEWAY_ENABLED": "true",
        "CORE_OPERATIONS_LISTENADDRESS": _address(consortium, peer.operations_port),
        "CORE_OPERATIONS_TLS_ENABLED": "true",
        "CORE_OPERATIONS_TLS_CERT_FILE": str(tls.cert),
        "CORE_OPERATIONS_TLS_KEY_FILE": str(tls.key),
        "CORE_OPERATIONS_TLS_CLIENTAUTHREQUIRED": "false",
        # /healthz and /version are open; /metrics and /logspec need a client certificate of the org's CA.
        "CORE_OPERATIONS_TLS_CLIENTROOTCAS_FILES": str(tls.ca_cert),  # the peer reads one path here
        "CORE_METRICS_PROVIDER": "prometheus",
        # No Docker: an empty VM endpoint plus an external builder (the peer refuses to start with neither).
        "CORE_VM_ENDPOINT": "",
        "CORE_CHAINCODE_EXTERNALBUILDERS": builders,
        "CORE_CHAINCODE_EXECUTETIMEOUT": str(consortium.chaincode_execute_timeout),
    }
    return ProcessSpec(
        name=node,
        kind="peer",
        argv=(str(fabric.bin_dir / "peer"), "node", "start"),
        env=env,
        cwd=layout.node_dir(node),
        log_path=layout.log_file(node),
        health_url=_health_url(consortium, peer.operations_port),
        ports=(peer.port, peer.chaincode_port, peer.operations_port),
        env_file=layout.node_env_file(node),
    )


def render_orderer(
    consortium: Consortium, orderer: Orderer, layout: RunLayout, fabric: FabricPaths
) -> ProcessSpec:
    """The ``orderer`` process of one ordering node: channel participation API, no system channel."""
    org = consortium.orderer_org
    node = orderer_node(org.name, orderer.name)
    tls = layout.orderer_tls(org.name, orderer.name)
    env = {
        "FABRIC_CFG_PATH": str(fabric.config_dir),
        "ORDERER_GENERAL_LISTENADDRESS": consortium.host,
        "ORDERER_GENERAL_LISTENPORT": str(orderer.port),
        "ORDERER_GENERAL_LOCALMSPID": org.msp_id,
        "ORDERER_GENERAL_LOCALMSPDIR": str(layout.orderer_msp(org.name, orderer.name).path),
        "ORDERER_GENERAL_TLS_ENABLED": "true",
        "ORDERER_GENERAL_TLS_PRIVATEKEY": str(tls.key),
        "ORDERER_GENERAL_TLS_CERTIFICATE": str(tls.cert),
        "ORDERER_GENERAL_TLS_ROOTCAS": _path_list([tls.ca_cert]),
        # Cluster traffic (Raft / BFT between orderers) shares the general listener: no cluster port
        # or server certificate is set, only the client side.
        "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE": str(tls.cert),
        "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY": str(tls.key),
        "ORDERER_GENERAL_CLUSTER_ROOTCAS": _path_list([tls.ca_cert]),
        "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
        "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
        "ORDERER_FILELEDGER_LOCATION": str(layout.orderer_ledger(node)),
        "ORDERER_CONSENSUS_WALDIR": str(layout.orderer_wal(node)),
        "ORDERER_CONSENSUS_SNAPDIR": str(layout.orderer_snapshots(node)),
        "ORDERER_OPERATIONS_LISTENADDRESS": _address(consortium, orderer.operations_port),
        "ORDERER_OPERATIONS_TLS_ENABLED": "true",
        "ORDERER_OPERATIONS_TLS_CERTIFICATE": str(tls.cert),
        "ORDERER_OPERATIONS_TLS_PRIVATEKEY": str(tls.key),
        "ORDERER_OPERATIONS_TLS_CLIENTAUTHREQUIRED": "false",
        # /healthz and /version are open; /metrics and /logspec need a client certificate of the org's CA.
        "ORDERER_OPERATIONS_TLS_CLIENTROOTCAS": _path_list([tls.ca_cert]),
        "ORDERER_METRICS_PROVIDER": "prometheus",
        # The admin API joins channels; only clients with a TLS certificate from this organization's CA
        # (its admin user) may call it.
        "ORDERER_ADMIN_LISTENADDRESS": _address(consortium, orderer.admin_port),
        "ORDERER_ADMIN_TLS_ENABLED": "true",
        "ORDERER_ADMIN_TLS_CERTIFICATE": str(tls.cert),
        "ORDERER_ADMIN_TLS_PRIVATEKEY": str(tls.key),
        "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED": "true",
        "ORDERER_ADMIN_TLS_CLIENTROOTCAS": _path_list([tls.ca_cert]),
    }
    return ProcessSpec(
        name=node,
        kind="orderer",
        argv=(str(fabric.bin_dir / "orderer"),),
        env=env,
        cwd=layout.node_dir(node),
        log_path=layout.log_file(node),
        health_url=_health_url(consortium, orderer.operations_port),
        ports=(orderer.port, orderer.admin_port, orderer.operations_port),
        env_file=layout.node_env_file(node),
    )


def render_ca(
    consortium: Consortium,
    org: str,
    ca: CertificateAuthority,
    layout: RunLayout,
    fabric: FabricPaths,
    bootstrap_password: str,
) -> CaServer:
    """The Fabric CA of organization ``org``: init command and server, TLS on API and operations.

    The default fabric-ca-server configuration already has what fabrx needs: a ``tls`` signing
    profile (server and client auth) for TLS enrollments, identity types written to the certificate
    OU (node OUs), and a bootstrap registrar allowed to register every type and attribute.
    """
    home = layout.ca_home(org)
    tls = layout.ca_tls(org)
    node = ca_node(org)
    ca_name = f"ca-{org}"
    # Names the CA certificate carries and the addresses the TLS certificate must be valid for.
    identity = ["--ca.name", ca_name, "--csr.cn", f"ca.{org}", "--csr.hosts", _csr_hosts(consortium.host)]
    server = str(fabric.ca_bin_dir / "fabric-ca-server")
    env = {
        # fabric-ca-server has no command-line flags for its operations endpoint, only these variables.
        "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS": _address(consortium, ca.operations_port),
        "FABRIC_CA_SERVER_OPERATIONS_TLS_ENABLED": "true",
        "FABRIC_CA_SERVER_OPERATIONS_TLS_CERT_FILE": str(tls.cert),
        "FABRIC_CA_SERVER_OPERATIONS_TLS_KEY_FILE": str(tls.key),
        "FABRIC_CA_SERVER_OPERATIONS_TLS_CLIENTAUTHREQUIRED": "false",
        "FABRIC_CA_SERVER_METRICS_PROVIDER": "prometheus",
    }
    start = (
        server,
        "start",
        "--home",
        str(home),
        "--address",
        consortium.host,
        "--port",
        str(ca.port),
        *identity,
        "--tls.enabled",
        "--tls.certfile",
        str(tls.cert),
        "--tls.keyfile",
        str(tls.key),
    )
    init = (server, "init", "-b", f"{CA_BOOTSTRAP_USER}:{bootstrap_password}", "--home", str(home), *identity)
    process = ProcessSpec(
        name=node,
        kind="ca",
        argv=start,
        env=env,
        cwd=home,
        log_path=layout.log_file(node),
        health_url=_health_url(consortium, ca.operations_port),
        ports=(ca.port, ca.operations_port),
        env_file=layout.node_env_file(node),
    )
    return CaServer(
        org=org,
        ca_name=ca_name,
        url=f"https://{consortium.host}:{ca.port}",
        ca_cert=layout.ca_cert(org),
        tls=tls,
        process=process,
        init_env={},
        init_argv=init,
    )


def _csr_hosts(host: str) -> str:
    hosts = [host, "localhost", "127.0.0.1"]
    return ",".join(dict.fromkeys(hosts))


def _yaml_string(path: Path) -> str:
    """A path as a YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(str(path))


def render_env_file(spec: ProcessSpec) -> str:
    """The ``nodes/<node>/env`` text: the process's environment as shell assignments, for reading."""
    lines = [
        f"# Environment of {spec.name} ({spec.kind}), rendered by fabrx from the consortium definition.",
        "# fabrx starts it with exactly these variables (plus PATH, HOME, TMPDIR):",
        f"#   cd {shlex.quote(str(spec.cwd))} && {shlex.join(spec.argv)}",
        "# By hand: (set -a && . ./env && cd <as above> && exec <command as above>)",
    ]
    lines += [f"{key}={shlex.quote(value)}" for key, value in spec.env.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# configtx.yaml


class _Dumper(yaml.SafeDumper):
    """Writes plain YAML without anchors, so configtx.yaml reads the same as it is meant."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass(frozen=True)
class FoundingMember:
    """A founding member of a channel whose MSP is not in the run directory: the orderer organization's
    own host renders the genesis block from each member's public MSP folder (made from its join request)
    and anchor peers (``(host, port)``, on the member's own host)."""

    msp_dir: Path
    anchor_peers: tuple[tuple[str, int], ...]


def render_configtx(
    consortium: Consortium, layout: RunLayout, members: Mapping[str, FoundingMember] | None = None
) -> str:
    """configtx.yaml for configtxgen: the organizations, and one profile per channel named after it.

    Use: ``configtxgen -configPath <config dir> -profile <channel> -channelID <channel> -outputBlock ...``.
    Organization policies use node OU roles: Readers = admin, peer or client; Writers = admin or client;
    Admins = admin; Endorsement = peer. The channel's application ``Readers`` and ``Writers`` are the
    union of its members' as one signature policy (a signature is then verified once, whatever the
    number of members); ``Admins`` and ``Endorsement`` are ``MAJORITY``. Anchor peers are declared
    inline, so channel creation needs no separate anchor peer update. ``members`` gives, by organization
    name, the MSP folder and anchor peers of an organization whose files are elsewhere than the run
    directory (the orderer organization's own host); the others' come from ``layout`` and the
    consortium's host.
    """
    found = dict(members or {})
    document = {
        "Organizations": [
            _orderer_org_section(consortium, layout),
            *(_application_org_section(consortium, org, layout, found) for org in consortium.orgs),
        ],
        "Profiles": {
            channel.name: _profile(consortium, channel, layout, found) for channel in consortium.channels
        },
    }
    header = (
        f"# configtx.yaml of consortium {consortium.name!r}, rendered by fabrx from its definition.\n"
        "# Regenerate instead of editing: fabrx renders it again on every `network up`.\n"
    )
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000, default_flow_style=False)


def _signature(rule: str) -> dict[str, str]:
    return {"Type": "Signature", "Rule": rule}


def _implicit(rule: str) -> dict[str, str]:
    return {"Type": "ImplicitMeta", "Rule": rule}


def _or(msp_id: str, *roles: str) -> str:
    return "OR(" + ", ".join(f"'{msp_id}.{role}'" for role in roles) + ")"


def _union(orgs: Iterable[Organization], *roles: str) -> str:
    return "OR(" + ", ".join(f"'{org.msp_id}.{role}'" for org in orgs for role in roles) + ")"


def _orderer_org_section(consortium: Consortium, layout: RunLayout) -> dict[str, Any]:
    org = consortium.orderer_org
    return {
        "Name": org.name,
        "ID": org.msp_id,
        "MSPDir": str(layout.org_msp(org.name).path),
        "Policies": {
            "Readers": _signature(_or(org.msp_id, "member")),
            "Writers": _signature(_or(org.msp_id, "member")),
            "Admins": _signature(_or(org.msp_id, "admin")),
        },
        "OrdererEndpoints": [_address(consortium, o.port) for o in org.orderers],
    }


def _application_org_section(
    consortium: Consortium, org: Organization, layout: RunLayout, members: Mapping[str, FoundingMember]
) -> dict[str, Any]:
    member = members.get(org.name)
    anchors: tuple[tuple[str, int], ...]
    if member is None:
        msp_dir, anchors = layout.org_msp(org.name).path, ((consortium.host, org.peers[0].port),)
    else:
        msp_dir, anchors = member.msp_dir, member.anchor_peers
    return {
        "Name": org.name,
        "ID": org.msp_id,
        "MSPDir": str(msp_dir),
        "Policies": {
            "Readers": _signature(_or(org.msp_id, "admin", "peer", "client")),
            "Writers": _signature(_or(org.msp_id, "admin", "client")),
            "Admins": _signature(_or(org.msp_id, "admin")),
            "Endorsement": _signature(_or(org.msp_id, "peer")),
        },
        "AnchorPeers": [{"Host": host, "Port": port} for host, port in anchors],
    }


def _profile(
    consortium: Consortium, channel: Channel, layout: RunLayout, members: Mapping[str, FoundingMember]
) -> dict[str, Any]:
    return {
        "Policies": {
            "Readers": _implicit("ANY Readers"),
            "Writers": _implicit("ANY Writers"),
            "Admins": _implicit("MAJORITY Admins"),
        },
        "Capabilities": dict(_CHANNEL_CAPABILITIES_2 if is_fabric_2(consortium) else _CHANNEL_CAPABILITIES),
        "Orderer": _orderer_section(consortium, channel, layout),
        "Application": {
            "Organizations": [
                _application_org_section(consortium, org, layout, members)
                for org in consortium.channel_orgs(channel)
            ],
            "Policies": {
                # The union of the members' own Readers and Writers as one signature policy, not Fabric's
                # "ANY Readers": an ImplicitMeta policy verifies the signature again for each member it
                # tries, so every gossip message and proposal would cost more with every member that
                # joins. Membership changes (fabrx.admin add/remove_organization) keep it the union.
                "Readers": _signature(_union(consortium.channel_orgs(channel), "admin", "peer", "client")),
                "Writers": _signature(_union(consortium.channel_orgs(channel), "admin", "client")),
                "Admins": _implicit("MAJORITY Admins"),
                "LifecycleEndorsement": _implicit("MAJORITY Endorsement"),
                "Endorsement": _implicit("MAJORITY Endorsement"),
            },
            "Capabilities": dict(_APPLICATION_CAPABILITIES),
        },
    }


def _orderer_section(consortium: Consortium, channel: Channel, layout: RunLayout) -> dict[str, Any]:
    org = consortium.orderer_org
    cutting = channel.block_cutting
    section: dict[str, Any] = {
        "OrdererType": org.consensus_type,
        "BatchTimeout": str(cutting.batch_timeout),
        "BatchSize": {
            "MaxMessageCount": cutting.max_message_count,
            "AbsoluteMaxBytes": str(cutting.absolute_max_bytes),
            "PreferredMaxBytes": str(cutting.preferred_max_bytes),
        },
    }
    if org.consensus_type == "etcdraft":
        section["EtcdRaft"] = {
            "Consenters": [
                {
                    "Host": consortium.host,
                    "Port": o.port,
                    "ClientTLSCert": str(layout.orderer_tls(org.name, o.name).cert),
                    "ServerTLSCert": str(layout.orderer_tls(org.name, o.name).cert),
                }
                for o in org.orderers
            ],
            "Options": dict(_ETCDRAFT_OPTIONS),
        }
    else:
        section["ConsenterMapping"] = [
            {
                "ID": number,
                "Host": consortium.host,
                "Port": o.port,
                "MSPID": org.msp_id,
                "Identity": str(layout.orderer_msp(org.name, o.name).signcert),
                "ClientTLSCert": str(layout.orderer_tls(org.name, o.name).cert),
                "ServerTLSCert": str(layout.orderer_tls(org.name, o.name).cert),
            }
            for number, o in enumerate(org.orderers, start=1)
        ]
        section["SmartBFT"] = _smartbft_options(channel)
    section["Organizations"] = [_orderer_org_section(consortium, layout)]
    section["Policies"] = {
        "Readers": _implicit("ANY Readers"),
        "Writers": _implicit("ANY Writers"),
        "Admins": _implicit("MAJORITY Admins"),
        # For BFT configtxgen replaces this with a policy computed from the consenters.
        "BlockValidation": _implicit("ANY Writers"),
    }
    section["Capabilities"] = dict(_ORDERER_CAPABILITIES)
    return section


def _smartbft_options(channel: Channel) -> dict[str, Any]:
    """SmartBFT options. BFT ignores BatchTimeout and cuts by RequestBatchMaxInterval, so the channel's
    batch timeout goes there; the count and byte limits come from BatchSize. Every option is written
    because a partial SmartBFT section leaves the rest zero, which the orderer rejects."""
    cutting = channel.block_cutting
    return {
        "RequestBatchMaxCount": cutting.max_message_count,
        "RequestBatchMaxBytes": cutting.absolute_max_bytes.num_bytes,
        "RequestBatchMaxInterval": str(cutting.batch_timeout),
        "IncomingMessageBufferSize": 200,
        "RequestPoolSize": 100000,
        "RequestForwardTimeout": "5s",
        "RequestComplainTimeout": "20s",
        "RequestAutoRemoveTimeout": "3m0s",
        "ViewChangeResendInterval": "5s",
        "ViewChangeTimeout": "20s",
        "LeaderHeartbeatTimeout": "1m0s",
        "LeaderHeartbeatCount": 10,
        "CollectTimeout": "1s",
    }


# --------------------------------------------------------------------------------------------------
# Writing


def write_rendered(rendered: RenderedNetwork, layout: RunLayout) -> list[Path]:
    """Write ``rendered.files`` and create the folders the processes need; returns the files written.

    CA homes (the CA private keys and database), node data folders (ledgers) and the log folder are
    created with mode 0700. Each file is written to a temporary name and renamed, so a reader never
    sees half a file. Raises ``OSError``.
    """
    private = [ca.process.cwd for ca in rendered.cas]
    private += [layout.node_data(spec.name) for spec in (*rendered.orderers, *rendered.peers)]
    private.append(layout.logs_dir)
    for spec in (*rendered.orderers, *rendered.peers):
        spec.cwd.mkdir(parents=True, exist_ok=True)
    for folder in private:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    written = []
    for path, text in rendered.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        written.append(path)
    return written
