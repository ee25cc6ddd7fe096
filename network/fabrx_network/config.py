"""The consortium definition: one typed model, loaded from YAML, validated and resolved in one pass.

``load_consortium`` runs a fixed pipeline:

1. **parse** (``_config_parse``): YAML into the frozen pydantic models below, which check every field
   on its own: types (never coerced: ``"7051"`` is not a port), required fields, unknown keys, name
   syntax, port ranges, durations (``50ms``), sizes (``10 MB``), signature policy syntax and version
   pins. Pydantic's errors are translated there, at that one boundary, into :class:`Problem` s with
   fabrx's wording ("did you mean", the value that was found); pydantic's never reach the user.
2. **check** (``_config_rules.check``): rules that span fields: unique names and MSP IDs, one port
   per node across the whole network, references from channels, chaincodes, collections and policies
   to organizations that exist, the consensus variant and its node count, and the warnings.
3. **resolve** (``_config_rules.resolve``, the one place for derived defaults): ports not given are
   allocated from ``port_base``, MSP IDs derived from names, channel members lists filled in,
   ``fabrx.role`` added to client attributes.

Static defaults live on the model fields themselves, so the models are the only schema: the YAML
keys accepted for a section are exactly the fields of its class. Every problem of steps 1 and 2 is
collected before anything is raised; :class:`ConfigError` lists them all with their paths, e.g.
``orgs[3].peers[0].port: 7051 already used by orgs[1].peers[0]``. Warnings (such as an even number
of Raft orderers) never stop loading; they are kept on :attr:`Consortium.warnings`.

A loaded :class:`Consortium` is fully explicit: no port is :data:`AUTO_PORT` and no MSP ID is empty.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    Strict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, PydanticKnownError

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


def describe(value: object) -> str:
    """How a YAML value reads in a problem message: its kind and, for scalars, the value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def not_a_string(value: object) -> str:
    """The problem of a value that should have been a string; a number is to be quoted."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'expected a string, got {describe(value)}; quote it: "{value}"'
    return f"expected a string, got {describe(value)}"


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


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
# Field types: each checks one value and words its own problem. Problems are raised as
# PydanticCustomError("fabrx", message): _config_parse passes their message through as written.

# Names become host names, directory names and Fabric identifiers, so each follows the strictest of those.
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LABEL_HINT = "letters, digits and '-' (not first or last), at most 63 characters"
_MSP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ROLE_HINT = "a role label: letters, digits, '_' and '-', at most 64 characters"
_CHANNEL = re.compile(r"^[a-z][a-z0-9.-]{0,248}$")  # Fabric's channel name rule
_CHANNEL_HINT = "lower-case letters, digits, '.' and '-', starting with a letter"
_CHAINCODE = re.compile(r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$")  # Fabric's chaincode name rule
# A leading '_' is reserved for Fabric's implicit collections.
_COLLECTION = re.compile(r"^[A-Za-z0-9-][A-Za-z0-9_-]*$")
_COLLECTION_HINT = "letters, digits, '_' and '-', not starting with '_'"
_CC_VERSION = re.compile(r"^[A-Za-z0-9_.+-]+$")
_VARIANT = re.compile(r"^[A-Za-z0-9_-]+$")
_ATTRIBUTE = re.compile(r"^[A-Za-z0-9._-]+$")
_PYTHON_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_CHANNEL_POLICY_PREFIX = "/Channel/Application/"

LENIENT = {"lenient": True}
"""The validation context of the second, lenient pass of loading (``_config_parse``): a file with
problems is read again into a model with placeholders, so that the rules across fields still run and
report their problems in the same answer. In that pass a value that fails its check is kept (or replaced
by a placeholder) and an optional field of the wrong type takes its default."""

T = TypeVar("T")


def _lenient(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("lenient"))


def _refuse(info: ValidationInfo, message: str, placeholder: T) -> T:
    """Refuse a value with ``message``; in the lenient pass, go on with ``placeholder`` instead."""
    if _lenient(info):
        return placeholder
    raise PydanticCustomError("fabrx", message)


def _matching(pattern: re.Pattern[str], hint: str) -> AfterValidator:
    # A name that breaks the rule is kept in the lenient pass: references to it still resolve, so they
    # add no follow-on problems.
    def check(value: str, info: ValidationInfo) -> str:
        if pattern.match(value):
            return value
        return _refuse(info, f"{value!r} is not a valid name: use {hint}", value)

    return AfterValidator(check)


def _at_least(minimum: int, maximum: int | None = None) -> AfterValidator:
    bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"

    def check(value: int, info: ValidationInfo) -> int:
        if value < minimum or (maximum is not None and value > maximum):
            return _refuse(info, f"{value} is out of range: must be {bounds}", 0)
        return value

    return AfterValidator(check)


def _listed(message: str) -> AfterValidator:
    def check(value: Any, info: ValidationInfo) -> Any:
        return value if value else _refuse(info, message, value)

    return AfterValidator(check)


def _duration(value: object, info: ValidationInfo) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        return _refuse(info, f"expected a duration such as 50ms or 2s, got {describe(value)}", Duration(0))
    try:
        parsed = Duration.parse(value)
    except ValueError as exc:
        return _refuse(info, str(exc), Duration(0))
    return parsed if parsed.milliseconds > 0 else _refuse(info, "must be longer than 0ms", parsed)


def _size(value: object, info: ValidationInfo) -> ByteSize:
    if isinstance(value, ByteSize):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        return _refuse(info, f"expected a size such as 10 MB, got {describe(value)}", ByteSize(0))
    try:
        parsed = ByteSize.parse(value)
    except ValueError as exc:
        return _refuse(info, str(exc), ByteSize(0))
    if not 0 < parsed.num_bytes <= 0xFFFFFFFF:
        return _refuse(info, f"{value} is out of range: must be more than 0 and below 4 GB", parsed)
    return parsed


_NO_TYPE = cast(ConsensusType, "")  # the lenient pass's placeholder: a variant of no known type


def _consensus_type(value: object, info: ValidationInfo) -> ConsensusType:
    if value in CONSENSUS_TYPES:
        return value  # type: ignore[return-value]
    if not isinstance(value, str):
        return _refuse(info, not_a_string(value), _NO_TYPE)
    choices = ", ".join(CONSENSUS_TYPES)
    return _refuse(info, f"{value!r} is not one of {choices}{suggest(value, CONSENSUS_TYPES)}", _NO_TYPE)


def _release(value: str, info: ValidationInfo) -> str:
    if value and not _VERSION.match(value):
        return _refuse(info, f"{value!r} is not a release number like 3.1.5: pin an exact release", value)
    return value


def _fabric_release(value: str, info: ValidationInfo) -> str:
    release = _VERSION.match(value)
    if release and release[1] != "3" and (release[1], release[2]) != ("2", "5"):
        message = (
            f"Fabric {value} is not supported: fabrx runs Fabric 3.x, and 2.5 LTS for compatibility; "
            "use 3.1.5"
        )
        return _refuse(info, message, value)
    return value


def _host(value: str, info: ValidationInfo) -> str:
    if not value:
        # Written but empty: a node given no host would listen on every interface.
        return _refuse(info, "must be an IP address (every node listens on it), e.g. 127.0.0.1", value)
    if value != "localhost":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            message = f"{value!r} is not an IP address; every node listens on loopback, e.g. 127.0.0.1"
            return _refuse(info, message, "")
    return value


def _attribute_name(value: object, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not _ATTRIBUTE.match(value):
        message = f"{value!r} is not a valid attribute name: use letters, digits, '.', '_' and '-'"
        return _refuse(info, message, str(value))
    if value == ROLE_ATTRIBUTE:
        return _refuse(info, f"{ROLE_ATTRIBUTE} is set from the organization's role; remove it here", value)
    if value.startswith("hf."):
        return _refuse(info, "attributes starting with 'hf.' are reserved by Fabric CA", value)
    return value


def _attribute_value(value: object, info: ValidationInfo) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _refuse(info, f"expected a string value, got {describe(value)}", "")
    return str(value)


def _variant_name(value: object, info: ValidationInfo) -> str:
    if isinstance(value, str) and _VARIANT.match(value):
        return value
    message = f"{value!r} is not a valid variant name: use letters, digits, '_' and '-'"
    return _refuse(info, message, str(value))


def _signature_policy(value: str, info: ValidationInfo) -> str:
    if value:
        try:
            signature_policy_principals(value)
        except ValueError as exc:
            return _refuse(info, str(exc), value)
    return value


def _not_null(value: object) -> object:
    # An optional section written as null is refused as a section of the wrong kind, not read as absent.
    if value is None:
        raise PydanticKnownError("model_type", {"class_name": "a section"})
    return value


def _entry_point(value: str, info: ValidationInfo) -> str:
    if value and not _PYTHON_ENTRY.match(value):
        return _refuse(info, f"{value!r} is not an entry point like package.module:ContractClass", value)
    return value


# A field's description is what "required: ..." asks for when it is missing.
Text = Annotated[str, Strict()]
Label = Annotated[str, Strict(), _matching(_LABEL, _LABEL_HINT), Field(description=_LABEL_HINT)]
MspId = Annotated[str, Strict(), _matching(_MSP_ID, "letters, digits, '.' and '-'")]
Port = Annotated[int, Strict(), _at_least(MIN_PORT, MAX_PORT)]
Count = Annotated[int, Strict(), _at_least(0)]
Positive = Annotated[int, Strict(), _at_least(1)]
Flag = Annotated[bool, Strict()]
Interval = Annotated[Duration, PlainValidator(_duration)]
Size = Annotated[ByteSize, PlainValidator(_size)]
Release = Annotated[str, Strict(), AfterValidator(_release)]
SignaturePolicy = Annotated[str, Strict(), AfterValidator(_signature_policy)]
AT_LEAST_ONE = "must list at least one entry"


class _Section(BaseModel):
    """A section of the consortium file: frozen, typed, unknown keys refused, scalars never coerced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _lenient_keys(cls, data: Any, info: ValidationInfo) -> Any:
        """In the lenient pass, unknown keys are left out and missing required ones get placeholders."""
        if not _lenient(info) or not isinstance(data, dict):
            return data
        fields = cls.model_fields
        missing = {
            name: _placeholder(f) for name, f in fields.items() if f.is_required() and name not in data
        }
        return {**missing, **{key: value for key, value in data.items() if key in fields}}

    @field_validator("*", mode="wrap")
    @classmethod
    def _lenient_fields(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        """In the lenient pass, an unusable field takes its default, or a placeholder if it has none."""
        try:
            return handler(value)
        except ValidationError:
            field = cls.model_fields[info.field_name or ""]
            if not _lenient(info):
                raise
            if field.is_required():
                return handler(_placeholder(field))
            return field.get_default(call_default_factory=True)


def _placeholder(field: FieldInfo) -> Any:
    """What the lenient pass reads in place of a required field that is missing or unusable: an empty
    value of its kind (an empty name, list or section), whose own problems that pass does not report."""
    kind = get_origin(field.annotation) or field.annotation
    if kind is tuple:
        return []
    return {} if kind is dict or (isinstance(kind, type) and issubclass(kind, BaseModel)) else ""


# --------------------------------------------------------------------------------------------------
# The model. Field defaults are the static defaults.


class FabricVersions(_Section):
    """The Fabric and Fabric CA releases this consortium runs; the installer pins them."""

    version: Annotated[Release, AfterValidator(_fabric_release)] = "3.1.5"
    ca_version: Release = "1.5.21"


class CertificateAuthority(_Section):
    """The organization's Fabric CA server: its API port and its operations (health, metrics) port."""

    port: Port = AUTO_PORT
    operations_port: Port = AUTO_PORT


class Orderer(_Section):
    """One ordering node. An orderer keeps its name, directories and ports in every consensus variant."""

    name: Label
    port: Port = AUTO_PORT
    admin_port: Port = AUTO_PORT
    operations_port: Port = AUTO_PORT


class ConsensusVariant(_Section):
    """One ordering service layout: the consensus type and its nodes."""

    type: Annotated[
        ConsensusType,
        PlainValidator(_consensus_type),
        Field(description=f"one of {', '.join(CONSENSUS_TYPES)}"),
    ]
    orderers: Annotated[tuple[Orderer, ...], _listed(AT_LEAST_ONE)]


class OrdererOrganization(_Section):
    """The organization that runs the ordering service; ``consensus`` names the variant in use."""

    name: Label
    consensus: Text
    variants: Annotated[
        dict[Annotated[str, PlainValidator(_variant_name)], ConsensusVariant],
        _listed("must define at least one consensus variant"),
    ]
    msp_id: MspId = ""
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


class Peer(_Section):
    """A peer: its gRPC port, the port chaincode servers call back on, and its operations port."""

    name: Label
    port: Port = AUTO_PORT
    chaincode_port: Port = AUTO_PORT
    operations_port: Port = AUTO_PORT


class Client(_Section):
    """An application identity enrolled for the SDK. ``attrs`` become certificate attributes.

    After loading, ``attrs`` always contains ``fabrx.role`` set to the organization's role.
    """

    name: Label
    attrs: dict[
        Annotated[str, PlainValidator(_attribute_name)], Annotated[str, PlainValidator(_attribute_value)]
    ] = Field(default_factory=dict)


class Organization(_Section):
    """A peer organization of the consortium, with its CA, peers and client identities."""

    name: Label
    role: Annotated[Role, Strict(), _matching(_ROLE, _ROLE_HINT), Field(description=_ROLE_HINT)]
    peers: Annotated[tuple[Peer, ...], _listed(AT_LEAST_ONE)]
    msp_id: MspId = ""
    ca: CertificateAuthority = CertificateAuthority()
    clients: tuple[Client, ...] = (Client(name="client"),)


class BlockCutting(_Section):
    """When the orderer cuts a block: after ``batch_timeout`` or ``max_message_count`` transactions.

    The default 20 ms was measured best for an interactive system (docs/benchmarks.md, "Block
    cutting"): lowest latency and highest throughput of 20/50/100/250 ms; Fabric's sample 2 s makes
    every submit wait ~2 s.
    """

    batch_timeout: Interval = Duration(20)
    max_message_count: Positive = 100
    absolute_max_bytes: Size = ByteSize(10 << 20)
    preferred_max_bytes: Size = ByteSize(2 << 20)


class Channel(_Section):
    """A channel and its member organizations (by name; all organizations unless listed)."""

    name: Annotated[str, Strict(), _matching(_CHANNEL, _CHANNEL_HINT), Field(description=_CHANNEL_HINT)]
    orgs: Annotated[
        tuple[Text, ...],
        _listed("must list at least one name; leave the key out to mean all"),
        Field(description="a list of names"),
    ] = ()
    block_cutting: BlockCutting = BlockCutting()


class EndorsementPolicy(_Section):
    """Exactly one of a signature policy (``OutOf(2, 'AMSP.peer', ...)``) or a channel config policy path.

    In YAML a plain string is a signature policy; ``{channel_config_policy: /Channel/Application/X}``
    refers to a policy of the channel configuration.
    """

    signature_policy: Text = ""
    channel_config_policy: Text = ""

    @model_validator(mode="before")
    @classmethod
    def _a_string_is_a_signature_policy(cls, data: Any) -> Any:
        return {"signature_policy": data} if isinstance(data, str) else data

    # That exactly one is given is a rule across the two fields (_config_rules).
    @model_validator(mode="after")
    def _valid_policy(self, info: ValidationInfo) -> EndorsementPolicy:
        if self.signature_policy:
            _signature_policy(self.signature_policy, info)
        elif self.channel_config_policy and not self.channel_config_policy.startswith(_CHANNEL_POLICY_PREFIX):
            message = (
                f"{self.channel_config_policy!r} is not a channel policy path like "
                f"{_CHANNEL_POLICY_PREFIX}Endorsement"
            )
            return _refuse(info, message, self)
        return self


DEFAULT_ENDORSEMENT = EndorsementPolicy(channel_config_policy="/Channel/Application/Endorsement")


class Collection(_Section):
    """A private data collection; members are the organizations named in ``policy``."""

    name: Annotated[
        str, Strict(), _matching(_COLLECTION, _COLLECTION_HINT), Field(description=_COLLECTION_HINT)
    ]
    policy: Annotated[
        SignaturePolicy, Field(description="a signature policy such as OR('AMSP.member', 'BMSP.member')")
    ]
    required_peer_count: Count = 0
    max_peer_count: Count = 3
    block_to_live: Count = 0
    member_only_read: Flag = True
    member_only_write: Flag = True
    endorsement_policy: Annotated[EndorsementPolicy | None, BeforeValidator(_not_null)] = None


class ChaincodeRuntime(_Section):
    """How the chaincode server is run: exactly one of a Python entry point or a Node project folder."""

    python: Annotated[Text, AfterValidator(_entry_point)] = ""
    node: Text = ""

    @model_validator(mode="after")
    def _one_runtime(self, info: ValidationInfo) -> ChaincodeRuntime:
        if bool(self.python) == bool(self.node):
            return _refuse(info, "give exactly one of python (module:Class) or node (project folder)", self)
        return self

    @property
    def kind(self) -> Literal["python", "node"]:
        return "python" if self.python else "node"


class ChaincodeServer(_Section):
    """Where a chaincode runs as a service (CCaaS) for the peers.

    By default each organization of the chaincode's channel that has peers runs its own server for its
    own peers, with TLS identities from its own CA: ``ports`` maps the organization's name to its
    server's port (every one filled in once loaded). ``shared: true`` runs one server for the peers of
    every organization instead, on ``port``, with TLS identities from the orderer organization's CA: a
    convenience for development chaincodes that no member has to own.
    """

    shared: Flag = False
    port: Port = AUTO_PORT
    ports: Mapping[str, Port] = Field(default_factory=dict)

    def port_of(self, org: str) -> int:
        """The port of ``org``'s server (the shared server's port when ``shared``).

        Raises ``KeyError`` if ``org`` runs no server of this chaincode.
        """
        return self.port if self.shared else self.ports[org]


class Chaincode(_Section):
    """A chaincode definition on one channel, run as a service.

    Private data collections are data: ``collections`` lists the explicit ones the chaincode uses
    (Fabric's implicit per-organization collections need no definition).
    """

    name: Annotated[
        str,
        Strict(),
        _matching(_CHAINCODE, "letters and digits, joined by single '-' or '_'"),
        Field(description="letters and digits, joined by single '-' or '_'"),
    ]
    channel: Text
    runtime: ChaincodeRuntime
    version: Annotated[str, Strict(), _matching(_CC_VERSION, "letters, digits and . _ + -")] = "1.0"
    sequence: Positive = 1
    server: ChaincodeServer = ChaincodeServer()
    endorsement_policy: EndorsementPolicy = DEFAULT_ENDORSEMENT
    collections: tuple[Collection, ...] = ()

    @property
    def label(self) -> str:
        """The package label, ``<name>_<version>``."""
        return f"{self.name}_{self.version}"


class Gossip(_Section):
    """The peers' gossip timers.

    The defaults suit a one-machine consortium: other organizations' peers and chaincodes are known to
    discovery about a second after start (Fabric's defaults take about 25 s). Every state-info and pull
    message a peer receives is checked against the channel's policies, whose cost grows with the number
    of member organizations, so a province's deployment uses Fabric's own timers (alive 5s, expiration
    25s, state info 4s, pull 4s): with 50 members they keep the cost of an invoice flat
    (docs/benchmarks.md, "Scale").
    """

    alive_interval: Interval = Duration(1000)
    alive_expiration: Interval = Duration(10_000)
    state_info_interval: Interval = Duration(1000)
    pull_interval: Interval = Duration(1000)


class Consortium(_Section):
    """The whole network: one orderer organization, peer organizations, channels and chaincodes."""

    name: Label
    orderer_org: OrdererOrganization
    orgs: Annotated[tuple[Organization, ...], _listed(AT_LEAST_ONE)]
    channels: Annotated[tuple[Channel, ...], _listed(AT_LEAST_ONE)]
    fabric: FabricVersions = FabricVersions()
    host: Annotated[str, Strict(), AfterValidator(_host)] = "127.0.0.1"
    port_base: Port = 7050
    chaincode_execute_timeout: Interval = Duration(30_000)
    gossip: Gossip = Gossip()
    chaincodes: tuple[Chaincode, ...] = ()
    # Not read from the file: the warnings loading found (set by load_consortium).
    _warnings: tuple[Problem, ...] = PrivateAttr(default=())

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """What loading found worth a warning (never an error): an even number of Raft orderers, a host
        that is not loopback, an untested Fabric CA release."""
        return self._warnings

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
        orderer_org = parsed.orderer_org.model_copy(update={"consensus": consensus})
        parsed = parsed.model_copy(update={"orderer_org": orderer_org})
    check(problems, parsed)
    if problems.has_errors:
        raise ConfigError(source, problems.items)
    resolved = resolve(problems, parsed)
    if problems.has_errors:
        raise ConfigError(source, problems.items)
    resolved._warnings = tuple(problems.items)
    return resolved
