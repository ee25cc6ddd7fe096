"""The consortium definition: one typed model, loaded from YAML, validated and resolved in one pass.

``load_consortium`` runs a fixed pipeline:

1. **parse** (``_config_parse``): YAML into the frozen dataclasses below. Types, required fields,
   unknown keys (with a "did you mean"), name syntax, port ranges, durations (``50ms``), sizes
   (``10 MB``), signature policy syntax and version pins are checked field by field.
2. **check** (``_config_rules.check``): rules that span fields: unique names and MSP IDs, one port
   per node across the whole network, references from channels, chaincodes, collections and policies
   to organizations that exist, the consensus variant and its node count.
3. **resolve** (``_config_rules.resolve``, the one place for derived defaults): ports not given are
   allocated from ``port_base``, MSP IDs derived from names, channel member lists filled in,
   ``fabrx.role`` added to client attributes.

Static defaults live on the dataclass fields themselves, so the model is the only schema: the YAML
keys accepted for a section are exactly the fields of its class. Every problem of steps 1 and 2 is
collected before anything is raised; :class:`ConfigError` lists them all with their paths, e.g.
``orgs[3].peers[0].port: 7051 already used by orgs[1].peers[0]``. Warnings (such as an even number
of Raft orderers) never stop loading; they are kept on :attr:`Consortium.warnings`.

A loaded :class:`Consortium` is fully explicit: no port is :data:`AUTO_PORT` and no MSP ID is empty.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ._signature_policy import signature_policy_principals
from .errors import NetworkError

__all__ = [
    "AUTO_PORT",
    "DEFAULT_ENDORSEMENT",
    "ORG_ADMIN_USER",
    "ROLE_ATTRIBUTE",
    "BlockCutting",
    "ByteSize",
    "CertificateAuthority",
    "Chaincode",
    "ChaincodeRuntime",
    "ChaincodeServer",
    "Channel",
    "Client",
    "Collection",
    "ConfigError",
    "ConsensusType",
    "ConsensusVariant",
    "Consortium",
    "Duration",
    "EndorsementPolicy",
    "FabricVersions",
    "Gossip",
    "Orderer",
    "OrdererOrganization",
    "Organization",
    "Peer",
    "Problem",
    "Role",
    "Severity",
    "load_consortium",
    "signature_policy_principals",
]

AUTO_PORT = 0
"""A port left for resolution to allocate from ``port_base``; never present in a loaded consortium."""

MIN_PORT, MAX_PORT = 1024, 65535
CONSENSUS_TYPES = ("etcdraft", "BFT")
ORG_ADMIN_USER = "admin"
"""The user name reserved for each organization's admin identity (``orgs/<org>/users/admin``)."""

ROLE_ATTRIBUTE = "fabrx.role"
"""The certificate attribute every client identity carries, set from its organization's role."""

Role = str
"""An application role label (letters, digits, '-' and '_'): every client certificate of the organization
carries it as ``fabrx.role``, for chaincode access control (the pharma chaincode uses regulator,
manufacturer, distributor, hospital and host)."""
ConsensusType = Literal["etcdraft", "BFT"]
Severity = Literal["error", "warning"]


# --------------------------------------------------------------------------------------------------
# Problems and the error that carries them


@dataclass(frozen=True)
class Problem:
    """One finding about a consortium file: where (a path like ``orgs[1].peers[0].port``) and what."""

    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        suffix = " (warning)" if self.severity == "warning" else ""
        return f"{self.path}: {self.message}{suffix}" if self.path else f"{self.message}{suffix}"


class ConfigError(NetworkError):
    """The consortium file cannot be used. ``problems`` holds every problem found, errors and warnings.

    The message names the source and lists the problems one per line, errors first.
    """

    def __init__(self, source: str, problems: Iterable[Problem], *, what: str = "consortium") -> None:
        ordered = sorted(problems, key=lambda p: p.severity != "error")
        self.source = source
        self.problems: list[Problem] = ordered
        errors = sum(1 for p in ordered if p.severity == "error")
        header = f"{source}: {errors} error{'s' if errors != 1 else ''} in the {what} definition"
        super().__init__("\n".join([header, *(f"  {p}" for p in ordered)]))


# --------------------------------------------------------------------------------------------------
# Value types


_DURATION_PART = re.compile(r"(\d+)(ms|h|m|s)")
_DURATION_UNITS_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


@dataclass(frozen=True, order=True)
class Duration:
    """A time span with millisecond resolution, written the Go way: ``50ms``, ``2s``, ``1m30s``."""

    milliseconds: int

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``50ms``, ``2s``, ``1m30s``, ``1h``. Raises ``ValueError`` naming the expected form."""
        compact = text.strip()
        if not compact or _DURATION_PART.sub("", compact):
            raise ValueError(f"{text!r} is not a duration; write a number with a unit, e.g. 50ms, 2s, 1m30s")
        return cls(sum(int(n) * _DURATION_UNITS_MS[unit] for n, unit in _DURATION_PART.findall(compact)))

    @property
    def seconds(self) -> float:
        return self.milliseconds / 1000

    def __str__(self) -> str:
        # Whole seconds print as "2s", anything else as milliseconds; Go's time.ParseDuration reads both.
        if self.milliseconds and self.milliseconds % 1000 == 0:
            return f"{self.milliseconds // 1000}s"
        return f"{self.milliseconds}ms"


_SIZE = re.compile(r"^(\d+)\s*([KMG]?B)?$", re.IGNORECASE)
_SIZE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


@dataclass(frozen=True, order=True)
class ByteSize:
    """A byte count written like Fabric's configtx.yaml: ``10 MB``, ``512 KB`` (powers of 1024) or bytes."""

    num_bytes: int

    @classmethod
    def parse(cls, text: str | int) -> ByteSize:
        """Parse ``10 MB``, ``512 KB``, ``1GB`` or a plain byte count. Raises ``ValueError``."""
        if isinstance(text, int):
            return cls(text)
        match = _SIZE.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a size; write e.g. 10 MB, 512 KB or a number of bytes")
        return cls(int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "B").upper()])

    def __str__(self) -> str:
        # The largest unit that divides exactly; plain bytes print as a bare number, which is what
        # configtxgen accepts (it knows no "B" suffix).
        for unit in ("GB", "MB", "KB"):
            if self.num_bytes and self.num_bytes % _SIZE_UNITS[unit] == 0:
                return f"{self.num_bytes // _SIZE_UNITS[unit]} {unit}"
        return str(self.num_bytes)


# --------------------------------------------------------------------------------------------------
# The model. Field defaults are the static defaults; fields marked _DERIVED are not read from YAML.

_DERIVED = {"yaml": False}


@dataclass(frozen=True)
class FabricVersions:
    """The Fabric and Fabric CA releases this consortium runs; the installer pins them."""

    version: str = "3.1.5"
    ca_version: str = "1.5.21"


@dataclass(frozen=True)
class CertificateAuthority:
    """The organization's Fabric CA server: its API port and its operations (health, metrics) port."""

    port: int = AUTO_PORT
    operations_port: int = AUTO_PORT


@dataclass(frozen=True)
class Orderer:
    """One ordering node. An orderer keeps its name, directories and ports in every consensus variant."""

    name: str
    port: int = AUTO_PORT
    admin_port: int = AUTO_PORT
    operations_port: int = AUTO_PORT


@dataclass(frozen=True)
class ConsensusVariant:
    """One ordering service layout: the consensus type and its nodes."""

    type: ConsensusType
    orderers: tuple[Orderer, ...]


@dataclass(frozen=True)
class OrdererOrganization:
    """The organization that runs the ordering service; ``consensus`` names the variant in use."""

    name: str
    consensus: str
    variants: dict[str, ConsensusVariant]
    msp_id: str = ""
    ca: CertificateAuthority = CertificateAuthority()

    @property
    def variant(self) -> ConsensusVariant:
        """The consensus variant in use."""
        return self.variants[self.consensus]

    @property
    def consensus_type(self) -> ConsensusType:
        return self.variant.type

    @property
    def orderers(self) -> tuple[Orderer, ...]:
        """The orderers of the variant in use, the nodes that actually run."""
        return self.variant.orderers


@dataclass(frozen=True)
class Peer:
    """A peer: its gRPC port, the port chaincode servers call back on, and its operations port."""

    name: str
    port: int = AUTO_PORT
    chaincode_port: int = AUTO_PORT
    operations_port: int = AUTO_PORT


@dataclass(frozen=True)
class Client:
    """An application identity enrolled for the SDK. ``attrs`` become certificate attributes.

    After loading, ``attrs`` always contains ``fabrx.role`` set to the organization's role.
    """

    name: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Organization:
    """A peer organization of the consortium, with its CA, peers and client identities."""

    name: str
    role: Role
    peers: tuple[Peer, ...]
    msp_id: str = ""
    ca: CertificateAuthority = CertificateAuthority()
    clients: tuple[Client, ...] = (Client(name="client"),)


@dataclass(frozen=True)
class BlockCutting:
    """When the orderer cuts a block: after ``batch_timeout`` or ``max_message_count`` transactions.

    The default 20 ms was measured best for an interactive system (docs/benchmarks.md, "Block
    cutting"): lowest latency and highest throughput of 20/50/100/250 ms; Fabric's sample 2 s makes
    every submit wait ~2 s.
    """

    batch_timeout: Duration = Duration(20)
    max_message_count: int = 100
    absolute_max_bytes: ByteSize = ByteSize(10 << 20)
    preferred_max_bytes: ByteSize = ByteSize(2 << 20)


@dataclass(frozen=True)
class Channel:
    """A channel and its member organizations (by name; all organizations unless listed)."""

    name: str
    orgs: tuple[str, ...] = ()
    block_cutting: BlockCutting = BlockCutting()


@dataclass(frozen=True)
class EndorsementPolicy:
    """Exactly one of a signature policy (``OutOf(2, 'AMSP.peer', ...)``) or a channel config policy path.

    In YAML a plain string is a signature policy; ``{channel_config_policy: /Channel/Application/X}``
    refers to a policy of the channel configuration.
    """

    signature_policy: str = ""
    channel_config_policy: str = ""


DEFAULT_ENDORSEMENT = EndorsementPolicy(channel_config_policy="/Channel/Application/Endorsement")


@dataclass(frozen=True)
class Collection:
    """A private data collection; members are the organizations named in ``policy``."""

    name: str
    policy: str
    required_peer_count: int = 0
    max_peer_count: int = 3
    block_to_live: int = 0
    member_only_read: bool = True
    member_only_write: bool = True
    endorsement_policy: EndorsementPolicy | None = None


@dataclass(frozen=True)
class ChaincodeRuntime:
    """How the chaincode server is run: exactly one of a Python entry point or a Node project folder."""

    python: str = ""
    node: str = ""

    @property
    def kind(self) -> Literal["python", "node"]:
        return "python" if self.python else "node"


@dataclass(frozen=True)
class ChaincodeServer:
    """Where a chaincode runs as a service (CCaaS) for the peers.

    By default each organization of the chaincode's channel that has peers runs its own server for its
    own peers, with TLS identities from its own CA: ``ports`` maps the organization's name to its
    server's port (every one filled in once loaded). ``shared: true`` runs one server for the peers of
    every organization instead, on ``port``, with TLS identities from the orderer organization's CA: a
    convenience for development chaincodes that no member has to own.
    """

    shared: bool = False
    port: int = AUTO_PORT
    ports: Mapping[str, int] = field(default_factory=dict)

    def port_of(self, org: str) -> int:
        """The port of ``org``'s server (the shared server's port when ``shared``).

        Raises ``KeyError`` if ``org`` runs no server of this chaincode.
        """
        return self.port if self.shared else self.ports[org]


@dataclass(frozen=True)
class Chaincode:
    """A chaincode definition on one channel, run as a service.

    Private data collections are data: ``collections`` lists the explicit ones the chaincode uses
    (Fabric's implicit per-organization collections need no definition).
    """

    name: str
    channel: str
    runtime: ChaincodeRuntime
    version: str = "1.0"
    sequence: int = 1
    server: ChaincodeServer = ChaincodeServer()
    endorsement_policy: EndorsementPolicy = DEFAULT_ENDORSEMENT
    collections: tuple[Collection, ...] = ()

    @property
    def label(self) -> str:
        """The package label, ``<name>_<version>``."""
        return f"{self.name}_{self.version}"


@dataclass(frozen=True)
class Gossip:
    """The peers' gossip timers.

    The defaults suit a one-machine consortium: other organizations' peers and chaincodes are known to
    discovery about a second after start (Fabric's defaults take about 25 s). Every state-info and pull
    message a peer receives is checked against the channel's policies, whose cost grows with the number
    of member organizations, so a province's deployment uses Fabric's own timers (alive 5s, expiration
    25s, state info 4s, pull 4s): with 50 members they keep the cost of an invoice flat
    (docs/benchmarks.md, "Scale").
    """

    alive_interval: Duration = Duration(1000)
    alive_expiration: Duration = Duration(10_000)
    state_info_interval: Duration = Duration(1000)
    pull_interval: Duration = Duration(1000)


@dataclass(frozen=True)
class Consortium:
    """The whole network: one orderer organization, peer organizations, channels and chaincodes."""

    name: str
    orderer_org: OrdererOrganization
    orgs: tuple[Organization, ...]
    channels: tuple[Channel, ...]
    fabric: FabricVersions = FabricVersions()
    host: str = "127.0.0.1"
    port_base: int = 7050
    chaincode_execute_timeout: Duration = Duration(30_000)
    gossip: Gossip = Gossip()
    chaincodes: tuple[Chaincode, ...] = ()
    warnings: tuple[Problem, ...] = field(default=(), metadata=_DERIVED, compare=False)

    def org(self, name: str) -> Organization:
        """The peer organization called ``name``. Raises ``KeyError`` if there is none."""
        for org in self.orgs:
            if org.name == name:
                return org
        raise KeyError(name)

    def channel(self, name: str) -> Channel:
        """The channel called ``name``. Raises ``KeyError`` if there is none."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def channel_orgs(self, channel: Channel) -> tuple[Organization, ...]:
        """The member organizations of ``channel``, in channel order."""
        return tuple(self.org(name) for name in channel.orgs)

    def chaincode_server_orgs(self, chaincode: Chaincode) -> tuple[Organization, ...]:
        """The organizations that run a server of ``chaincode`` for their own peers: the members of its
        channel that have peers, in channel order; none when the chaincode's server is shared."""
        if chaincode.server.shared:
            return ()
        return tuple(o for o in self.channel_orgs(self.channel(chaincode.channel)) if o.peers)


# --------------------------------------------------------------------------------------------------
# Loading


def load_consortium(path_or_text: Path | str, *, consensus: str | None = None) -> Consortium:
    """Load, validate and resolve a consortium definition.

    A :class:`~pathlib.Path` is read as a file; a ``str`` is the YAML text itself. ``consensus``
    overrides ``orderer_org.consensus`` (the variant must exist in the file).

    Raises :class:`ConfigError` listing every problem when the file cannot be read or parsed or has
    any error. Warnings are returned on :attr:`Consortium.warnings`.
    """
    # The pipeline steps build the model defined above, so they are imported here, not at the top.
    from ._config_parse import Problems, parse_document
    from ._config_rules import check, resolve

    if isinstance(path_or_text, Path):
        source = str(path_or_text)
        try:
            text = path_or_text.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(source, [Problem("", f"cannot read the file: {exc.strerror or exc}")]) from exc
        except UnicodeDecodeError as exc:
            message = f"is not UTF-8 text (byte {exc.start}): a consortium file is YAML"
            raise ConfigError(source, [Problem("", message)]) from exc
    else:
        source, text = "<consortium text>", path_or_text

    problems = Problems()
    parsed = parse_document(text, problems)
    if parsed is None:
        raise ConfigError(source, problems.items)
    if consensus is not None:
        parsed = dataclasses.replace(
            parsed, orderer_org=dataclasses.replace(parsed.orderer_org, consensus=consensus)
        )
    check(problems, parsed)
    if problems.has_errors:
        raise ConfigError(source, problems.items)
    resolved = resolve(problems, parsed)
    if problems.has_errors:
        raise ConfigError(source, problems.items)
    return dataclasses.replace(resolved, warnings=tuple(problems.items))
