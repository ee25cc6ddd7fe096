"""Step 1 of loading a consortium: YAML text into the model, checking each field on its own.

Every accessor of :class:`_Fields` records a problem and returns a placeholder instead of raising,
so one pass finds every type error, missing field, unknown key and malformed value. The YAML keys
accepted for a section are the fields of its model class; absent keys take the field's default.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import yaml

from ._signature_policy import signature_policy_principals
from .config import (
    CONSENSUS_TYPES,
    DEFAULT_ENDORSEMENT,
    MAX_PORT,
    MIN_PORT,
    ROLE_ATTRIBUTE,
    BlockCutting,
    ByteSize,
    CertificateAuthority,
    Chaincode,
    ChaincodeRuntime,
    ChaincodeServer,
    Channel,
    Client,
    Collection,
    ConsensusType,
    ConsensusVariant,
    Consortium,
    Duration,
    EndorsementPolicy,
    FabricVersions,
    Gossip,
    Orderer,
    OrdererOrganization,
    Organization,
    Peer,
    Problem,
)

__all__ = ["Problems", "describe", "parse_document", "suggest"]

# Names become host names, directory names and Fabric identifiers, so each follows the strictest of those.
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LABEL_HINT = "letters, digits and '-' (not first or last), at most 63 characters"
_MSP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_MSP_ID_HINT = "letters, digits, '.' and '-'"
_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ROLE_HINT = "a role label: letters, digits, '_' and '-', at most 64 characters"
_CHANNEL = re.compile(r"^[a-z][a-z0-9.-]{0,248}$")  # Fabric's channel name rule
_CHAINCODE = re.compile(r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$")  # Fabric's chaincode name rule
# A leading '_' is reserved for Fabric's implicit collections.
_COLLECTION = re.compile(r"^[A-Za-z0-9-][A-Za-z0-9_-]*$")
_CC_VERSION = re.compile(r"^[A-Za-z0-9_.+-]+$")
_VARIANT = re.compile(r"^[A-Za-z0-9_-]+$")
_ATTRIBUTE = re.compile(r"^[A-Za-z0-9._-]+$")
_PYTHON_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_CHANNEL_POLICY_PREFIX = "/Channel/Application/"


def parse_document(text: str, problems: Problems) -> Consortium | None:
    """The consortium as written (defaults not yet resolved), or ``None`` if the YAML is unusable."""
    document = _load_yaml(text, problems)
    if document is None:
        return None
    return _parse_consortium(_Fields(problems, document, "", Consortium))


class Problems:
    """Collects problems; parsing and checking go on after each one so all are reported together."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))

    def warning(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message, "warning"))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that records duplicate mapping keys, which plain YAML loading silently drops."""

    duplicates: list[tuple[str, int]]


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str | int):
            continue  # reported as an unknown key later
        if key in seen:
            loader.duplicates.append((str(key), key_node.start_mark.line + 1))
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


MAX_NESTING = 64
"""Deepest nesting of mappings and lists a consortium file may have. Read from the parser's events before
anything is built: deeper documents took seconds to compose and then exhausted Python's recursion."""


def _too_deep(text: str) -> bool:
    # Flow collections ([...], {...}) first, by characters: PyYAML's scanner slows down quadratically
    # with their depth, before the first event. Quoted text and comments do not count.
    depth, quote, comment = 0, "", False
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif char in "]}":
            depth = max(depth - 1, 0)
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return False


def _load_yaml(text: str, problems: Problems) -> dict[str, Any] | None:
    loader = _UniqueKeyLoader(text)
    loader.duplicates = []
    try:
        if _too_deep(text):
            problems.error(
                "", f"collections are nested more than {MAX_NESTING} deep; a consortium file needs few"
            )
            return None
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problems.error(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicates:
        problems.error(f"line {line}", f"key {key!r} appears twice in the same mapping; keep one")
    if not isinstance(document, dict):
        problems.error("", f"the consortium definition must be a YAML mapping, got {describe(document)}")
        return None
    return document


_MISSING: Any = object()
T = TypeVar("T")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


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


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Fields:
    """One YAML mapping being read into the model class ``model``.

    Accessors return the value, the field's default when the key is absent, or a placeholder after
    recording a problem, so that reading continues and every problem is found.
    """

    def __init__(self, problems: Problems, raw: object, path: str, model: type) -> None:
        self.problems = problems
        self.path = path
        self._fields = {f.name: f for f in dataclasses.fields(model) if f.metadata.get("yaml", True)}
        self.raw: dict[str, Any] = {}
        self.valid = isinstance(raw, dict)
        if not isinstance(raw, dict):
            problems.error(
                path, f"expected a mapping with keys {', '.join(self._fields)}; got {describe(raw)}"
            )
            return
        for key, value in raw.items():
            if key in self._fields:
                self.raw[key] = value
            else:
                known = ", ".join(self._fields)
                hint = suggest(str(key), self._fields) or f" (known: {known})"
                problems.error(_join(path, str(key)), f"unknown key{hint}")

    def at(self, key: str | int) -> str:
        return _join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.raw

    def _default(self, key: str) -> Any:
        spec = self._fields[key]
        if spec.default is not dataclasses.MISSING:
            return spec.default
        if spec.default_factory is not dataclasses.MISSING:
            return spec.default_factory()
        return _MISSING

    def _value(self, key: str, placeholder: T, expected: str) -> tuple[Any, bool]:
        """(value, present). For an absent key: the default, or ``placeholder`` after a 'required' error."""
        if key in self.raw:
            return self.raw[key], True
        default = self._default(key)
        if default is _MISSING:
            if self.valid:  # a section that is not a mapping at all was reported once already
                self.problems.error(self.at(key), f"required: {expected}")
            return placeholder, False
        return default, False

    def text(self, key: str, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value, present = self._value(key, "", hint or "a string")
        if not present:
            return cast(str, value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.problems.error(
                self.at(key), f'expected a string, got {describe(value)}; quote it: "{value}"'
            )
            return ""
        if not isinstance(value, str):
            self.problems.error(self.at(key), f"expected a string, got {describe(value)}")
            return ""
        if pattern is not None and not pattern.match(value):
            # Keep the name: references to it still resolve, so they add no follow-on problems.
            self.problems.error(self.at(key), f"{value!r} is not a valid name: use {hint}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, hint=f"one of {', '.join(choices)}")
        if value and value not in choices:
            self.problems.error(
                self.at(key), f"{value!r} is not one of {', '.join(choices)}{suggest(value, choices)}"
            )
            return ""
        return value

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value, present = self._value(key, 0, "an integer")
        if not present:
            return cast(int, value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.error(self.at(key), f"expected an integer, got {describe(value)}")
            return 0
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.problems.error(self.at(key), f"{value} is out of range: must be {bounds}")
            return 0
        return value

    def port(self, key: str) -> int:
        return self.integer(key, minimum=MIN_PORT, maximum=MAX_PORT)

    def boolean(self, key: str) -> bool:
        value, present = self._value(key, False, "true or false")
        if present and not isinstance(value, bool):
            self.problems.error(self.at(key), f"expected true or false, got {describe(value)}")
            return False
        return cast(bool, value)

    def duration(self, key: str, *, positive: bool = True) -> Duration:
        value, present = self._value(key, Duration(0), "a duration such as 50ms or 2s")
        if not present:
            return cast(Duration, value)
        if not isinstance(value, str):
            self.problems.error(
                self.at(key), f"expected a duration such as 50ms or 2s, got {describe(value)}"
            )
            return Duration(0)
        try:
            parsed = Duration.parse(value)
        except ValueError as exc:
            self.problems.error(self.at(key), str(exc))
            return Duration(0)
        if positive and parsed.milliseconds <= 0:
            self.problems.error(self.at(key), "must be longer than 0ms")
        return parsed

    def size(self, key: str) -> ByteSize:
        value, present = self._value(key, ByteSize(0), "a size such as 10 MB")
        if not present:
            return cast(ByteSize, value)
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problems.error(self.at(key), f"expected a size such as 10 MB, got {describe(value)}")
            return ByteSize(0)
        try:
            parsed = ByteSize.parse(value)
        except ValueError as exc:
            self.problems.error(self.at(key), str(exc))
            return ByteSize(0)
        if parsed.num_bytes <= 0 or parsed.num_bytes > 0xFFFFFFFF:
            self.problems.error(self.at(key), f"{value} is out of range: must be more than 0 and below 4 GB")
        return parsed

    def section(self, key: str, model: type[T], parse: Callable[[_Fields], T]) -> T:
        """A nested mapping parsed by ``parse``; the field default when absent."""
        value, present = self._value(key, _MISSING, f"a mapping ({', '.join(_yaml_keys(model))})")
        if present:
            return parse(_Fields(self.problems, value, self.at(key), model))
        if value is _MISSING:
            return _placeholder(model, parse)
        return cast(T, value)

    def items(
        self, key: str, model: type[T], parse: Callable[[_Fields], T], *, allow_empty: bool = True
    ) -> tuple[T, ...]:
        """A list of mappings, each parsed by ``parse``; the field default when absent."""
        value, present = self._value(key, (), "a list")
        if not present:
            return cast(tuple[T, ...], value)
        if not isinstance(value, list):
            self.problems.error(self.at(key), f"expected a list, got {describe(value)}")
            return ()
        if not value and not allow_empty:
            self.problems.error(self.at(key), "must list at least one entry")
        return tuple(
            parse(_Fields(self.problems, item, _join(self.at(key), i), model)) for i, item in enumerate(value)
        )

    def names(self, key: str) -> tuple[str, ...]:
        """A list of strings (references to names); the field default when absent."""
        value, present = self._value(key, (), "a list of names")
        if not present:
            return cast(tuple[str, ...], value)
        if not isinstance(value, list):
            self.problems.error(self.at(key), f"expected a list of names, got {describe(value)}")
            return ()
        if not value:
            self.problems.error(self.at(key), "must list at least one name; leave the key out to mean all")
        result: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                result.append(item)
            else:
                self.problems.error(_join(self.at(key), i), f"expected a name, got {describe(item)}")
        return tuple(result)

    def mapping(self, key: str) -> dict[str, Any]:
        """A free-form mapping with string keys; the field default when absent."""
        value, present = self._value(key, {}, "a mapping")
        if not present:
            return cast(dict[str, Any], value)
        if not isinstance(value, dict):
            self.problems.error(self.at(key), f"expected a mapping, got {describe(value)}")
            return {}
        return value


def _yaml_keys(model: type) -> list[str]:
    return [f.name for f in dataclasses.fields(model) if f.metadata.get("yaml", True)]


def _placeholder(model: type[T], parse: Callable[[_Fields], T]) -> T:
    """A stand-in for a missing required section. Its own problems are dropped: 'required' was reported."""
    return parse(_Fields(Problems(), {}, "", model))


def _parse_consortium(f: _Fields) -> Consortium:
    consortium = Consortium(
        name=f.text("name", pattern=_LABEL, hint=_LABEL_HINT),
        fabric=f.section("fabric", FabricVersions, _parse_versions),
        host=_parse_host(f),
        port_base=f.port("port_base"),
        chaincode_execute_timeout=f.duration("chaincode_execute_timeout"),
        gossip=f.section("gossip", Gossip, _parse_gossip),
        orderer_org=f.section("orderer_org", OrdererOrganization, _parse_orderer_org),
        orgs=f.items("orgs", Organization, _parse_org, allow_empty=False),
        channels=f.items("channels", Channel, _parse_channel, allow_empty=False),
        chaincodes=f.items("chaincodes", Chaincode, _parse_chaincode),
    )
    return consortium


def _parse_gossip(f: _Fields) -> Gossip:
    return Gossip(
        alive_interval=f.duration("alive_interval"),
        alive_expiration=f.duration("alive_expiration"),
        state_info_interval=f.duration("state_info_interval"),
        pull_interval=f.duration("pull_interval"),
    )


def _parse_versions(f: _Fields) -> FabricVersions:
    versions = FabricVersions(version=f.text("version"), ca_version=f.text("ca_version"))
    for key, value in (("version", versions.version), ("ca_version", versions.ca_version)):
        if value and not _VERSION.match(value):
            f.problems.error(f.at(key), f"{value!r} is not a release number like 3.1.5: pin an exact release")
    fabric = _VERSION.match(versions.version)
    if fabric and fabric.group(1) != "3" and (fabric.group(1), fabric.group(2)) != ("2", "5"):
        f.problems.error(
            f.at("version"),
            f"Fabric {versions.version} is not supported: fabrx runs Fabric 3.x, and 2.5 LTS for "
            "compatibility; use 3.1.5",
        )
    ca = _VERSION.match(versions.ca_version)
    if ca and (ca.group(1), ca.group(2)) != ("1", "5"):
        f.problems.warning(
            f.at("ca_version"), f"Fabric CA {versions.ca_version} is untested; fabrx uses 1.5.x"
        )
    return versions


def _parse_host(f: _Fields) -> str:
    host = f.text("host")
    if not host:
        if f.has("host"):
            # Written but empty: a node given no host would listen on every interface.
            f.problems.error(f.at("host"), "must be an IP address (every node listens on it), e.g. 127.0.0.1")
        return host
    if host == "localhost":
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        f.problems.error(
            f.at("host"), f"{host!r} is not an IP address; every node listens on loopback, e.g. 127.0.0.1"
        )
        return ""
    if not address.is_loopback:
        f.problems.warning(
            f.at("host"),
            f"{host} is not a loopback address: every node will listen on it, reachable from the network",
        )
    return host


def _parse_ca(f: _Fields) -> CertificateAuthority:
    return CertificateAuthority(port=f.port("port"), operations_port=f.port("operations_port"))


def _parse_orderer(f: _Fields) -> Orderer:
    return Orderer(
        name=f.text("name", pattern=_LABEL, hint=_LABEL_HINT),
        port=f.port("port"),
        admin_port=f.port("admin_port"),
        operations_port=f.port("operations_port"),
    )


def _parse_variant(f: _Fields) -> ConsensusVariant:
    return ConsensusVariant(
        type=cast(ConsensusType, f.choice("type", CONSENSUS_TYPES)),
        orderers=f.items("orderers", Orderer, _parse_orderer, allow_empty=False),
    )


def _parse_orderer_org(f: _Fields) -> OrdererOrganization:
    variants: dict[str, ConsensusVariant] = {}
    for name, raw in f.mapping("variants").items():
        path = f.at("variants") + f".{name}"
        if not isinstance(name, str) or not _VARIANT.match(name):
            f.problems.error(path, f"{name!r} is not a valid variant name: use letters, digits, '_' and '-'")
            continue
        variants[name] = _parse_variant(_Fields(f.problems, raw, path, ConsensusVariant))
    if f.has("variants") and not variants and isinstance(f.raw["variants"], dict):
        f.problems.error(f.at("variants"), "must define at least one consensus variant")
    return OrdererOrganization(
        name=f.text("name", pattern=_LABEL, hint=_LABEL_HINT),
        msp_id=f.text("msp_id", pattern=_MSP_ID, hint=_MSP_ID_HINT),
        ca=f.section("ca", CertificateAuthority, _parse_ca),
        consensus=f.text("consensus"),
        variants=variants,
    )


def _parse_peer(f: _Fields) -> Peer:
    return Peer(
        name=f.text("name", pattern=_LABEL, hint=_LABEL_HINT),
        port=f.port("port"),
        chaincode_port=f.port("chaincode_port"),
        operations_port=f.port("operations_port"),
    )


def _parse_client(f: _Fields) -> Client:
    attrs: dict[str, str] = {}
    for key, value in f.mapping("attrs").items():
        path = f.at("attrs") + f".{key}"
        if not isinstance(key, str) or not _ATTRIBUTE.match(key):
            f.problems.error(
                path, f"{key!r} is not a valid attribute name: use letters, digits, '.', '_' and '-'"
            )
        elif key == ROLE_ATTRIBUTE:
            f.problems.error(path, f"{ROLE_ATTRIBUTE} is set from the organization's role; remove it here")
        elif key.startswith("hf."):
            f.problems.error(path, "attributes starting with 'hf.' are reserved by Fabric CA")
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            f.problems.error(path, f"expected a string value, got {describe(value)}")
        else:
            attrs[key] = str(value)
    return Client(name=f.text("name", pattern=_LABEL, hint=_LABEL_HINT), attrs=attrs)


def _parse_org(f: _Fields) -> Organization:
    return Organization(
        name=f.text("name", pattern=_LABEL, hint=_LABEL_HINT),
        msp_id=f.text("msp_id", pattern=_MSP_ID, hint=_MSP_ID_HINT),
        role=f.text("role", pattern=_ROLE, hint=_ROLE_HINT),
        ca=f.section("ca", CertificateAuthority, _parse_ca),
        peers=f.items("peers", Peer, _parse_peer, allow_empty=False),
        clients=f.items("clients", Client, _parse_client),
    )


def _parse_block_cutting(f: _Fields) -> BlockCutting:
    cutting = BlockCutting(
        batch_timeout=f.duration("batch_timeout"),
        max_message_count=f.integer("max_message_count", minimum=1),
        absolute_max_bytes=f.size("absolute_max_bytes"),
        preferred_max_bytes=f.size("preferred_max_bytes"),
    )
    if cutting.preferred_max_bytes > cutting.absolute_max_bytes > ByteSize(0):
        f.problems.error(
            f.at("preferred_max_bytes"),
            f"{cutting.preferred_max_bytes} is larger than absolute_max_bytes ({cutting.absolute_max_bytes})",
        )
    return cutting


def _parse_channel(f: _Fields) -> Channel:
    return Channel(
        name=f.text(
            "name", pattern=_CHANNEL, hint="lower-case letters, digits, '.' and '-', starting with a letter"
        ),
        orgs=f.names("orgs"),
        block_cutting=f.section("block_cutting", BlockCutting, _parse_block_cutting),
    )


def _parse_endorsement(f: _Fields, key: str) -> EndorsementPolicy | None:
    """A string is a signature policy; a mapping names exactly one of the two kinds."""
    raw = f.raw.get(key, _MISSING)
    if raw is _MISSING:
        return None
    path = f.at(key)
    if isinstance(raw, str):
        policy = EndorsementPolicy(signature_policy=raw)
    else:
        sub = _Fields(f.problems, raw, path, EndorsementPolicy)
        policy = EndorsementPolicy(
            signature_policy=sub.text("signature_policy"),
            channel_config_policy=sub.text("channel_config_policy"),
        )
        if not isinstance(raw, dict):
            return None
        if bool(policy.signature_policy) == bool(policy.channel_config_policy):
            f.problems.error(path, "give exactly one of signature_policy or channel_config_policy")
            return None
    if policy.signature_policy:
        try:
            signature_policy_principals(policy.signature_policy)
        except ValueError as exc:
            f.problems.error(path, str(exc))
    elif not policy.channel_config_policy.startswith(_CHANNEL_POLICY_PREFIX):
        example = DEFAULT_ENDORSEMENT.channel_config_policy
        f.problems.error(
            path, f"{policy.channel_config_policy!r} is not a channel policy path like {example}"
        )
    return policy


def _parse_collection(f: _Fields) -> Collection:
    collection = Collection(
        name=f.text("name", pattern=_COLLECTION, hint="letters, digits, '_' and '-', not starting with '_'"),
        policy=f.text("policy", hint="a signature policy such as OR('AMSP.member', 'BMSP.member')"),
        required_peer_count=f.integer("required_peer_count", minimum=0),
        max_peer_count=f.integer("max_peer_count", minimum=0),
        block_to_live=f.integer("block_to_live", minimum=0),
        member_only_read=f.boolean("member_only_read"),
        member_only_write=f.boolean("member_only_write"),
        endorsement_policy=_parse_endorsement(f, "endorsement_policy"),
    )
    if collection.policy:
        try:
            signature_policy_principals(collection.policy)
        except ValueError as exc:
            f.problems.error(f.at("policy"), str(exc))
    if collection.required_peer_count > collection.max_peer_count:
        f.problems.error(
            f.at("required_peer_count"),
            f"{collection.required_peer_count} is more than max_peer_count ({collection.max_peer_count})",
        )
    return collection


def _parse_runtime(f: _Fields) -> ChaincodeRuntime:
    runtime = ChaincodeRuntime(python=f.text("python"), node=f.text("node"))
    if f.valid and bool(runtime.python) == bool(runtime.node):
        f.problems.error(f.path, "give exactly one of python (module:Class) or node (project folder)")
    if runtime.python and not _PYTHON_ENTRY.match(runtime.python):
        f.problems.error(
            f.at("python"), f"{runtime.python!r} is not an entry point like package.module:ContractClass"
        )
    return runtime


def _parse_chaincode_server(f: _Fields) -> ChaincodeServer:
    ports: dict[str, int] = {}
    for org, value in f.mapping("ports").items():
        path = f.at("ports") + f".{org}"
        if isinstance(value, bool) or not isinstance(value, int):
            f.problems.error(path, f"expected an integer, got {describe(value)}")
        elif not MIN_PORT <= value <= MAX_PORT:
            f.problems.error(path, f"{value} is out of range: must be between {MIN_PORT} and {MAX_PORT}")
        else:
            ports[str(org)] = value
    return ChaincodeServer(shared=f.boolean("shared"), port=f.port("port"), ports=ports)


def _parse_chaincode(f: _Fields) -> Chaincode:
    return Chaincode(
        name=f.text("name", pattern=_CHAINCODE, hint="letters and digits, joined by single '-' or '_'"),
        channel=f.text("channel"),
        version=f.text("version", pattern=_CC_VERSION, hint="letters, digits and . _ + -"),
        sequence=f.integer("sequence", minimum=1),
        server=f.section("server", ChaincodeServer, _parse_chaincode_server),
        runtime=f.section("runtime", ChaincodeRuntime, _parse_runtime),
        endorsement_policy=_parse_endorsement(f, "endorsement_policy") or DEFAULT_ENDORSEMENT,
        collections=f.items("collections", Collection, _parse_collection),
    )
