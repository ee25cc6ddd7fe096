"""A member's own deployment: one organization's CA, identities, peers and chaincode servers on its host.

In the one-machine consortium ``fabrx network up`` generates every organization's keys in one run
directory. A member of a real consortium keeps its keys on its own host and learns only the channel's
public facts. :class:`MemberDeployment` runs exactly that, from a *member file* that lists the
organization's own nodes (as one entry of a consortium file's ``orgs``) and the channel's public facts::

    name: HospitalC                     # the organization, as in a consortium file's orgs entry:
    msp_id: HospitalCMSP                #   msp_id, role, peers, clients, ca
    role: hospital
    peers: [{name: peer0}]
    host: 127.0.1.7                     # where its nodes listen; ports from port_base
    port_base: 9100
    channel:                            # the channel's public facts, handed over by its members
      name: pharma
      orderers: [{address: "127.0.0.1:7052", tls_ca_cert: orderer-tls-ca.pem}]
    chaincodes:                         # chaincodes its own servers run for its own peers
      - {name: pharma, version: "1.0", runtime: {python: "fabrx_pharma_chaincode.contract:PharmaContract"}}

Its nodes are rendered by the same functions as the consortium's (:func:`~fabrx_network.render.render_ca`,
:func:`~fabrx_network.render.render_peer`, :mod:`~fabrx_network.chaincodes`): the member file is read as a
consortium of this one organization, so every check of a consortium file applies to it (names, ports, the
kernel's ephemeral range, roles, attributes), reported at the member file's own paths.

The steps, each idempotent:

1. :meth:`MemberDeployment.init`: its Fabric CA (init, TLS, start), its identities (admin, peers,
   clients) and organization MSP, and ``join-request.json`` (CA and TLS CA certificates, node OUs, anchor
   peers): the only file that leaves the host. The run directory holds this organization's keys only.
2. :meth:`MemberDeployment.up`: starts what is down of its CA, peers and chaincode servers.
3. Once the channel's admins have added the organization (``fabrx channel update add-org``):
   :meth:`MemberDeployment.join` joins its peers with the channel's genesis block (a file another member
   hands over, or fetched from an orderer by the member's own admin), and
   :meth:`MemberDeployment.approve_chaincodes` installs its own chaincode packages on its peers and
   approves the channel's committed definitions for its organization.
4. :meth:`MemberDeployment.status` and :meth:`MemberDeployment.down`; :meth:`MemberDeployment.systemd_units`
   for the production host.

The orderer organization has its own deployment the same way
(:mod:`fabrx_network.orderer_host`); :func:`open_own_host` opens either kind from its file. Both share one
code path for the CA, identities, processes, status and systemd units
(:class:`~fabrx_network._own_host.OwnHostDeployment`).
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fabric_protos.common import common_pb2

from fabrx.admin import (
    AnchorPeer,
    ChaincodeDefinition,
    JoinRequest,
    PeerAdmin,
    approve_for_my_org,
    commit,
    fetch_block,
    query_committed,
)
from fabrx.endpoint import Endpoint
from fabrx.errors import FabrxError
from fabrx.identity import load_msp_folder

from ._own_host import (
    MemberNodeStatus,
    MemberReport,
    MemberStatus,
    OwnHostDeployment,
    Progress,
    read_document,
)
from ._signature_policy import signature_policy_principals
from .builders import copy_ccaas_builder
from .chaincodes import chaincode_node, chaincode_process, prepare_chaincode, write_chaincode_env
from .config import (
    ORG_ADMIN_USER,
    CertificateAuthority,
    ConfigError,
    Consortium,
    EndorsementPolicy,
    Organization,
    Problem,
    load_consortium,
)
from .errors import NetworkError, NetworkNotUp
from .install import FabricInstall
from .layout import RunLayout, peer_node
from .orderer_host import OrdererDeployment, OrdererOrgDefinition, load_orderer_org
from .render import (
    CaServer,
    ProcessSpec,
    render_peer,
)

__all__ = [
    "JOIN_REQUEST_FILE",
    "MemberDefinition",
    "MemberDeployment",
    "MemberNodeStatus",
    "MemberReport",
    "MemberStatus",
    "OrdererFacts",
    "load_member",
    "load_member_file",
    "open_member",
    "open_own_host",
]

JOIN_REQUEST_FILE = "join-request.json"
"""The join request :meth:`MemberDeployment.init` writes at the root of the member's run directory."""

# The member file is read as a consortium of one organization. The consortium model needs an orderer
# organization; the member runs none, so a placeholder with ports outside any allocation stands in.
_PLACEHOLDER_ORDERER_ORG = "ChannelOrderers"
_PLACEHOLDER_PORTS = (65531, 65532, 65533, 65534, 65535)
_ORG_KEYS = ("name", "msp_id", "role", "ca", "peers", "clients")
_CONSORTIUM_KEYS = ("fabric", "host", "port_base", "chaincode_execute_timeout", "gossip")
_SAME_FILES = " (with the same --file and --run-dir)"
_ADDRESS = re.compile(r"^(?P<host>[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class OrdererFacts:
    """An orderer of the channel as the member knows it: its address and its organization's TLS CA."""

    address: str
    tls_ca_cert: Path

    def endpoint(self) -> Endpoint:
        return Endpoint(address=self.address, tls_root_certs=self.tls_ca_cert.read_bytes())


@dataclass(frozen=True)
class MemberDefinition:
    """A member file, loaded: the organization's own nodes and the channel's public facts.

    ``consortium`` is the member as a consortium of its one organization (what the renderers take);
    ``org`` that organization, every port filled in.
    """

    consortium: Consortium
    org: Organization
    channel: str
    orderers: tuple[OrdererFacts, ...]
    base_dir: Path

    @property
    def chaincodes(self) -> tuple[Any, ...]:
        return self.consortium.chaincodes


def load_member_file(path: Path) -> MemberDefinition | OrdererOrgDefinition:
    """Load a member file or an orderer organization's file (one that lists ``orderers``).

    Raises what :func:`load_member` raises.
    """
    document = read_document(path)
    if "orderers" in document:
        return load_orderer_org(document, path)
    return _load_member(document, path)


def load_member(path: Path) -> MemberDefinition:
    """Load and check a member file (see the module docstring); relative paths are read from its folder.

    Raises:
        ConfigError: every problem of the file, each with its path in the file.
        NetworkError: the file cannot be read.
    """
    return _load_member(read_document(path), path)


def _load_member(document: dict[Any, Any], path: Path) -> MemberDefinition:
    source = str(path)
    problems: list[Problem] = []
    known = {*_ORG_KEYS, *_CONSORTIUM_KEYS, "channel", "chaincodes"}
    for key in document:
        if key not in known:
            problems.append(Problem(str(key), f"unknown key (known: {', '.join(sorted(known))})"))
    channel, orderers = _channel_facts(document.get("channel"), path.parent, problems)
    org_entry = {k: document[k] for k in _ORG_KEYS if k in document}
    chaincodes = document.get("chaincodes") or []
    if not isinstance(chaincodes, list):
        problems.append(Problem("chaincodes", "expected a list of chaincodes"))
        chaincodes = []
    # A signature policy names the channel's other members, whom the member file does not list: it is
    # checked for syntax here and kept out of the one-organization consortium's principal check.
    policies: dict[int, str] = {}
    for k, entry in enumerate(chaincodes):
        if isinstance(entry, dict) and isinstance(entry.get("endorsement_policy"), str):
            policies[k] = entry["endorsement_policy"]
            try:
                signature_policy_principals(policies[k])
            except ValueError as exc:
                problems.append(Problem(f"chaincodes[{k}].endorsement_policy", str(exc)))
    chaincodes = [
        {key: v for key, v in c.items() if not (k in policies and key == "endorsement_policy")}
        if isinstance(c, dict)
        else c
        for k, c in enumerate(chaincodes)
    ]
    ports = iter(_PLACEHOLDER_PORTS)
    consortium_doc: dict[str, Any] = {
        "name": str(document.get("name") or "member"),
        **{k: document[k] for k in _CONSORTIUM_KEYS if k in document},
        "orderer_org": {
            "name": _PLACEHOLDER_ORDERER_ORG,
            "ca": {"port": next(ports), "operations_port": next(ports)},
            "consensus": "raft1",
            "variants": {
                "raft1": {
                    "type": "etcdraft",
                    "orderers": [
                        {
                            "name": "orderer0",
                            "port": next(ports),
                            "admin_port": next(ports),
                            "operations_port": next(ports),
                        }
                    ],
                }
            },
        },
        "orgs": [org_entry],
        "channels": [{"name": channel or "channel", "orgs": [org_entry.get("name")]}],
        "chaincodes": [
            {**c, "channel": channel or "channel"} if isinstance(c, dict) else c for c in chaincodes
        ],
    }
    try:
        consortium = load_consortium(yaml.safe_dump(consortium_doc, sort_keys=False))
    except ConfigError as exc:
        problems += [dataclasses.replace(p, path=_member_path(p.path)) for p in exc.problems]
    if any(p.severity == "error" for p in problems):
        raise ConfigError(source, problems, what="member")
    chaincodes = tuple(
        cc.model_copy(update={"endorsement_policy": EndorsementPolicy(signature_policy=policies[k])})
        if k in policies
        else cc
        for k, cc in enumerate(consortium.chaincodes)
    )
    consortium = consortium.model_copy(update={"chaincodes": chaincodes})
    return MemberDefinition(
        consortium=consortium,
        org=consortium.orgs[0],
        channel=channel,
        orderers=orderers,
        base_dir=path.parent.absolute(),
    )


def _member_path(path: str) -> str:
    """A problem's path in the synthesized consortium, as the member file spells it."""
    for prefix, replacement in (("orgs[0].", ""), ("orgs[0]", ""), ("channels[0].name", "channel.name")):
        if path.startswith(prefix):
            return replacement + path[len(prefix) :]
    return path


def _channel_facts(raw: object, base: Path, problems: list[Problem]) -> tuple[str, tuple[OrdererFacts, ...]]:
    if not isinstance(raw, dict):
        problems.append(Problem("channel", "expected a mapping with keys name, orderers"))
        return "", ()
    for key in raw:
        if key not in ("name", "orderers"):
            problems.append(Problem(f"channel.{key}", "unknown key (known: name, orderers)"))
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem("channel.name", "the channel's name is required"))
        name = ""
    entries = raw.get("orderers")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem("channel.orderers", "list at least one orderer: {address, tls_ca_cert}"))
        return name, ()
    orderers = []
    for i, entry in enumerate(entries):
        at = f"channel.orderers[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"address", "tls_ca_cert"}:
            problems.append(Problem(at, "expected a mapping with exactly the keys address, tls_ca_cert"))
            continue
        address, ca = entry["address"], entry["tls_ca_cert"]
        match = _ADDRESS.match(str(address))
        if match is None or not 1 <= int(match["port"]) <= 65535:
            problems.append(Problem(f"{at}.address", f"{address!r} is not host:port"))
            continue
        ca_path = (base / str(ca)).absolute()
        if not ca_path.is_file():
            problems.append(Problem(f"{at}.tls_ca_cert", f"no file {ca_path}"))
            continue
        orderers.append(OrdererFacts(str(address), ca_path))
    return name, tuple(orderers)


# --------------------------------------------------------------------------------------------------


class MemberDeployment(OwnHostDeployment):
    """One organization's own deployment (its member file) bound to its own run directory."""

    def __init__(self, member: MemberDefinition, layout: RunLayout) -> None:
        super().__init__(member.consortium, layout, member.base_dir)
        self.member = member

    @property
    def org(self) -> Organization:
        return self.member.org

    @property
    def org_name(self) -> str:
        return self.member.org.name

    @property
    def channel_name(self) -> str:
        return self.member.channel

    @property
    def join_request_file(self) -> Path:
        return self.layout.root / JOIN_REQUEST_FILE

    def _ca_settings(self) -> CertificateAuthority:
        return self.org.ca

    def _node_specs(self, install: FabricInstall) -> list[ProcessSpec]:
        return [
            render_peer(self.member.consortium, self.org, p, self.layout, install) for p in self.org.peers
        ]

    def _msp_folders(self) -> list[Path]:
        folders = [self.layout.org_msp(self.org.name).path]
        folders += [self.layout.peer_msp(self.org.name, p.name).path for p in self.org.peers]
        folders += [
            self.layout.user_msp(self.org.name, u).path
            for u in (ORG_ADMIN_USER, *(c.name for c in self.org.clients))
        ]
        return folders

    def _prepare(self, install: FabricInstall) -> CaServer:
        ca = super()._prepare(install)
        if not (self.layout.ccaas_builder / "bin" / "detect").exists():
            copy_ccaas_builder(self.layout.ccaas_builder)
        return ca

    # --- init and up ------------------------------------------------------------------------------

    def init(
        self, *, progress: Progress = lambda _: None, fabric: FabricInstall | None = None
    ) -> MemberReport:
        """Create the organization's CA, identities and MSP on this host and write its join request.

        Starts the CA (it keeps running: :meth:`up` starts the rest). Idempotent.

        Raises:
            NetworkError: a step failed (the CA could not start, a port is taken, an identity could not
                be issued); what this call started is stopped again.
        """
        started = self._init_identities(self._install(fabric, progress), progress)
        anchors = tuple(AnchorPeer(self.member.consortium.host, p.port) for p in self.org.peers[:1])
        request = JoinRequest.from_msp_folder(
            self.org.name, self.org.msp_id, self.layout.org_msp(self.org.name).path, anchors
        )
        self.join_request_file.write_text(request.to_json(), encoding="utf-8")
        return MemberReport(str(self.run_dir), started, join_request=str(self.join_request_file))

    def up(self, *, progress: Progress = lambda _: None, fabric: FabricInstall | None = None) -> MemberReport:
        """Start what is down of the organization's CA, peers and chaincode servers (after :meth:`init`,
        which it runs when needed). A running node is never touched.

        Raises:
            NetworkError: a node could not start (what this call started is stopped again).
        """
        install = self._install(fabric, progress)
        report = self.init(progress=progress, fabric=install)
        started = list(report.started)
        packages: dict[str, str] = {}
        try:
            self._start(self._node_specs(install), started, ca_file=self.layout.ca_cert(self.org.name))
            ca = self._ca(install)
            servers = []
            for chaincode in self.member.chaincodes:
                package = prepare_chaincode(self.member.consortium, self.layout, chaincode, ca, self.org)
                spec = chaincode_process(
                    self.member.consortium,
                    self.layout,
                    chaincode,
                    package.package_id,
                    self.member.base_dir,
                    self.org,
                )
                write_chaincode_env(spec)
                servers.append(spec)
                packages[spec.name] = package.package_id
            self._start(servers, started, ca_file=None)
        except BaseException:
            for name in reversed(started):
                self.supervisor.stop(name)
            raise
        return MemberReport(str(self.run_dir), started, report.join_request, packages)

    # --- clients: the organization's own identities only --------------------------------------------

    @property
    def consortium(self) -> Consortium:
        """The member as a consortium of its one organization: an SDK built on it (``PharmaClients``)
        knows this organization only, and can sign only as its identities."""
        return self.member.consortium

    def client_msp(self, org: Organization | str, user: str = "client") -> Path:
        """The MSP folder of one of the organization's own client identities.

        Raises :class:`NetworkError` for another organization (its keys are not on this host) or an
        identity never enrolled (run :meth:`init`).
        """
        name = org if isinstance(org, str) else org.name
        if name not in (self.org.name, self.org.msp_id):
            raise NetworkError(
                f"{name} is not this member's organization ({self.org.name}): its identities are not here"
            )
        folder = self.layout.user_msp(self.org.name, user).path
        if not (folder / "signcerts").exists():
            raise NetworkError(
                f"no identity {user!r} of {self.org.name} in {self.run_dir}: run `fabrx member init`"
            )
        return folder

    def require_up(self, *, timeout: float = 2.0) -> None:
        """Check that the organization's nodes run before a command talks to them: its admin enrolled in
        this run directory (``init`` ran) and its first peer accepting connections (a TCP connection
        only, so the check is quick and holds under systemd too).

        Raises:
            NetworkNotUp: never set up here, or the peer does not answer; one line with what to run.
        """
        start = f"start it with `fabrx member up`{_SAME_FILES}"
        if not (self.layout.user_msp(self.org.name, ORG_ADMIN_USER).path / "signcerts").exists():
            raise NetworkNotUp(
                f"{self.org.name} is not up: {self.run_dir} holds no deployment of it; {start}"
            )
        peer = self.org.peers[0]
        host = self.member.consortium.host
        try:
            socket.create_connection((host, peer.port), timeout=timeout).close()
        except OSError as exc:
            raise NetworkNotUp(
                f"{self.org.name} is down: {peer_node(self.org.name, peer.name)} does not answer at "
                f"{host}:{peer.port} ({exc.strerror or type(exc).__name__}); {start}"
            ) from None

    def peer_endpoint(self, org: Organization, peer: Any) -> Endpoint:
        """The endpoint of one of the organization's own peers, verified with its own TLS CA."""
        if org.name != self.org.name:
            raise NetworkError(f"{org.name} is not this member's organization ({self.org.name})")
        return Endpoint(
            address=f"{self.member.consortium.host}:{peer.port}",
            tls_root_certs=self.layout.ca_cert(self.org.name).read_bytes(),
        )

    # --- the channel ------------------------------------------------------------------------------

    def peer_admins(self) -> Iterator[PeerAdmin]:
        """A :class:`PeerAdmin` per own peer, as the organization's admin (close them after use).

        Raises :class:`NetworkError` when the admin was never enrolled (run :meth:`init`)."""
        identity, signer, _ = load_msp_folder(self.org.msp_id, self.client_msp(self.org, ORG_ADMIN_USER))
        tls_ca = self.layout.ca_cert(self.org.name).read_bytes()
        for peer in self.org.peers:
            endpoint = Endpoint(address=f"{self.member.consortium.host}:{peer.port}", tls_root_certs=tls_ca)
            yield PeerAdmin(endpoint, identity, signer)

    def join(self, block: bytes) -> list[str]:
        """Join every own peer to the channel with ``block`` (its genesis block); returns the peers that
        joined now (those already joined are skipped).

        Raises:
            NetworkError: a peer refused the block (named, with its answer).
        """
        joined = []
        with ExitStack() as stack:
            for admin in [stack.enter_context(a) for a in self.peer_admins()]:
                try:
                    if not admin.join_channel(block).already_joined:
                        joined.append(admin.endpoint.address)
                except FabrxError as exc:
                    raise NetworkError(f"peer {admin.endpoint.address} could not join: {exc}") from exc
        return joined

    def wait_height(self, height: int, *, timeout: float = 60.0) -> None:
        """Wait until every own peer has ``height`` blocks of the channel.

        Raises :class:`NetworkError` naming a peer still behind after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with ExitStack() as stack:
            for admin in [stack.enter_context(a) for a in self.peer_admins()]:
                current = 0
                while current < height:
                    try:
                        current = admin.chain_info(self.member.channel).height
                    except FabrxError:
                        current = 0  # until it has the block that added its organization
                    if current >= height:
                        break
                    if time.monotonic() > deadline:
                        raise NetworkError(
                            f"peer {admin.endpoint.address} is at height {current} of {self.member.channel}, "
                            f"not {height}, after {timeout:g} s"
                        )
                    time.sleep(0.2)

    def approve_chaincodes(self) -> dict[str, str]:
        """Install each own chaincode package on the own peers and approve it for this organization,
        with its own package id: the definition committed on the channel (read from its own peer), or,
        on a new channel where it is not committed yet, the definition of the member file (every founding
        member's file gives the same one; then :meth:`commit_chaincodes`).

        Returns package ids by chaincode name. Raises :class:`NetworkError` if the chaincode servers were
        never started (run :meth:`up`).
        """
        from fabrx.admin import package_id as package_id_of

        from .chaincodes import chaincode_definition, chaincode_files

        orderer = self.member.orderers[0].endpoint()
        result: dict[str, str] = {}
        with ExitStack() as stack:
            admins = [stack.enter_context(a) for a in self.peer_admins()]
            for chaincode in self.member.chaincodes:
                files = chaincode_files(self.layout, chaincode, self.org)
                if not files.package.exists():
                    raise NetworkError(f"no package of {chaincode.name} yet: run `fabrx member up` first")
                data = files.package.read_bytes()
                for admin in admins:
                    admin.install(data)
                committed = query_committed(admins[0], self.member.channel, chaincode.name)
                if committed:
                    definition = ChaincodeDefinition(
                        name=committed[0].name,
                        version=committed[0].version,
                        sequence=committed[0].sequence,
                        endorsement_policy=committed[0].endorsement_policy,
                        collections=committed[0].collections,
                        init_required=committed[0].init_required,
                        endorsement_plugin=committed[0].endorsement_plugin,
                        validation_plugin=committed[0].validation_plugin,
                        package_id=package_id_of(data),
                    )
                else:
                    definition = dataclasses.replace(
                        chaincode_definition(self.member.consortium, chaincode),
                        package_id=package_id_of(data),
                    )
                approve_for_my_org(admins[0], self.member.channel, definition, orderer=orderer)
                result[chaincode.name] = definition.package_id
        return result

    def commit_chaincodes(self, endorsers: list[JoinRequest]) -> dict[str, bool]:
        """Commit the member file's chaincode definitions on a new channel, endorsed by this
        organization's peer and the anchor peers of ``endorsers`` (other members' join requests: their
        anchor peers and TLS CA certificates, public files). Together they must make the channel's
        ``LifecycleEndorsement`` policy (a majority of the members), each having approved
        (:meth:`approve_chaincodes`). Returns, by chaincode name, whether this call committed it (False:
        it was committed already).

        Raises:
            NetworkError: a request without anchor peers, or the commit failed (too few approvals or
                endorsing organizations: the peers' answer is in the message).
        """
        from .chaincodes import chaincode_definition

        peers = []
        for request in endorsers:
            if not request.anchor_peers:
                raise NetworkError(
                    f"the join request of {request.msp_id} names no anchor peer to endorse with"
                )
            tls = b"".join(request.tls_root_certs)
            peers.append(Endpoint(address=str(request.anchor_peers[0]), tls_root_certs=tls))
        orderer = self.member.orderers[0].endpoint()
        result: dict[str, bool] = {}
        with ExitStack() as stack:
            admin = stack.enter_context(next(iter(self.peer_admins())))
            for chaincode in self.member.chaincodes:
                definition = chaincode_definition(self.member.consortium, chaincode)
                try:
                    outcome = commit(admin, self.member.channel, definition, orderer=orderer, peers=peers)
                except FabrxError as exc:
                    raise NetworkError(f"could not commit {chaincode.name}: {exc}") from exc
                result[chaincode.name] = not outcome.already_committed
        return result

    # --- status -----------------------------------------------------------------------------------

    def _node_addresses(self) -> dict[str, str]:
        host = self.member.consortium.host
        addresses = super()._node_addresses()
        addresses.update({peer_node(self.org.name, p.name): f"{host}:{p.port}" for p in self.org.peers})
        return addresses

    def _read_heights(self, status: MemberStatus) -> None:
        """Each running peer's height of the channel and its lag behind the orderer's."""
        try:
            status.orderer, status.orderer_height = self._orderer_height()
        except NetworkError as exc:
            status.orderer_problem = str(exc)
        peers = {peer_node(self.org.name, p.name): p for p in self.org.peers}
        for node in status.nodes:
            peer = peers.get(node.name)
            if peer is None or not node.running:
                continue
            try:
                node.height = self._peer_height(peer)
            except FabrxError as exc:
                node.problem = f"no height of {self.member.channel}: {exc}"
                continue
            if status.orderer_height is not None:
                node.lag = max(status.orderer_height - node.height, 0)

    def _peer_height(self, peer: Any) -> int:
        """The channel's height on one of the own peers, asked as the organization's admin.

        Raises:
            FabrxError: the peer does not answer, has not joined the channel, or no longer counts the
                organization as a member.
        """
        identity, signer, _ = load_msp_folder(self.org.msp_id, self.client_msp(self.org, ORG_ADMIN_USER))
        endpoint = self.peer_endpoint(self.org, peer)
        with PeerAdmin(endpoint, identity, signer) as admin:
            return int(admin.chain_info(self.member.channel).height)

    def _orderer_height(self) -> tuple[str, int]:
        """The channel's height at the first of its orderers that answers (its newest block's number + 1),
        read from its Deliver service as the organization's admin, and that orderer's address.

        Raises:
            NetworkError: no orderer answered, or each refused (the organization is not, or no longer, a
                member of the channel): every orderer's answer named.
        """
        identity, signer, _ = load_msp_folder(self.org.msp_id, self.client_msp(self.org, ORG_ADMIN_USER))
        answers = []
        for orderer in self.member.orderers:
            try:
                newest = fetch_block(orderer.endpoint(), identity, signer, self.member.channel, -1, timeout=5)
            except (FabrxError, OSError) as exc:
                answers.append(str(exc))
                continue
            return orderer.address, common_pb2.Block.FromString(newest).header.number + 1
        raise NetworkError("; ".join(answers) or "the member file names no orderer")

    # --- nodes and units --------------------------------------------------------------------------

    def nodes(self) -> list[str]:
        """The organization's nodes: its CA, its peers, its chaincode servers."""
        return [
            f"ca.{self.org.name}",
            *(peer_node(self.org.name, p.name) for p in self.org.peers),
            *(chaincode_node(cc, self.org) for cc in self.member.chaincodes),
        ]

    def _extra_specs(self, install: FabricInstall) -> list[ProcessSpec]:
        from fabrx.admin import package_id as package_id_of

        from .chaincodes import chaincode_files

        specs = []
        for chaincode in self.member.chaincodes:
            files = chaincode_files(self.layout, chaincode, self.org)
            if not files.package.exists():
                raise NetworkError(f"no package of {chaincode.name} yet: run `fabrx member up` first")
            specs.append(
                chaincode_process(
                    self.member.consortium,
                    self.layout,
                    chaincode,
                    package_id_of(files.package.read_bytes()),
                    self.member.base_dir,
                    self.org,
                )
            )
        return specs


def open_own_host(path: Path, run_dir: Path | None = None) -> MemberDeployment | OrdererDeployment:
    """The deployment of a member file or an orderer organization's file ``path`` in ``run_dir``
    (default ``.fabrx/member-<name>``).

    Raises what :func:`load_member` raises.
    """
    definition = load_member_file(path)
    if isinstance(definition, OrdererOrgDefinition):
        root = run_dir if run_dir is not None else Path(".fabrx") / f"member-{definition.org.name}"
        return OrdererDeployment(definition, RunLayout(root))
    root = run_dir if run_dir is not None else Path(".fabrx") / f"member-{definition.org.name}"
    return MemberDeployment(definition, RunLayout(root))


def open_member(path: Path, run_dir: Path | None = None) -> MemberDeployment:
    """The deployment of member file ``path`` in ``run_dir`` (default ``.fabrx/member-<name>``).

    Raises what :func:`load_member` raises.
    """
    member = load_member(path)
    root = run_dir if run_dir is not None else Path(".fabrx") / f"member-{member.org.name}"
    return MemberDeployment(member, RunLayout(root))
