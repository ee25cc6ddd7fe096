"""Chaincode definitions: what each organization approves and the channel commits.

A definition is the channel-wide agreement on a chaincode: name, version, sequence, endorsement
policy, private data collections and plugins. Each organization approves the identical definition
(plus, privately, the package id its own peers run); once enough organizations approved, it is
committed and takes effect.

Policies are written as strings. A string starting with ``/`` names a channel configuration policy
(``/Channel/Application/Endorsement``); anything else is a signature policy such as
``OR('Org1MSP.peer', 'Org2MSP.peer')`` (see :mod:`fabrx.admin.policy`). No policy means the channel's
default, ``/Channel/Application/Endorsement``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fabric_protos.peer import collection_pb2, policy_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from ..errors import ArgumentError
from .policy import format_signature_policy, parse_signature_policy

__all__ = ["ChaincodeDefinition", "CollectionConfig", "CommittedDefinition"]

DEFAULT_ENDORSEMENT_POLICY = "/Channel/Application/Endorsement"
_DEFAULT_ENDORSEMENT_PLUGIN = "escc"
_DEFAULT_VALIDATION_PLUGIN = "vscc"


def application_policy(policy: str) -> policy_pb2.ApplicationPolicy:
    """A policy string as ``peer.ApplicationPolicy`` (raises ``PolicySyntaxError`` for a bad one)."""
    if policy.startswith("/"):
        return policy_pb2.ApplicationPolicy(channel_config_policy_reference=policy)
    return policy_pb2.ApplicationPolicy(signature_policy=parse_signature_policy(policy))


def format_application_policy(policy: policy_pb2.ApplicationPolicy) -> str:
    """The string form of a ``peer.ApplicationPolicy`` (inverse of :func:`application_policy`)."""
    if policy.WhichOneof("Type") == "channel_config_policy_reference":
        return policy.channel_config_policy_reference
    return format_signature_policy(policy.signature_policy)


@dataclass(frozen=True, kw_only=True)
class CollectionConfig:
    """A private data collection (Fabric's ``StaticCollectionConfig``).

    ``policy`` is the signature policy naming the member organizations (who store the data);
    ``endorsement_policy``, when set, replaces the chaincode's endorsement policy for writes to this
    collection. ``block_to_live`` 0 keeps the data forever.

    Raises:
        PolicySyntaxError: a policy does not parse (at construction).
        ArgumentError: a count is negative or ``required_peer_count`` exceeds ``max_peer_count``.
    """

    name: str
    policy: str
    required_peer_count: int = 0
    max_peer_count: int = 1
    block_to_live: int = 0
    member_only_read: bool = False
    member_only_write: bool = False
    endorsement_policy: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ArgumentError("a collection needs a name")
        if self.required_peer_count < 0 or self.max_peer_count < 0 or self.block_to_live < 0:
            raise ArgumentError(f"collection {self.name}: counts and block_to_live must not be negative")
        if self.required_peer_count > self.max_peer_count:
            raise ArgumentError(
                f"collection {self.name}: required_peer_count {self.required_peer_count} exceeds "
                f"max_peer_count {self.max_peer_count}"
            )
        self.to_proto()  # validates both policies up front

    def to_proto(self) -> collection_pb2.CollectionConfig:
        static = collection_pb2.StaticCollectionConfig(
            name=self.name,
            member_orgs_policy=collection_pb2.CollectionPolicyConfig(
                signature_policy=parse_signature_policy(self.policy)
            ),
            required_peer_count=self.required_peer_count,
            maximum_peer_count=self.max_peer_count,
            block_to_live=self.block_to_live,
            member_only_read=self.member_only_read,
            member_only_write=self.member_only_write,
        )
        if self.endorsement_policy:
            static.endorsement_policy.CopyFrom(application_policy(self.endorsement_policy))
        return collection_pb2.CollectionConfig(static_collection_config=static)

    @classmethod
    def from_proto(cls, config: collection_pb2.CollectionConfig) -> CollectionConfig:
        static = config.static_collection_config
        endorsement = None
        if static.HasField("endorsement_policy"):
            endorsement = format_application_policy(static.endorsement_policy)
        return cls(
            name=static.name,
            policy=format_signature_policy(static.member_orgs_policy.signature_policy),
            required_peer_count=static.required_peer_count,
            max_peer_count=static.maximum_peer_count,
            block_to_live=static.block_to_live,
            member_only_read=static.member_only_read,
            member_only_write=static.member_only_write,
            endorsement_policy=endorsement,
        )


@dataclass(frozen=True, kw_only=True)
class ChaincodeDefinition:
    """The chaincode definition one organization approves and the channel commits.

    ``sequence`` starts at 1 and grows by one with every change of the definition (a new package
    alone, approved again at the committed sequence, needs no new sequence). ``package_id`` is the
    approving organization's own installed package (``label:sha256``); it is not part of the
    channel-wide agreement, so organizations may run different packages.

    Raises:
        PolicySyntaxError: the endorsement policy does not parse (at construction).
        ArgumentError: name, version or sequence is missing.
    """

    name: str
    version: str
    sequence: int
    endorsement_policy: str | None = None
    collections: tuple[CollectionConfig, ...] = ()
    init_required: bool = False
    endorsement_plugin: str = _DEFAULT_ENDORSEMENT_PLUGIN
    validation_plugin: str = _DEFAULT_VALIDATION_PLUGIN
    package_id: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.version:
            raise ArgumentError("a chaincode definition needs a name and a version")
        if self.sequence < 1:
            raise ArgumentError(f"chaincode {self.name}: sequence must be 1 or more, not {self.sequence}")
        names = [c.name for c in self.collections]
        if len(set(names)) != len(names):
            raise ArgumentError(f"chaincode {self.name}: collection names repeat: {names}")
        object.__setattr__(self, "collections", tuple(self.collections))
        self.validation_parameter  # noqa: B018 - validates the policy up front

    @property
    def validation_parameter(self) -> bytes:
        """The serialized ``ApplicationPolicy``; empty bytes select the channel default."""
        if not self.endorsement_policy:
            return b""
        return application_policy(self.endorsement_policy).SerializeToString()

    @property
    def collection_config_package(self) -> collection_pb2.CollectionConfigPackage | None:
        """The collections as Fabric's ``CollectionConfigPackage``, or ``None`` when there are none."""
        if not self.collections:
            return None
        return collection_pb2.CollectionConfigPackage(config=[c.to_proto() for c in self.collections])

    def approve_args(self) -> lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs:
        """``_lifecycle`` arguments to approve this definition (with ``package_id``, if set)."""
        args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs(**self._common_fields())
        if self.package_id:
            args.source.local_package.package_id = self.package_id
        else:
            # An approval without a package: this org's peers will not run the chaincode.
            args.source.unavailable.SetInParent()
        return args

    def check_commit_readiness_args(self) -> lifecycle_pb2.CheckCommitReadinessArgs:
        return lifecycle_pb2.CheckCommitReadinessArgs(**self._common_fields())

    def commit_args(self) -> lifecycle_pb2.CommitChaincodeDefinitionArgs:
        return lifecycle_pb2.CommitChaincodeDefinitionArgs(**self._common_fields())

    def matches(self, committed: CommittedDefinition) -> bool:
        """Whether ``committed`` is this definition (same sequence and parameters; the peer's defaults
        for plugins and endorsement policy applied to both sides)."""
        expected_parameter = (
            self.validation_parameter or application_policy(DEFAULT_ENDORSEMENT_POLICY).SerializeToString()
        )
        committed_parameter = (
            committed.validation_parameter
            or application_policy(DEFAULT_ENDORSEMENT_POLICY).SerializeToString()
        )
        package = self.collection_config_package
        expected_collections = [c.SerializeToString() for c in package.config] if package else []
        return (
            committed.name == self.name
            and committed.sequence == self.sequence
            and committed.version == self.version
            and (committed.endorsement_plugin or _DEFAULT_ENDORSEMENT_PLUGIN)
            == (self.endorsement_plugin or _DEFAULT_ENDORSEMENT_PLUGIN)
            and (committed.validation_plugin or _DEFAULT_VALIDATION_PLUGIN)
            == (self.validation_plugin or _DEFAULT_VALIDATION_PLUGIN)
            and committed.init_required == self.init_required
            and _same_policy_bytes(committed_parameter, expected_parameter)
            and [c.SerializeToString() for c in committed.collection_protos] == expected_collections
        )

    def _common_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "sequence": self.sequence,
            "name": self.name,
            "version": self.version,
            "endorsement_plugin": self.endorsement_plugin,
            "validation_plugin": self.validation_plugin,
            "validation_parameter": self.validation_parameter,
            "init_required": self.init_required,
        }
        package = self.collection_config_package
        if package is not None:
            fields["collections"] = package
        return fields


def _same_policy_bytes(left: bytes, right: bytes) -> bool:
    # Compare decoded messages: another client may have serialized fields in a different order.
    return policy_pb2.ApplicationPolicy.FromString(left) == policy_pb2.ApplicationPolicy.FromString(right)


@dataclass(frozen=True, kw_only=True)
class CommittedDefinition:
    """A chaincode definition committed on a channel, as a peer reports it.

    ``approvals`` (MSP id → approved) is filled only when one chaincode was queried by name.
    """

    name: str
    sequence: int
    version: str
    endorsement_plugin: str
    validation_plugin: str
    validation_parameter: bytes = field(repr=False)
    init_required: bool
    collection_protos: tuple[collection_pb2.CollectionConfig, ...] = field(default=(), repr=False)
    approvals: Mapping[str, bool] = field(default_factory=dict)

    @property
    def endorsement_policy(self) -> str:
        """The endorsement policy as a string (a signature policy or a channel policy path)."""
        if not self.validation_parameter:
            return DEFAULT_ENDORSEMENT_POLICY
        return format_application_policy(policy_pb2.ApplicationPolicy.FromString(self.validation_parameter))

    @property
    def collections(self) -> tuple[CollectionConfig, ...]:
        return tuple(CollectionConfig.from_proto(c) for c in self.collection_protos)

    @classmethod
    def from_proto(
        cls,
        name: str,
        result: lifecycle_pb2.QueryChaincodeDefinitionResult
        | lifecycle_pb2.QueryChaincodeDefinitionsResult.ChaincodeDefinition,
    ) -> CommittedDefinition:
        approvals = (
            dict(result.approvals) if isinstance(result, lifecycle_pb2.QueryChaincodeDefinitionResult) else {}
        )
        return cls(
            name=name,
            sequence=result.sequence,
            version=result.version,
            endorsement_plugin=result.endorsement_plugin,
            validation_plugin=result.validation_plugin,
            validation_parameter=result.validation_parameter,
            init_required=result.init_required,
            collection_protos=tuple(result.collections.config),
            approvals=approvals,
        )
