"""Endorsing organizations for private data, chosen from the chaincode definition on the ledger."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fabric_protos.common import configtx_pb2, policies_pb2
from fabric_protos.peer import policy_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from fabrx import aio
from fabrx.admin.definition import ChaincodeDefinition, CollectionConfig, CommittedDefinition
from fabrx.admin.policy import parse_signature_policy
from fabrx.endpoint import Endpoint
from fabrx.errors import CommitError, EndorseError
from fabrx.gateway import Gateway
from fabrx.gateway._channelpolicy import ChannelPolicies, parse_config
from fabrx.gateway._endorsers import (
    EndorserCache,
    collection_readers,
    needs_channel_policies,
    satisfied_by,
    select_endorsers,
)

from .conftest import FAST_RECONNECT, TIMEOUTS
from .fakes import ClientIdentity, FakeFabric, FakeServer, Invocation

OWN = "Org1MSP"  # the MSP id of the fakes' client identity


def definition(
    policy: str | None, *collections: CollectionConfig, sequence: int = 1, name: str = "basic"
) -> CommittedDefinition:
    """A committed definition as the peer reports it (built with fabrx.admin, like a deployment)."""
    approved = ChaincodeDefinition(
        name=name, version="1", sequence=sequence, endorsement_policy=policy, collections=collections
    )
    args = approved.commit_args()
    result = lifecycle_pb2.QueryChaincodeDefinitionResult(
        sequence=args.sequence,
        version=args.version,
        endorsement_plugin=args.endorsement_plugin,
        validation_plugin=args.validation_plugin,
        validation_parameter=args.validation_parameter,
        collections=args.collections,
    )
    return CommittedDefinition.from_proto(name, result)


def collection(name: str, *members: str, endorsement_policy: str | None = None) -> CollectionConfig:
    policy = "OR(" + ", ".join(f"'{m}.member'" for m in members) + ")"
    return CollectionConfig(name=name, policy=policy, endorsement_policy=endorsement_policy)


def channel_config(
    org_policies: dict[str, str], *, rule: str = "MAJORITY", sequence: int = 1
) -> configtx_pb2.Config:
    """A channel configuration as configtxgen writes it: ``Application/Endorsement`` is ImplicitMeta
    ``<rule> Endorsement`` over organization groups (``Org1`` for ``Org1MSP``) with signature policies;
    the orderer organization has an ``Endorsement`` policy too, outside the application group."""

    def signature(policy: str) -> configtx_pb2.ConfigPolicy:
        value = parse_signature_policy(policy).SerializeToString()
        return configtx_pb2.ConfigPolicy(
            policy=policies_pb2.Policy(type=policies_pb2.Policy.SIGNATURE, value=value)
        )

    config = configtx_pb2.Config(sequence=sequence)
    application = config.channel_group.groups["Application"]
    for msp_id, policy in org_policies.items():
        application.groups[msp_id.removesuffix("MSP")].policies["Endorsement"].CopyFrom(signature(policy))
    meta = policies_pb2.ImplicitMetaPolicy(
        sub_policy="Endorsement", rule=policies_pb2.ImplicitMetaPolicy.Rule.Value(rule)
    )
    application.policies["Endorsement"].policy.CopyFrom(
        policies_pb2.Policy(type=policies_pb2.Policy.IMPLICIT_META, value=meta.SerializeToString())
    )
    application.policies["Legacy"].policy.type = policies_pb2.Policy.MSP
    orderer = config.channel_group.groups["Orderer"].groups["OrdererOrg"]
    orderer.policies["Endorsement"].CopyFrom(signature("OR('OrdererMSP.member')"))
    return config


THREE_ORGS = {msp: f"OR('{msp}.peer')" for msp in ("Org1MSP", "Org2MSP", "Org3MSP")}


def policies(org_policies: dict[str, str] = THREE_ORGS, **options: str | int) -> ChannelPolicies:
    return parse_config(channel_config(org_policies, **options).SerializeToString())  # type: ignore[arg-type]


def choose(
    d: CommittedDefinition, *names: str, own: str = OWN, channel: ChannelPolicies | None = None
) -> tuple[str, ...]:
    return select_endorsers(d, names, own_msp_id=own, channel_id="mychannel", channel_policies=channel)


# ------------------------------------------------------------------------------------------- pure choice


def test_members_that_cannot_satisfy_the_chaincode_policy_alone_get_the_other_orgs_added() -> None:
    # fabric#3328: the Gateway restricts endorsers to collection members and finds no combination.
    d = definition("AND('Org1MSP.peer', 'Org2MSP.peer')", collection("c", "Org1MSP"))
    assert choose(d, "c") == ("Org1MSP", "Org2MSP")


def test_the_own_org_endorses_alone_when_it_is_a_member_and_satisfies_the_policy() -> None:
    d = definition(
        "OR('Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')", collection("c", "Org1MSP", "Org2MSP")
    )
    assert choose(d, "c") == ("Org1MSP",)
    assert choose(d, "c", own="Org3MSP") == ("Org1MSP",)  # a non-member own org gives way to a member


def test_a_collection_endorsement_policy_is_satisfied_as_well_as_the_chaincode_policy() -> None:
    d = definition(
        "OR('Org1MSP.peer', 'Org2MSP.peer')",
        collection("c", "Org1MSP", "Org3MSP", endorsement_policy="AND('Org3MSP.peer')"),
    )
    assert choose(d, "c") == ("Org1MSP", "Org3MSP")


def test_every_named_collection_is_covered_by_a_member() -> None:
    d = definition(
        "AND('RegMSP.peer', OR('Org1MSP.peer', 'Org2MSP.peer'))",
        collection("books_Org1", "Org1MSP", "RegMSP"),
        collection("books_Org2", "Org2MSP", "RegMSP"),
        collection("books_Org3", "Org3MSP"),
    )
    assert choose(d, "books_Org1", "books_Org2") == ("Org1MSP", "RegMSP")
    assert choose(d, "books_Org3") == ("Org1MSP", "Org3MSP", "RegMSP")


def test_unknown_collection_is_named_with_the_known_ones() -> None:
    d = definition("OR('Org1MSP.peer')", collection("c", "Org1MSP"))
    with pytest.raises(EndorseError, match=r"no private data collection 'x' \(its collections: c\)"):
        choose(d, "x")


def test_a_channel_policy_reference_asks_for_explicit_organizations() -> None:
    d = definition(None, collection("c", "Org1MSP"))
    with pytest.raises(EndorseError, match=r"/Channel/Application/Endorsement.*endorsing_organizations"):
        choose(d, "c")


def test_the_default_majority_endorsement_policy_is_resolved_from_the_channel_configuration() -> None:
    d = definition(None, collection("c", "Org3MSP"))
    assert needs_channel_policies(d, ["c"])
    # MAJORITY of three organizations: two, one of them a member of the collection.
    assert choose(d, "c", channel=policies()) == ("Org1MSP", "Org3MSP")
    assert choose(d, "c", channel=policies(rule="ANY")) == ("Org3MSP",)
    assert choose(d, "c", channel=policies(rule="ALL")) == ("Org1MSP", "Org3MSP", "Org2MSP")


def test_absolute_relative_and_organization_references_resolve_alike() -> None:
    absolute = definition("/Channel/Application/Endorsement", collection("c", "Org1MSP"))
    relative = dataclasses.replace(
        absolute,
        validation_parameter=policy_pb2.ApplicationPolicy(
            channel_config_policy_reference="Application/Endorsement"
        ).SerializeToString(),
    )
    for d in (absolute, relative):
        assert choose(d, "c", channel=policies()) == ("Org1MSP", "Org2MSP")
    own_org_policy = definition(
        "OR('Org1MSP.peer')",
        collection("c", "Org1MSP", endorsement_policy="/Channel/Application/Org3/Endorsement"),
    )
    assert needs_channel_policies(own_org_policy, ["c"]) and not needs_channel_policies(own_org_policy, [])
    assert choose(own_org_policy, "c", channel=policies()) == ("Org1MSP", "Org3MSP")


def test_implicit_meta_sub_policies_are_evaluated_each_on_its_own_as_fabric_does() -> None:
    # Org2's policy also accepts Org1's peers, so one endorsement by Org1 satisfies both sub-policies.
    org_policies = {"Org1MSP": "OR('Org1MSP.peer')", "Org2MSP": "OR('Org1MSP.peer', 'Org2MSP.peer')"}
    assert choose(definition(None, collection("c", "Org1MSP")), "c", channel=policies(org_policies)) == (
        "Org1MSP",
    )


def test_channel_policies_that_cannot_be_evaluated_ask_for_explicit_organizations() -> None:
    cases = {
        "/Channel/Application/Missing": "no such policy",
        "/Channel/Nowhere/Endorsement": "no group Nowhere",
        "/Other/Application/Endorsement": "not under /Channel",
        "/Channel/Application/Legacy": "type MSP, which fabrx does not evaluate",
    }
    for reference, reason in cases.items():
        with pytest.raises(EndorseError, match=f"{reference}.*{reason}.*endorsing_organizations") as caught:
            choose(definition(reference, collection("c", "Org1MSP")), "c", channel=policies())
        assert caught.value.code == "FAILED_PRECONDITION"


def test_an_unsatisfiable_combination_is_an_error_naming_the_policies() -> None:
    d = definition("AND('Org1MSP.admin')", collection("c", "Org1MSP"))
    with pytest.raises(EndorseError, match="cannot all be satisfied") as caught:
        choose(d, "c")
    assert caught.value.code == "FAILED_PRECONDITION"


def test_one_endorsement_counts_for_one_principal_only() -> None:
    envelope = parse_signature_policy("AND('Org1MSP.peer', 'Org1MSP.member')")
    assert not satisfied_by(envelope, ["Org1MSP"])
    assert satisfied_by(parse_signature_policy("OutOf(2, 'A.peer', 'B.peer', 'C.member')"), ["C", "A"])
    assert not satisfied_by(parse_signature_policy("OutOf(2, 'A.peer', 'B.peer', 'C.member')"), ["C", "D"])


def test_an_implicit_collection_needs_its_own_organizations_peer_and_no_definition() -> None:
    # The regulator's peer for the chaincode policy, each implicit collection's own organization for it.
    d = definition("OR('RegMSP.peer')")
    assert choose(d, "_implicit_org_Org1MSP", "_implicit_org_RegMSP") == ("Org1MSP", "RegMSP")
    assert choose(d, "_implicit_org_RegMSP") == ("RegMSP",)
    assert collection_readers(d, ["_implicit_org_Org2MSP"], own_msp_id=OWN, channel_id="ch") == ("Org2MSP",)


def test_readers_are_members_of_every_collection_own_org_first() -> None:
    d = definition(
        "OR('Org1MSP.peer')",
        collection("a", "Org2MSP", "Org1MSP", "Org3MSP"),
        collection("b", "Org3MSP", "Org1MSP"),
    )
    assert collection_readers(d, ["a", "b"], own_msp_id="Org3MSP", channel_id="ch") == ("Org3MSP", "Org1MSP")
    with pytest.raises(EndorseError, match="no organization is a member of every collection"):
        collection_readers(
            definition("OR('Org1MSP.peer')", collection("a", "Org1MSP"), collection("b", "Org2MSP")),
            ["a", "b"],
            own_msp_id=OWN,
            channel_id="ch",
        )


def test_cache_rereads_after_max_age_and_keeps_plans_per_sequence() -> None:
    now = [0.0]
    cache = EndorserCache(max_age=10, clock=lambda: now[0])
    first = definition("OR('Org1MSP.peer')", collection("c", "Org1MSP"))
    cache.store("ch", first)
    assert cache.definition("ch", "basic") is first
    now[0] = 10.5
    assert cache.definition("ch", "basic") is None
    assert cache.plan("ch", first, "endorse", ["c"], lambda: ("A",)) == ("A",)
    assert cache.plan("ch", first, "endorse", ["c"], lambda: ("B",)) == ("A",)
    upgraded = definition("OR('Org2MSP.peer')", collection("c", "Org2MSP"), sequence=2)
    assert cache.plan("ch", upgraded, "endorse", ["c"], lambda: ("B",)) == ("B",)
    cache.store("ch", upgraded)
    cache.invalidate("ch", "basic")
    assert cache.definition("ch", "basic") is None


def test_cache_keeps_channel_policies_like_definitions_and_plans_per_configuration_sequence() -> None:
    now = [0.0]
    cache = EndorserCache(max_age=10, clock=lambda: now[0])
    d = definition(None, collection("c", "Org1MSP"))
    first, updated = policies(sequence=4), policies(sequence=5)
    cache.store_channel_policies("ch", first)
    assert cache.channel_policies("ch") is first
    assert cache.plan("ch", d, "endorse", ["c"], lambda: ("A",), channel_policies=first) == ("A",)
    assert cache.plan("ch", d, "endorse", ["c"], lambda: ("B",), channel_policies=first) == ("A",)
    assert cache.plan("ch", d, "endorse", ["c"], lambda: ("B",), channel_policies=updated) == ("B",)
    cache.invalidate("ch", "basic")  # a failed endorsement: the configuration may have changed too
    assert cache.channel_policies("ch") is None
    cache.store_channel_policies("ch", updated)
    now[0] = 10.5
    assert cache.channel_policies("ch") is None


# ------------------------------------------------------------------------------- through the Gateway


class Ledger:
    """A fake chaincode plus ``_lifecycle`` and ``cscc``: answers QueryChaincodeDefinition with
    ``self.definition`` and GetChannelConfig with ``self.config`` (``None``: access denied)."""

    def __init__(self, committed: CommittedDefinition) -> None:
        self.definition = committed
        self.queries: list[Invocation] = []
        self.config: configtx_pb2.Config | None = channel_config(THREE_ORGS)
        self.config_queries: list[Invocation] = []
        self.fail_writes = False

    def __call__(self, invocation: Invocation) -> bytes:
        if invocation.chaincode_name == "cscc":
            assert invocation.transaction_name == "GetChannelConfig"
            assert invocation.args == [invocation.channel_id.encode()]
            self.config_queries.append(invocation)
            if self.config is None:
                raise RuntimeError("access denied for [GetChannelConfig]")
            return self.config.SerializeToString()
        if invocation.chaincode_name == "_lifecycle":
            assert invocation.transaction_name == "QueryChaincodeDefinition"
            args = lifecycle_pb2.QueryChaincodeDefinitionArgs.FromString(invocation.args[0])
            if args.name != self.definition.name:
                raise RuntimeError(f"namespace {args.name} is not defined")
            self.queries.append(invocation)
            d = self.definition
            return lifecycle_pb2.QueryChaincodeDefinitionResult(
                sequence=d.sequence,
                version=d.version,
                endorsement_plugin=d.endorsement_plugin,
                validation_plugin=d.validation_plugin,
                validation_parameter=d.validation_parameter,
                collections={"config": list(d.collection_protos)},
            ).SerializeToString()
        if self.fail_writes:
            raise RuntimeError("endorsement refused")
        return b"ok"


PRIVATE = definition(
    "AND('Org1MSP.peer', 'Org2MSP.peer')", collection("private", "Org1MSP"), collection("shared", "Org2MSP")
)


@pytest.fixture
def ledger(fabric: FakeFabric) -> Ledger:
    handler = Ledger(PRIVATE)
    fabric.handler = handler
    return handler


def endorsed_by(fabric: FakeFabric) -> list[list[str]]:
    return [list(request.endorsing_organizations) for request in fabric.received.endorse]


def test_submit_with_collections_sends_the_chosen_orgs_and_reads_the_definition_once(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    assert contract.submit_transaction("Put", transient={"k": "v"}, collections=["private"]) == b"ok"
    contract.submit_transaction("Put", transient={"k": "v"}, collections=["private"])
    assert endorsed_by(fabric) == [["Org1MSP", "Org2MSP"], ["Org1MSP", "Org2MSP"]]
    [query] = ledger.queries
    # Read from the client's own organization: the definition decides who sees the transient data.
    assert query.endorsing_organizations == ["Org1MSP"]
    assert query.channel_id == "mychannel"


def test_named_endorsing_organizations_override_the_choice_without_reading_the_ledger(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    contract.submit_transaction("Put", collections=["private"], endorsing_organizations=["Org9MSP"])
    assert endorsed_by(fabric) == [["Org9MSP"]]
    assert ledger.queries == []


def test_evaluate_with_collections_targets_their_members(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    contract.evaluate_transaction("Get", "k", collections=["shared"])
    assert fabric.received.invocations[-1].endorsing_organizations == ["Org2MSP"]


def test_a_failed_endorsement_makes_the_next_submit_read_the_definition_again(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    ledger.fail_writes = True
    with pytest.raises(EndorseError, match="endorsement refused"):
        contract.submit_transaction("Put", collections=["private"])
    ledger.fail_writes = False
    ledger.definition = definition("OR('Org2MSP.peer')", collection("private", "Org2MSP"), sequence=2)
    contract.submit_transaction("Put", collections=["private"])
    assert endorsed_by(fabric) == [["Org1MSP", "Org2MSP"], ["Org2MSP"]]
    assert len(ledger.queries) == 2


def test_an_endorsement_policy_failure_at_commit_invalidates_the_cached_definition(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    fabric.validation_code = lambda invocation: 10  # ENDORSEMENT_POLICY_FAILURE
    with pytest.raises(CommitError, match="ENDORSEMENT_POLICY_FAILURE"):
        contract.submit_transaction("Put", collections=["private"])
    fabric.validation_code = lambda invocation: 0
    contract.submit_transaction("Put", collections=["private"])
    assert len(ledger.queries) == 2


def test_a_channel_policy_reference_is_read_from_the_channel_configuration_once(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    ledger.definition = definition(None, collection("private", "Org3MSP"))
    contract = gateway.get_network("mychannel").get_contract("basic")
    contract.submit_transaction("Put", transient={"k": "v"}, collections=["private"])
    contract.submit_transaction("Put", transient={"k": "v"}, collections=["private"])
    assert endorsed_by(fabric) == [["Org1MSP", "Org3MSP"], ["Org1MSP", "Org3MSP"]]
    [query] = ledger.config_queries
    assert query.endorsing_organizations == ["Org1MSP"] and query.channel_id == "mychannel"
    contract.evaluate_transaction("Get", collections=["private"])  # reading needs no policies
    assert len(ledger.config_queries) == 1


def test_a_failed_endorsement_rereads_the_channel_configuration(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    ledger.definition = definition(None, collection("private", "Org3MSP"))
    contract = gateway.get_network("mychannel").get_contract("basic")
    ledger.fail_writes = True
    with pytest.raises(EndorseError, match="endorsement refused"):
        contract.submit_transaction("Put", collections=["private"])
    ledger.fail_writes = False
    ledger.config = channel_config({**THREE_ORGS, "Org4MSP": "OR('Org4MSP.peer')"}, rule="ALL", sequence=2)
    contract.submit_transaction("Put", collections=["private"])
    assert endorsed_by(fabric) == [["Org1MSP", "Org3MSP"], ["Org1MSP", "Org3MSP", "Org2MSP", "Org4MSP"]]
    assert len(ledger.config_queries) == 2


def test_an_unreadable_channel_configuration_is_an_endorse_error_suggesting_explicit_orgs(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    ledger.definition = definition(None, collection("private", "Org3MSP"))
    ledger.config = None
    contract = gateway.get_network("mychannel").get_contract("basic")
    with pytest.raises(EndorseError, match=r"reading the channel configuration.*endorsing_organizations"):
        contract.submit_transaction("Put", collections=["private"])
    assert fabric.received.endorse == []


def test_an_unreadable_definition_is_an_endorse_error_suggesting_explicit_orgs(
    gateway: Gateway, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("other")
    with pytest.raises(
        EndorseError, match=r"reading its chaincode definition failed.*endorsing_organizations"
    ):
        contract.submit_transaction("Put", collections=["private"])


def test_collections_given_as_one_string_is_a_type_error(gateway: Gateway, ledger: Ledger) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    with pytest.raises(TypeError, match=r"\['private'\]"):
        contract.submit_transaction("Put", collections="private")  # type: ignore[arg-type]


def test_endorsing_organizations_for_supports_step_by_step_submits(
    gateway: Gateway, fabric: FakeFabric, ledger: Ledger
) -> None:
    contract = gateway.get_network("mychannel").get_contract("basic")
    organizations = contract.endorsing_organizations_for(["private", "shared"])
    assert organizations == ("Org1MSP", "Org2MSP")
    contract.new_proposal("Put", endorsing_organizations=organizations).endorse().submit().status()
    assert endorsed_by(fabric) == [["Org1MSP", "Org2MSP"]]


def test_the_asyncio_contract_chooses_the_same_orgs(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric, ledger: Ledger
) -> None:
    async def main() -> tuple[str, ...]:
        async with aio.connect(
            Endpoint(address=server.address),
            identity=client.identity,
            signer=client.signer,
            timeouts=TIMEOUTS,
            reconnect=FAST_RECONNECT,
        ) as gateway:
            contract = gateway.get_network("mychannel").get_contract("basic")
            await contract.submit_transaction("Put", transient={"k": "v"}, collections=["private"])
            await contract.evaluate_transaction("Get", collections=["shared"])
            return await contract.endorsing_organizations_for(["private"])

    assert asyncio.run(main()) == ("Org1MSP", "Org2MSP")
    assert endorsed_by(fabric) == [["Org1MSP", "Org2MSP"]]
    assert fabric.received.invocations[-1].endorsing_organizations == ["Org2MSP"]
    assert len(ledger.queries) == 1


def test_the_asyncio_contract_resolves_channel_policy_references(
    server: FakeServer, client: ClientIdentity, fabric: FakeFabric, ledger: Ledger
) -> None:
    ledger.definition = definition(None, collection("private", "Org3MSP"))

    async def main() -> tuple[str, ...]:
        async with aio.connect(
            Endpoint(address=server.address),
            identity=client.identity,
            signer=client.signer,
            timeouts=TIMEOUTS,
        ) as gateway:
            contract = gateway.get_network("mychannel").get_contract("basic")
            await contract.submit_transaction("Put", collections=["private"])
            return await contract.endorsing_organizations_for(["private"])

    assert asyncio.run(main()) == ("Org1MSP", "Org3MSP")
    assert endorsed_by(fabric) == [["Org1MSP", "Org3MSP"]]
    assert len(ledger.config_queries) == 1
