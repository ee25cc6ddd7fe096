"""Endorsing organizations for private data, read from the chaincode definition on the ledger.

Fabric's Gateway derives endorsers from the chaincode's endorsement policy; for a transaction that writes
a private data collection it can only restrict them to the collection's members, and fails with "no
combination of peers can be derived" when the members alone cannot satisfy the policy (fabric#3328).
The official clients leave the caller to name the endorsing organizations by hand. fabrx works them out
from the committed chaincode definition (``_lifecycle QueryChaincodeDefinition``, evaluated through the
Gateway on the client's own organization) and, when a policy is a channel policy reference such as the
default ``/Channel/Application/Endorsement``, from the channel configuration (see ``_channelpolicy``);
it caches the answer per (channel, chaincode, definition sequence, configuration sequence).

Selection rule, for a transaction on ``collections``: the smallest set of organizations, one endorsement
each, such that

* the chaincode endorsement policy is satisfied (public writes, and collections without a policy of
  their own, are validated against it);
* every named collection with an ``endorsement_policy`` has that policy satisfied;
* every named collection without one has at least one member organization among the endorsers, so a
  peer that holds the collection's data simulates the transaction.

An implicit per-organization collection (``_implicit_org_<MSP>``) needs no definition: its only member
is that organization, and Fabric validates writes to it with the organization's own ``Endorsement``
policy, which fabrx networks (and Fabric's samples) define as one of its peers.

Ties go to the client's own organization first (its transient data stays in its own peer when possible),
then to collection members, then to MSP ids in alphabetical order. Everything here is pure except
:class:`EndorserCache`, which only keeps results; the sync and asyncio contracts do the ledger read.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from fabric_protos.common import policies_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import policy_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from .._protocol import new_transaction_context
from ..admin.definition import DEFAULT_ENDORSEMENT_POLICY, CommittedDefinition
from ..admin.peer import LIFECYCLE
from ..admin.policy import parse_signature_policy
from ..errors import ConnectionFailure, EndorseError, GatewayError
from . import _messages as messages
from ._channelpolicy import ChannelPolicies, MetaRule, PolicyResolutionError, Rule
from ._signing import SigningIdentity

QUERY_DEFINITION = "QueryChaincodeDefinition"
DEFAULT_MAX_AGE = 60.0
# Roles an endorsement signed by a peer of the organization satisfies.
_PEER_ROLES = frozenset({msp_principal_pb2.MSPRole.PEER, msp_principal_pb2.MSPRole.MEMBER})
# More candidate organizations than this would make the exhaustive search slow; no consortium has them.
_MAX_CANDIDATES = 20

T = TypeVar("T")


IMPLICIT_COLLECTION_PREFIX = "_implicit_org_"


def implicit_collection_owner(collection: str) -> str | None:
    """The MSP id whose implicit collection ``collection`` is (``_implicit_org_<MSP>``), else ``None``."""
    if collection.startswith(IMPLICIT_COLLECTION_PREFIX) and len(collection) > len(
        IMPLICIT_COLLECTION_PREFIX
    ):
        return collection[len(IMPLICIT_COLLECTION_PREFIX) :]
    return None


def definition_query(
    signing: SigningIdentity, channel_id: str, chaincode_name: str
) -> gateway_pb2.ProposedTransaction:
    """An unsigned ``_lifecycle QueryChaincodeDefinition`` proposal for ``chaincode_name``.

    It targets the client's own organization: the definition decides who endorses, so it is read from
    a peer the client trusts.
    """
    args = lifecycle_pb2.QueryChaincodeDefinitionArgs(name=chaincode_name).SerializeToString()
    return messages.new_proposed_transaction(
        new_transaction_context(signing.creator),
        channel_id,
        LIFECYCLE,
        QUERY_DEFINITION,
        [args],
        transient=None,
        endorsing_organizations=[signing.identity.msp_id],
    )


def parse_definition(chaincode_name: str, payload: bytes) -> CommittedDefinition:
    """The committed definition from a ``QueryChaincodeDefinition`` result."""
    result = lifecycle_pb2.QueryChaincodeDefinitionResult.FromString(payload)
    return CommittedDefinition.from_proto(chaincode_name, result)


def definition_unreadable(channel_id: str, chaincode_name: str, error: GatewayError) -> GatewayError:
    """The error to raise when the definition cannot be read (a ``ConnectionFailure`` stays one)."""
    if isinstance(error, ConnectionFailure):
        return error
    return EndorseError(
        f"cannot choose endorsing organizations for {chaincode_name} on channel {channel_id}: reading its "
        f"chaincode definition failed ({error.code}); check that the chaincode is committed, or pass "
        "endorsing_organizations=[...] explicitly",
        code=error.code,
        details=error.details,
    )


def config_unreadable(channel_id: str, error: GatewayError) -> GatewayError:
    """The error to raise when the channel configuration is unreadable (a ``ConnectionFailure`` stays one)."""
    if isinstance(error, ConnectionFailure):
        return error
    return EndorseError(
        f"cannot choose endorsing organizations on channel {channel_id}: an endorsement policy is a channel "
        f"policy and reading the channel configuration (cscc GetChannelConfig) failed ({error.code}); pass "
        "endorsing_organizations=[...] explicitly",
        code=error.code,
        details=error.details,
    )


@dataclass(frozen=True, slots=True)
class _Requirement:
    """One policy the endorsers must satisfy, with what to call it in an error message."""

    what: str
    rule: Rule


def _reference(policy: policy_pb2.ApplicationPolicy) -> str | None:
    """The channel policy ``policy`` refers to (an empty policy means the channel default), else ``None``."""
    if policy.WhichOneof("Type") == "signature_policy":
        return None
    return policy.channel_config_policy_reference or DEFAULT_ENDORSEMENT_POLICY


def needs_channel_policies(definition: CommittedDefinition, collections: Sequence[str]) -> bool:
    """Whether choosing endorsers for ``collections`` needs the channel configuration's policies."""
    if _reference(policy_pb2.ApplicationPolicy.FromString(definition.validation_parameter)) is not None:
        return True
    named = set(collections)
    return any(
        c.static_collection_config.name in named
        and c.static_collection_config.HasField("endorsement_policy")
        and _reference(c.static_collection_config.endorsement_policy) is not None
        for c in definition.collection_protos
    )


def _policy_rule(
    policy: policy_pb2.ApplicationPolicy,
    what: str,
    channel_id: str,
    chaincode_name: str,
    channel_policies: ChannelPolicies | None,
) -> Rule:
    reference = _reference(policy)
    if reference is None:
        return policy.signature_policy
    reason = "the channel configuration was not read"
    if channel_policies is not None:
        try:
            return channel_policies.resolve(reference)
        except PolicyResolutionError as exc:
            reason = str(exc)
    raise EndorseError(
        f"cannot choose endorsing organizations for {chaincode_name} on channel {channel_id}: {what} is "
        f"the channel policy {reference}, which fabrx cannot evaluate ({reason}); pass "
        "endorsing_organizations=[...]",
        code="FAILED_PRECONDITION",
    )


def rule_satisfied(rule: Rule, msp_ids: Sequence[str]) -> bool:
    """Whether one peer endorsement from each of ``msp_ids`` satisfies ``rule``.

    The sub-rules of an ImplicitMeta rule are evaluated independently, as Fabric does.
    """
    if isinstance(rule, MetaRule):
        return sum(rule_satisfied(sub_rule, msp_ids) for sub_rule in rule.rules) >= rule.threshold
    return satisfied_by(rule, msp_ids)


def _rule_msp_ids(rule: Rule) -> list[str]:
    if isinstance(rule, MetaRule):
        return [msp_id for sub_rule in rule.rules for msp_id in _rule_msp_ids(sub_rule)]
    return _principal_msp_ids(rule)


def _principal_msp_ids(envelope: policies_pb2.SignaturePolicyEnvelope) -> list[str]:
    msp_ids = []
    for principal in envelope.identities:
        if principal.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE:
            msp_ids.append(msp_principal_pb2.MSPRole.FromString(principal.principal).msp_identifier)
    return msp_ids


def satisfied_by(envelope: policies_pb2.SignaturePolicyEnvelope, msp_ids: Iterable[str]) -> bool:
    """Whether one peer endorsement from each of ``msp_ids`` satisfies the signature policy.

    As in Fabric, one endorsement counts for one principal only; a peer satisfies ``.peer`` and
    ``.member`` principals of its organization, never ``.admin`` or ``.client``.
    """
    roles: list[tuple[str, int] | None] = []
    for principal in envelope.identities:
        if principal.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
            roles.append(None)
            continue
        role = msp_principal_pb2.MSPRole.FromString(principal.principal)
        roles.append((role.msp_identifier, role.role))
    endorsers = list(msp_ids)
    used = [False] * len(endorsers)

    def holds(rule: policies_pb2.SignaturePolicy) -> bool:
        if rule.WhichOneof("Type") == "signed_by":
            role = roles[rule.signed_by] if rule.signed_by < len(roles) else None
            if role is None or role[1] not in _PEER_ROLES:
                return False
            for index, msp_id in enumerate(endorsers):
                if not used[index] and msp_id == role[0]:
                    used[index] = True
                    return True
            return False
        # Like Fabric's evaluator: each satisfied sub-rule keeps the endorsements it consumed.
        satisfied = 0
        for sub_rule in rule.n_out_of.rules:
            snapshot = list(used)
            if holds(sub_rule):
                satisfied += 1
            else:
                used[:] = snapshot
        return satisfied >= rule.n_out_of.n

    return holds(envelope.rule)


def select_endorsers(
    definition: CommittedDefinition,
    collections: Sequence[str],
    *,
    own_msp_id: str,
    channel_id: str,
    channel_policies: ChannelPolicies | None = None,
) -> tuple[str, ...]:
    """The endorsing organizations for a transaction on ``collections`` (see the module docstring).

    ``channel_policies`` resolves policies given as channel policy references; it is needed when
    :func:`needs_channel_policies` says so.

    Raises:
        EndorseError: a collection is not in the definition, a channel policy reference cannot be
            resolved (no ``channel_policies``, an unknown path or a policy type other than signature
            and ImplicitMeta), or no set of organizations satisfies every policy.
    """
    name = definition.name
    chaincode_policy = policy_pb2.ApplicationPolicy.FromString(definition.validation_parameter)
    what = "the chaincode endorsement policy"
    requirements = [
        _Requirement(what, _policy_rule(chaincode_policy, what, channel_id, name, channel_policies))
    ]
    by_name = {
        c.static_collection_config.name: c.static_collection_config for c in definition.collection_protos
    }
    member_sets: list[tuple[str, frozenset[str]]] = []
    for collection in dict.fromkeys(collections):
        owner = implicit_collection_owner(collection)
        if owner is not None:
            what = f"the endorsement policy of {collection} (a peer of {owner})"
            own_peer = policy_pb2.ApplicationPolicy(
                signature_policy=parse_signature_policy(f"OR('{owner}.peer')")
            )
            requirements.append(
                _Requirement(what, _policy_rule(own_peer, what, channel_id, name, channel_policies))
            )
            continue
        static = by_name.get(collection)
        if static is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise EndorseError(
                f"chaincode {name} on channel {channel_id} has no private data collection {collection!r} "
                f"(its collections: {known})",
                code="FAILED_PRECONDITION",
            )
        members = frozenset(_principal_msp_ids(static.member_orgs_policy.signature_policy))
        if static.HasField("endorsement_policy"):
            what = f"the endorsement policy of collection {collection}"
            rule = _policy_rule(static.endorsement_policy, what, channel_id, name, channel_policies)
            requirements.append(_Requirement(what, rule))
        else:
            member_sets.append((collection, members))

    def acceptable(orgs: tuple[str, ...]) -> bool:
        return all(rule_satisfied(r.rule, orgs) for r in requirements) and all(
            members.intersection(orgs) for _, members in member_sets
        )

    candidates = _candidates(requirements, member_sets, own_msp_id)
    for size in range(1, len(candidates) + 1):
        for orgs in itertools.combinations(candidates, size):
            if acceptable(orgs):
                return orgs
    raise EndorseError(
        f"no set of organizations can endorse {name} on channel {channel_id} for collections "
        f"{list(collections)}: "
        + "; ".join([r.what for r in requirements] + [f"a member of {c}" for c, _ in member_sets])
        + " cannot all be satisfied",
        code="FAILED_PRECONDITION",
    )


def _candidates(
    requirements: Sequence[_Requirement],
    member_sets: Sequence[tuple[str, frozenset[str]]],
    own_msp_id: str,
) -> list[str]:
    named: set[str] = set()
    for requirement in requirements:
        named.update(_rule_msp_ids(requirement.rule))
    members = set().union(*(m for _, m in member_sets)) if member_sets else set()
    named |= members
    ordered = sorted(named, key=lambda msp_id: (msp_id != own_msp_id, msp_id not in members, msp_id))
    return ordered[:_MAX_CANDIDATES]


def collection_readers(
    definition: CommittedDefinition, collections: Sequence[str], *, own_msp_id: str, channel_id: str
) -> tuple[str, ...]:
    """The organizations that are members of every named collection, own organization first.

    An evaluation that reads private data must run on a peer of one of them.

    Raises:
        EndorseError: a collection is not in the definition, or no organization is in all of them.
    """
    by_name = {
        c.static_collection_config.name: c.static_collection_config for c in definition.collection_protos
    }
    common: set[str] | None = None
    for collection in collections:
        owner = implicit_collection_owner(collection)
        if owner is not None:
            common = {owner} if common is None else common & {owner}
            continue
        static = by_name.get(collection)
        if static is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise EndorseError(
                f"chaincode {definition.name} on channel {channel_id} has no private data collection "
                f"{collection!r} (its collections: {known})",
                code="FAILED_PRECONDITION",
            )
        members = set(_principal_msp_ids(static.member_orgs_policy.signature_policy))
        common = members if common is None else common & members
    if not common:
        raise EndorseError(
            f"no organization is a member of every collection {list(collections)} of {definition.name} "
            f"on channel {channel_id}, so no peer can read them together",
            code="FAILED_PRECONDITION",
        )
    return tuple(sorted(common, key=lambda msp_id: (msp_id != own_msp_id, msp_id)))


class EndorserCache:
    """Committed chaincode definitions, channel policies and the endorser sets chosen from them. Thread-safe.

    A definition (or a channel's policies) is read again after ``max_age`` seconds or after
    :meth:`invalidate` (fabrx calls it when a transaction planned from the cache fails endorsement or
    validation), so an upgraded definition (a new sequence) or a channel configuration update is
    picked up; endorser sets are kept per (channel, chaincode, definition sequence, configuration
    sequence).
    """

    def __init__(
        self, *, max_age: float = DEFAULT_MAX_AGE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._definitions: dict[tuple[str, str], tuple[CommittedDefinition, float]] = {}
        self._channel_policies: dict[str, tuple[ChannelPolicies, float]] = {}
        self._plans: dict[tuple[str, str, int, int, str, tuple[str, ...]], tuple[str, ...]] = {}

    def definition(self, channel_id: str, chaincode_name: str) -> CommittedDefinition | None:
        """The cached definition, or ``None`` when it is missing or older than ``max_age``."""
        with self._lock:
            entry = self._definitions.get((channel_id, chaincode_name))
        return self._fresh(entry)

    def store(self, channel_id: str, definition: CommittedDefinition) -> None:
        with self._lock:
            self._definitions[(channel_id, definition.name)] = (definition, self._clock())

    def channel_policies(self, channel_id: str) -> ChannelPolicies | None:
        """The cached policies of ``channel_id``, or ``None`` when missing or older than ``max_age``."""
        with self._lock:
            entry = self._channel_policies.get(channel_id)
        return self._fresh(entry)

    def store_channel_policies(self, channel_id: str, policies: ChannelPolicies) -> None:
        with self._lock:
            self._channel_policies[channel_id] = (policies, self._clock())

    def _fresh(self, entry: tuple[T, float] | None) -> T | None:
        if entry is None or self._clock() - entry[1] > self._max_age:
            return None
        return entry[0]

    def invalidate(self, channel_id: str, chaincode_name: str) -> None:
        """Forget the definition of ``chaincode_name`` and the channel's policies: read them again."""
        with self._lock:
            self._definitions.pop((channel_id, chaincode_name), None)
            self._channel_policies.pop(channel_id, None)

    def plan(
        self,
        channel_id: str,
        definition: CommittedDefinition,
        kind: str,
        collections: Sequence[str],
        choose: Callable[[], tuple[str, ...]],
        *,
        channel_policies: ChannelPolicies | None = None,
    ) -> tuple[str, ...]:
        """The cached ``kind`` ("endorse"/"evaluate") plan for ``collections``, made once by ``choose``."""
        config_sequence = -1 if channel_policies is None else channel_policies.sequence
        key = (
            channel_id,
            definition.name,
            definition.sequence,
            config_sequence,
            kind,
            tuple(sorted(set(collections))),
        )
        with self._lock:
            found = self._plans.get(key)
        if found is None:
            found = choose()
            with self._lock:
                self._plans[key] = found
        return found
