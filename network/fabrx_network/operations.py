"""Running a consortium: ``up``, ``down``, ``status`` and ``logs`` over one run directory.

``up`` is a fixed, idempotent sequence; each step looks at what exists before acting, so a second run
does nothing and an interrupted run resumes:

1. render every file and process from the consortium definition (:mod:`fabrx_network.render`);
2. CAs: ``fabric-ca-server init`` once, TLS identity, start, wait healthy;
3. identities: register and enroll what is missing (:mod:`fabrx_network.identities`);
4. genesis block of each channel (``configtxgen``), once;
5. orderers and peers: start, wait until every operations endpoint reports healthy;
6. channels: join each orderer (channel participation API, mutual TLS) and each peer (``cscc``);
7. chaincodes: package, start the chaincode server, install/approve/commit (:func:`fabrx.admin.deploy`).

``up`` starts only nodes that are down and never touches one that runs: it is also the way to bring a
dead node back. If a step fails, ``up`` stops exactly the processes it started itself in that call,
leaves every node that was already running alone, and raises :class:`~fabrx_network.errors.UpError`
naming what failed (the node, its log file, a fix), what it stopped and what still runs.
:meth:`ConsortiumNetwork.restart` restarts one node. ``down`` stops exactly the processes recorded in
``pids.json``; ledgers stay unless ``purge`` is asked for.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from tabulate import tabulate
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from fabrx.admin import OrdererAdmin, PeerAdmin, deploy, package_id
from fabrx.admin.ccaas import ChaincodePackage
from fabrx.discovery import channel_peers
from fabrx.endpoint import Endpoint
from fabrx.errors import FabrxError
from fabrx.identity import load_msp_folder

from ._tables import indented, node_table
from .builders import copy_ccaas_builder
from .chaincodes import (
    chaincode_definition,
    chaincode_files,
    chaincode_node,
    chaincode_process,
    chaincode_servers,
    prepare_chaincode,
    write_chaincode_env,
)
from .config import ORG_ADMIN_USER, Chaincode, Consortium, Organization, Peer, load_consortium
from .errors import NetworkError, NetworkNotUp, ProcessError, UpError
from .genesis import create_genesis_block
from .identities import bootstrap_password, enroll_client, enroll_identities, init_ca
from .install import FabricInstall, ensure_fabric, find_fabric
from .layout import RunLayout, orderer_node, peer_node
from .process import ProcessSupervisor, check_ports
from .profiles import connection_profile, write_connection_profiles
from .render import ProcessSpec, RenderedNetwork, is_fabric_2, render_network, write_rendered
from .units import SystemdUnits, systemd_units

__all__ = [
    "ConsortiumNetwork",
    "NetworkStatus",
    "NodeStatus",
    "RestartReport",
    "UpReport",
    "default_config_path",
    "open_network",
]

Progress = Callable[[str], None]
_log = logging.getLogger("fabrx.network")

# The default consortium file ships inside the package of an installed distribution (``make dist`` copies
# ``network/consortium.yaml`` there); a development install reads the repository's file beside the package.
_SAME_FILES = " (with the same --config and --run-dir)"
"""Where a command's hint to run another command must say that it acts on the same network."""

_PACKAGED_DEFAULT = Path(__file__).with_name("consortium.yaml")
_SOURCE_DEFAULT = Path(__file__).resolve().parent.parent / "consortium.yaml"


def default_config_path() -> Path:
    """``network/consortium.yaml`` of the current project if present, else the default shipped with fabrx.

    The shipped default is the copy inside the installed ``fabrx_network`` package, or in a development
    install the repository's ``network/consortium.yaml``.
    """
    local = Path("network/consortium.yaml")
    if local.exists():
        return local
    return _PACKAGED_DEFAULT if _PACKAGED_DEFAULT.exists() else _SOURCE_DEFAULT


def open_network(
    config_path: Path | None = None, run_dir: Path | None = None, *, consensus: str | None = None
) -> ConsortiumNetwork:
    """Load and validate a consortium file and bind it to its run directory (default ``.fabrx/<name>``).

    Raises:
        ConfigError: every problem of the file at once.
    """
    path = config_path or default_config_path()
    consortium = load_consortium(path, consensus=consensus)
    root = run_dir or Path(".fabrx") / consortium.name
    layout = RunLayout(root)
    recorded = recorded_consensus(layout)
    if consensus is None and recorded is not None and recorded != consortium.orderer_org.consensus:
        # Later commands (status, demo, deploy, down) act on the variant the run directory was built with.
        consortium = load_consortium(path, consensus=recorded)
    return ConsortiumNetwork(consortium, layout, base_dir=path.parent.resolve())


def recorded_consensus(layout: RunLayout) -> str | None:
    """The consensus variant a run directory's network was brought up with, if it records one."""
    try:
        state = json.loads(layout.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    variant = state.get("consensus") if isinstance(state, dict) else None
    return variant if isinstance(variant, str) else None


@dataclass(frozen=True)
class UpReport:
    """What ``up`` did and how long it took.

    ``started`` are the nodes this call started; ``already_running`` those it found running and left alone.
    ``chaincodes`` has the package id of each chaincode server by node name (``chaincode.pharma.HospitalA``).
    """

    run_dir: str
    seconds: float
    steps: list[tuple[str, float]]
    started: list[str]
    chaincodes: dict[str, str]
    already_running: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)  # connection profile path by organization

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        lines = [f"consortium up in {self.seconds:.1f} s (run directory {self.run_dir})"]
        lines.append(f"  started {len(self.started)} node(s): {', '.join(self.started) or 'none'}")
        if self.already_running:
            lines.append(f"  left {len(self.already_running)} running node(s) untouched")
        if self.steps:
            steps = [(name, f"{seconds:.2f} s") for name, seconds in self.steps]
            lines += indented(tabulate(steps, tablefmt="plain", colalign=("left", "right")))
        lines += [f"  {node}: {package}" for node, package in self.chaincodes.items()]
        if self.profiles:
            folder = Path(next(iter(self.profiles.values()))).parent
            lines.append(f"  connection profiles: {folder}/<org>.json ({', '.join(self.profiles)})")
        lines.append("stop it with `fabrx network down` (add --purge to delete ledgers and keys)")
        return "\n".join(lines)


@dataclass(frozen=True)
class RestartReport:
    """What :meth:`ConsortiumNetwork.restart` did: ``was_running`` tells a restart from a start."""

    node: str
    was_running: bool
    pid: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        how = "stopped and started" if self.was_running else "was down; started"
        return f"{self.node}: {how} again (pid {self.pid}), healthy"


@dataclass
class NodeStatus:
    """One node: ``address`` is where it listens (host:port; empty for chaincode servers), ``lag`` how many
    blocks a peer is behind the highest peer of each channel, ``reason`` why a node is down (the last line
    of its log)."""

    name: str
    kind: str
    running: bool
    healthy: bool | None = None
    version: str | None = None
    heights: dict[str, int] = field(default_factory=dict)
    pid: int | None = None
    log: str = ""
    problem: str = ""
    address: str = ""
    lag: dict[str, int] = field(default_factory=dict)
    reason: str = ""


@dataclass
class NetworkStatus:
    """Every node of the consortium and the committed chaincodes; ``started`` is False while ``network up``
    never ran in the run directory (then every node is down; ``render`` says what to run instead of
    listing them, the JSON lists them as always)."""

    name: str
    run_dir: str
    nodes: list[NodeStatus]
    chaincodes: dict[str, list[dict[str, Any]]]
    started: bool = True

    @property
    def healthy(self) -> bool:
        return all(n.running and n.healthy is not False for n in self.nodes)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["started"]  # the JSON document stays as scripts know it
        return {**data, "healthy": self.healthy}

    def render(self) -> str:
        """The status as text: a table with a header row, a node's problem or the reason it is down under
        its row, the committed chaincodes; one line that says what to run for a network never started."""
        if not self.started:
            return (
                f"the network {self.name!r} is not up: {self.run_dir} holds no network; "
                f"start it with `fabrx network up`{_SAME_FILES}"
            )
        lines = [f"consortium {self.name} ({self.run_dir}): {'healthy' if self.healthy else 'NOT healthy'}"]
        rows = []
        notes: list[list[str]] = []
        for n in self.nodes:
            state = "up" if n.running else "down"
            health = {True: "healthy", False: "unhealthy", None: "-"}[n.healthy]
            heights = " ".join(
                f"{ch}={h}" + (f" (-{n.lag[ch]})" if n.lag.get(ch) else "") for ch, h in n.heights.items()
            )
            rows.append([n.name, n.kind, state, health, n.version or "-", n.address or "-", heights or "-"])
            notes.append(
                ([f"      {n.problem}"] if n.problem else [])
                + ([f"      down; last log line: {n.reason}"] if n.reason else [])
            )
        lines += node_table(_STATUS_HEADERS, rows, notes)
        for channel, definitions in self.chaincodes.items():
            for d in definitions:
                lines.append(
                    f"  chaincode {d['name']} {d['version']} (sequence {d['sequence']}) on {channel}"
                )
        if not any(n.running for n in self.nodes):
            lines.append(
                f"the network {self.name!r} is not running: start it with `fabrx network up`{_SAME_FILES}"
            )
        return "\n".join(lines)


_STATUS_HEADERS = ("NODE", "KIND", "STATE", "HEALTH", "VERSION", "ADDRESS", "HEIGHT (LAG)")


class ConsortiumNetwork:
    """One consortium definition bound to one run directory."""

    def __init__(self, consortium: Consortium, layout: RunLayout, *, base_dir: Path) -> None:
        self.consortium = consortium
        self.layout = layout
        self.base_dir = base_dir
        self.supervisor = ProcessSupervisor(layout.root)

    @property
    def run_dir(self) -> Path:
        return self.layout.root

    # --- up -----------------------------------------------------------------------------------------

    def up(self, *, progress: Progress = lambda _: None, fabric: FabricInstall | None = None) -> UpReport:
        """Bring every node up and every channel and chaincode in place (idempotent, resumable).

        Only nodes that are down are started; a running node is never stopped or restarted, so ``up`` is
        also how a node that died is brought back while the others keep serving.

        Raises:
            UpError: a step failed. The processes this call started have been stopped again; nodes that
                were running before it still run. The error lists both, and chains the cause.
            NetworkError: the run directory holds another consensus variant (nothing was touched).
        """
        begin = time.monotonic()
        steps: list[tuple[str, float]] = []
        started: list[str] = []
        already_running = [name for name in self.supervisor.processes if self.supervisor.is_running(name)]
        variant = self.consortium.orderer_org.consensus
        recorded = recorded_consensus(self.layout)
        if recorded is not None and recorded != variant:
            raise NetworkError(
                f"{self.run_dir} holds a network brought up with consensus {recorded}, not {variant}: "
                f"run `fabrx network up` without --consensus to resume it, or `fabrx network down --purge` "
                f"first to start over with {variant}"
            )
        self._write_state("starting")

        @contextmanager
        def step(name: str) -> Iterator[None]:
            t0 = time.monotonic()
            progress(f"{name} ...")
            yield
            steps.append((name, time.monotonic() - t0))

        install = fabric or ensure_fabric(
            self.consortium.fabric.version, self.consortium.fabric.ca_version, progress=progress
        )
        try:
            with step("render"):
                rendered = self._render(install)
            with step("certificate authorities"):
                for ca in rendered.cas:
                    init_ca(ca)
                self._start_and_wait([ca.process for ca in rendered.cas], started)
            with step("identities"):
                enroll_identities(self.consortium, self.layout, rendered.cas, progress)
            with step("genesis blocks"):
                self._genesis_blocks(install)
            with step("orderers and peers"):
                self._start_and_wait([*rendered.orderers, *rendered.peers], started)
            with step("channels"):
                self._join_channels()
                self._wait_raft_leaders()
            chaincodes: dict[str, str] = {}
            for chaincode in self.consortium.chaincodes:
                with step(f"chaincode {chaincode.name}"):
                    chaincodes.update(self._deploy_chaincode(chaincode, rendered, started))
            with step("gossip convergence"):
                self.wait_converged()
            with step("connection profiles"):
                profiles = write_connection_profiles(self.consortium, self.layout)
        except BaseException as exc:
            self._roll_back(started, exc)
            raise
        self._write_state("up")
        return UpReport(
            str(self.run_dir),
            time.monotonic() - begin,
            steps,
            started,
            chaincodes,
            already_running,
            {org: str(path) for org, path in profiles.items()},
        )

    def _roll_back(self, started: list[str], cause: BaseException) -> None:
        """Stop what this ``up`` started, then raise :class:`UpError` (an interrupt propagates as is)."""
        stopped: list[str] = []
        problem = ""
        try:
            for name in reversed(started):
                if self.supervisor.stop(name):
                    stopped.append(name)
        except ProcessError as exc:
            problem = f"; stopping them failed: {exc}"
        running = [name for name in self.supervisor.processes if self.supervisor.is_running(name)]
        if not isinstance(cause, Exception):
            return  # KeyboardInterrupt, SystemExit: what was started is stopped again; propagate as is
        raise UpError(cause, started=started, stopped=stopped, running=running, problem=problem) from cause

    def deploy_chaincodes(
        self, names: list[str] | None = None, *, progress: Progress = lambda _: None
    ) -> dict[str, str]:
        """Deploy (or re-check) the named chaincodes of the consortium file on the running network.

        Each is packaged, its servers started if needed, installed on every peer of its channel, approved
        for every organization and committed; steps already done are skipped. Returns the package id of
        each chaincode server by node name.

        Raises:
            NetworkError: an unknown name, or the network is not up.
        """
        known = {c.name: c for c in self.consortium.chaincodes}
        unknown = sorted(set(names or ()) - set(known))
        if unknown:
            raise NetworkError(
                f"no chaincode {', '.join(unknown)} in the consortium file (known: {', '.join(known)})"
            )
        install = find_fabric(self.consortium.fabric.version, self.consortium.fabric.ca_version)
        if install is None:
            raise NetworkError("Fabric is not installed: run `fabrx fabric install`")
        rendered = self._render(install)
        result: dict[str, str] = {}
        for name in names or list(known):
            progress(f"chaincode {name} ...")
            result.update(self._deploy_chaincode(known[name], rendered, [], progress=progress))
        return result

    def _render(self, install: FabricInstall) -> RenderedNetwork:
        orgs = [self.consortium.orderer_org.name, *(o.name for o in self.consortium.orgs)]
        passwords = {org: bootstrap_password(self.layout, org) for org in orgs}
        rendered = render_network(self.consortium, self.layout, install, passwords)
        write_rendered(rendered, self.layout)
        if is_fabric_2(self.consortium):
            _write_fabric2_core_yaml(
                install.config_dir / "core.yaml", self.layout.peer_config_dir / "core.yaml"
            )
        if not (self.layout.ccaas_builder / "bin" / "detect").exists():
            copy_ccaas_builder(self.layout.ccaas_builder)
        return rendered

    def _start_and_wait(self, specs: list[ProcessSpec], started: list[str]) -> None:
        """Start those of ``specs`` that are down (each appended to ``started`` once running), then wait
        until all are healthy. Ports are checked for every node to start before any starts."""
        pending = [s for s in specs if not self.supervisor.is_running(s.name)]
        check_ports(pending, self.consortium.host)
        for spec in pending:
            self.supervisor.start(spec)
            started.append(spec.name)

        def wait(spec: ProcessSpec) -> None:
            self.supervisor.wait_healthy(spec, timeout=60, ca_file=self._tls_ca_for(spec.name))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(wait, specs))

    def _tls_ca_for(self, node: str) -> Path:
        for org in (self.consortium.orderer_org.name, *(o.name for o in self.consortium.orgs)):
            if node.endswith(f".{org}"):
                return self.layout.ca_cert(org)
        raise NetworkError(f"no organization for node {node}")

    def _genesis_blocks(self, install: FabricInstall) -> None:
        for channel in self.consortium.channels:
            block = self.layout.channel_block(channel.name)
            if not block.exists():
                create_genesis_block(install, self.layout.configtx_file, channel.name, block)

    def _join_channels(self) -> None:
        for channel in self.consortium.channels:
            block = self.layout.channel_block(channel.name).read_bytes()
            for orderer in self.consortium.orderer_org.orderers:
                # The first join of a new channel can race the Raft leader election: retry briefly.
                _retry(
                    functools.partial(self.orderer_admin(orderer.name).join, block),
                    what=f"join {orderer.name} to {channel.name}",
                )
            for org in self.consortium.channel_orgs(channel):
                for peer in org.peers:
                    with self.peer_admin(org, peer) as admin:
                        admin.join_channel(block)

    def _wait_raft_leaders(self, timeout: float = 60.0) -> None:
        """Wait until every Raft channel has a leader, so the first submit after ``up`` is accepted.

        Read from each orderer's ``/metrics`` (``consensus_etcdraft_is_leader``) with the orderer
        organization admin's TLS certificate. A restarted single orderer needs a few seconds to elect
        itself; until then it refuses transactions. BFT channels are not waited for.
        """
        wait_raft_leaders(self.consortium, self.layout, [c.name for c in self.consortium.channels], timeout)

    def _deploy_chaincode(
        self,
        chaincode: Chaincode,
        rendered: RenderedNetwork,
        started: list[str],
        *,
        progress: Progress = lambda _: None,
    ) -> dict[str, str]:
        """Start the servers of ``chaincode`` that are down and deploy it, telling ``progress`` each step;
        returns each server's package id by node name."""
        progress(f"{chaincode.name}: package for its chaincode server(s)")
        cas = {ca.org: ca for ca in rendered.cas}
        packages: dict[str, ChaincodePackage] = {}
        result: dict[str, str] = {}
        specs: list[ProcessSpec] = []
        for org in chaincode_servers(self.consortium, chaincode):
            ca = cas[org.name if org is not None else self.consortium.orderer_org.name]
            package = prepare_chaincode(self.consortium, self.layout, chaincode, ca, org)
            spec = chaincode_process(
                self.consortium, self.layout, chaincode, package.package_id, self.base_dir, org
            )
            write_chaincode_env(spec)
            specs.append(spec)
            result[spec.name] = package.package_id
            if org is None:
                for member in self.consortium.channel_orgs(self.consortium.channel(chaincode.channel)):
                    packages[member.msp_id] = package
            else:
                packages[org.msp_id] = package
        pending = [spec for spec in specs if not self.supervisor.is_running(spec.name)]
        check_ports(pending, self.consortium.host)
        for spec in pending:
            progress(f"{chaincode.name}: start {spec.name}")
            self.supervisor.start(spec)
            started.append(spec.name)
        progress(f"{chaincode.name}: wait until {', '.join(spec.name for spec in specs)} answer(s)")
        for spec in specs:
            self.supervisor.wait_healthy(spec, timeout=30)
        channel = self.consortium.channel(chaincode.channel)
        with ExitStack() as stack:
            admins = [
                stack.enter_context(self.peer_admin(org, peer))
                for org in self.consortium.channel_orgs(channel)
                for peer in org.peers
            ]
            try:
                deploy(
                    admins,
                    channel.name,
                    chaincode_definition(self.consortium, chaincode),
                    packages,
                    orderer=self.orderer_endpoint(),
                    progress=progress,
                )
            except FabrxError as exc:
                if "redefine the current committed sequence" in str(exc):
                    raise NetworkError(
                        f"chaincode {chaincode.name}: the consortium file changes its definition (policy, "
                        f"collections or version) but keeps sequence {chaincode.sequence}. Fix: raise "
                        f"`sequence` to {chaincode.sequence + 1} to upgrade it, then run up again.\n{exc}"
                    ) from exc
                raise
        return result

    def wait_converged(self, *, timeout: float = 60.0) -> None:
        """Wait until every peer's gossip view of each channel lists every peer with every chaincode.

        Until then a Gateway cannot choose endorsers from other organizations. Each peer is asked through
        the discovery service, as its organization's admin.

        Raises:
            NetworkError: not converged after ``timeout`` seconds; the message names the peers still
                missing from which view.
        """
        deadline = time.monotonic() + timeout
        while True:
            missing = self._gossip_gaps()
            if not missing:
                return
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"gossip has not converged after {timeout:g} s:\n"
                    + "\n".join(f"  - {gap}" for gap in missing)
                    + "\ncheck the peers' logs for gossip errors (fabrx network logs <peer>)"
                )
            time.sleep(0.25)

    def _gossip_gaps(self) -> list[str]:
        gaps: list[str] = []
        for channel in self.consortium.channels:
            orgs = self.consortium.channel_orgs(channel)
            expected = {f"{self.consortium.host}:{p.port}" for o in orgs for p in o.peers}
            chaincodes = {c.name for c in self.consortium.chaincodes if c.channel == channel.name}
            for org in orgs:
                identity, signer, _ = load_msp_folder(
                    org.msp_id, self.layout.user_msp(org.name, ORG_ADMIN_USER).path
                )
                for peer in org.peers:
                    try:
                        seen = channel_peers(self.peer_endpoint(org, peer), channel.name, identity, signer)
                    except FabrxError as exc:
                        gaps.append(f"{peer_node(org.name, peer.name)}: {exc}")
                        continue
                    ready = {p.endpoint for p in seen if chaincodes <= set(p.chaincodes)}
                    if expected - ready:
                        absent = ", ".join(sorted(expected - ready))
                        gaps.append(
                            f"{peer_node(org.name, peer.name)} on {channel.name} does not yet see {absent}"
                        )
        return gaps

    # --- handles for the SDK and tests ---------------------------------------------------------------

    def peer_endpoint(self, org: Organization, peer: Peer) -> Endpoint:
        """The gRPC endpoint of a peer, verified with its organization's TLS CA.

        Raises:
            NetworkError: the organization's CA certificate is missing: the network is not up here.
        """
        return Endpoint(
            address=f"{self.consortium.host}:{peer.port}",
            tls_root_certs=self._created(
                self.layout.ca_cert(org.name), f"the TLS CA of {org.name}"
            ).read_bytes(),
        )

    def orderer_endpoint(self, name: str | None = None) -> Endpoint:
        orderer_org = self.consortium.orderer_org
        orderer = next(o for o in orderer_org.orderers if name in (None, o.name))
        return Endpoint(
            address=f"{self.consortium.host}:{orderer.port}",
            tls_root_certs=self.layout.ca_cert(orderer_org.name).read_bytes(),
        )

    def peer_admin(self, org: Organization, peer: Peer) -> PeerAdmin:
        """A :class:`PeerAdmin` for ``peer`` acting as its organization's admin."""
        identity, signer, _ = load_msp_folder(org.msp_id, self.layout.user_msp(org.name, ORG_ADMIN_USER).path)
        return PeerAdmin(self.peer_endpoint(org, peer), identity, signer)

    def orderer_admin(self, name: str) -> OrdererAdmin:
        orderer_org = self.consortium.orderer_org
        orderer = next(o for o in orderer_org.orderers if o.name == name)
        tls = self.layout.user_tls(orderer_org.name, ORG_ADMIN_USER)
        return OrdererAdmin.from_files(
            f"{self.consortium.host}:{orderer.admin_port}",
            tls_root_cert=self.layout.ca_cert(orderer_org.name),
            client_cert=tls.cert,
            client_key=tls.key,
        )

    def connection_profile(self, org: str) -> dict[str, Any]:
        """The connection profile of peer organization ``org`` (name or MSP id), as ``up`` writes it.

        Raises:
            NetworkError: no such peer organization, or the network was never up in this run directory.
        """
        found = next((o for o in self.consortium.orgs if org in (o.name, o.msp_id)), None)
        if found is None:
            names = ", ".join(o.name for o in self.consortium.orgs)
            raise NetworkError(
                f"consortium {self.consortium.name} has no peer organization {org!r} (its organizations: "
                f"{names})"
            )
        return connection_profile(self.consortium, self.layout, found)

    def client_msp(self, org: Organization | str, user: str = "client") -> Path:
        """The MSP folder of an SDK client identity (``load_msp_folder`` reads it).

        Raises:
            NetworkError: the identity was never enrolled: the network is not up in this run directory.
        """
        name = org if isinstance(org, str) else org.name
        path = self.layout.user_msp(name, user).path
        return self._created(path / "signcerts", f"the client identity {user!r} of {name}").parent

    def _organization(self, org: str) -> Organization:
        found = next((o for o in self.consortium.orgs if org in (o.name, o.msp_id)), None)
        if found is None:
            names = ", ".join(o.name for o in self.consortium.orgs)
            raise NetworkError(
                f"consortium {self.consortium.name} has no peer organization {org!r} "
                f"(its organizations: {names})"
            )
        return found

    def require_started(self) -> None:
        """Check that ``network up`` ran in this run directory (it may be stopped since).

        Raises:
            NetworkNotUp: the run directory holds no network.
        """
        if not self.layout.state_file.exists():
            raise NetworkNotUp(
                f"the network {self.consortium.name!r} is not up: {self.run_dir} holds no network; "
                f"start it with `fabrx network up`{_SAME_FILES}"
            )

    def require_up(self, org: Organization | str | None = None, *, timeout: float = 2.0) -> None:
        """Check that the network runs before a command talks to it: started in this run directory, and
        the first peer of ``org`` (the first orderer when ``org`` is None or the orderer organization)
        accepting connections.

        Only a TCP connection is tried, so the check is quick and holds wherever the nodes run (processes
        of ``network up``, systemd units).

        Raises:
            NetworkNotUp: never started here, or the node does not answer (the network is down).
            NetworkError: no organization ``org`` in the consortium.
        """
        self.require_started()
        c = self.consortium
        if org is None or org in (c.orderer_org.name, c.orderer_org.msp_id):
            orderer = c.orderer_org.orderers[0]
            node, port = orderer_node(c.orderer_org.name, orderer.name), orderer.port
        else:
            found = org if isinstance(org, Organization) else self._organization(org)
            node, port = peer_node(found.name, found.peers[0].name), found.peers[0].port
        try:
            socket.create_connection((c.host, port), timeout=timeout).close()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise NetworkNotUp(
                f"the network {c.name!r} is down: {node} does not answer at {c.host}:{port} ({reason}); "
                f"start it with `fabrx network up`{_SAME_FILES}"
            ) from None

    def _created(self, path: Path, what: str) -> Path:
        """``path`` if ``network up`` has created it, else the error a caller can act on."""
        if not path.exists():
            raise NetworkError(
                f"the network {self.consortium.name!r} is not up in {self.run_dir}: {what} does not exist "
                f"yet ({path}); start it with `fabrx network up`{_SAME_FILES}"
            )
        return path

    def _nodes(self) -> list[tuple[str, str, str]]:
        """Every node of the consortium as (name, kind, organization), CAs first, chaincode servers last."""
        c = self.consortium
        nodes: list[tuple[str, str, str]] = [(f"ca.{c.orderer_org.name}", "ca", c.orderer_org.name)]
        nodes += [(f"ca.{o.name}", "ca", o.name) for o in c.orgs]
        nodes += [
            (orderer_node(c.orderer_org.name, o.name), "orderer", c.orderer_org.name)
            for o in c.orderer_org.orderers
        ]
        nodes += [(peer_node(o.name, p.name), "peer", o.name) for o in c.orgs for p in o.peers]
        nodes += [
            (chaincode_node(cc, org), "chaincode", org.name if org is not None else "")
            for cc in c.chaincodes
            for org in chaincode_servers(c, cc)
        ]
        return nodes

    def enroll_client(self, org: Organization | str, user: str, attributes: Mapping[str, str]) -> Path:
        """Enroll one more client of ``org`` at its running CA with these certificate attributes, while
        the network runs (e.g. a user of a hosted party); return its MSP folder.

        Raises :class:`NetworkError` if the organization is unknown or Fabric is not installed.
        """
        name = org if isinstance(org, str) else org.name
        install = find_fabric(self.consortium.fabric.version, self.consortium.fabric.ca_version)
        if install is None:
            raise NetworkError("Fabric is not installed: run `fabrx fabric install`")
        orgs = [self.consortium.orderer_org.name, *(o.name for o in self.consortium.orgs)]
        rendered = render_network(
            self.consortium, self.layout, install, {o: bootstrap_password(self.layout, o) for o in orgs}
        )
        ca = next((ca for ca in rendered.cas if ca.org == name), None)
        if ca is None:
            raise NetworkError(f"no organization {name!r} in the consortium")
        return enroll_client(self.layout, ca, name, user, attributes).path

    def node_spec(self, node: str) -> ProcessSpec:
        """How ``node`` is started: its argv, environment, log file and ports.

        Raises:
            NetworkError: no node of that name in the consortium (the message lists them), the run
                directory was never brought up, or Fabric is not installed.
        """
        names = [name for name, _, _ in self._nodes()]
        if node not in names:
            raise NetworkError(
                f"no node called {node!r} in consortium {self.consortium.name} (nodes: {', '.join(names)})"
            )
        self.require_started()
        install = find_fabric(self.consortium.fabric.version, self.consortium.fabric.ca_version)
        if install is None:
            raise NetworkError("Fabric is not installed: run `fabrx fabric install`")
        orgs = [self.consortium.orderer_org.name, *(o.name for o in self.consortium.orgs)]
        rendered = render_network(
            self.consortium, self.layout, install, {org: bootstrap_password(self.layout, org) for org in orgs}
        )
        for spec in rendered.processes:
            if spec.name == node:
                return spec
        for chaincode in self.consortium.chaincodes:
            for org in chaincode_servers(self.consortium, chaincode):
                if chaincode_node(chaincode, org) != node:
                    continue
                files = chaincode_files(self.layout, chaincode, org)
                try:
                    package = files.package.read_bytes()
                except FileNotFoundError:
                    raise NetworkError(
                        f"{node} has no package yet ({files.package}): deploy it with `fabrx network up`"
                    ) from None
                return chaincode_process(
                    self.consortium, self.layout, chaincode, package_id(package), self.base_dir, org
                )
        raise NetworkError(f"no node called {node!r} in consortium {self.consortium.name}")

    def systemd_units(
        self, org: str, *, user: str, group: str | None = None, path: str | None = None
    ) -> SystemdUnits:
        """systemd units that run the nodes of organization ``org`` (name or MSP id) from this run
        directory, as ``up`` starts them: its CA, its peers or orderers, its chaincode servers (a shared
        chaincode server belongs to the orderer organization). See :mod:`fabrx_network.units`.

        ``user`` and ``group`` are the account the nodes run as (the owner of the run directory);
        ``path`` the ``PATH`` they get (default: this process's).

        Raises:
            NetworkError: an unknown organization (the message lists them), an invalid user or group
                name, or the run directory was never brought up.
        """
        c = self.consortium
        owners = {c.orderer_org.name: c.orderer_org.msp_id, **{o.name: o.msp_id for o in c.orgs}}
        name = next((n for n, msp_id in owners.items() if org in (n, msp_id)), None)
        if name is None:
            raise NetworkError(
                f"no organization {org!r} in consortium {c.name} (organizations: {', '.join(owners)})"
            )
        nodes = [node for node, _, owner in self._nodes() if (owner or c.orderer_org.name) == name]
        return systemd_units(
            [self.node_spec(node) for node in nodes],
            prefix=f"fabrx-{c.name}-{name}",
            description=f"{name} ({owners[name]}) in consortium {c.name}",
            user=user,
            group=group,
            path=os.environ.get("PATH", os.defpath) if path is None else path,
        )

    def stop_node(self, node: str) -> bool:
        """Stop one node (its ledger stays). Returns False if it was not running.

        Raises:
            NetworkError: no node of that name in the consortium.
            ProcessError: the process could not be stopped.
        """
        self.node_spec(node)  # an unknown name is refused before anything is signalled
        return self.supervisor.stop(node)

    def start_node(self, node: str, *, timeout: float = 60) -> bool:
        """Start one node if it is down, and wait until it is healthy. Returns whether it was started.

        Raises:
            NetworkError: no node of that name in the consortium.
            ProcessError: a port it needs is taken (named with what holds it), or it exited while
                starting; nothing else is touched.
            HealthError: it was started but is not healthy after ``timeout`` seconds (it keeps running).
        """
        spec = self.node_spec(node)
        start = not self.supervisor.is_running(node)
        if start:
            check_ports([spec], self.consortium.host)
            self.supervisor.start(spec)
        ca_file = None if spec.kind == "chaincode" else self._tls_ca_for(node)
        self.supervisor.wait_healthy(spec, timeout=timeout, ca_file=ca_file)
        return start

    def restart(self, node: str, *, timeout: float = 60) -> RestartReport:
        """Restart one node (stop it if it runs, start it, wait until healthy); no other node is touched.

        A node killed outright (``kill -9``) is simply started. Its ledger and keys stay. For an orderer
        it also waits until every Raft channel has a leader again, for a peer until every peer's gossip
        view shows every peer again, so the next transaction finds the network as ``up`` leaves it.

        Raises:
            NetworkError: no node of that name in the consortium.
            ProcessError: it could not be stopped, a port it needs is taken (named with what holds it),
                or it exited while starting; it is then down.
            HealthError: it was started but is not healthy after ``timeout`` seconds.
            NetworkError: an orderer's channels have no Raft leader, or gossip has not converged, after
                ``timeout`` seconds.
        """
        kind = self.node_spec(node).kind
        was_running = self.supervisor.stop(node)
        self.start_node(node, timeout=timeout)
        if kind == "orderer":
            self._wait_raft_leaders(timeout)
        elif kind == "peer":
            self.wait_converged(timeout=timeout)
        record = self.supervisor.processes[node]
        return RestartReport(node=node, was_running=was_running, pid=record.pid)

    # --- down, status, logs -------------------------------------------------------------------------

    def down(self, *, purge: bool = False) -> list[str]:
        """Stop exactly the processes recorded for this run directory; with ``purge`` delete it too."""
        stopped = self.supervisor.stop_all() if self.layout.root.exists() else []
        if purge and self.layout.root.exists():
            shutil.rmtree(self.layout.root)
        elif self.layout.root.exists():
            self._write_state("down")
        return stopped

    def status(self) -> NetworkStatus:
        """Every node up or down with health, version and ledger heights; deployed chaincodes."""
        records = self.supervisor.processes if self.layout.root.exists() else {}
        nodes: list[NodeStatus] = []
        c = self.consortium
        expected = self._nodes()
        ports = self._operations_ports()

        def probe(item: tuple[str, str, str]) -> NodeStatus:
            name, kind, org = item
            record = records.get(name)
            running = record is not None and self.supervisor.is_running(name)  # asking creates nothing
            status = NodeStatus(
                name,
                kind,
                running,
                pid=record.pid if record and running else None,
                log=str(self.layout.log_file(name)),
            )
            if running and kind != "chaincode" and name in ports:
                status.healthy, status.version, status.problem = _operations_probe(
                    c.host, ports[name], self.layout.ca_cert(org)
                )
            if running:
                status.heights = self._heights(name, kind)
            else:
                status.reason = _last_log_line(self.layout.log_file(name))
            return status

        with ThreadPoolExecutor(max_workers=8) as pool:
            nodes = list(pool.map(probe, expected))
        addresses = self._addresses()
        highest: dict[str, int] = {}
        for node in nodes:
            node.address = addresses.get(node.name, "")
            if node.kind == "peer":
                for channel, height in node.heights.items():
                    highest[channel] = max(highest.get(channel, 0), height)
        for node in nodes:
            if node.kind == "peer":
                node.lag = {channel: highest[channel] - h for channel, h in node.heights.items()}
        return NetworkStatus(
            c.name,
            str(self.run_dir),
            nodes,
            self._committed_chaincodes(nodes),
            started=self.layout.state_file.exists(),
        )

    def _addresses(self) -> dict[str, str]:
        """host:port where each CA, orderer and peer serves its clients."""
        c = self.consortium
        ports = {f"ca.{c.orderer_org.name}": c.orderer_org.ca.port}
        ports.update({f"ca.{o.name}": o.ca.port for o in c.orgs})
        ports.update({orderer_node(c.orderer_org.name, o.name): o.port for o in c.orderer_org.orderers})
        ports.update({peer_node(o.name, p.name): p.port for o in c.orgs for p in o.peers})
        return {name: f"{c.host}:{port}" for name, port in ports.items()}

    def _operations_ports(self) -> dict[str, int]:
        c = self.consortium
        ports = {f"ca.{c.orderer_org.name}": c.orderer_org.ca.operations_port}
        ports.update({f"ca.{o.name}": o.ca.operations_port for o in c.orgs})
        ports.update(
            {orderer_node(c.orderer_org.name, o.name): o.operations_port for o in c.orderer_org.orderers}
        )
        ports.update({peer_node(o.name, p.name): p.operations_port for o in c.orgs for p in o.peers})
        return ports

    def _heights(self, name: str, kind: str) -> dict[str, int]:
        heights: dict[str, int] = {}
        c = self.consortium
        try:
            if kind == "peer":
                org, peer = next((o, p) for o in c.orgs for p in o.peers if peer_node(o.name, p.name) == name)
                with self.peer_admin(org, peer) as admin:
                    for channel in admin.channels():
                        heights[channel] = admin.chain_info(channel).height
            elif kind == "orderer":
                orderer = next(
                    o for o in c.orderer_org.orderers if orderer_node(c.orderer_org.name, o.name) == name
                )
                orderer_admin = self.orderer_admin(orderer.name)
                for channel in orderer_admin.channels():
                    heights[channel] = orderer_admin.info(channel).height
        except FabrxError:
            pass  # reported through health; heights stay empty
        return heights

    def _committed_chaincodes(self, nodes: list[NodeStatus]) -> dict[str, list[dict[str, Any]]]:
        from fabrx.admin import query_committed

        result: dict[str, list[dict[str, Any]]] = {}
        running = {n.name for n in nodes if n.running}
        for channel in self.consortium.channels:
            for org in self.consortium.channel_orgs(channel):
                peer = next((p for p in org.peers if peer_node(org.name, p.name) in running), None)
                if peer is None:
                    continue
                try:
                    with self.peer_admin(org, peer) as admin:
                        committed = query_committed(admin, channel.name)
                except FabrxError:
                    continue
                result[channel.name] = [
                    {"name": d.name, "version": d.version, "sequence": d.sequence} for d in committed
                ]
                break
        return result

    def logs(
        self, node: str | None, *, lines: int = 40, since: datetime | None = None, colour: bool = True
    ) -> dict[str, str]:
        """The last ``lines`` of a node's log, or every node's log path when ``node`` is None.

        ``since`` keeps only lines logged at or after it (by each line's own timestamp; a line without one,
        such as a stack trace, goes with the line before it); ``colour=False`` strips ANSI colour codes.

        Raises:
            NetworkError: no log for ``node``.
        """
        if node is None:
            return {p.stem: str(p) for p in sorted(self.layout.logs_dir.glob("*.log"))}
        path = self.log_path(node)
        with path.open("rb") as handle:
            text = handle.read().decode("utf-8", "replace")
        kept = (
            _lines_since(text.splitlines(keepends=True), since) if since else text.splitlines(keepends=True)
        )
        tail = "".join(kept[-lines:]) if lines > 0 else ""
        return {node: tail if colour else strip_ansi(tail)}

    def follow_log(
        self, node: str, *, stop: threading.Event | None = None, poll: float = 0.2
    ) -> Iterator[str]:
        """Yield each complete line ``node`` appends to its log from now on, until ``stop`` is set.

        A log that is truncated or replaced (a node started over) is followed from its new beginning.

        Raises:
            NetworkError: no log for ``node``.
        """
        path = self.log_path(node)
        handle = path.open("rb")
        handle.seek(0, os.SEEK_END)  # now, not at the first next(): lines written meanwhile are followed
        return _follow(path, handle, stop or threading.Event(), poll)

    def log_path(self, node: str) -> Path:
        """The log file of ``node``.

        Raises:
            NetworkError: no log for ``node`` (the names of the nodes that have one are listed).
        """
        path = self.layout.log_file(node)
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in self.layout.logs_dir.glob("*.log"))) or "none yet"
            raise NetworkError(f"no log for node {node!r} (known: {known})")
        return path

    def _write_state(self, phase: str) -> None:
        # The run directory holds keys, CA databases and ledgers: its owner's alone (also when an older
        # fabrx created it with mode 0755).
        self.layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.layout.root.chmod(0o700)
        tmp = self.layout.state_file.with_suffix(".tmp")
        state = {
            "consortium": self.consortium.name,
            "consensus": self.consortium.orderer_org.consensus,
            "phase": phase,
            "time": time.time(),
        }
        tmp.write_text(json.dumps(state))
        tmp.replace(self.layout.state_file)


def wait_raft_leaders(
    consortium: Consortium, layout: RunLayout, channels: list[str], timeout: float = 60.0
) -> None:
    """Wait until each of ``channels`` has a Raft leader among the orderer organization's orderers.

    Read from each orderer's ``/metrics`` (``consensus_etcdraft_is_leader``) with the orderer
    organization admin's TLS certificate from ``layout``. BFT channels are not waited for.

    Raises:
        NetworkError: a channel still has no leader after ``timeout`` seconds.
    """
    if consortium.orderer_org.consensus_type != "etcdraft":
        return
    org = consortium.orderer_org
    tls = layout.user_tls(org.name, ORG_ADMIN_USER)
    context = ssl.create_default_context(cafile=str(layout.ca_cert(org.name)))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    waiting = set(channels)
    deadline = time.monotonic() + timeout
    while waiting:
        for orderer in org.orderers:
            url = f"https://{consortium.host}:{orderer.operations_port}/metrics"
            try:
                with urllib.request.urlopen(url, context=context, timeout=3) as response:
                    text = response.read().decode()
            except OSError:
                continue
            waiting -= {c for c in waiting if f'consensus_etcdraft_is_leader{{channel="{c}"}} 1' in text}
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise NetworkError(
                f"no Raft leader for channel(s) {', '.join(sorted(waiting))} after {timeout:g} s; "
                f"see the orderer logs ({layout.logs_dir})"
            )
        time.sleep(0.2)


def _write_fabric2_core_yaml(sample: Path, target: Path) -> None:
    """Fabric 2.5's sample core.yaml with ``vm.endpoint`` emptied: no Docker, external builders only."""
    text = sample.read_text(encoding="utf-8")
    patched, count = re.subn(r"(?m)^(    endpoint:) unix:///var/run/docker.sock$", r'\1 ""', text)
    if count != 1:
        raise NetworkError(f"cannot find vm.endpoint in {sample}: is it Fabric 2.5's sample core.yaml?")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(patched, encoding="utf-8")


def _retry(action: Callable[[], object], *, what: str, attempts: int = 20, delay: float = 0.25) -> None:
    """Run ``action`` until it raises no :class:`FabrxError`, ``attempts`` times at most, ``delay`` apart;
    each retry logged at INFO on ``fabrx.network``; the last error raised as it is."""

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        _log.info(
            "%s: attempt %d of %d failed (%s); trying again", what, state.attempt_number, attempts, error
        )

    Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_fixed(delay),
        retry=retry_if_exception_type(FabrxError),
        before_sleep=log,
        reraise=True,
    )(action)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Fabric's Go nodes: "2026-12-04 19:10:22.123 UTC"; fabric-ca-server: "2026/12/04 19:10:22".
_LOG_TIME = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?( UTC)?")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI colour and cursor codes (Fabric colours its log levels)."""
    return _ANSI.sub("", text)


def log_line_time(line: str) -> datetime | None:
    """The timestamp a Fabric node or CA wrote at the start of a log line, ``None`` if there is none.

    Fabric writes UTC when it says so; a timestamp without a zone is taken as local time.
    """
    match = _LOG_TIME.match(strip_ansi(line))
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    moment = datetime(year, month, day, hour, minute, second, micro)
    if match.group(8):
        return moment.replace(tzinfo=UTC)
    return moment.astimezone()


def _lines_since(lines: list[str], since: datetime) -> list[str]:
    kept: list[str] = []
    keep = False
    for line in lines:
        moment = log_line_time(line)
        if moment is not None:
            keep = moment >= since
        if keep:
            kept.append(line)
    return kept


def _follow(path: Path, handle: BinaryIO, stop: threading.Event, poll: float) -> Iterator[str]:
    with handle:
        pending = b""
        while not stop.is_set():
            chunk = handle.read()
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", "replace")
                continue
            if path.stat().st_size < handle.tell():
                handle.seek(0)
                pending = b""
            stop.wait(poll)


def _last_log_line(path: Path) -> str:
    """The last non-empty line of a log, colour stripped ("" when there is none)."""
    lines = last_log_lines(path, 1)
    return lines[-1] if lines else ""


def last_log_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` non-empty lines of a log (from its last 8 KiB), colour stripped; none when the
    log is missing or empty."""
    try:
        with path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, end - 8192))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    lines = [line.strip() for line in strip_ansi(tail).splitlines() if line.strip()]
    return lines[-count:]


def _operations_probe(host: str, port: int, ca_file: Path) -> tuple[bool, str | None, str]:
    context = ssl.create_default_context(cafile=str(ca_file))
    base = f"https://{host}:{port}"
    try:
        with urllib.request.urlopen(f"{base}/healthz", context=context, timeout=3) as response:
            healthy = response.status == 200
    except Exception as exc:  # any failure to answer means unhealthy; the reason is shown
        return False, None, f"health check failed: {exc}"
    version = None
    try:
        with urllib.request.urlopen(f"{base}/version", context=context, timeout=3) as response:
            version = json.loads(response.read()).get("Version")
    except Exception:
        version = None  # CAs have no /version endpoint
    return healthy, version, ""
