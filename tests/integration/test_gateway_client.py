"""fabrx's Gateway client on the real network: every path an ERP adapter uses, and a peer restart.

Submit and evaluate, submit without waiting, step by step with offline signing, commit codes, chaincode
events resumed from a file checkpoint and across a restart of the gateway peer, block events, the
asyncio client, and endorsers chosen for private data from the chaincode definition.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2
from netsupport import caught_up

import fabrx
from fabrx import aio
from fabrx.admin.definition import CollectionConfig, CommittedDefinition
from fabrx.gateway import StatusCode
from fabrx.gateway._channelpolicy import config_query, parse_config
from fabrx.gateway._endorsers import select_endorsers
from fabrx.gateway._proposal import Proposal
from fabrx_network import ConsortiumNetwork

CHANNEL = "pharma"


def asset_py(gateway: fabrx.Gateway | aio.Gateway) -> Any:
    return gateway.get_network(CHANNEL).get_contract("asset-py")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def height(network: ConsortiumNetwork, org_name: str) -> int:
    org = network.consortium.org(org_name)
    with network.peer_admin(org, org.peers[0]) as admin:
        return admin.chain_info(CHANNEL).height


def new_gateway(
    network: ConsortiumNetwork, org_name: str, *, offline: bool = False, **options: Any
) -> fabrx.Gateway:
    """A Gateway of its own (closed by the test), as ``org_name``'s client on its own peer."""
    org = network.consortium.org(org_name)
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    return fabrx.connect(
        network.peer_endpoint(org, org.peers[0]),
        identity=identity,
        signer=None if offline else signer,
        **options,
    )


def offline_signer(network: ConsortiumNetwork, org_name: str) -> fabrx.Signer:
    """The client's key, used outside the Gateway (as an HSM or a signing service would)."""
    keystore = network.client_msp(network.consortium.org(org_name)) / "keystore"
    return fabrx.new_private_key_signer(fabrx.load_private_key(next(keystore.iterdir())))


def endorsing_msp_ids(gateway: fabrx.Gateway, transaction_id: str) -> list[str]:
    """The MSP ids of the endorsements a committed transaction carries (read with qscc)."""
    processed = transaction_pb2.ProcessedTransaction.FromString(
        gateway.get_network(CHANNEL)
        .get_contract("qscc")
        .evaluate_transaction("GetTransactionByID", CHANNEL, transaction_id)
    )
    payload = common_pb2.Payload.FromString(processed.transactionEnvelope.payload)
    action = transaction_pb2.ChaincodeActionPayload.FromString(
        transaction_pb2.Transaction.FromString(payload.data).actions[0].payload
    )
    return sorted(
        identities_pb2.SerializedIdentity.FromString(e.endorser).mspid for e in action.action.endorsements
    )


# ------------------------------------------------------------------------------------------- transactions


def test_submit_then_evaluate_from_another_org(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    key = unique("gw-submit")
    written = asset_py(gateway_for("HospitalA")).submit_transaction(
        "CreateAsset", key, "teal", "4", "hospital-a", "40"
    )
    assert json.loads(written)["ID"] == key
    caught_up(network, "Manufacturer", "HospitalA")
    read = asset_py(gateway_for("Manufacturer")).evaluate_transaction("ReadAsset", key)
    assert read == written


def test_submit_async_returns_the_result_before_the_commit_status(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    key = unique("gw-async")
    result, commit = asset_py(gateway_for("Regulator")).submit_async(
        "CreateAsset", key, "gold", "1", "reg", "9"
    )
    assert json.loads(result)["Color"] == "gold"
    status = commit.status()
    assert status.successful and status.code is StatusCode.VALID
    assert status.transaction_id == commit.transaction_id
    assert status.block_number > 0


def test_step_by_step_with_every_request_signed_offline(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    key = unique("gw-offline")
    sign = offline_signer(network, "DistributorA")
    with new_gateway(network, "DistributorA", offline=True) as gateway:
        contract = asset_py(gateway)
        unsigned = contract.new_proposal("CreateAsset", args=[key, "grey", "2", "distributor-a", "20"])
        with pytest.raises(fabrx.IdentityError, match="no signer"):
            unsigned.endorse()

        proposal = gateway.new_signed_proposal(unsigned.bytes, sign(unsigned.digest))
        assert proposal.transaction_id == unsigned.transaction_id
        endorsed = proposal.endorse()
        transaction = gateway.new_signed_transaction(endorsed.bytes, sign(endorsed.digest))
        submitted = transaction.submit()
        commit = gateway.new_signed_commit(submitted.bytes, sign(submitted.digest))
        status = commit.status()

        assert status.successful, status
        assert status.transaction_id == proposal.transaction_id
        assert json.loads(transaction.result)["Owner"] == "distributor-a"
        query = contract.new_proposal("ReadAsset", args=[key])
        assert gateway.new_signed_proposal(query.bytes, sign(query.digest)).evaluate() == transaction.result

        # Events, too, can be requested with an offline signature.
        request = gateway.get_network(CHANNEL).new_chaincode_events_request(
            "asset-py", start_block=status.block_number
        )
        signed_request = gateway.new_signed_chaincode_events_request(request.bytes, sign(request.digest))
        with signed_request.events(timeout=20) as events:
            asset_py(gateway_for("DistributorA")).submit_transaction("EmitEvent", "offline", key)
            event = next(e for e in events if e.event_name == "offline" and e.payload == key.encode())
        assert event.chaincode_name == "asset-py"


def test_conflicting_updates_of_one_key_commit_one_valid_and_one_mvcc_conflict(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    key = unique("gw-mvcc")
    manufacturer = asset_py(gateway_for("Manufacturer"))
    manufacturer.submit_transaction("CreateAsset", key, "white", "1", "manufacturer", "10")

    # Both read the same version of the key before either is ordered.
    first = manufacturer.new_proposal("TransferAsset", args=[key, "distributor-a"]).endorse()
    second = (
        asset_py(gateway_for("Regulator")).new_proposal("TransferAsset", args=[key, "hospital-b"]).endorse()
    )
    first_status = first.submit().status()
    second_status = second.submit().status()

    assert first_status.code is StatusCode.VALID
    assert second_status.code is StatusCode.MVCC_READ_CONFLICT
    assert not second_status.successful
    assert json.loads(manufacturer.evaluate_transaction("ReadAsset", key))["Owner"] == "distributor-a"


# ------------------------------------------------------------------------------------------------ events


def test_chaincode_events_resume_from_a_file_checkpoint_after_the_gateway_is_reopened(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway], tmp_path: Path
) -> None:
    run = unique("ckpt")
    start = height(network, "HospitalB")
    submitter = asset_py(gateway_for("Manufacturer"))
    for i in range(3):
        submitter.submit_transaction("EmitEvent", run, f"{run}-{i}")
    path = tmp_path / "checkpoint.json"

    def mine(events: Iterator[fabrx.ChaincodeEvent]) -> Iterator[fabrx.ChaincodeEvent]:
        return (e for e in events if e.event_name == run)

    checkpointer = fabrx.FileCheckpointer(path)
    with new_gateway(network, "HospitalB") as gateway:
        network_ = gateway.get_network(CHANNEL)
        with network_.chaincode_events(
            "asset-py", start_block=start, checkpoint=checkpointer, timeout=20
        ) as events:
            first = next(mine(events))
            checkpointer.checkpoint_chaincode_event(first)
    assert first.payload == f"{run}-0".encode()
    assert json.loads(path.read_text())["transaction_id"] == first.transaction_id

    resumed = fabrx.FileCheckpointer(path)  # as a restarted process would load it
    with (
        new_gateway(network, "HospitalB") as gateway,
        gateway.get_network(CHANNEL).chaincode_events(
            "asset-py", start_block=start, checkpoint=resumed, timeout=20
        ) as events,
    ):
        stream = mine(events)
        rest = [next(stream), next(stream)]
    assert [e.payload for e in rest] == [f"{run}-1".encode(), f"{run}-2".encode()]


def test_event_stream_survives_a_restart_of_its_gateway_peer_with_every_event_once_in_order(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    run = unique("restart")
    count = 12
    start = height(network, "Regulator")
    submitter = asset_py(gateway_for("Regulator"))
    submitted: list[str] = []
    failures: list[BaseException] = []

    def submit_all() -> None:
        try:
            for i in range(count):
                submitter.submit_transaction("EmitEvent", run, f"{i}")
                submitted.append(f"{i}")
                time.sleep(0.15)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    fast = fabrx.Reconnect(initial_delay=0.1, max_delay=1.0, give_up_after=60)
    received: list[fabrx.ChaincodeEvent] = []
    with (
        new_gateway(network, "Manufacturer", reconnect=fast) as gateway,
        gateway.get_network(CHANNEL).chaincode_events("asset-py", start_block=start, timeout=90) as events,
    ):
        thread = threading.Thread(target=submit_all)
        thread.start()
        try:
            restarted = False
            for event in events:
                if event.event_name != run:
                    continue
                received.append(event)
                if len(received) == 3 and not restarted:
                    # The listener's own gateway peer goes away mid-stream, then comes back.
                    assert network.stop_node("peer0.Manufacturer")
                    time.sleep(0.5)
                    network.start_node("peer0.Manufacturer")
                    restarted = True
                if len(received) == count:
                    break
        finally:
            thread.join(timeout=60)
    assert not failures, failures
    assert restarted
    # Later tests choose endorsers through this peer's gateway: let gossip see every peer again.
    network.wait_converged()
    payloads = [e.payload.decode() for e in received]
    assert payloads == [str(i) for i in range(count)]
    assert len({e.transaction_id for e in received}) == count
    assert [e.block_number for e in received] == sorted(e.block_number for e in received)


def test_block_events_full_and_filtered_show_the_transaction(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    start = height(network, "HospitalA")
    channel = gateway_for("HospitalA").get_network(CHANNEL)
    key = unique("gw-block")
    _, commit = asset_py(gateway_for("Manufacturer")).submit_async("CreateAsset", key, "cyan", "1", "m", "1")
    block_number = commit.status().block_number

    with channel.filtered_block_events(start_block=start, timeout=20) as filtered_blocks:
        filtered = next(b for b in filtered_blocks if b.number == block_number)
    [transaction] = [t for t in filtered.filtered_transactions if t.txid == commit.transaction_id]
    assert transaction.tx_validation_code == 0  # VALID
    assert filtered.channel_id == CHANNEL

    with channel.block_events(start_block=block_number, timeout=20) as blocks:
        block = next(blocks)
    assert block.header.number == block_number
    transaction_ids = []
    for envelope_bytes in block.data.data:
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(envelope_bytes).payload)
        transaction_ids.append(common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id)
    assert commit.transaction_id in transaction_ids


def test_block_events_requested_with_an_offline_signature(
    network: ConsortiumNetwork, gateway_for: Callable[[str], fabrx.Gateway]
) -> None:
    sign = offline_signer(network, "DistributorA")
    key = unique("gw-offline-block")
    _, commit = asset_py(gateway_for("DistributorA")).submit_async("CreateAsset", key, "red", "1", "d", "1")
    block_number = commit.status().block_number
    with new_gateway(network, "DistributorA", offline=True) as gateway:
        unsigned = gateway.get_network(CHANNEL).new_filtered_block_events_request(start_block=block_number)
        request = gateway.new_signed_filtered_block_events_request(unsigned.bytes, sign(unsigned.digest))
        with request.events(timeout=20) as blocks:
            block = next(blocks)
    assert block.number == block_number
    assert commit.transaction_id in [t.txid for t in block.filtered_transactions]


# ----------------------------------------------------------------------------------------------- asyncio


def test_asyncio_client_evaluates_submits_and_listens(network: ConsortiumNetwork) -> None:
    org = network.consortium.org("HospitalB")
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    key = unique("gw-aio")

    async def main() -> tuple[bytes, bytes, fabrx.ChaincodeEvent, fabrx.Status]:
        async with aio.connect(
            network.peer_endpoint(org, org.peers[0]), identity=identity, signer=signer
        ) as gateway:
            contract = asset_py(gateway)
            written, commit = await contract.submit_async("CreateAsset", key, "pink", "6", "hospital-b", "60")
            status = await commit.status()
            read = await contract.evaluate_transaction("ReadAsset", key)
            events = await gateway.get_network(CHANNEL).chaincode_events(
                "asset-py", start_block=status.block_number, timeout=20
            )
            async with events:
                await contract.submit_transaction("EmitEvent", "aio", key)
                event = await anext(
                    e async for e in events if e.event_name == "aio" and e.payload == key.encode()
                )
            return written, read, event, status

    written, read, event, status = asyncio.run(main())
    assert read == written and json.loads(written)["Owner"] == "hospital-b"
    assert status.successful
    assert event.block_number > status.block_number


# ------------------------------------------------------------------- private data: endorsers from the ledger


def test_private_write_without_naming_endorsers_uses_the_orgs_fabrx_reads_from_the_definition(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    manufacturer = gateway_for("Manufacturer")
    contract = asset_py(manufacturer)
    key = unique("pd-auto")

    assert contract.endorsing_organizations_for(["assetPrivate"]) == ("ManufacturerMSP",)
    _, commit = contract.submit_async(
        "PutPrivate", "assetPrivate", transient={key: "auto"}, collections=["assetPrivate"]
    )
    assert commit.status().successful
    assert endorsing_msp_ids(manufacturer, commit.transaction_id) == ["ManufacturerMSP"]
    assert (
        contract.evaluate_transaction("GetPrivate", "assetPrivate", key, collections=["assetPrivate"])
        == b"auto"
    )

    # Naming the endorsers still wins over the computed choice.
    override = unique("pd-override")
    _, commit = contract.submit_async(
        "PutPrivate",
        "assetPrivate",
        transient={override: "explicit"},
        collections=["assetPrivate"],
        endorsing_organizations=["RegulatorMSP"],
    )
    assert commit.status().successful
    assert endorsing_msp_ids(manufacturer, commit.transaction_id) == ["RegulatorMSP"]


def test_endorsers_for_collections_come_from_the_real_definitions(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    # The pharma chaincode's policy is the regulator's peer; implicit collections add their organization.
    pharma = gateway_for("Manufacturer").get_network(CHANNEL).get_contract("pharma")
    assert pharma.endorsing_organizations_for(
        ["_implicit_org_ManufacturerMSP", "_implicit_org_RegulatorMSP"]
    ) == (
        "ManufacturerMSP",
        "RegulatorMSP",
    )
    # asset-py's own collection, whose members alone cannot endorse (fabric#3328), is defined explicitly.
    asset = gateway_for("Manufacturer").get_network(CHANNEL).get_contract("asset-py")
    assert "ManufacturerMSP" in asset.endorsing_organizations_for(["assetPrivate"])
    with pytest.raises(fabrx.EndorseError, match="no private data collection 'assetPrivate'"):
        pharma.endorsing_organizations_for(["assetPrivate"])


def test_the_default_channel_endorsement_policy_resolves_from_the_real_channel_configuration(
    gateway_for: Callable[[str], fabrx.Gateway],
) -> None:
    # No chaincode of the consortium uses the channel default, so the real configuration (read through
    # the Gateway as a contract would) is applied to a definition that does.
    gateway = gateway_for("Manufacturer")
    session = gateway._session
    payload = Proposal(session, config_query(session.signing, CHANNEL), CHANNEL).evaluate()
    policies = parse_config(payload)
    default = CommittedDefinition(
        name="default-policy",
        sequence=1,
        version="1",
        endorsement_plugin="escc",
        validation_plugin="vscc",
        validation_parameter=b"",  # the channel default, /Channel/Application/Endorsement
        init_required=False,
        collection_protos=(CollectionConfig(name="c", policy="OR('HospitalAMSP.member')").to_proto(),),
    )
    chosen = select_endorsers(
        default, ["c"], own_msp_id="ManufacturerMSP", channel_id=CHANNEL, channel_policies=policies
    )
    # MAJORITY Endorsement of the six application organizations: four, the own org and the member first.
    assert len(chosen) == 4 and chosen[:2] == ("ManufacturerMSP", "HospitalAMSP")
