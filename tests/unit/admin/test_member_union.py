"""A channel's application Readers and Writers kept the union of its members' as one signature policy.

Fabric evaluates ``ANY Readers`` (ImplicitMeta) member by member and verifies the signature again for
each, so fabrx creates channels with the union as one signature policy instead, and adding or removing
an organization recomputes it in the same update, under the same ``Admins`` policy.
"""

from __future__ import annotations

import pytest
from conftest import new_ca
from fabric_protos.common import configtx_pb2, policies_pb2

from fabrx.admin import (
    ChannelConfig,
    JoinRequest,
    add_organization,
    changes_of,
    compute_update,
    describe_update,
    remove_organization,
)
from fabrx.admin.configedit import member_union
from fabrx.admin.policy import format_signature_policy, parse_signature_policy
from fabrx.errors import AdminError

CHANNEL = "unionchannel"


def _policy(kind: str, rule: str) -> configtx_pb2.ConfigPolicy:
    if kind == "signature":
        policy = policies_pb2.Policy(
            type=policies_pb2.Policy.SIGNATURE, value=parse_signature_policy(rule).SerializeToString()
        )
    else:
        implicit = policies_pb2.ImplicitMetaPolicy(rule=policies_pb2.ImplicitMetaPolicy.ANY, sub_policy=rule)
        policy = policies_pb2.Policy(
            type=policies_pb2.Policy.IMPLICIT_META, value=implicit.SerializeToString()
        )
    return configtx_pb2.ConfigPolicy(mod_policy="Admins", policy=policy)


def _channel(kind: str, *members: str) -> ChannelConfig:
    majority = policies_pb2.ImplicitMetaPolicy(
        rule=policies_pb2.ImplicitMetaPolicy.MAJORITY, sub_policy="Admins"
    )
    admins = configtx_pb2.ConfigPolicy(
        mod_policy="Admins",
        policy=policies_pb2.Policy(
            type=policies_pb2.Policy.IMPLICIT_META, value=majority.SerializeToString()
        ),
    )
    application = configtx_pb2.ConfigGroup(
        mod_policy="Admins",
        policies={
            "Admins": admins,
            "Readers": _policy(kind, "OR('Placeholder.member')" if kind == "signature" else "Readers"),
            "Writers": _policy(kind, "OR('Placeholder.member')" if kind == "signature" else "Writers"),
        },
    )
    root = configtx_pb2.ConfigGroup(
        mod_policy="Admins", policies={"Admins": admins}, groups={"Application": application}
    )
    config = ChannelConfig(CHANNEL, configtx_pb2.Config(sequence=1, channel_group=root))
    for name in members:
        config = ChannelConfig(CHANNEL, add_organization(config, _request(name)))
    return config


def _request(name: str) -> JoinRequest:
    ca = new_ca(f"ca.{name}").cert_pem
    return JoinRequest(name=name, msp_id=f"{name}MSP", root_certs=(ca,), tls_root_certs=(ca,))


def _rule(config: ChannelConfig, name: str) -> str:
    entry = config.channel_group.groups["Application"].policies[name]
    if entry.policy.type != policies_pb2.Policy.SIGNATURE:
        return "ImplicitMeta"
    return format_signature_policy(policies_pb2.SignaturePolicyEnvelope.FromString(entry.policy.value))


def test_adding_and_removing_members_keeps_readers_and_writers_their_union() -> None:
    config = _channel("signature", "OrgA", "OrgB")
    assert _rule(config, "Readers") == (
        "OR('OrgAMSP.admin', 'OrgAMSP.peer', 'OrgAMSP.client', "
        "'OrgBMSP.admin', 'OrgBMSP.peer', 'OrgBMSP.client')"
    )
    assert (
        _rule(config, "Writers") == "OR('OrgAMSP.admin', 'OrgAMSP.client', 'OrgBMSP.admin', 'OrgBMSP.client')"
    )

    added = ChannelConfig(CHANNEL, add_organization(config, _request("OrgC")))
    assert _rule(added, "Writers").endswith("'OrgCMSP.admin', 'OrgCMSP.client')")
    # The same update, under the same policy a majority of the members' admins satisfies.
    changes = {(c.path, c.mod_policy_path) for c in changes_of(compute_update(config, added.copy()), config)}
    assert ("/Channel/Application/Readers", "/Channel/Application/Admins") in changes
    assert ("/Channel/Application/Writers", "/Channel/Application/Admins") in changes

    # Reviewers read what the union gains, not the whole policy again.
    assert describe_update(compute_update(config, added.copy()), config) == (
        "sets policy /Channel/Application/Readers: adds 'OrgCMSP.admin', 'OrgCMSP.peer', 'OrgCMSP.client'",
        "sets policy /Channel/Application/Writers: adds 'OrgCMSP.admin', 'OrgCMSP.client'",
        "adds organization OrgCMSP (group OrgC)",
    )

    removed = ChannelConfig(CHANNEL, remove_organization(added, "OrgAMSP"))
    assert "OrgAMSP" not in _rule(removed, "Readers") and "OrgAMSP" not in _rule(removed, "Writers")
    assert _rule(removed, "Readers").startswith("OR('OrgBMSP.admin', 'OrgBMSP.peer', 'OrgBMSP.client'")


def test_a_channel_with_implicit_meta_readers_is_left_as_it_is() -> None:
    config = _channel("implicit", "OrgA")
    added = ChannelConfig(CHANNEL, add_organization(config, _request("OrgB")))
    assert _rule(added, "Readers") == _rule(added, "Writers") == "ImplicitMeta"


def test_a_member_without_a_signature_policy_cannot_be_part_of_a_union() -> None:
    config = _channel("signature", "OrgA", "OrgB")
    changed = config.copy()
    del changed.channel_group.groups["Application"].groups["OrgB"].policies["Writers"]
    application = changed.channel_group.groups["Application"]
    with pytest.raises(AdminError, match="organization OrgB has no Writers signature policy"):
        member_union(application, "Writers")
    with pytest.raises(AdminError, match=f"channel {CHANNEL}: organization OrgB has no Writers"):
        add_organization(ChannelConfig(CHANNEL, changed), _request("OrgC"))
