from __future__ import annotations

import dataclasses

import pytest
from fabric_protos.peer import collection_pb2, policy_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from fabrx.admin import (
    ChaincodeDefinition,
    CollectionConfig,
    CommittedDefinition,
    PolicySyntaxError,
    parse_signature_policy,
)

COLLECTION = CollectionConfig(
    name="prices",
    policy="OR('Org1MSP.member', 'Org2MSP.member')",
    required_peer_count=1,
    max_peer_count=2,
    block_to_live=10,
    member_only_read=True,
    member_only_write=True,
    endorsement_policy="OR('Org1MSP.peer')",
)
DEFINITION = ChaincodeDefinition(
    name="pharma",
    version="1.2",
    sequence=3,
    endorsement_policy="AND('Org1MSP.peer', 'Org2MSP.peer')",
    collections=(COLLECTION,),
    package_id="pharma_1.2:abc",
)


def test_signature_policy_becomes_application_policy_validation_parameter() -> None:
    policy = policy_pb2.ApplicationPolicy.FromString(DEFINITION.validation_parameter)
    assert policy.signature_policy == parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")


def test_slash_policy_is_a_channel_config_reference() -> None:
    definition = dataclasses.replace(DEFINITION, endorsement_policy="/Channel/Application/Writers")
    policy = policy_pb2.ApplicationPolicy.FromString(definition.validation_parameter)
    assert policy.channel_config_policy_reference == "/Channel/Application/Writers"


def test_no_policy_leaves_validation_parameter_empty_for_channel_default() -> None:
    assert dataclasses.replace(DEFINITION, endorsement_policy=None).validation_parameter == b""


def test_approve_args_carry_definition_collections_and_package() -> None:
    args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(
        DEFINITION.approve_args().SerializeToString()
    )
    assert (args.name, args.version, args.sequence) == ("pharma", "1.2", 3)
    assert (args.endorsement_plugin, args.validation_plugin, args.init_required) == ("escc", "vscc", False)
    assert args.validation_parameter == DEFINITION.validation_parameter
    assert args.source.local_package.package_id == "pharma_1.2:abc"
    (config,) = args.collections.config
    static = config.static_collection_config
    assert static.name == "prices"
    assert static.member_orgs_policy.signature_policy == parse_signature_policy(COLLECTION.policy)
    assert (static.required_peer_count, static.maximum_peer_count, static.block_to_live) == (1, 2, 10)
    assert static.member_only_read and static.member_only_write
    assert static.endorsement_policy.signature_policy == parse_signature_policy("OR('Org1MSP.peer')")


def test_approval_without_package_marks_source_unavailable() -> None:
    args = dataclasses.replace(DEFINITION, package_id="").approve_args()
    assert args.source.WhichOneof("Type") == "unavailable"


def test_without_collections_the_field_is_unset() -> None:
    args = dataclasses.replace(DEFINITION, collections=()).commit_args()
    assert not args.HasField("collections")


def test_commit_and_readiness_args_equal_the_approved_definition() -> None:
    approve = DEFINITION.approve_args()
    approve.ClearField("source")
    common = approve.SerializeToString()
    assert DEFINITION.commit_args().SerializeToString() == common
    assert DEFINITION.check_commit_readiness_args().SerializeToString() == common


def test_bad_policies_fail_at_construction() -> None:
    with pytest.raises(PolicySyntaxError):
        dataclasses.replace(DEFINITION, endorsement_policy="OR('Org1MSP.nobody')")
    with pytest.raises(PolicySyntaxError):
        dataclasses.replace(COLLECTION, policy="ALL('Org1MSP.member')")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sequence": 0}, "sequence must be 1 or more"),
        ({"version": ""}, "name and a version"),
        ({"collections": (COLLECTION, COLLECTION)}, "collection names repeat"),
    ],
)
def test_invalid_definitions_are_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(DEFINITION, **changes)


def test_collection_counts_are_checked() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        dataclasses.replace(COLLECTION, required_peer_count=3)
    with pytest.raises(ValueError, match="negative"):
        dataclasses.replace(COLLECTION, block_to_live=-1)


def committed_from(definition: ChaincodeDefinition, **overrides: object) -> CommittedDefinition:
    args = definition.commit_args()
    result = lifecycle_pb2.QueryChaincodeDefinitionResult(
        sequence=args.sequence,
        version=args.version,
        endorsement_plugin=args.endorsement_plugin,
        validation_plugin=args.validation_plugin,
        validation_parameter=args.validation_parameter,
        collections=args.collections,
        init_required=args.init_required,
        approvals={"Org1MSP": True, "Org2MSP": False},
    )
    for key, value in overrides.items():
        setattr(result, key, value)
    return CommittedDefinition.from_proto(definition.name, result)


def test_committed_definition_reads_back_policy_collections_and_approvals() -> None:
    committed = committed_from(DEFINITION)
    assert committed.endorsement_policy == "AND('Org1MSP.peer', 'Org2MSP.peer')"
    assert committed.collections == (COLLECTION,)
    assert dict(committed.approvals) == {"Org1MSP": True, "Org2MSP": False}
    assert DEFINITION.matches(committed)


def test_matches_detects_any_changed_parameter() -> None:
    assert not DEFINITION.matches(committed_from(DEFINITION, version="9"))
    assert not DEFINITION.matches(committed_from(DEFINITION, sequence=4))
    assert not DEFINITION.matches(committed_from(DEFINITION, init_required=True))
    other = dataclasses.replace(DEFINITION, endorsement_policy="OR('Org1MSP.peer', 'Org2MSP.peer')")
    assert not DEFINITION.matches(committed_from(other))
    assert not DEFINITION.matches(committed_from(dataclasses.replace(DEFINITION, collections=())))


def test_matches_applies_peer_defaults_for_policy_and_plugins() -> None:
    definition = dataclasses.replace(DEFINITION, endorsement_policy=None, collections=())
    default_policy = policy_pb2.ApplicationPolicy(
        channel_config_policy_reference="/Channel/Application/Endorsement"
    ).SerializeToString()
    committed = committed_from(definition, validation_parameter=default_policy)
    assert committed.endorsement_policy == "/Channel/Application/Endorsement"
    assert definition.matches(committed)
    assert dataclasses.replace(definition, endorsement_plugin="").matches(committed)


def test_collection_from_proto_without_endorsement_policy() -> None:
    config = dataclasses.replace(COLLECTION, endorsement_policy=None).to_proto()
    assert isinstance(config, collection_pb2.CollectionConfig)
    assert CollectionConfig.from_proto(config).endorsement_policy is None
