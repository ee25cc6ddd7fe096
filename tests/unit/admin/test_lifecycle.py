from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from fabrx.admin import (
    ChaincodeDefinition,
    ProposalRejected,
    TransactionInvalid,
    approve_for_my_org,
    ccaas_package,
    check_commit_readiness,
    commit,
    deploy,
    query_committed,
)
from fabrx.errors import AdminError, ArgumentError

CHANNEL = "pharma"
DEFINITION = ChaincodeDefinition(
    name="kv",
    version="1.0",
    sequence=1,
    endorsement_policy="OR('Org1MSP.peer', 'Org2MSP.peer')",
    package_id="kv_1.0:abc",
)
NOT_DEFINED = (404, "namespace kv is not defined", b"")


def ok(payload: bytes = b"") -> Any:
    return lambda call: (200, "", payload)


def committed_result(definition: ChaincodeDefinition) -> bytes:
    args = definition.commit_args()
    return lifecycle_pb2.QueryChaincodeDefinitionResult(
        sequence=args.sequence,
        version=args.version,
        endorsement_plugin=args.endorsement_plugin,
        validation_plugin=args.validation_plugin,
        validation_parameter=args.validation_parameter,
        init_required=args.init_required,
        approvals={"Org1MSP": True, "Org2MSP": True},
    ).SerializeToString()


def transaction_of(payload: Any) -> tuple[Any, Any]:
    """Decode an ordered payload into (channel header, chaincode action payload)."""
    channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    (action,) = transaction.actions
    return channel_header, transaction_pb2.ChaincodeActionPayload.FromString(action.payload)


def test_approve_endorses_orders_and_waits_for_commit(network: Any) -> None:
    peer = network.peers[0]
    peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
    with network.admin() as admin:
        result = approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert (result.msp_id, result.already_approved, result.block_number) == ("Org1MSP", False, 5)
    (call,) = peer.calls
    assert call.channel_header.channel_id == CHANNEL
    assert call.channel_header.type == common_pb2.ENDORSER_TRANSACTION
    assert call.chaincode == "_lifecycle"
    assert call.args[1] == DEFINITION.approve_args().SerializeToString()
    # the ordered transaction is the endorsed proposal, with the peer's endorsement
    (payload,) = network.orderer.payloads
    channel_header, action = transaction_of(payload)
    assert channel_header.tx_id == result.transaction_id == call.channel_header.tx_id
    assert [e.endorser for e in action.action.endorsements] == [b"peer0.org1"]
    response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
        action.action.proposal_response_payload
    )
    assert response_payload.proposal_hash  # the endorsed proposal's hash, as the peer returned it
    (status_request,) = peer.commit_status_requests
    assert (status_request.transaction_id, status_request.channel_id) == (result.transaction_id, CHANNEL)


@pytest.mark.parametrize(
    "reason",
    [
        "failed to invoke backing implementation of 'ApproveChaincodeDefinitionForMyOrg': attempted to "
        "redefine uncommitted sequence (1) for namespace kv with unchanged content",
        "failed to invoke backing implementation of 'ApproveChaincodeDefinitionForMyOrg': attempted to "
        "redefine the current committed sequence (1) for namespace kv",
    ],
)
def test_repeated_approval_is_reported_not_submitted(network: Any, reason: str) -> None:
    network.peers[0].handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = lambda c: (
        500,
        reason,
        b"",
    )
    with network.admin() as admin:
        result = approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert result.already_approved is True
    assert (result.transaction_id, result.block_number) == ("", None)
    assert network.orderer.payloads == []


def test_approval_of_a_different_definition_at_committed_sequence_fails(network: Any) -> None:
    reason = (
        "attempted to redefine the current committed sequence (1) for namespace kv with different "
        "parameters: expected Version '1.0' does not match passed Version '2.0'"
    )
    network.peers[0].handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = lambda c: (
        500,
        reason,
        b"",
    )
    with network.admin() as admin, pytest.raises(ProposalRejected, match="different parameters"):
        approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert network.orderer.payloads == []


def test_orderer_refusal_raises_admin_error(network: Any) -> None:
    network.peers[0].handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
    network.orderer.status = common_pb2.FORBIDDEN
    network.orderer.info = "implicit policy evaluation failed"
    with (
        network.admin() as admin,
        pytest.raises(AdminError, match="refused the transaction: FORBIDDEN: implicit"),
    ):
        approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert network.peers[0].commit_status_requests == []


def test_orderer_without_leader_is_retried_until_it_accepts(network: Any) -> None:
    network.peers[0].handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
    network.orderer.script = [common_pb2.SERVICE_UNAVAILABLE, common_pb2.SERVICE_UNAVAILABLE]
    with network.admin() as admin:
        result = approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert result.already_approved is False
    assert len(network.orderer.payloads) == 3  # the same envelope, sent three times
    assert network.orderer.payloads[0] == network.orderer.payloads[2]


def test_orderer_unavailable_past_timeout_raises(network: Any) -> None:
    network.peers[0].handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
    network.orderer.status = common_pb2.SERVICE_UNAVAILABLE
    admin = network.admin()
    admin.timeout = 0.6
    with admin, pytest.raises(AdminError, match="SERVICE_UNAVAILABLE"):
        approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert 2 <= len(network.orderer.payloads) <= 4


def test_invalid_commit_of_approval_raises_with_validation_code(network: Any) -> None:
    peer = network.peers[0]

    def approve(call: Any) -> tuple[int, str, bytes]:
        peer.commit_results[call.channel_header.tx_id] = (transaction_pb2.MVCC_READ_CONFLICT, 9)
        return 200, "", b""

    peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = approve
    with network.admin() as admin, pytest.raises(TransactionInvalid) as caught:
        approve_for_my_org(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert (caught.value.validation_code, caught.value.block_number) == ("MVCC_READ_CONFLICT", 9)


def test_check_commit_readiness_returns_approvals_and_mismatches(network: Any) -> None:
    result = lifecycle_pb2.CheckCommitReadinessResult(approvals={"Org2MSP": False, "Org1MSP": True})
    result.mismatches["Org2MSP"].items.append("ValidationParameter")
    network.peers[0].handlers[("_lifecycle", "CheckCommitReadiness")] = ok(result.SerializeToString())
    with network.admin() as admin:
        readiness = check_commit_readiness(admin, CHANNEL, DEFINITION)
    assert dict(readiness.approvals) == {"Org1MSP": True, "Org2MSP": False}
    assert dict(readiness.mismatches) == {"Org2MSP": ("ValidationParameter",)}
    assert readiness.pending == ("Org2MSP",)
    assert not readiness.approved_by_all
    assert network.peers[0].calls[0].args[1] == DEFINITION.check_commit_readiness_args().SerializeToString()


def test_commit_is_endorsed_by_every_given_peer_and_waited_for_on_each(network: Any) -> None:
    for peer in network.peers:
        peer.handlers[("_lifecycle", "CommitChaincodeDefinition")] = ok()
    network.peers[0].handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: NOT_DEFINED
    with network.admin() as admin:
        result = commit(
            admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint, peers=[network.peer_endpoints[1]]
        )
    assert result.already_committed is False
    (payload,) = network.orderer.payloads
    _, action = transaction_of(payload)
    assert [e.endorser for e in action.action.endorsements] == [b"peer0.org1", b"peer0.org2"]
    # both peers saw the same proposal, signed by the submitting admin
    assert network.peers[1].calls[0].msp_id == "Org1MSP"
    assert network.peers[1].calls[0].args[1] == DEFINITION.commit_args().SerializeToString()
    for peer in network.peers:
        assert [r.transaction_id for r in peer.commit_status_requests] == [result.transaction_id]


def test_commit_of_committed_definition_is_reported_not_submitted(network: Any) -> None:
    network.peers[0].handlers[("_lifecycle", "QueryChaincodeDefinition")] = ok(committed_result(DEFINITION))
    with network.admin() as admin:
        result = commit(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert (result.already_committed, result.transaction_id) == (True, "")
    assert network.orderer.payloads == []


def test_commit_over_a_different_committed_definition_fails(network: Any) -> None:
    other = dataclasses.replace(DEFINITION, version="0.9")
    network.peers[0].handlers[("_lifecycle", "QueryChaincodeDefinition")] = ok(committed_result(other))
    with network.admin() as admin, pytest.raises(AdminError, match=r"different definition.*use sequence 2"):
        commit(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    later = dataclasses.replace(DEFINITION, sequence=4)
    network.peers[0].handlers[("_lifecycle", "QueryChaincodeDefinition")] = ok(committed_result(later))
    with network.admin() as admin, pytest.raises(AdminError, match="sequence 4 is already committed"):
        commit(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)


def test_commit_failing_lifecycle_endorsement_explains_what_to_do(network: Any) -> None:
    peer = network.peers[0]
    peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: NOT_DEFINED

    def endorse(call: Any) -> tuple[int, str, bytes]:
        peer.commit_results[call.channel_header.tx_id] = (transaction_pb2.ENDORSEMENT_POLICY_FAILURE, 6)
        return 200, "", b""

    peer.handlers[("_lifecycle", "CommitChaincodeDefinition")] = endorse
    with network.admin() as admin, pytest.raises(AdminError, match="LifecycleEndorsement"):
        commit(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)


def test_commit_race_with_another_committer_is_reported(network: Any) -> None:
    peer = network.peers[0]
    answers = iter([NOT_DEFINED, (200, "", committed_result(DEFINITION))])
    peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: next(answers)
    peer.handlers[("_lifecycle", "CommitChaincodeDefinition")] = lambda c: (
        500,
        "requested sequence is 1, but new definition must be sequence 2",
        b"",
    )
    with network.admin() as admin:
        result = commit(admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint)
    assert result.already_committed is True


def test_disagreeing_endorsements_are_not_ordered(network: Any) -> None:
    network.peers[0].handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: NOT_DEFINED
    network.peers[0].handlers[("_lifecycle", "CommitChaincodeDefinition")] = ok(b"one result")
    network.peers[1].handlers[("_lifecycle", "CommitChaincodeDefinition")] = ok(b"another result")
    with network.admin() as admin, pytest.raises(AdminError, match="cannot assemble the transaction"):
        commit(
            admin, CHANNEL, DEFINITION, orderer=network.orderer_endpoint, peers=[network.peer_endpoints[1]]
        )
    assert network.orderer.payloads == []


def test_query_committed_by_name_and_all(network: Any) -> None:
    peer = network.peers[0]
    peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = ok(committed_result(DEFINITION))
    everything = lifecycle_pb2.QueryChaincodeDefinitionsResult()
    everything.chaincode_definitions.add(name="kv", sequence=1, version="1.0")
    everything.chaincode_definitions.add(name="other", sequence=2, version="3")
    peer.handlers[("_lifecycle", "QueryChaincodeDefinitions")] = ok(everything.SerializeToString())
    with network.admin() as admin:
        (named,) = query_committed(admin, CHANNEL, "kv")
        assert named.endorsement_policy == DEFINITION.endorsement_policy
        assert dict(named.approvals) == {"Org1MSP": True, "Org2MSP": True}
        assert [(d.name, d.sequence) for d in query_committed(admin, CHANNEL)] == [("kv", 1), ("other", 2)]
        peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: NOT_DEFINED
        assert query_committed(admin, CHANNEL, "kv") == ()
    args = lifecycle_pb2.QueryChaincodeDefinitionArgs.FromString(peer.calls[0].args[1])
    assert args.name == "kv"


def test_deploy_installs_approves_per_org_and_commits_then_reruns_idempotently(network: Any) -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    definition = dataclasses.replace(DEFINITION, package_id="")
    state: dict[str, Any] = {"installed": set(), "approved": set(), "committed": False}

    def install(peer_name: str) -> Any:
        def handler(call: Any) -> tuple[int, str, bytes]:
            if peer_name in state["installed"]:
                return (
                    500,
                    f"chaincode already successfully installed (package ID '{package.package_id}')",
                    b"",
                )
            state["installed"].add(peer_name)
            result = lifecycle_pb2.InstallChaincodeResult(package_id=package.package_id, label="kv_1.0")
            return 200, "", result.SerializeToString()

        return handler

    def approve(call: Any) -> tuple[int, str, bytes]:
        args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(call.args[1])
        assert args.source.local_package.package_id == package.package_id
        if call.msp_id in state["approved"]:
            return (
                500,
                "attempted to redefine uncommitted sequence (1) for namespace kv with unchanged content",
                b"",
            )
        state["approved"].add(call.msp_id)
        return 200, "", b""

    def query_one(call: Any) -> tuple[int, str, bytes]:
        return (200, "", committed_result(definition)) if state["committed"] else NOT_DEFINED

    def readiness(call: Any) -> tuple[int, str, bytes]:
        approvals = {msp: msp in state["approved"] for msp in ("Org1MSP", "Org2MSP")}
        return 200, "", lifecycle_pb2.CheckCommitReadinessResult(approvals=approvals).SerializeToString()

    def do_commit(call: Any) -> tuple[int, str, bytes]:
        state["committed"] = True
        return 200, "", b""

    for peer in network.peers:
        peer.handlers[("_lifecycle", "InstallChaincode")] = install(peer.name)
        peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = approve
        peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = query_one
        peer.handlers[("_lifecycle", "CheckCommitReadiness")] = readiness
        peer.handlers[("_lifecycle", "CommitChaincodeDefinition")] = do_commit

    steps: list[str] = []
    with network.admin(0) as admin1, network.admin(1) as admin2:
        first = deploy(
            [admin1, admin2],
            CHANNEL,
            definition,
            package,
            orderer=network.orderer_endpoint,
            progress=steps.append,
        )
        # orderer saw: approve org1, approve org2, commit
        assert len(network.orderer.payloads) == 3
        # One line before each step, in the order the steps run.
        assert steps == [
            f"kv: install on {admin1.endpoint.address} (Org1MSP)",
            f"kv: install on {admin2.endpoint.address} (Org2MSP)",
            "kv: approve for Org1MSP",
            "kv: approve for Org2MSP",
            "kv: wait for every organization's peer to commit the approvals (block 5)",
            f"kv: commit on {CHANNEL} (sequence 1)",
        ]
        second = deploy([admin1, admin2], CHANNEL, definition, package, orderer=network.orderer_endpoint)
    assert first.package_id == package.package_id
    assert [r.already_installed for _, r in first.installs] == [False, False]
    assert [(a.msp_id, a.already_approved) for a in first.approvals] == [
        ("Org1MSP", False),
        ("Org2MSP", False),
    ]
    assert first.readiness is not None and first.readiness.approved_by_all
    assert first.commit.already_committed is False
    assert first.committed.name == "kv"
    assert [r.already_installed for _, r in second.installs] == [True, True]
    assert all(a.already_approved for a in second.approvals)
    assert second.readiness is None
    assert second.commit.already_committed is True
    assert len(network.orderer.payloads) == 3  # the re-run ordered nothing


def test_deploy_installs_and_approves_each_organizations_own_package(network: Any) -> None:
    # Each organization runs its own chaincode server: its package names that server, so its id differs.
    packages = {
        "Org1MSP": ccaas_package("kv_1.0", address="127.0.0.1:9998"),
        "Org2MSP": ccaas_package("kv_1.0", address="127.0.0.1:9999"),
    }
    installed: dict[str, str] = {}
    approved: dict[str, str] = {}
    committed: list[bool] = []

    def install(call: Any) -> tuple[int, str, bytes]:
        args = lifecycle_pb2.InstallChaincodeArgs.FromString(call.args[1])
        package_id = next(p.package_id for p in packages.values() if p.data == args.chaincode_install_package)
        installed[call.msp_id] = package_id
        result = lifecycle_pb2.InstallChaincodeResult(package_id=package_id, label="kv_1.0")
        return 200, "", result.SerializeToString()

    def approve(call: Any) -> tuple[int, str, bytes]:
        args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs.FromString(call.args[1])
        approved[call.msp_id] = args.source.local_package.package_id
        return 200, "", b""

    def readiness(call: Any) -> tuple[int, str, bytes]:
        approvals = {msp: msp in approved for msp in ("Org1MSP", "Org2MSP")}
        return 200, "", lifecycle_pb2.CheckCommitReadinessResult(approvals=approvals).SerializeToString()

    def query_one(call: Any) -> tuple[int, str, bytes]:
        return (200, "", committed_result(DEFINITION)) if committed else NOT_DEFINED

    def do_commit(call: Any) -> tuple[int, str, bytes]:
        committed.append(True)
        return 200, "", b""

    for peer in network.peers:
        peer.handlers[("_lifecycle", "InstallChaincode")] = install
        peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = approve
        peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = query_one
        peer.handlers[("_lifecycle", "CheckCommitReadiness")] = readiness
        peer.handlers[("_lifecycle", "CommitChaincodeDefinition")] = do_commit

    with network.admin(0) as admin1, network.admin(1) as admin2:
        with pytest.raises(ArgumentError, match="no package for Org2MSP"):
            deploy(
                [admin1, admin2],
                CHANNEL,
                DEFINITION,
                {"Org1MSP": packages["Org1MSP"]},
                orderer=network.orderer_endpoint,
            )
        assert installed == {} and network.orderer.payloads == []
        report = deploy([admin1, admin2], CHANNEL, DEFINITION, packages, orderer=network.orderer_endpoint)
    expected = {msp: p.package_id for msp, p in packages.items()}
    assert installed == expected and approved == expected
    assert dict(report.package_ids) == expected and report.package_id == expected["Org1MSP"]
    assert committed == [True, True]  # the commit, endorsed on both organizations' peers
    assert len(network.orderer.payloads) == 3  # two approvals and the commit


def test_deploy_commits_only_once_every_organizations_peer_has_the_last_approval(network: Any) -> None:
    # The approvals commit in block 5 (the fake's default). Org2's peer reports height 4, then 5, then 6:
    # deploy must not ask it to endorse the commit before it has block 5.
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    committed = {"done": False}
    for peer in network.peers:
        peer.handlers[("_lifecycle", "InstallChaincode")] = ok(
            lifecycle_pb2.InstallChaincodeResult(
                package_id=package.package_id, label="kv_1.0"
            ).SerializeToString()
        )
        peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
        peer.handlers[("_lifecycle", "CheckCommitReadiness")] = ok(
            lifecycle_pb2.CheckCommitReadinessResult(
                approvals={"Org1MSP": True, "Org2MSP": True}
            ).SerializeToString()
        )

        def do_commit(call: Any) -> tuple[int, str, bytes]:
            assert network.peers[1].heights == [6], "the commit was endorsed before Org2 had the approvals"
            committed["done"] = True
            return 200, "", b""

        peer.handlers[("_lifecycle", "CommitChaincodeDefinition")] = do_commit
        peer.handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: (
            (200, "", committed_result(dataclasses.replace(DEFINITION, package_id=package.package_id)))
            if committed["done"]
            else NOT_DEFINED
        )
    network.peers[1].heights = [4, 5, 6]
    with network.admin(0) as admin1, network.admin(1) as admin2:
        report = deploy([admin1, admin2], CHANNEL, DEFINITION, package, orderer=network.orderer_endpoint)
    assert report.commit.already_committed is False
    polls = [c for c in network.peers[1].calls if c.chaincode == "qscc"]
    assert len(polls) == 3


def test_deploy_names_a_peer_that_never_catches_up(network: Any) -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    for peer in network.peers:
        peer.handlers[("_lifecycle", "InstallChaincode")] = ok(
            lifecycle_pb2.InstallChaincodeResult(
                package_id=package.package_id, label="kv_1.0"
            ).SerializeToString()
        )
        peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
    network.peers[1].heights = [3]
    with (
        network.admin(0) as admin1,
        network.admin(1) as admin2,
        pytest.raises(AdminError, match=r"Org2MSP has not committed block 5 of pharma .*\(its height is 3\)"),
    ):
        deploy(
            [admin1, admin2],
            CHANNEL,
            DEFINITION,
            package,
            orderer=network.orderer_endpoint,
            commit_timeout=0.3,
        )


def test_deploy_stops_when_an_approval_did_not_take_effect(network: Any) -> None:
    package = ccaas_package("kv_1.0", address="127.0.0.1:9999")
    for peer in network.peers:
        peer.handlers[("_lifecycle", "InstallChaincode")] = ok(
            lifecycle_pb2.InstallChaincodeResult(
                package_id=package.package_id, label="kv_1.0"
            ).SerializeToString()
        )
        peer.handlers[("_lifecycle", "ApproveChaincodeDefinitionForMyOrg")] = ok()
    readiness = lifecycle_pb2.CheckCommitReadinessResult(approvals={"Org1MSP": True, "Org2MSP": False})
    readiness.mismatches["Org2MSP"].items.append("Collections")
    network.peers[0].handlers[("_lifecycle", "QueryChaincodeDefinition")] = lambda c: NOT_DEFINED
    network.peers[0].handlers[("_lifecycle", "CheckCommitReadiness")] = ok(readiness.SerializeToString())
    with (
        network.admin(0) as admin1,
        network.admin(1) as admin2,
        pytest.raises(AdminError, match="Org2MSP: Collections"),
    ):
        deploy([admin1, admin2], CHANNEL, DEFINITION, package, orderer=network.orderer_endpoint)
    assert len(network.orderer.payloads) == 2  # the two approvals, no commit
