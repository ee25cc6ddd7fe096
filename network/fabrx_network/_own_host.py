"""What an organization's own deployment on its own host does whatever its nodes are.

:class:`OwnHostDeployment` holds the one code path a member (:class:`~fabrx_network.member.MemberDeployment`:
peers and chaincode servers) and the orderer organization
(:class:`~fabrx_network.orderer_host.OrdererDeployment`: orderers) share: the organization's Fabric CA, its
identities and organization MSP, starting its nodes and stopping what it started, status and systemd units.
Each file is read as a consortium of the one organization, so the renderers of the one-machine consortium
render its nodes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fabrx.ca import CAClient

from ._tables import node_table
from .config import (
    CertificateAuthority,
    ConfigError,
    Consortium,
    Problem,
)
from .errors import NetworkError
from .identities import (
    _NODE_TYPES,
    bootstrap_password,
    init_ca,
    issue_identity,
    planned_identities,
    write_org_msp,
)
from .install import FabricInstall, ensure_fabric, find_fabric
from .layout import RunLayout
from .operations import last_log_lines
from .process import ProcessSupervisor, check_ports
from .render import (
    CA_BOOTSTRAP_USER,
    NODE_OU_CONFIG,
    CaServer,
    ProcessSpec,
    render_ca,
    render_env_file,
)
from .units import SystemdUnits, systemd_units

__all__ = [
    "MemberNodeStatus",
    "MemberReport",
    "MemberStatus",
    "OwnHostDeployment",
    "Progress",
    "read_document",
]

LOG_LINES = 3
"""How many of a stopped node's last log lines its status shows."""
_HEADERS = ("NODE", "KIND", "STATE", "ADDRESS", "HEIGHT (LAG)")

Progress = Callable[[str], None]


def read_document(path: Path) -> dict[Any, Any]:
    """The YAML mapping of a member or orderer organization file.

    Raises:
        ConfigError: not UTF-8, not YAML, not a mapping.
        NetworkError: the file cannot be read.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NetworkError(f"cannot read the member file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text (byte {exc.start}): a member file is YAML"
        raise ConfigError(source, [Problem("", message)], what="member") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [Problem("", f"not valid YAML: {exc}")], what="member") from None
    if not isinstance(document, dict):
        raise ConfigError(source, [Problem("", "the member file must be a YAML mapping")], what="member")
    return document


@dataclass(frozen=True)
class MemberReport:
    """What a member command did: the nodes it started, the file it hands out (a member's join request,
    the orderer organization's TLS CA certificate), package ids."""

    run_dir: str
    started: list[str]
    join_request: str | None = None
    packages: dict[str, str] = dataclasses.field(default_factory=dict)
    tls_ca_cert: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class MemberNodeStatus:
    """One node of an organization's own deployment.

    ``height`` is the channel's height on the node (peers and orderers that serve the channel); ``lag``
    how many blocks a peer is behind the orderer it reads from (``None`` when either height is unknown);
    ``problem`` why a running node's height could not be read; ``reason`` why a node is down: the last
    line of its log, ``log_tail`` its last lines.
    """

    name: str
    kind: str
    running: bool
    address: str = ""
    height: int | None = None
    lag: int | None = None
    problem: str = ""
    reason: str = ""
    log_tail: list[str] = dataclasses.field(default_factory=list)
    log: str = ""


@dataclass
class MemberStatus:
    """Every node of an organization's own deployment; ``orderer_height`` is the channel's height at the
    orderer (``orderer`` is the address it was read from; ``orderer_problem`` why it could not be)."""

    organization: str
    channel: str
    run_dir: str
    nodes: list[MemberNodeStatus]
    orderer: str = ""
    orderer_height: int | None = None
    orderer_problem: str = ""

    @property
    def up(self) -> bool:
        """Whether every node runs."""
        return all(n.running for n in self.nodes)

    def running(self) -> dict[str, bool]:
        """Each node's name: whether it runs."""
        return {n.name: n.running for n in self.nodes}

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "up": self.up}

    def render(self) -> str:
        state = "up" if self.up else "NOT up"
        lines = [f"{self.organization} on channel {self.channel} ({self.run_dir}): {state}"]
        if self.orderer_height is not None:
            lines.append(f"  orderer {self.orderer}: {self.channel}={self.orderer_height}")
        elif self.orderer_problem:
            lines.append(f"  orderer: height unknown ({self.orderer_problem})")
        rows = []
        notes: list[list[str]] = []
        for n in self.nodes:
            height = "-"
            if n.height is not None:
                height = f"{self.channel}={n.height}"
                if n.lag:
                    height += f" ({n.lag} behind the orderer)"
                elif n.lag == 0:
                    height += " (in step with the orderer)"
            rows.append([n.name, n.kind, "up" if n.running else "down", n.address or "-", height])
            under = [f"      {n.problem}"] if n.problem else []
            if not n.running:
                if n.log_tail:
                    under.append(f"      down; last lines of {n.log}:")
                    under.extend(f"        {line}" for line in n.log_tail)
                else:
                    under.append(f"      down; nothing in {n.log}")
            notes.append(under)
        lines += node_table(_HEADERS, rows, notes)
        return "\n".join(lines)


class OwnHostDeployment:
    """What an organization's own deployment on its own host does the same way whatever its nodes: its
    Fabric CA, its identities and organization MSP, starting and stopping its nodes, status and systemd
    units. :class:`MemberDeployment` (peers and chaincode servers) and :class:`OrdererDeployment`
    (orderers) say which nodes and which public file."""

    def __init__(self, consortium: Consortium, layout: RunLayout, base_dir: Path) -> None:
        self._consortium = consortium
        self.layout = layout
        self.base_dir = base_dir
        self.supervisor = ProcessSupervisor(layout.root)

    @property
    def run_dir(self) -> Path:
        return self.layout.root

    @property
    def org_name(self) -> str:
        raise NotImplementedError

    @property
    def channel_name(self) -> str:
        raise NotImplementedError

    def _ca_settings(self) -> CertificateAuthority:
        raise NotImplementedError

    def _node_specs(self, install: FabricInstall) -> list[ProcessSpec]:
        """The organization's nodes other than its CA and chaincode servers (peers, or orderers)."""
        raise NotImplementedError

    def _msp_folders(self) -> list[Path]:
        raise NotImplementedError

    def _extra_specs(self, install: FabricInstall) -> list[ProcessSpec]:
        """Processes beyond the CA and :meth:`_node_specs` for the systemd units (chaincode servers)."""
        return []

    def nodes(self) -> list[str]:
        raise NotImplementedError

    # --- rendering --------------------------------------------------------------------------------

    def _ca(self, install: FabricInstall) -> CaServer:
        name = self.org_name
        return render_ca(
            self._consortium,
            name,
            self._ca_settings(),
            self.layout,
            install,
            bootstrap_password(self.layout, name),
        )

    def _install(self, fabric: FabricInstall | None, progress: Progress) -> FabricInstall:
        c = self._consortium
        return fabric or ensure_fabric(c.fabric.version, c.fabric.ca_version, progress=progress)

    def _prepare(self, install: FabricInstall) -> CaServer:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self.layout.root.chmod(0o700)
        ca = self._ca(install)
        for spec in (ca.process, *self._node_specs(install)):
            spec.env_file.parent.mkdir(parents=True, exist_ok=True)
            spec.env_file.write_text(render_env_file(spec))
        for folder in self._msp_folders():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.yaml").write_text(NODE_OU_CONFIG)
        return ca

    # --- the CA and identities --------------------------------------------------------------------

    def _init_identities(self, install: FabricInstall, progress: Progress) -> list[str]:
        """Start the CA, issue the organization's identities, write its MSP; the CA is left running.
        Returns the processes started (the CA, unless it ran already)."""
        ca = self._prepare(install)
        started: list[str] = []
        try:
            init_ca(ca)
            self._start([ca.process], started, ca_file=ca.ca_cert)
            progress(f"CA of {self.org_name} up")
            self._issue_identities(ca)
            write_org_msp(self.layout, self.org_name)
        except BaseException:
            for name in reversed(started):
                self.supervisor.stop(name)
            raise
        return started

    def _issue_identities(self, ca: CaServer) -> None:
        plans = [p for p in planned_identities(self._consortium, self.layout) if p.org == self.org_name]
        missing = [p for p in plans if not p.complete]
        if not missing:
            return
        password = bootstrap_password(self.layout, self.org_name)
        host = self._consortium.host
        with CAClient(ca.url, tls_root_certs=ca.ca_cert.read_bytes(), ca_name=ca.ca_name) as client:
            registrar = client.enroll(CA_BOOTSTRAP_USER, password)
            for plan in missing:
                hosts = (plan.enrollment_id, "localhost", host) if plan.type in _NODE_TYPES else ()
                issue_identity(client, registrar, password, plan, hosts)

    def _start(self, specs: list[ProcessSpec], started: list[str], *, ca_file: Path | None) -> None:
        pending = [s for s in specs if not self.supervisor.is_running(s.name)]
        check_ports(pending, self._consortium.host)
        for spec in pending:
            self.supervisor.start(spec)
            started.append(spec.name)
        for spec in specs:
            self.supervisor.wait_healthy(spec, timeout=60, ca_file=ca_file)

    # --- down, status, units ----------------------------------------------------------------------

    def status(self) -> MemberStatus:
        """Each node of the organization: up or down (as started by this run directory), where it listens,
        the channel's height on it and, for a peer, how far it is behind the orderer; for a node that is
        down, the last lines of its log. Heights are read from the running nodes with the organization's
        own admin identity; one that cannot be read is named in ``problem``, never raised."""
        nodes = []
        addresses = self._node_addresses()
        for name in self.nodes():
            running = self.supervisor.is_running(name)
            log = self.layout.log_file(name)
            node = MemberNodeStatus(
                name, self._node_kind(name), running, address=addresses.get(name, ""), log=str(log)
            )
            if not running:
                node.log_tail = last_log_lines(log, LOG_LINES)
                node.reason = node.log_tail[-1] if node.log_tail else ""
            nodes.append(node)
        status = MemberStatus(self.org_name, self.channel_name, str(self.run_dir), nodes)
        self._read_heights(status)
        return status

    def _node_kind(self, name: str) -> str:
        for kind in ("ca", "chaincode", "peer", "orderer"):
            if name.startswith(kind):
                return kind
        return "node"

    def _node_addresses(self) -> dict[str, str]:
        """``host:port`` where each node serves its clients (chaincode servers: none)."""
        return {f"ca.{self.org_name}": f"{self._consortium.host}:{self._ca_settings().port}"}

    def _read_heights(self, status: MemberStatus) -> None:
        """Fill in the heights of ``status``'s running nodes and the orderer's (by the kind of
        organization)."""

    def down(self) -> list[str]:
        """Stop the organization's processes started from this run directory; keys and ledgers stay."""
        return self.supervisor.stop_all() if self.layout.root.exists() else []

    def systemd_units(self, *, user: str, group: str | None = None, path: str | None = None) -> SystemdUnits:
        """systemd units for the organization's nodes (see :mod:`fabrx_network.units`).

        Raises :class:`NetworkError` before ``up`` (no chaincode package yet) or on a bad name.
        """
        c = self._consortium
        install = find_fabric(c.fabric.version, c.fabric.ca_version)
        if install is None:
            raise NetworkError("Fabric is not installed: run `fabrx fabric install`")
        specs = [self._ca(install).process, *self._node_specs(install), *self._extra_specs(install)]
        return systemd_units(
            specs,
            prefix=f"fabrx-member-{self.org_name}",
            description=f"{self.org_name} on channel {self.channel_name}",
            user=user,
            group=group,
            path=os.environ.get("PATH", os.defpath) if path is None else path,
        )
