"""The orderer organization's own deployment on its own host, from its own file.

::

    name: Orderer
    msp_id: OrdererMSP
    host: 127.0.1.1
    port_base: 9000
    consensus: etcdraft                 # or BFT (four orderers or more)
    orderers: [{name: orderer0}]
    channel: {name: pharma}             # optional: block_cutting, as in a consortium file's channel

:meth:`OrdererDeployment.init` creates its CA, the admin and orderer identities and its MSP, and writes
``orderer-tls-ca.pem`` (its TLS CA certificate, what every member's file names);
:meth:`OrdererDeployment.up` starts its orderers with no channel; :meth:`OrdererDeployment.genesis`
creates the channel's genesis block from the founding members' join requests (their public MSP
definitions), and :meth:`OrdererDeployment.join` joins its orderers to the channel with it. Nothing secret
leaves the host: the members' join requests come in, the block and the TLS CA certificate go out.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fabrx.admin import JoinRequest, OrdererAdmin
from fabrx.admin._block import channel_id_of_block
from fabrx.errors import FabrxError

from ._own_host import MemberReport, MemberStatus, OwnHostDeployment, Progress
from .config import (
    ORG_ADMIN_USER,
    CertificateAuthority,
    Channel,
    ConfigError,
    Consortium,
    OrdererOrganization,
    Organization,
    Peer,
    Problem,
    load_consortium,
)
from .errors import NetworkError, NetworkNotUp
from .genesis import create_genesis_block, write_msp_folder
from .install import FabricInstall
from .layout import RunLayout, orderer_node
from .operations import wait_raft_leaders
from .render import (
    FoundingMember,
    ProcessSpec,
    render_configtx,
    render_orderer,
)

__all__ = ["ORDERER_TLS_CA_FILE", "OrdererDeployment", "OrdererOrgDefinition", "load_orderer_org"]

ORDERER_TLS_CA_FILE = "orderer-tls-ca.pem"
"""The TLS CA certificate :meth:`OrdererDeployment.init` writes at the root of its run directory."""

# The orderer organization's file is read as a consortium of it and one placeholder peer organization
# (the consortium model needs one), with ports outside any allocation.
_PLACEHOLDER_MEMBER_ORG = "ChannelMembers"
_PLACEHOLDER_MEMBER_PORTS = (65526, 65527, 65528, 65529, 65530)
_ORDERER_ORG_KEYS = ("name", "msp_id", "ca", "orderers", "consensus")
_ORDERER_CONSORTIUM_KEYS = ("fabric", "host", "port_base")
_OWN_VARIANT = "own"


@dataclass(frozen=True)
class OrdererOrgDefinition:
    """An orderer organization's file, loaded: its own orderers and the channel it orders.

    ``consortium`` is the organization as a consortium (what the renderers take: its orderer
    organization is this one, its one peer organization a placeholder that never runs); ``channel`` the
    channel's settings (name, block cutting).
    """

    consortium: Consortium
    channel: Channel
    base_dir: Path

    @property
    def org(self) -> OrdererOrganization:
        return self.consortium.orderer_org


def load_orderer_org(document: dict[Any, Any], path: Path) -> OrdererOrgDefinition:
    """An orderer organization's file (its YAML mapping ``document``, read from ``path``), checked.

    Raises:
        ConfigError: every problem of the file, each with its path in the file.
    """
    source = str(path)
    problems: list[Problem] = []
    known = {*_ORDERER_ORG_KEYS, *_ORDERER_CONSORTIUM_KEYS, "channel"}
    for key in document:
        if key not in known:
            problems.append(
                Problem(
                    str(key), f"unknown key of an orderer organization (known: {', '.join(sorted(known))})"
                )
            )
    raw_channel = document.get("channel")
    channel_entry: dict[str, Any] = {}
    if not isinstance(raw_channel, dict) or not raw_channel.get("name"):
        problems.append(Problem("channel", "expected a mapping with the channel's name (and block_cutting)"))
    else:
        for key in raw_channel:
            if key not in ("name", "block_cutting"):
                problems.append(Problem(f"channel.{key}", "unknown key (known: block_cutting, name)"))
        channel_entry = {k: raw_channel[k] for k in ("name", "block_cutting") if k in raw_channel}
    ports = iter(_PLACEHOLDER_MEMBER_PORTS)
    orderer_org = {k: document[k] for k in ("name", "msp_id", "ca") if k in document}
    consortium_doc: dict[str, Any] = {
        "name": str(document.get("name") or "orderer"),
        **{k: document[k] for k in _ORDERER_CONSORTIUM_KEYS if k in document},
        "orderer_org": {
            **orderer_org,
            "consensus": _OWN_VARIANT,
            "variants": {
                _OWN_VARIANT: {
                    "type": document.get("consensus", "etcdraft"),
                    "orderers": document.get("orderers"),
                }
            },
        },
        "orgs": [
            {
                "name": _PLACEHOLDER_MEMBER_ORG,
                "role": "member",
                "ca": {"port": next(ports), "operations_port": next(ports)},
                "peers": [
                    {
                        "name": "peer0",
                        "port": next(ports),
                        "chaincode_port": next(ports),
                        "operations_port": next(ports),
                    }
                ],
            }
        ],
        "channels": [{**(channel_entry or {"name": "channel"}), "orgs": [_PLACEHOLDER_MEMBER_ORG]}],
    }
    try:
        consortium = load_consortium(yaml.safe_dump(consortium_doc, sort_keys=False))
    except ConfigError as exc:
        problems += [dataclasses.replace(p, path=_orderer_org_path(p.path)) for p in exc.problems]
    if any(p.severity == "error" for p in problems):
        raise ConfigError(source, problems, what="orderer organization")
    return OrdererOrgDefinition(consortium, consortium.channels[0], path.parent.absolute())


def _orderer_org_path(path: str) -> str:
    """A problem's path in the synthesized consortium, as the orderer organization's file spells it."""
    for prefix, replacement in (
        (f"orderer_org.variants.{_OWN_VARIANT}.type", "consensus"),
        (f"orderer_org.variants.{_OWN_VARIANT}.", ""),
        ("orderer_org.", ""),
        ("channels[0].", "channel."),
    ):
        if path.startswith(prefix):
            return replacement + path[len(prefix) :]
    return path


class OrdererDeployment(OwnHostDeployment):
    """The orderer organization's own deployment (its file, see the module docstring) bound to its own
    run directory: its CA, identities and orderers; the channel's genesis block from the founding
    members' join requests."""

    def __init__(self, definition: OrdererOrgDefinition, layout: RunLayout) -> None:
        super().__init__(definition.consortium, layout, definition.base_dir)
        self.definition = definition

    @property
    def consortium(self) -> Consortium:
        return self.definition.consortium

    @property
    def org(self) -> OrdererOrganization:
        return self.definition.org

    @property
    def org_name(self) -> str:
        return self.org.name

    @property
    def channel_name(self) -> str:
        return self.definition.channel.name

    @property
    def tls_ca_file(self) -> Path:
        return self.layout.root / ORDERER_TLS_CA_FILE

    def _ca_settings(self) -> CertificateAuthority:
        return self.org.ca

    def _node_specs(self, install: FabricInstall) -> list[ProcessSpec]:
        return [render_orderer(self.consortium, o, self.layout, install) for o in self.org.orderers]

    def _msp_folders(self) -> list[Path]:
        folders = [self.layout.org_msp(self.org.name).path]
        folders += [self.layout.orderer_msp(self.org.name, o.name).path for o in self.org.orderers]
        folders.append(self.layout.user_msp(self.org.name, ORG_ADMIN_USER).path)
        return folders

    def nodes(self) -> list[str]:
        """The organization's nodes: its CA and its orderers."""
        return [f"ca.{self.org.name}", *(orderer_node(self.org.name, o.name) for o in self.org.orderers)]

    @property
    def orderer_addresses(self) -> list[str]:
        """Where members send transactions and fetch blocks: ``host:port`` of each orderer."""
        return [f"{self.consortium.host}:{o.port}" for o in self.org.orderers]

    def init(
        self, *, progress: Progress = lambda _: None, fabric: FabricInstall | None = None
    ) -> MemberReport:
        """Create the organization's CA, admin and orderer identities and MSP on this host, and write
        ``orderer-tls-ca.pem`` (the TLS CA certificate every member's file names). Starts the CA.
        Idempotent.

        Raises:
            NetworkError: a step failed; what this call started is stopped again.
        """
        started = self._init_identities(self._install(fabric, progress), progress)
        self.tls_ca_file.write_bytes(self.layout.ca_cert(self.org.name).read_bytes())
        return MemberReport(str(self.run_dir), started, tls_ca_cert=str(self.tls_ca_file))

    def up(self, *, progress: Progress = lambda _: None, fabric: FabricInstall | None = None) -> MemberReport:
        """Start what is down of the CA and the orderers (after :meth:`init`, run when needed). The
        orderers serve no channel until :meth:`join`. A running node is never touched.

        Raises:
            NetworkError: a node could not start (what this call started is stopped again).
        """
        install = self._install(fabric, progress)
        report = self.init(progress=progress, fabric=install)
        started = list(report.started)
        try:
            self._start(self._node_specs(install), started, ca_file=self.layout.ca_cert(self.org.name))
        except BaseException:
            for name in reversed(started):
                self.supervisor.stop(name)
            raise
        return MemberReport(str(self.run_dir), started, tls_ca_cert=report.tls_ca_cert)

    # --- the channel ------------------------------------------------------------------------------

    @property
    def genesis_block_file(self) -> Path:
        return self.layout.channel_block(self.channel_name)

    def genesis(
        self,
        requests: list[JoinRequest],
        *,
        progress: Progress = lambda _: None,
        fabric: FabricInstall | None = None,
    ) -> Path:
        """Create the channel's genesis block from the founding members' join requests and this
        organization's own MSP and orderers; returns the block file (``config/<channel>.block``).

        Each member's public MSP definition goes into the block as it is in its request (CA and TLS CA
        certificates, node OUs, anchor peers on its own host). The channel's policies are the
        consortium's: ``MAJORITY Admins`` of the members changes the channel, and so on
        (:func:`~fabrx_network.render.render_configtx`).

        Raises:
            NetworkError: no request, two requests for one organization or MSP id, a request that names
                the orderer organization, no identities yet (run ``init``), or a genesis block already
                made for the channel (a second one would found another channel of the same name: hand
                over the existing file). Nothing is written then. :class:`NetworkNotUp` (one line) for
                missing identities.
        """
        problems = []
        if not requests:
            problems.append("no founding member: give each founding member's join request")
        seen_names: dict[str, int] = {self.org.name.lower(): -1}
        seen_ids: dict[str, int] = {self.org.msp_id: -1}
        for index, request in enumerate(requests):
            for value, seen, what in (
                (request.name.lower(), seen_names, "organization"),
                (request.msp_id, seen_ids, "MSP id"),
            ):
                if value in seen:
                    other = "the orderer organization" if seen[value] < 0 else f"request {seen[value] + 1}"
                    problems.append(
                        f"request {index + 1} ({request.msp_id}): its {what} "
                        f"{request.name if what == 'organization' else request.msp_id} is already {other}'s"
                    )
                seen.setdefault(value, index)
        if problems:
            raise NetworkError("cannot create the genesis block:\n  " + "\n  ".join(problems))
        block = self.genesis_block_file
        if block.exists():
            raise NetworkError(
                f"the genesis block of channel {self.channel_name} exists already ({block}): hand over that "
                "file; a second one would found another channel of the same name"
            )
        if not self.layout.org_msp(self.org.name).config_yaml.exists() or not all(
            self.layout.orderer_tls(self.org.name, o.name).cert.exists() for o in self.org.orderers
        ):
            raise NetworkNotUp(
                f"{self.org.name} is not set up: no identities of it in {self.run_dir} yet; run "
                "`fabrx member init` (with the same --file and --run-dir)"
            )
        install = self._install(fabric, progress)
        # The members as the renderer of the genesis block takes them, from their join requests (checked
        # above, not a consortium file's section: built without the file's validation).
        members = tuple(
            Organization.model_construct(
                name=r.name,
                role="member",
                peers=tuple(
                    Peer.model_construct(name=f"anchor{i}", port=a.port) for i, a in enumerate(r.anchor_peers)
                ),
                msp_id=r.msp_id,
            )
            for r in requests
        )
        channel = self.definition.channel.model_copy(update={"orgs": tuple(r.name for r in requests)})
        consortium = self.consortium.model_copy(update={"orgs": members, "channels": (channel,)})
        self.layout.config_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".genesis-", dir=self.layout.config_dir) as work:
            folder = Path(work)
            founding = {
                r.name: FoundingMember(
                    write_msp_folder(r, folder / r.name / "msp"),
                    tuple((a.host, a.port) for a in r.anchor_peers),
                )
                for r in requests
            }
            configtx = folder / "configtx.yaml"
            configtx.write_text(render_configtx(consortium, self.layout, founding), encoding="utf-8")
            made = folder / "genesis.block"
            create_genesis_block(install, configtx, self.channel_name, made)
            made.replace(block)
        progress(f"genesis block of {self.channel_name}: {', '.join(r.msp_id for r in requests)}")
        return block

    def _node_addresses(self) -> dict[str, str]:
        host = self.consortium.host
        addresses = super()._node_addresses()
        addresses.update({orderer_node(self.org.name, o.name): f"{host}:{o.port}" for o in self.org.orderers})
        return addresses

    def _read_heights(self, status: MemberStatus) -> None:
        """Each running orderer's height of the channel (its channel participation API); the highest is
        the orderer's height, and each orderer's lag is how far it is behind that one."""
        nodes = {n.name: n for n in status.nodes}
        for orderer in self.org.orderers:
            node = nodes[orderer_node(self.org.name, orderer.name)]
            if node.running:
                try:
                    node.height = self._orderer_node_height(orderer)
                except (FabrxError, OSError) as exc:
                    node.problem = f"no height of {self.channel_name}: {exc}"
        heights = [n.height for n in status.nodes if n.height is not None]
        if heights:
            status.orderer_height = max(heights)
            status.orderer = next(n.address for n in status.nodes if n.height == status.orderer_height)
            for node in status.nodes:
                if node.height is not None:
                    node.lag = status.orderer_height - node.height

    def _orderer_node_height(self, orderer: Any) -> int:
        """The channel's height on one own orderer, from its channel participation API.

        Raises:
            FabrxError: it does not answer or does not serve the channel.
            OSError: the admin's TLS files cannot be read.
        """
        tls = self.layout.user_tls(self.org.name, ORG_ADMIN_USER)
        admin = OrdererAdmin.from_files(
            f"{self.consortium.host}:{orderer.admin_port}",
            tls_root_cert=self.layout.ca_cert(self.org.name),
            client_cert=tls.cert,
            client_key=tls.key,
            timeout=5,
        )
        return admin.info(self.channel_name).height

    def orderer_admins(self) -> list[OrdererAdmin]:
        """An :class:`~fabrx.admin.OrdererAdmin` per own orderer: its admin API, as the admin's TLS client."""
        tls = self.layout.user_tls(self.org.name, ORG_ADMIN_USER)
        return [
            OrdererAdmin.from_files(
                f"{self.consortium.host}:{o.admin_port}",
                tls_root_cert=self.layout.ca_cert(self.org.name),
                client_cert=tls.cert,
                client_key=tls.key,
            )
            for o in self.org.orderers
        ]

    def join(self, block: bytes, *, timeout: float = 60.0) -> list[str]:
        """Join every own orderer to the channel of ``block`` (its genesis block) and wait until the
        channel has a Raft leader; returns the orderers that joined now.

        Raises:
            NetworkError: an orderer refused the block (named, with its answer), or no leader after
                ``timeout`` seconds.
        """
        joined = []
        channel = channel_id_of_block(block)
        for orderer, admin in zip(self.org.orderers, self.orderer_admins(), strict=True):
            try:
                if not admin.join(block).already_joined:
                    joined.append(orderer_node(self.org.name, orderer.name))
            except FabrxError as exc:
                raise NetworkError(f"orderer {orderer.name} could not join {channel}: {exc}") from exc
        wait_raft_leaders(self.consortium, self.layout, [channel], timeout)
        return joined
