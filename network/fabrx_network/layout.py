"""The run directory: where every generated file, identity, ledger and log of a network lives.

One :class:`RunLayout` names every path; nothing else in fabrx builds run-directory paths by hand.
The default root is ``.fabrx/<consortium name>``. Computing a path never touches the file system.

::

    <root>/
    ├── state.json                      what is running (written by the orchestration)
    ├── config/
    │   ├── configtx.yaml               channel profiles, one per channel, named after the channel
    │   └── <channel>.block             genesis block of each channel (configtxgen output)
    ├── orgs/<org>/                     one folder per organization, the orderer organization included
    │   ├── msp/                        the organization's MSP, referenced from configtx.yaml:
    │   │   ├── cacerts/ca.pem          its CA certificate
    │   │   ├── tlscacerts/ca.pem       its TLS CA certificate (the same CA issues both)
    │   │   └── config.yaml             node OU settings
    │   ├── ca/                         fabric-ca-server home (its --home)
    │   │   ├── ca-cert.pem             CA certificate, written by fabric-ca-server init
    │   │   ├── tls/server.crt|key      TLS identity of the CA's API and operations endpoints
    │   │   ├── bootstrap-admin.secret  bootstrap admin password, mode 0600
    │   │   └── registrar/              fabric-ca-client home of the bootstrap admin (the registrar)
    │   ├── peers/<peer>/               a peer's local MSP and TLS identity
    │   │   ├── msp/                    signcerts/cert.pem, keystore/, cacerts/, config.yaml
    │   │   └── tls/                    server.crt, server.key, ca.crt
    │   ├── orderers/<orderer>/         the same for orderers (orderer organization only)
    │   ├── chaincode/<name>/           the organization's own server of a chaincode: package (its peers'
    │   │                               TLS client key inside), tls/ (server), peer-client/ (its peers')
    │   └── users/<user>/               client identities: "admin" (node OU admin) and each SDK client
    │       ├── msp/
    │       └── tls/                    client.crt, client.key, ca.crt (mutual TLS: orderer admin API)
    ├── nodes/<node>/                   one per process; <node> is e.g. peer0.Regulator, orderer0.Orderer,
    │   │                               ca.Regulator (see peer_node, orderer_node, ca_node)
    │   ├── env                         the exact environment it starts with, for reading (no secrets)
    │   └── data/                       peers: ledger (CORE_PEER_FILESYSTEMPATH) and snapshots/;
    │                                   orderers: ledger/ and consensus/{wal,snapshot}/
    ├── logs/<node>.log                 stdout and stderr of each process
    ├── profiles/<org>.json             connection profile of each peer organization (certificates only)
    ├── builders/ccaas/                 external chaincode builder of the peers (bin/detect, build, release)
    └── chaincode/<name>/               a shared chaincode server (``shared: true``): package and TLS

Secrets: private keys sit in each ``msp/keystore`` and ``tls/`` folder and the CA bootstrap password in
``bootstrap-admin.secret``; the orchestration creates those with mode 0600, the root with mode 0700, and
runs node processes with umask 077, so CA keys, CA databases and ledgers are owner-only too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MspFolder",
    "RunLayout",
    "TlsFiles",
    "ca_node",
    "orderer_node",
    "peer_node",
]


def peer_node(org: str, peer: str) -> str:
    """The node name of a peer, e.g. ``peer0.Regulator``: its process name, CORE_PEER_ID and folder name."""
    return f"{peer}.{org}"


def orderer_node(org: str, orderer: str) -> str:
    """The node name of an orderer, e.g. ``orderer0.Orderer``."""
    return f"{orderer}.{org}"


def ca_node(org: str) -> str:
    """The node name of an organization's CA server, e.g. ``ca.Regulator``."""
    return f"ca.{org}"


@dataclass(frozen=True)
class TlsFiles:
    """A TLS identity on disk: certificate, private key and the CA certificate to trust."""

    cert: Path
    key: Path
    ca_cert: Path


@dataclass(frozen=True)
class MspFolder:
    """A Fabric MSP folder and the files fabrx refers to inside it."""

    path: Path

    @property
    def signcert(self) -> Path:
        """The identity's certificate, as fabric-ca-client enroll writes it."""
        return self.path / "signcerts" / "cert.pem"

    @property
    def keystore(self) -> Path:
        return self.path / "keystore"

    @property
    def cacerts(self) -> Path:
        return self.path / "cacerts"

    @property
    def tlscacerts(self) -> Path:
        return self.path / "tlscacerts"

    @property
    def ca_cert(self) -> Path:
        """The CA certificate in an organization MSP (fabrx writes it under this fixed name)."""
        return self.cacerts / "ca.pem"

    @property
    def tls_ca_cert(self) -> Path:
        """The TLS CA certificate in an organization MSP (fabrx writes it under this fixed name)."""
        return self.tlscacerts / "ca.pem"

    @property
    def config_yaml(self) -> Path:
        """The node OU configuration."""
        return self.path / "config.yaml"

    @property
    def crls(self) -> Path:
        """The local MSP's certificate revocation lists (PEM), read by a node when it starts."""
        return self.path / "crls"


class RunLayout:
    """Every path of one network's run directory (see the module docstring for the tree).

    ``root`` is made absolute (against the current directory) because the paths are handed to Fabric
    processes that run in other working directories.
    """

    def __init__(self, root: Path) -> None:
        self._root = root.absolute()

    def __repr__(self) -> str:
        return f"RunLayout({str(self._root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunLayout) and other._root == self._root

    def __hash__(self) -> int:
        return hash(self._root)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def state_file(self) -> Path:
        return self._root / "state.json"

    # channel artefacts

    @property
    def config_dir(self) -> Path:
        return self._root / "config"

    def connection_profile(self, org: str) -> Path:
        """The connection profile of a peer organization (``network up`` writes it)."""
        return self._root / "profiles" / f"{org}.json"

    @property
    def configtx_file(self) -> Path:
        """configtx.yaml; configtxgen reads it with ``-configPath`` set to :attr:`config_dir`."""
        return self.config_dir / "configtx.yaml"

    @property
    def peer_config_dir(self) -> Path:
        """Fabric 2.5 only: the peers' ``core.yaml``, Fabric's sample with ``vm.endpoint`` emptied."""
        return self.config_dir / "peer"

    def channel_block(self, channel: str) -> Path:
        return self.config_dir / f"{channel}.block"

    # organizations

    @property
    def orgs_dir(self) -> Path:
        return self._root / "orgs"

    def org_dir(self, org: str) -> Path:
        return self.orgs_dir / org

    def org_msp(self, org: str) -> MspFolder:
        """The organization MSP that configtx.yaml refers to (``MSPDir``)."""
        return MspFolder(self.org_dir(org) / "msp")

    # certificate authority

    def ca_home(self, org: str) -> Path:
        """The fabric-ca-server home of the organization's CA."""
        return self.org_dir(org) / "ca"

    def ca_cert(self, org: str) -> Path:
        """The CA's certificate; fabric-ca-server writes it at init. It is also the org's TLS root."""
        return self.ca_home(org) / "ca-cert.pem"

    def ca_tls(self, org: str) -> TlsFiles:
        """The CA server's own TLS identity, used by its API and its operations endpoint."""
        tls = self.ca_home(org) / "tls"
        return TlsFiles(cert=tls / "server.crt", key=tls / "server.key", ca_cert=self.ca_cert(org))

    def ca_bootstrap_secret(self, org: str) -> Path:
        """The bootstrap admin password of the CA (mode 0600; never logged, never in another file)."""
        return self.ca_home(org) / "bootstrap-admin.secret"

    def ca_registrar_home(self, org: str) -> Path:
        """The fabric-ca-client home of the bootstrap admin, which registers the org's identities."""
        return self.ca_home(org) / "registrar"

    # nodes and users

    def peer_dir(self, org: str, peer: str) -> Path:
        return self.org_dir(org) / "peers" / peer

    def peer_msp(self, org: str, peer: str) -> MspFolder:
        return MspFolder(self.peer_dir(org, peer) / "msp")

    def peer_tls(self, org: str, peer: str) -> TlsFiles:
        return _server_tls(self.peer_dir(org, peer) / "tls")

    def orderer_dir(self, org: str, orderer: str) -> Path:
        return self.org_dir(org) / "orderers" / orderer

    def orderer_msp(self, org: str, orderer: str) -> MspFolder:
        return MspFolder(self.orderer_dir(org, orderer) / "msp")

    def orderer_tls(self, org: str, orderer: str) -> TlsFiles:
        return _server_tls(self.orderer_dir(org, orderer) / "tls")

    def user_dir(self, org: str, user: str) -> Path:
        """A client identity's folder; ``admin`` is the organization's admin (see ``ORG_ADMIN_USER``)."""
        return self.org_dir(org) / "users" / user

    def user_msp(self, org: str, user: str) -> MspFolder:
        return MspFolder(self.user_dir(org, user) / "msp")

    def user_tls(self, org: str, user: str) -> TlsFiles:
        """A client TLS identity, for endpoints that require mutual TLS such as the orderer admin API."""
        tls = self.user_dir(org, user) / "tls"
        return TlsFiles(cert=tls / "client.crt", key=tls / "client.key", ca_cert=tls / "ca.crt")

    # processes

    @property
    def nodes_dir(self) -> Path:
        return self._root / "nodes"

    def node_dir(self, node: str) -> Path:
        """The working directory of a node process (node names: :func:`peer_node`, ...)."""
        return self.nodes_dir / node

    def node_data(self, node: str) -> Path:
        """Ledger and consensus data of a peer or orderer."""
        return self.node_dir(node) / "data"

    def orderer_ledger(self, node: str) -> Path:
        """An orderer's block store (``FileLedger.Location``)."""
        return self.node_data(node) / "ledger"

    def orderer_wal(self, node: str) -> Path:
        """An orderer's consensus write-ahead log (``Consensus.WALDir``; Raft and BFT)."""
        return self.node_data(node) / "consensus" / "wal"

    def orderer_snapshots(self, node: str) -> Path:
        """An orderer's Raft snapshots (``Consensus.SnapDir``)."""
        return self.node_data(node) / "consensus" / "snapshot"

    def peer_snapshots(self, node: str) -> Path:
        """A peer's ledger snapshots (``ledger.snapshots.rootDir``)."""
        return self.node_data(node) / "snapshots"

    def node_env_file(self, node: str) -> Path:
        """The environment a node is started with, written for people to read (no secrets in it)."""
        return self.node_dir(node) / "env"

    @property
    def logs_dir(self) -> Path:
        return self._root / "logs"

    def log_file(self, node: str) -> Path:
        return self.logs_dir / f"{node}.log"

    # chaincode

    @property
    def builders_dir(self) -> Path:
        return self._root / "builders"

    @property
    def ccaas_builder(self) -> Path:
        """The chaincode-as-a-service external builder folder (with ``bin/detect``, ``bin/build``, ...)."""
        return self.builders_dir / "ccaas"

    @property
    def chaincode_root(self) -> Path:
        return self._root / "chaincode"

    def chaincode_dir(self, name: str) -> Path:
        """A shared chaincode server's files: its package and TLS identities (``shared: true``)."""
        return self.chaincode_root / name

    def org_chaincode_dir(self, org: str, name: str) -> Path:
        """The files of ``org``'s own server of chaincode ``name``: its package and TLS identities."""
        return self.org_dir(org) / "chaincode" / name


def _server_tls(tls: Path) -> TlsFiles:
    return TlsFiles(cert=tls / "server.crt", key=tls / "server.key", ca_cert=tls / "ca.crt")
