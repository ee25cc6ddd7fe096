"""Channel configuration policies, resolved into the signature rules that endorsements must satisfy.

A chaincode (or collection) endorsement policy may name a channel policy instead of stating a signature
policy, e.g. ``/Channel/Application/Endorsement`` (the default when a definition names none). In the
usual configuration that is an ImplicitMeta policy: ``MAJORITY Endorsement`` over the application
organizations, each of which defines its own ``Endorsement`` signature policy. fabrx reads the channel
configuration (``cscc GetChannelConfig``, allowed to channel readers, evaluated on the client's own
organization) and resolves a reference into a tree of :class:`MetaRule` and signature policy envelopes,
evaluated as Fabric does:

* an ImplicitMeta policy is satisfied when its threshold of sub-policies is (``ANY``: 1, ``ALL``: all,
  ``MAJORITY``: more than half; with no sub-policies, 0), each sub-policy evaluated on its own;
* a path is absolute (``/Channel/Application/Endorsement``) or relative to ``/Channel``.

Nothing here does I/O; the contracts read the configuration through the Gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from fabric_protos.common import configtx_pb2, policies_pb2
from fabric_protos.gateway import gateway_pb2

from .._protocol import new_transaction_context
from . import _messages as messages
from ._signing import SigningIdentity

CONFIG_CHAINCODE = "cscc"
CONFIG_FUNCTION = "GetChannelConfig"
_ROOT = "Channel"
# Deeper than any channel configuration (Channel → Application → organization), so a cycle cannot loop.
_MAX_DEPTH = 8
_POLICY_TYPES = {number: name for name, number in policies_pb2.Policy.PolicyType.items()}


@dataclass(frozen=True, slots=True)
class MetaRule:
    """At least ``threshold`` of ``rules`` must be satisfied, each on its own (an ImplicitMeta policy)."""

    threshold: int
    rules: tuple[Rule, ...]


Rule: TypeAlias = policies_pb2.SignaturePolicyEnvelope | MetaRule


class PolicyResolutionError(ValueError):
    """A channel policy reference that cannot be resolved into signature rules (the reason says why)."""


@dataclass(frozen=True, slots=True)
class ChannelPolicies:
    """The policies of one channel configuration; ``sequence`` is the configuration's sequence number."""

    sequence: int
    channel_group: configtx_pb2.ConfigGroup

    def resolve(self, reference: str) -> Rule:
        """The rule of the channel policy ``reference``.

        Raises:
            PolicyResolutionError: the path names no policy, or a policy of a kind fabrx cannot evaluate.
        """
        path = reference
        if path.startswith("/"):
            prefix = f"/{_ROOT}/"
            if not path.startswith(prefix):
                raise PolicyResolutionError(f"{reference} is not under /{_ROOT}")
            path = path[len(prefix) :]
        *groups, name = path.split("/")
        group = self.channel_group
        for group_name in groups:
            if group_name not in group.groups:
                raise PolicyResolutionError(
                    f"{reference}: the channel configuration has no group {group_name}"
                )
            group = group.groups[group_name]
        return _rule(group, name, reference, 0)


def _rule(group: configtx_pb2.ConfigGroup, name: str, where: str, depth: int) -> Rule:
    if depth > _MAX_DEPTH or name not in group.policies:
        raise PolicyResolutionError(f"{where}: no such policy in the channel configuration")
    policy = group.policies[name].policy
    if policy.type == policies_pb2.Policy.SIGNATURE:
        return policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
    if policy.type != policies_pb2.Policy.IMPLICIT_META:
        kind = _POLICY_TYPES.get(policy.type, str(policy.type))
        raise PolicyResolutionError(f"{where}: a policy of type {kind}, which fabrx does not evaluate")
    meta = policies_pb2.ImplicitMetaPolicy.FromString(policy.value)
    rules = tuple(
        _rule(sub_group, meta.sub_policy, f"{where} → {sub_name}/{meta.sub_policy}", depth + 1)
        for sub_name, sub_group in sorted(group.groups.items())
    )
    if meta.rule == policies_pb2.ImplicitMetaPolicy.ANY:
        threshold = 1
    elif meta.rule == policies_pb2.ImplicitMetaPolicy.ALL:
        threshold = len(rules)
    else:
        threshold = len(rules) // 2 + 1
    return MetaRule(threshold if rules else 0, rules)


def config_query(signing: SigningIdentity, channel_id: str) -> gateway_pb2.ProposedTransaction:
    """An unsigned ``cscc GetChannelConfig`` proposal, targeting the client's own organization."""
    return messages.new_proposed_transaction(
        new_transaction_context(signing.creator),
        channel_id,
        CONFIG_CHAINCODE,
        CONFIG_FUNCTION,
        [channel_id],
        transient=None,
        endorsing_organizations=[signing.identity.msp_id],
    )


def parse_config(payload: bytes) -> ChannelPolicies:
    """The policies of a ``GetChannelConfig`` result (a serialized ``common.Config``)."""
    config = configtx_pb2.Config.FromString(payload)
    return ChannelPolicies(sequence=config.sequence, channel_group=config.channel_group)
