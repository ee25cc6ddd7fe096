"""Config updates: the difference between a channel's configuration and a changed copy of it.

A channel's configuration changes only through a ``common.ConfigUpdate``: a *read set* naming, with
their versions, the elements the change depends on, and a *write set* holding every element it sets.
The orderer accepts it when every read-set version is still current and the signatures satisfy, for
each element the write set changes (its version goes up, or it is new), the ``mod_policy`` of that
element as the channel has it now; a group whose members are added or removed is itself changed, so
adding an organization to ``/Channel/Application`` needs that group's ``Admins`` policy (usually
``MAJORITY Admins``).

:func:`compute_update` derives the update from the original and the changed ``common.Config`` the way
Fabric's ``configtxlator compute_update`` does (the integration suite compares the two on several
changes); :func:`changes_of` lists what an update changes, :func:`describe_update` says it in words for
an admin reviewing it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fabric_protos.common import configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import msp_config_pb2
from fabric_protos.peer import configuration_pb2 as peer_configuration_pb2
from google.protobuf.message import DecodeError, Message

from ..errors import AdminError
from .channelconfig import (
    ANCHOR_PEERS_KEY,
    CONSENSUS_TYPE_KEY,
    ENDPOINTS_KEY,
    MSP_KEY,
    ORDERER,
    ORDERERS_KEY,
    ChannelConfig,
    MspDefinition,
)
from .policy import format_signature_policy

__all__ = ["ConfigChange", "changes_of", "compute_update", "describe_update"]


def compute_update(
    original: ChannelConfig | configtx_pb2.Config, updated: configtx_pb2.Config, channel_id: str | None = None
) -> configtx_pb2.ConfigUpdate:
    """The config update that turns ``original`` into ``updated``.

    Unchanged elements the change depends on go into the read set with their versions; every changed
    element goes into the write set with its version raised by one (new elements at version 0);
    a group whose members or ``mod_policy`` change is written whole, the others only as far as needed
    to reach the changed elements. ``channel_id`` defaults to the original's.

    Raises:
        AdminError: the two configurations are the same, or one has no channel group.
    """
    if isinstance(original, ChannelConfig):
        channel_id = channel_id or original.channel_id
        base = original.copy()
    else:
        base = original
    if not channel_id:
        raise AdminError("a config update needs the channel id")
    if not base.HasField("channel_group") or not updated.HasField("channel_group"):
        raise AdminError("both configurations need a channel group")
    read_set, write_set, changed = _group_update(base.channel_group, updated.channel_group)
    if not changed:
        raise AdminError(f"no differences between the configuration of {channel_id} and the changed one")
    return configtx_pb2.ConfigUpdate(channel_id=channel_id, read_set=read_set, write_set=write_set)


def _group_update(
    original: configtx_pb2.ConfigGroup, updated: configtx_pb2.ConfigGroup
) -> tuple[configtx_pb2.ConfigGroup, configtx_pb2.ConfigGroup, bool]:
    policies = _items_update(original.policies, updated.policies, _same_policy)
    values = _items_update(original.values, updated.values, _same_value)
    groups = _groups_update(original.groups, updated.groups)
    members_changed = policies.members_changed or values.members_changed or groups.members_changed
    if not members_changed and original.mod_policy == updated.mod_policy:
        if not (policies.written or values.written or groups.written or groups.read):
            return (
                configtx_pb2.ConfigGroup(version=original.version),
                configtx_pb2.ConfigGroup(version=original.version),
                False,
            )
        # Only descendants change: this group is read and written at its own version, naming the path.
        read = configtx_pb2.ConfigGroup(version=original.version)
        write = configtx_pb2.ConfigGroup(version=original.version)
        _fill(read, {}, {}, groups.read)
        _fill(write, policies.written, values.written, groups.written)
        return read, write, True
    # Members added or removed, or the group's mod_policy changed: the group is written whole, its
    # unchanged members at their versions, and its version goes up.
    read = configtx_pb2.ConfigGroup(version=original.version)
    write = configtx_pb2.ConfigGroup(version=original.version + 1, mod_policy=updated.mod_policy)
    _fill(read, policies.same, values.same, {**groups.read, **groups.same})
    _fill(
        write,
        {**policies.same, **policies.written},
        {**values.same, **values.written},
        {**groups.same, **groups.written},
    )
    return read, write, True


@dataclass
class _ItemsDelta:
    same: dict[str, Message]
    written: dict[str, Message]
    members_changed: bool


@dataclass
class _GroupsDelta:
    same: dict[str, configtx_pb2.ConfigGroup]
    read: dict[str, configtx_pb2.ConfigGroup]
    written: dict[str, configtx_pb2.ConfigGroup]
    members_changed: bool


def _same_policy(a: configtx_pb2.ConfigPolicy, b: configtx_pb2.ConfigPolicy) -> bool:
    return a.mod_policy == b.mod_policy and a.policy == b.policy


def _same_value(a: configtx_pb2.ConfigValue, b: configtx_pb2.ConfigValue) -> bool:
    return a.mod_policy == b.mod_policy and a.value == b.value


def _items_update(
    original: Mapping[str, Any], updated: Mapping[str, Any], is_same: Callable[[Any, Any], bool]
) -> _ItemsDelta:
    delta = _ItemsDelta(same={}, written={}, members_changed=False)
    for name, before in original.items():
        after = updated.get(name)
        if after is None:
            delta.members_changed = True
        elif is_same(before, after):
            delta.same[name] = type(before)(version=before.version)
        else:
            delta.written[name] = _copy_item(after, before.version + 1)
    for name, after in updated.items():
        if name not in original:
            delta.members_changed = True
            delta.written[name] = _copy_item(after, 0)
    return delta


def _copy_item(item: Message, version: int) -> Message:
    copy = type(item)()
    copy.CopyFrom(item)
    copy.version = version  # type: ignore[attr-defined]
    return copy


def _groups_update(
    original: Mapping[str, configtx_pb2.ConfigGroup], updated: Mapping[str, configtx_pb2.ConfigGroup]
) -> _GroupsDelta:
    delta = _GroupsDelta(same={}, read={}, written={}, members_changed=False)
    for name, before in original.items():
        after = updated.get(name)
        if after is None:
            delta.members_changed = True
            continue
        read, write, changed = _group_update(before, after)
        if changed:
            delta.read[name] = read
            delta.written[name] = write
        else:
            delta.same[name] = read
    for name, after in updated.items():
        if name in original:
            continue
        delta.members_changed = True
        _, write, _ = _group_update(configtx_pb2.ConfigGroup(), after)
        write.version = 0
        write.mod_policy = after.mod_policy
        delta.written[name] = write
    return delta


def _fill(
    group: configtx_pb2.ConfigGroup,
    policies: Mapping[str, Message],
    values: Mapping[str, Message],
    groups: Mapping[str, configtx_pb2.ConfigGroup],
) -> None:
    for name, policy in policies.items():
        group.policies[name].CopyFrom(policy)
    for name, value in values.items():
        group.values[name].CopyFrom(value)
    for name, child in groups.items():
        group.groups[name].CopyFrom(child)


# --- what an update changes ------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigChange:
    """One element an update changes.

    ``path`` is the element's path (``/Channel/Application/HospitalC`` for a group,
    ``/Channel/Application/HospitalA/AnchorPeers`` for a value or policy); ``kind`` is ``group``,
    ``value`` or ``policy``; ``action`` is ``add``, ``modify`` or ``remove``; ``mod_policy_path`` is the
    absolute path of the policy that must be satisfied (empty for an added element, which is governed
    by its parent group's change).
    """

    path: str
    kind: str
    action: str
    mod_policy_path: str


def changes_of(update: configtx_pb2.ConfigUpdate, current: ChannelConfig) -> tuple[ConfigChange, ...]:
    """Every element ``update`` adds, modifies or removes relative to ``current``, parents first.

    Raises:
        AdminError: the update is for another channel, or is stale: an element it reads or writes has
            another version in ``current`` (the channel changed since the update was made).
    """
    if update.channel_id != current.channel_id:
        raise AdminError(
            f"the update is for channel {update.channel_id!r}, the configuration is of {current.channel_id!r}"
        )
    changes: list[ConfigChange] = []
    _check_read_set(update.read_set, current.channel_group, "/Channel")
    _group_changes(update.write_set, update.read_set, current.channel_group, "/Channel", changes)
    return tuple(changes)


def _stale(path: str, wanted: int, actual: int) -> AdminError:
    return AdminError(
        f"the update is stale: it expects {path} at version {wanted}, the channel has version {actual}; "
        "create it again from the current configuration"
    )


def _check_read_set(read: configtx_pb2.ConfigGroup, current: configtx_pb2.ConfigGroup, path: str) -> None:
    if read.version != current.version:
        raise _stale(path, read.version, current.version)
    for kind, read_items, current_items in (
        ("policy", read.policies, current.policies),
        ("value", read.values, current.values),
    ):
        for name, item in read_items.items():
            if name not in current_items:
                raise AdminError(f"the update reads {kind} {path}/{name}, which the channel does not have")
            if item.version != current_items[name].version:
                raise _stale(f"{path}/{name}", item.version, current_items[name].version)
    for name, child in read.groups.items():
        if name not in current.groups:
            raise AdminError(f"the update reads group {path}/{name}, which the channel does not have")
        _check_read_set(child, current.groups[name], f"{path}/{name}")


def _policy_path(mod_policy: str, group_path: str) -> str:
    if not mod_policy:
        return ""
    return mod_policy if mod_policy.startswith("/") else f"{group_path}/{mod_policy}"


def _group_changes(
    write: configtx_pb2.ConfigGroup,
    read: configtx_pb2.ConfigGroup | None,
    current: configtx_pb2.ConfigGroup,
    path: str,
    changes: list[ConfigChange],
) -> None:
    # As the orderer computes it: an element is changed when it is written at another version than
    # the read set holds for it (or is written without being read); a changed element must be exactly
    # one version past the channel's.
    modified = read is None or read.version != write.version
    if modified:
        if write.version != current.version + 1:
            raise _stale(path, write.version - 1, current.version)
        # A group's relative mod_policy names one of its own policies.
        changes.append(ConfigChange(path, "group", "modify", _policy_path(current.mod_policy, path)))
        for kind, written, existing in (
            ("policy", write.policies, current.policies),
            ("value", write.values, current.values),
            ("group", write.groups, current.groups),
        ):
            for name in sorted(set(existing) - set(written)):
                changes.append(ConfigChange(f"{path}/{name}", kind, "remove", ""))
    for kind, written, was_read, existing in (
        ("policy", write.policies, read.policies if read else None, current.policies),
        ("value", write.values, read.values if read else None, current.values),
    ):
        for name, item in sorted(written.items()):
            read_item = was_read.get(name) if was_read is not None else None
            if read_item is not None and read_item.version == item.version:
                continue
            before = existing.get(name)
            if before is None:
                if item.version != 0 or not modified:
                    raise AdminError(
                        f"the update adds {kind} {path}/{name} at version {item.version} "
                        f"without a new version of {path}: it is malformed"
                    )
                changes.append(ConfigChange(f"{path}/{name}", kind, "add", ""))
                continue
            if item.version != before.version + 1:
                raise _stale(f"{path}/{name}", item.version - 1, before.version)
            # A value's or policy's relative mod_policy names a policy of the group holding it.
            changes.append(
                ConfigChange(f"{path}/{name}", kind, "modify", _policy_path(before.mod_policy, path))
            )
    for name, child in sorted(write.groups.items()):
        if name in current.groups:
            child_read = read.groups.get(name) if read is not None else None
            _group_changes(child, child_read, current.groups[name], f"{path}/{name}", changes)
        else:
            if child.version != 0 or not modified:
                raise AdminError(
                    f"the update adds group {path}/{name} at version {child.version} "
                    f"without a new version of {path}: it is malformed"
                )
            changes.append(ConfigChange(f"{path}/{name}", "group", "add", ""))


def describe_update(update: configtx_pb2.ConfigUpdate, current: ChannelConfig) -> tuple[str, ...]:
    """What ``update`` does to ``current``, one sentence per change, for an admin reviewing it.

    For example ``adds organization HospitalCMSP (group HospitalC) with anchor peer 127.0.0.1:7101``,
    ``sets the anchor peers of HospitalAMSP to 127.0.0.1:7086 (were: none)``, ``removes organization
    DistributorBMSP``, ``adds a CRL to the MSP of HospitalAMSP revoking serial 1f3a...``. Changes
    without a dedicated sentence are named by path.

    Raises:
        AdminError: as :func:`changes_of`.
    """
    lines: list[str] = []
    for change in changes_of(update, current):
        line = _describe(change, update.write_set, current)
        if line:
            lines.append(line)
    return tuple(lines)


def _find(group: configtx_pb2.ConfigGroup, path: str) -> configtx_pb2.ConfigGroup | None:
    for name in path.split("/")[2:]:
        if name not in group.groups:
            return None
        group = group.groups[name]
    return group


def _org_msp_id(group: configtx_pb2.ConfigGroup | None, fallback: str) -> str:
    if group is None or MSP_KEY not in group.values:
        return fallback
    try:
        return MspDefinition.from_proto(
            msp_config_pb2.MSPConfig.FromString(group.values[MSP_KEY].value)
        ).msp_id
    except DecodeError:
        return fallback


def _anchor_peers(value: configtx_pb2.ConfigValue | None) -> str:
    if value is None:
        return "none"
    peers = peer_configuration_pb2.AnchorPeers.FromString(value.value).anchor_peers
    return ", ".join(f"{a.host}:{a.port}" for a in peers) or "none"


def _describe(change: ConfigChange, write_set: configtx_pb2.ConfigGroup, current: ChannelConfig) -> str:
    parts = change.path.split("/")
    section = parts[2] if len(parts) > 2 else ""
    current_root = current.channel_group
    # An organization group: /Channel/<Application|Orderer>/<org>.
    if change.kind == "group" and len(parts) == 4 and section in ("Application", "Orderer"):
        label = "organization" if section == "Application" else "orderer organization"
        if change.action == "add":
            group = _find(write_set, change.path)
            msp_id = _org_msp_id(group, parts[3])
            anchors = ""
            if group is not None and ANCHOR_PEERS_KEY in group.values:
                anchors = f" with anchor peers {_anchor_peers(group.values[ANCHOR_PEERS_KEY])}"
            return f"adds {label} {msp_id} (group {parts[3]}){anchors}"
        if change.action == "remove":
            msp_id = _org_msp_id(_find(current_root, change.path), parts[3])
            return f"removes {label} {msp_id} (group {parts[3]})"
    if change.kind == "group" and change.action == "modify" and len(parts) <= 4:
        # Membership changes of Channel, Application, Orderer or an organization are described by
        # their members; the group's own version change needs no sentence.
        return ""
    if change.kind == "group" and change.action == "add":
        return f"adds group {change.path}"
    if change.kind == "group":
        return f"{change.action}s group {change.path}"
    owner_path = "/".join(parts[:-1])
    owner_msp = _org_msp_id(_find(current_root, owner_path) or _find(write_set, owner_path), parts[-2])
    name = parts[-1]
    if change.kind == "value" and name == ANCHOR_PEERS_KEY and len(parts) == 5:
        before = _find(current_root, owner_path)
        after = _find(write_set, owner_path)
        old = _anchor_peers(before.values.get(ANCHOR_PEERS_KEY) if before else None)
        if change.action == "remove":
            return f"removes the anchor peers of {owner_msp} (were: {old})"
        new = _anchor_peers(after.values.get(ANCHOR_PEERS_KEY) if after else None)
        return f"sets the anchor peers of {owner_msp} to {new} (were: {old})"
    if change.kind == "value" and name in (CONSENSUS_TYPE_KEY, ORDERERS_KEY) and change.action == "modify":
        return _describe_consensus_change(name, write_set, current)
    if change.kind == "value" and name == ENDPOINTS_KEY and change.action == "modify":
        before = _find(current_root, owner_path)
        after = _find(write_set, owner_path)
        return (
            f"sets the orderer endpoints of {owner_msp} to {_addresses(after)} (were: {_addresses(before)})"
        )
    if change.kind == "value" and name == MSP_KEY and change.action == "modify":
        return _describe_msp_change(owner_msp, owner_path, write_set, current)
    if change.kind == "policy" and change.path == f"/Channel/{ORDERER}/BlockValidation":
        group = _find(write_set, owner_path)
        quorum = (
            _quorum(group.policies[name].policy) if group is not None and name in group.policies else None
        )
        if change.action == "modify" and quorum is not None:
            return "sets the block validation policy to the signatures of {} of the {} consenters".format(
                *quorum
            )
    if change.kind == "policy" and change.action != "remove":
        group = _find(write_set, owner_path)
        if change.action == "modify" and group is not None:
            before = _find(current_root, owner_path)
            if before is not None and name in before.policies:
                widened = _principal_changes(before.policies[name].policy, group.policies[name].policy)
                if widened:
                    return f"sets policy {change.path}: {widened}"
        rule = _policy_text(group.policies[name].policy) if group is not None else ""
        return f"{'adds' if change.action == 'add' else 'sets'} policy {change.path} to {rule}"
    return f"{change.action}s {change.kind} {change.path}"


def _describe_msp_change(
    msp_id: str, owner_path: str, write_set: configtx_pb2.ConfigGroup, current: ChannelConfig
) -> str:
    before = current.msp(msp_id)
    group = _find(write_set, owner_path)
    if before is None or group is None:
        return f"changes the MSP definition of {msp_id}"
    after = MspDefinition.from_proto(msp_config_pb2.MSPConfig.FromString(group.values[MSP_KEY].value))
    sentences = []
    added = after.revoked_serials() - before.revoked_serials()
    if added:
        serials = ", ".join(f"{s:x}" for s in sorted(added))
        sentences.append(f"updates the CRL of {msp_id}, revoking certificate serial(s) {serials}")
    elif after.revocation_list != before.revocation_list:
        sentences.append(f"changes the CRLs of {msp_id} (no certificate newly revoked)")
    rest_before = _without_crls(before)
    rest_after = _without_crls(after)
    if rest_before != rest_after:
        sentences.append(f"changes the MSP definition of {msp_id} (certificates or node OUs)")
    return "; ".join(sentences) or f"rewrites the MSP definition of {msp_id} without changing it"


def _addresses(group: configtx_pb2.ConfigGroup | None) -> str:
    if group is None or ENDPOINTS_KEY not in group.values:
        return "none"
    addresses = configuration_pb2.OrdererAddresses.FromString(group.values[ENDPOINTS_KEY].value).addresses
    return ", ".join(addresses) or "none"


def _describe_consensus_change(key: str, write_set: configtx_pb2.ConfigGroup, current: ChannelConfig) -> str:
    # Raft consenters live in the ConsensusType metadata, BFT consenters in the Orderers value.
    orderer = write_set.groups.get(ORDERER)
    if orderer is None or key not in orderer.values:
        return "changes the consensus settings"
    proposed = current.copy()
    proposed.channel_group.groups[ORDERER].values[key].CopyFrom(orderer.values[key])
    before = {str(c) for c in current.consenters}
    after = {str(c) for c in ChannelConfig(current.channel_id, proposed).consenters}
    sentences = [f"removes consenter {c}" for c in sorted(before - after)]
    sentences += [f"adds consenter {c}" for c in sorted(after - before)]
    return "; ".join(sentences) or "changes the consensus settings (consenters unchanged)"


def _quorum(policy: policies_pb2.Policy) -> tuple[int, int] | None:
    """(n, of) of a signature policy that is n of ``of`` single identities (a BFT block validation
    policy); else ``None``."""
    if policy.type != policies_pb2.Policy.SIGNATURE:
        return None
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
    rule = envelope.rule
    if rule.WhichOneof("Type") != "n_out_of":
        return None
    if any(r.WhichOneof("Type") != "signed_by" for r in rule.n_out_of.rules):
        return None
    return rule.n_out_of.n, len(rule.n_out_of.rules)


def _without_crls(msp: MspDefinition) -> tuple[object, ...]:
    return (msp.msp_id, msp.root_certs, msp.intermediate_certs, msp.tls_root_certs, msp.admins, msp.node_ous)


def _or_principals(policy: policies_pb2.Policy) -> list[str] | None:
    """The principals of a signature policy that is one OR of principals, in order; else ``None``."""
    if policy.type != policies_pb2.Policy.SIGNATURE:
        return None
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
    rule = envelope.rule
    if rule.WhichOneof("Type") != "n_out_of" or rule.n_out_of.n != 1:
        return None
    if any(r.WhichOneof("Type") != "signed_by" for r in rule.n_out_of.rules):
        return None
    single = policies_pb2.SignaturePolicyEnvelope(identities=envelope.identities)
    principals = []
    for r in rule.n_out_of.rules:
        single.rule.CopyFrom(r)
        principals.append(format_signature_policy(single))
    return principals


def _principal_changes(before: policies_pb2.Policy, after: policies_pb2.Policy) -> str:
    """``adds 'X.admin', ...; removes ...`` between two ORs of principals (such as the union of the
    members' Readers a membership change recomputes); ``""`` if either is not such an OR."""
    old, new = _or_principals(before), _or_principals(after)
    if old is None or new is None:
        return ""
    added = [p for p in new if p not in old]
    removed = [p for p in old if p not in new]
    parts = [f"adds {', '.join(added)}"] if added else []
    parts += [f"removes {', '.join(removed)}"] if removed else []
    return "; ".join(parts)


def _policy_text(policy: policies_pb2.Policy) -> str:
    if policy.type == policies_pb2.Policy.IMPLICIT_META:
        meta = policies_pb2.ImplicitMetaPolicy.FromString(policy.value)
        return f"{policies_pb2.ImplicitMetaPolicy.Rule.Name(meta.rule)} {meta.sub_policy}"
    if policy.type == policies_pb2.Policy.SIGNATURE:
        return format_signature_policy(policies_pb2.SignaturePolicyEnvelope.FromString(policy.value))
    return f"a policy of type {policy.type}"
