"""Changing the running test channel with signed config updates, and what is refused.

Every update here is computed by fabrx, signed by the organizations' admins from the run directory as
separate signature files would be, checked and submitted; the channel is read back from a peer. Tests
that change the channel put it back (anchor peers restored, the added organization removed), so the
rest of the session sees the consortium it started with. Fabric's own ``configtxlator compute_update``
is the reference for the update computation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from fabric_protos.common import configtx_pb2, policies_pb2
from netsupport import TEST_PORT_BASE, installed_fabric, spawned_node, stop_process

import fabrx
from fabrx.admin import (
    AnchorPeer,
    ChannelConfig,
    ChannelUpdate,
    JoinRequest,
    JoinRequestError,
    PeerAdmin,
    ProposalRejected,
    SignaturesInsufficient,
    UpdateSignature,
    add_crl,
    add_organization,
    approve_for_my_org,
    compute_update,
    config_from_block,
    describe_update,
    fetch_block,
    join_by_snapshot_status,
    join_channel_by_snapshot,
    new_channel_update,
    query_committed,
    read_channel_config,
    read_channel_config_from_orderer,
    remove_consenter,
    remove_organization,
    set_anchor_peers,
    sign_update,
    snapshot_path,
    submit_update,
)
from fabrx.ca import CAClient
from fabrx.errors import AdminError, CAError, EndorseError, FabrxError
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork
from fabrx_network.admins import OrgAdmin, org_admin, org_registrar
from fabrx_network.chaincodes import chaincode_definition
from fabrx_network.layout import peer_node

pytestmark = pytest.mark.integration

CHANNEL = "pharma"
APPLICATION_ORGS = ("Regulator", "Manufacturer", "DistributorA", "DistributorB", "HospitalA", "HospitalB")
# The new organization's CA runs on ports of this suite's range, above the consortium's own.
NEW_ORG_CA_PORT = TEST_PORT_BASE + 950
NEW_ORG_ANCHOR_PORT = TEST_PORT_BASE + 952


def _admin(network: ConsortiumNetwork, org: str) -> OrgAdmin:
    return org_admin(network, org)


def _current(network: ConsortiumNetwork) -> ChannelConfig:
    return read_channel_config(_admin(network, "Regulator").require_peer(), CHANNEL)


def _signatures(
    update: ChannelUpdate, network: ConsortiumNetwork, orgs: tuple[str, ...]
) -> list[UpdateSignature]:
    """Each admin signs on its own; only the signature bytes travel back, as files would."""
    signatures = []
    for org in orgs:
        admin = _admin(network, org)
        signed = sign_update(ChannelUpdate.from_bytes(update.bytes), admin.identity, admin.signer)
        signatures.append(UpdateSignature.from_bytes(signed.bytes))
    return signatures


def _submit(
    network: ConsortiumNetwork, update: ChannelUpdate, signatures: list[UpdateSignature]
) -> ChannelConfig:
    admin = _admin(network, "Regulator")
    return submit_update(update, signatures, peer=admin.require_peer(), orderer=admin.require_orderer())


def _broadcast_unchecked(
    network: ConsortiumNetwork, update: ChannelUpdate, signatures: list[UpdateSignature]
) -> None:
    """Send ``update`` to the orderer as ``peer channel update`` would, without fabrx's signature check."""
    from fabric_protos.common import common_pb2

    from fabrx._protocol import new_channel_header, sign_envelope
    from fabrx.admin._endorse import broadcast

    admin = _admin(network, "Regulator")
    data = configtx_pb2.ConfigUpdateEnvelope(
        config_update=update.config_update,
        signatures=[
            configtx_pb2.ConfigSignature(signature_header=s.signature_header, signature=s.signature)
            for s in signatures
        ],
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=new_channel_header(common_pb2.CONFIG_UPDATE, CHANNEL).SerializeToString(),
            signature_header=common_pb2.SignatureHeader(
                creator=admin.identity.serialize(), nonce=b"n" * 24
            ).SerializeToString(),
        ),
        data=data.SerializeToString(),
    )
    envelope = sign_envelope(payload, admin.signer, fabrx.hashing.sha256)
    broadcast(admin.require_orderer(), envelope, "unchecked update")


def _wait_sequence_everywhere(network: ConsortiumNetwork, sequence: int, timeout: float = 30.0) -> None:
    """Every application peer has the configuration of at least ``sequence``."""
    deadline = time.monotonic() + timeout
    for org in APPLICATION_ORGS:
        peer = _admin(network, org).require_peer()
        while (seen := read_channel_config(peer, CHANNEL).sequence) < sequence:
            if time.monotonic() > deadline:
                pytest.fail(f"{org}'s peer is at configuration sequence {seen}, expected {sequence}")
            time.sleep(0.1)


@pytest.fixture(scope="module", autouse=True)
def channel_put_back(network: ConsortiumNetwork) -> Iterator[None]:
    """Whatever a failing test left behind, the session's other tests get the channel's organizations and
    anchor peers back (the CRL of the revocation test stays: it revokes only that test's identity)."""
    start = _current(network)
    yield
    current = _current(network)
    majority = ("Regulator", "HospitalA", "DistributorA", "Manufacturer")
    for org in current.application_orgs:
        if org.msp_id not in {o.msp_id for o in start.application_orgs}:
            removal = new_channel_update(current, remove_organization(current, org.msp_id))
            current = _submit(network, removal, _signatures(removal, network, majority))
    for org in start.application_orgs:
        if current.application_org(org.msp_id).anchor_peers != org.anchor_peers:
            restore = new_channel_update(current, set_anchor_peers(current, org.msp_id, org.anchor_peers))
            current = _submit(network, restore, _signatures(restore, network, (org.name,)))
    _wait_sequence_everywhere(network, current.sequence)


# --- reading and computing ---------------------------------------------------------------------------


def test_channel_configuration_is_read_from_a_peer_as_typed_object(network: ConsortiumNetwork) -> None:
    config = _current(network)
    orgs = {org.msp_id: org for org in config.application_orgs}
    assert set(orgs) >= {network.consortium.org(o).msp_id for o in APPLICATION_ORGS}
    hospital = network.consortium.org("HospitalA")
    assert orgs["HospitalAMSP"].anchor_peers == (AnchorPeer(network.consortium.host, hospital.peers[0].port),)
    assert orgs["HospitalAMSP"].msp.node_ous
    assert orgs["HospitalAMSP"].msp.root_certs == (network.layout.ca_cert("HospitalA").read_bytes(),)
    assert config.consensus_type == "etcdraft"
    assert [c.port for c in config.consenters] == [o.port for o in network.consortium.orderer_org.orderers]


def test_orderer_organization_reads_the_same_configuration_from_the_orderer(
    network: ConsortiumNetwork,
) -> None:
    orderer_admin = _admin(network, "Orderer")
    assert orderer_admin.peer is None
    from_orderer = read_channel_config_from_orderer(
        orderer_admin.require_orderer(), orderer_admin.identity, orderer_admin.signer, CHANNEL
    )
    _wait_sequence_everywhere(network, from_orderer.sequence)
    assert from_orderer.copy() == _current(network).copy()
    assert [o.msp_id for o in from_orderer.orderer_orgs] == ["OrdererMSP"]
    # An identity of no channel organization may not read it.
    with pytest.raises(AdminError, match=r"refused with (FORBIDDEN|BAD_REQUEST)"):
        read_channel_config_from_orderer(
            orderer_admin.require_orderer(),
            fabrx.Identity("NoSuchMSP", orderer_admin.identity.credentials),
            orderer_admin.signer,
            CHANNEL,
        )


def _changed_batch_timeout(config: ChannelConfig) -> configtx_pb2.Config:
    from fabric_protos.orderer import configuration_pb2

    changed = config.copy()
    value = changed.channel_group.groups["Orderer"].values["BatchTimeout"]
    value.value = configuration_pb2.BatchTimeout(timeout="25ms").SerializeToString()
    return changed


def _changed_admins_policy(config: ChannelConfig) -> configtx_pb2.Config:
    changed = config.copy()
    policy = changed.channel_group.groups["Application"].policies["Admins"]
    policy.policy.value = policies_pb2.ImplicitMetaPolicy(
        rule=policies_pb2.ImplicitMetaPolicy.ANY, sub_policy="Admins"
    ).SerializeToString()
    policy.mod_policy = "/Channel/Orderer/Admins"
    return changed


@pytest.mark.parametrize(
    "change",
    ["anchor_peers", "remove_org", "add_org", "batch_timeout", "admins_policy", "add_and_remove"],
)
def test_compute_update_equals_configtxlator_compute_update(
    network: ConsortiumNetwork, join_request: JoinRequest, tmp_path: Path, change: str
) -> None:
    config = _current(network)
    changes = {
        "anchor_peers": lambda: set_anchor_peers(config, "HospitalAMSP", [AnchorPeer("127.0.0.1", 1)]),
        "remove_org": lambda: remove_organization(config, "DistributorBMSP"),
        "add_org": lambda: add_organization(config, join_request),
        "batch_timeout": lambda: _changed_batch_timeout(config),
        "admins_policy": lambda: _changed_admins_policy(config),
        "add_and_remove": lambda: remove_organization(
            ChannelConfig(CHANNEL, add_organization(config, join_request)), "ManufacturerMSP"
        ),
    }
    updated = changes[change]()
    (tmp_path / "original.pb").write_bytes(config.serialize())
    (tmp_path / "updated.pb").write_bytes(updated.SerializeToString())
    result = subprocess.run(
        [
            str(installed_fabric().binary("configtxlator")),
            "compute_update",
            "--channel_id",
            CHANNEL,
            "--original",
            str(tmp_path / "original.pb"),
            "--updated",
            str(tmp_path / "updated.pb"),
            "--output",
            str(tmp_path / "update.pb"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reference = configtx_pb2.ConfigUpdate.FromString((tmp_path / "update.pb").read_bytes())
    ours = compute_update(config, updated)
    # Go serializes maps in random order: compare the messages, not the bytes.
    assert ours == reference


# --- anchor peers: one organization's own admins --------------------------------------------------------


def test_anchor_peers_are_set_by_the_organizations_own_admin_and_restored(network: ConsortiumNetwork) -> None:
    before = _current(network)
    original = before.application_org("HospitalAMSP").anchor_peers
    extra = AnchorPeer(network.consortium.host, NEW_ORG_ANCHOR_PORT)
    update = new_channel_update(before, set_anchor_peers(before, "HospitalAMSP", [*original, extra]))
    assert describe_update(update.update, before) == (
        f"sets the anchor peers of HospitalAMSP to {', '.join(map(str, (*original, extra)))} "
        f"(were: {', '.join(map(str, original))})",
    )

    # Another organization's admin cannot change HospitalA's anchor peers.
    with pytest.raises(SignaturesInsufficient) as refused:
        _submit(network, update, _signatures(update, network, ("Manufacturer",)))
    assert "/Channel/Application/HospitalA/Admins" in str(refused.value)
    assert _current(network).sequence == before.sequence

    after = _submit(network, update, _signatures(update, network, ("HospitalA",)))
    assert after.sequence == before.sequence + 1
    assert after.application_org("HospitalAMSP").anchor_peers == (*original, extra)

    restore = new_channel_update(after, set_anchor_peers(after, "HospitalAMSP", original))
    restored = _submit(network, restore, _signatures(restore, network, ("HospitalA",)))
    assert restored.application_org("HospitalAMSP").anchor_peers == original
    _wait_sequence_everywhere(network, restored.sequence)


# --- a new organization: a majority of admins --------------------------------------------------------


@pytest.fixture(scope="module")
def new_org_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CAClient, fabrx.Enrollment]]:
    """HospitalC's own Fabric CA, on its own host in real life: its home and an enrolled bootstrap admin."""
    home = tmp_path_factory.mktemp("hospitalc-ca")
    argv = [
        str(installed_fabric().ca_bin_dir / "fabric-ca-server"), "start",
        "--home", str(home),
        "--boot", "admin:adminpw",
        "--ca.name", "ca-HospitalC",
        "--csr.cn", "ca.HospitalC",
        "--address", "127.0.0.1",
        "--port", str(NEW_ORG_CA_PORT),
        "--operations.listenaddress", f"127.0.0.1:{NEW_ORG_CA_PORT + 1}",
        "--tls.enabled",
        "--csr.hosts", "127.0.0.1,localhost",
    ]  # fmt: skip
    log = home / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, cwd=home, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"fabric-ca-server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if (home / "ca-cert.pem").exists() and (home / "tls-cert.pem").exists():
                client = CAClient(
                    f"https://127.0.0.1:{NEW_ORG_CA_PORT}",
                    tls_root_certs=home / "ca-cert.pem",
                    ca_name="ca-HospitalC",
                    timeout=10,
                )
                with contextlib.suppress(CAError):
                    client.info()
                    break
                client.close()
            if time.monotonic() > deadline:
                pytest.fail(f"HospitalC's CA did not serve within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        with client:
            yield home, client, client.enroll("admin", "adminpw")
    finally:
        stop_process(process, timeout=10)


@pytest.fixture(scope="module")
def hospital_c_admin(
    new_org_ca: tuple[Path, CAClient, fabrx.Enrollment], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, fabrx.Identity, fabrx.Signer]:
    """HospitalC's organization MSP folder and its admin (an identity of node OU ``admin``)."""
    home, client, registrar = new_org_ca
    secret = client.register(
        fabrx.Identity("", registrar.certificate), registrar.signer(), "admin.HospitalC", type="admin"
    )
    admin = client.enroll("admin.HospitalC", secret)
    msp = tmp_path_factory.mktemp("hospitalc-msp")
    for folder in ("cacerts", "tlscacerts"):
        (msp / folder).mkdir()
        (msp / folder / "ca.pem").write_bytes((home / "ca-cert.pem").read_bytes())
    from fabrx_network.render import NODE_OU_CONFIG

    (msp / "config.yaml").write_text(NODE_OU_CONFIG, encoding="utf-8")
    return msp, fabrx.Identity("HospitalCMSP", admin.certificate), admin.signer()


@pytest.fixture(scope="module")
def join_request(
    hospital_c_admin: tuple[Path, fabrx.Identity, fabrx.Signer], tmp_path_factory: pytest.TempPathFactory
) -> JoinRequest:
    msp, _, _ = hospital_c_admin
    request = JoinRequest.from_msp_folder(
        "HospitalC", "HospitalCMSP", msp, (AnchorPeer("127.0.0.1", NEW_ORG_ANCHOR_PORT),)
    )
    # The request travels as a file.
    path = tmp_path_factory.mktemp("join") / "HospitalC.json"
    path.write_text(request.to_json(), encoding="utf-8")
    return JoinRequest.from_json(path.read_text(encoding="utf-8"))


def test_new_organization_joins_with_a_majority_of_admins_and_is_removed_again(
    network: ConsortiumNetwork,
    join_request: JoinRequest,
    new_org_ca: tuple[Path, CAClient, fabrx.Enrollment],
    hospital_c_admin: tuple[Path, fabrx.Identity, fabrx.Signer],
    tmp_path: Path,
) -> None:
    _, client, registrar = new_org_ca
    secret = client.register(
        fabrx.Identity("", registrar.certificate), registrar.signer(), "client.HospitalC", type="client"
    )
    member = client.enroll("client.HospitalC", secret)
    hospital_a = network.consortium.org("HospitalA")

    def submit_as_member(asset_id: str) -> bytes:
        # HospitalC runs no peer yet: its client goes through HospitalA's gateway peer.
        with fabrx.connect(
            network.peer_endpoint(hospital_a, hospital_a.peers[0]),
            identity=fabrx.Identity("HospitalCMSP", member.certificate),
            signer=member.signer(),
        ) as gateway:
            contract = gateway.get_network(CHANNEL).get_contract("asset-py")
            return contract.submit_transaction("CreateAsset", asset_id, "white", "1", "hospital-c", "1")

    _, admin_identity, admin_signer = hospital_c_admin
    with pytest.raises(AdminError, match="refused with FORBIDDEN"):
        fetch_block(network.orderer_endpoint(), admin_identity, admin_signer, CHANNEL, 0)
    with pytest.raises(EndorseError) as not_yet:  # not a member yet
        submit_as_member("hospital-c-before")
    assert "creator org unknown" in " ".join(d.message for d in not_yet.value.details)

    before = _current(network)
    update = new_channel_update(before, add_organization(before, join_request))
    assert describe_update(update.update, before) == (
        "sets policy /Channel/Application/Readers: adds "
        "'HospitalCMSP.admin', 'HospitalCMSP.peer', 'HospitalCMSP.client'",
        "sets policy /Channel/Application/Writers: adds 'HospitalCMSP.admin', 'HospitalCMSP.client'",
        f"adds organization HospitalCMSP (group HospitalC) with anchor peers 127.0.0.1:{NEW_ORG_ANCHOR_PORT}",
    )

    # Three of six admins are not a majority: refused, naming the policy and what is missing.
    three = _signatures(update, network, ("Regulator", "HospitalA", "DistributorA"))
    with pytest.raises(SignaturesInsufficient) as refused:
        _submit(network, update, three)
    message = str(refused.value)
    assert "/Channel/Application/Admins (MAJORITY Admins (4 of 6))" in message
    assert "1 more of" in message and "/Channel/Application/HospitalB/Admins" in message
    assert _current(network).sequence == before.sequence

    # Sent without fabrx's check, the orderer itself refuses it: the channel's own rule, not only fabrx's.
    with pytest.raises(AdminError, match="refused the transaction"):
        _broadcast_unchecked(network, update, three)
    assert _current(network).sequence == before.sequence

    # A tampered update (the anchor port changed after signing) is refused: the signatures no longer match.
    tampered_config = add_organization(
        before,
        JoinRequest.from_json(
            join_request.to_json().replace(str(NEW_ORG_ANCHOR_PORT), str(NEW_ORG_ANCHOR_PORT + 1))
        ),
    )
    tampered = ChannelUpdate(CHANNEL, compute_update(before, tampered_config).SerializeToString())
    four = [*three, *_signatures(update, network, ("Manufacturer",))]
    with pytest.raises(SignaturesInsufficient) as refused:
        _submit(network, tampered, four)
    assert "does not match this update's bytes" in str(refused.value)
    assert _current(network).sequence == before.sequence

    joined = _submit(network, update, four)
    assert joined.sequence == before.sequence + 1
    org = joined.application_org("HospitalCMSP")
    assert org.name == "HospitalC"
    assert org.anchor_peers == (AnchorPeer("127.0.0.1", NEW_ORG_ANCHOR_PORT),)
    assert org.msp.root_certs == join_request.root_certs
    _wait_sequence_everywhere(network, joined.sequence)
    submit_as_member(f"hospital-c-{joined.sequence}")  # a member now: its client's submit commits
    # Its admin can now fetch the genesis block its own peer will join with (refused before it joined).
    _, admin_identity, admin_signer = hospital_c_admin
    genesis = fetch_block(network.orderer_endpoint(), admin_identity, admin_signer, CHANNEL, 0)
    assert config_from_block(genesis).sequence == 0
    assert "HospitalCMSP" not in {o.msp_id for o in config_from_block(genesis).application_orgs}

    # HospitalC's own peer (on its own host in real life: its own run directory here) joins from the
    # genesis block and catches up with the channel.
    home, ca_client, ca_registrar = new_org_ca
    with _new_member_peer(
        network, home, ca_client, ca_registrar, (admin_identity, admin_signer), tmp_path
    ) as new_peer:
        assert new_peer.join_channel(genesis).already_joined is False
        regulator_peer = _admin(network, "Regulator").require_peer()
        target = regulator_peer.chain_info(CHANNEL).height
        deadline = time.monotonic() + 60
        height = 0
        while height < target:
            assert time.monotonic() < deadline, f"HospitalC's peer is at height {height} of {target}"
            time.sleep(0.2)
            try:
                height = new_peer.chain_info(CHANNEL).height
            except ProposalRejected as exc:
                # Until the peer has the block that adds HospitalC, its own admin is no reader there.
                assert "access denied" in exc.reason
        assert read_channel_config(new_peer, CHANNEL).application_org("HospitalCMSP").name == "HospitalC"

        # It installs the chaincode package and approves the committed definition for its organization;
        # its own client then calls the chaincode on its own peer.
        asset = next(c for c in network.consortium.chaincodes if c.name == "asset-py")
        package = (
            network.layout.chaincode_dir(asset.name) / f"{asset.name}_{asset.version}.tar.gz"
        ).read_bytes()
        installed = new_peer.install(package)
        definition = dataclasses.replace(
            chaincode_definition(network.consortium, asset), package_id=installed.package_id
        )
        approve_for_my_org(new_peer, CHANNEL, definition, orderer=network.orderer_endpoint())
        (committed,) = query_committed(new_peer, CHANNEL, asset.name)
        assert committed.approvals.get("HospitalCMSP") is True
        with fabrx.connect(
            new_peer.endpoint,
            identity=fabrx.Identity("HospitalCMSP", member.certificate),
            signer=member.signer(),
        ) as own_gateway:
            contract = own_gateway.get_network(CHANNEL).get_contract(asset.name)
            assert b"hospital-c-" in contract.evaluate_transaction("GetAllAssets")

    # The same request again: the MSP id is already in the channel.
    with pytest.raises(AdminError, match="MSP id HospitalCMSP is already used by organization HospitalC"):
        add_organization(joined, join_request)

    # Removal needs a majority of the seven, and the new member's own admin counts.
    _, identity, signer = hospital_c_admin
    removal = new_channel_update(joined, remove_organization(joined, "HospitalCMSP"))
    assert describe_update(removal.update, joined) == (
        "removes organization HospitalCMSP (group HospitalC)",
        "sets policy /Channel/Application/Readers: removes "
        "'HospitalCMSP.admin', 'HospitalCMSP.peer', 'HospitalCMSP.client'",
        "sets policy /Channel/Application/Writers: removes 'HospitalCMSP.admin', 'HospitalCMSP.client'",
    )
    signatures = [
        *_signatures(removal, network, ("Regulator", "HospitalA", "DistributorA")),
        sign_update(removal, identity, signer),
    ]
    removed = _submit(network, removal, signatures)
    assert "HospitalCMSP" not in {o.msp_id for o in removed.application_orgs}
    assert {o.msp_id for o in removed.application_orgs} == {o.msp_id for o in before.application_orgs}
    _wait_sequence_everywhere(network, removed.sequence)
    with pytest.raises(EndorseError) as removed_refusal:  # removed: refused again
        submit_as_member(f"hospital-c-{removed.sequence}")
    assert "creator org unknown" in " ".join(d.message for d in removed_refusal.value.details)


def test_a_new_member_peer_joins_from_a_snapshot_of_a_members_peer(
    network: ConsortiumNetwork,
    join_request: JoinRequest,
    new_org_ca: tuple[Path, CAClient, fabrx.Enrollment],
    hospital_c_admin: tuple[Path, fabrx.Identity, fabrx.Signer],
    tmp_path: Path,
) -> None:
    before = _current(network)
    update = new_channel_update(before, add_organization(before, join_request))
    joined = _submit(
        network,
        update,
        _signatures(update, network, ("Regulator", "HospitalA", "DistributorA", "Manufacturer")),
    )
    _wait_sequence_everywhere(network, joined.sequence)

    # The regulator's peer writes a snapshot of the channel after the block that added HospitalC.
    result = CliRunner().invoke(
        cli,
        [
            *("--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir)),
            *("--json", "channel", "snapshot", "--as", "Regulator"),
        ],
    )
    assert result.exit_code == 0, result.output
    number = json.loads(result.output)["block_number"]
    regulator = _admin(network, "Regulator").require_peer()
    assert number >= joined.sequence  # at least as many blocks as configuration updates
    source = snapshot_path(network.layout.peer_snapshots(peer_node("Regulator", "peer0")), CHANNEL, number)
    assert (source / "_snapshot_signable_metadata.json").is_file()
    # The folder is handed to HospitalC's host; a block is committed after the snapshot.
    handed = tmp_path / "handed" / str(number)
    shutil.copytree(source, handed)
    hospital_a = network.consortium.org("HospitalA")
    identity, signer, _ = fabrx.load_msp_folder("HospitalAMSP", network.client_msp(hospital_a))
    with fabrx.connect(
        network.peer_endpoint(hospital_a, hospital_a.peers[0]), identity=identity, signer=signer
    ) as gateway:
        gateway.get_network(CHANNEL).get_contract("asset-py").submit_transaction(
            "CreateAsset", f"after-snapshot-{number}", "green", "1", "hospital-a", "1"
        )

    home, ca_client, ca_registrar = new_org_ca
    _, admin_identity, admin_signer = hospital_c_admin
    with _new_member_peer(
        network, home, ca_client, ca_registrar, (admin_identity, admin_signer), tmp_path
    ) as new_peer:
        join_channel_by_snapshot(new_peer, handed)
        deadline = time.monotonic() + 120
        while join_by_snapshot_status(new_peer).in_progress:
            assert time.monotonic() < deadline, "HospitalC's peer still builds its ledger from the snapshot"
            time.sleep(0.2)
        assert CHANNEL in new_peer.channels()
        target = regulator.chain_info(CHANNEL).height
        while (height := new_peer.chain_info(CHANNEL).height) < target:
            assert time.monotonic() < deadline, f"HospitalC's peer is at height {height} of {target}"
            time.sleep(0.2)
        # It started at the snapshot's block and pulled the blocks committed after it.
        assert height > number + 1
        assert read_channel_config(new_peer, CHANNEL).application_org("HospitalCMSP").name == "HospitalC"
    # A snapshot folder the peer cannot read is refused with the peer's reason.
    with pytest.raises(AdminError, match="join by snapshot"):
        join_channel_by_snapshot(regulator, tmp_path / "no-such-snapshot")
    # The module's fixture removes HospitalC again.


@contextlib.contextmanager
def _new_member_peer(
    network: ConsortiumNetwork,
    ca_home: Path,
    client: CAClient,
    registrar: fabrx.Enrollment,
    admin: tuple[fabrx.Identity, fabrx.Signer],
    root: Path,
) -> Iterator[PeerAdmin]:
    """Start peer0 of HospitalC from its own CA's identities, rendered as fabrx renders any peer."""
    from fabrx_network.config import Organization, Peer
    from fabrx_network.identities import IdentityPlan, issue_identity
    from fabrx_network.layout import RunLayout
    from fabrx_network.render import render_peer

    layout = RunLayout(root / "hospitalc-host")
    peer = Peer(name="peer0", port=NEW_ORG_ANCHOR_PORT, chaincode_port=NEW_ORG_ANCHOR_PORT + 1,
                operations_port=NEW_ORG_ANCHOR_PORT + 2)  # fmt: skip
    org = Organization(name="HospitalC", role="hospital", peers=(peer,), msp_id="HospitalCMSP")
    plan = IdentityPlan(
        "HospitalC",
        "peer0.HospitalC",
        "peer",
        layout.peer_msp("HospitalC", "peer0"),
        layout.peer_tls("HospitalC", "peer0"),
    )
    issue_identity(
        client, registrar, "new-member-secret", plan, ("peer0.HospitalC", "localhost", "127.0.0.1")
    )
    shutil.copytree(network.layout.ccaas_builder, layout.ccaas_builder)
    spec = render_peer(network.consortium, org, peer, layout, installed_fabric())
    peer_admin = PeerAdmin(
        fabrx.Endpoint(
            address=f"127.0.0.1:{peer.port}", tls_root_certs=(ca_home / "ca-cert.pem").read_bytes()
        ),
        *admin,
    )
    with peer_admin, spawned_node(spec, peer_admin.channels):
        yield peer_admin


def test_malformed_join_requests_are_refused_naming_each_problem(
    network: ConsortiumNetwork, join_request: JoinRequest
) -> None:
    text = join_request.to_json()
    broken = text.replace("-----BEGIN CERTIFICATE-----\\nMII", "-----BEGIN CERTIFICATE-----\\nXXX", 1)
    with pytest.raises(JoinRequestError, match=r"root_certs\[0\]: not a PEM certificate"):
        JoinRequest.from_json(broken)
    with pytest.raises(JoinRequestError, match="format"):
        JoinRequest.from_json('{"name": "X"}')
    with pytest.raises(JoinRequestError) as refused:
        JoinRequest.from_json(
            text.replace('"HospitalCMSP"', '"Hospital C!"').replace(f":{NEW_ORG_ANCHOR_PORT}", ":99999")
        )
    assert any(p.startswith("msp_id:") for p in refused.value.problems)
    assert any(p.startswith("anchor_peers[0]:") for p in refused.value.problems)
    current = _current(network)
    existing = JoinRequest.from_json(text.replace('"HospitalCMSP"', '"HospitalAMSP"'))
    with pytest.raises(AdminError, match="MSP id HospitalAMSP is already used by organization HospitalA"):
        add_organization(current, existing)


# --- revocation: a CRL in the member's MSP ------------------------------------------------------------


def test_revoked_client_is_refused_on_every_peer_once_the_crl_is_in_the_channel(
    network: ConsortiumNetwork,
) -> None:
    client, registrar = org_registrar(network, "HospitalB")
    with client:
        registrar_identity = fabrx.Identity("", registrar.certificate)
        secret = client.register(registrar_identity, registrar.signer(), "leaver.HospitalB", type="client")
        leaver = client.enroll("leaver.HospitalB", secret)
        identity = fabrx.Identity("HospitalBMSP", leaver.certificate)
        serial = x509.load_pem_x509_certificate(leaver.certificate).serial_number

        def read_on(org: str) -> bytes:
            organization = network.consortium.org(org)
            with fabrx.connect(
                network.peer_endpoint(organization, organization.peers[0]),
                identity=identity,
                signer=leaver.signer(),
            ) as gateway:
                contract = gateway.get_network(CHANNEL).get_contract("asset-py")
                return contract.evaluate_transaction("GetAllAssets")

        read_on("HospitalB")  # accepted before the revocation

        # Revoking a serial the CA never issued is refused by the CA.
        with pytest.raises(CAError):
            client.revoke(
                registrar_identity, registrar.signer(), serial="ab" * 10, aki=_aki(leaver.certificate)
            )

        revocation = client.revoke(
            registrar_identity, registrar.signer(), certificate=leaver.certificate, gen_crl=True
        )
    assert revocation.crl is not None
    before = _current(network)
    # A CRL that does not list the serial the admin means to revoke is refused before anything is signed.
    with pytest.raises(AdminError, match="does not revoke serial"):
        add_crl(before, "HospitalBMSP", revocation.crl, revoked=[serial + 1])
    # A CRL of another organization's CA is refused.
    with pytest.raises(AdminError, match="is not signed by a CA of HospitalAMSP"):
        add_crl(before, "HospitalAMSP", revocation.crl)

    update = new_channel_update(before, add_crl(before, "HospitalBMSP", revocation.crl, revoked=[serial]))
    assert describe_update(update.update, before) == (
        f"updates the CRL of HospitalBMSP, revoking certificate serial(s) {serial:x}",
    )
    after = _submit(network, update, _signatures(update, network, ("HospitalB",)))
    _wait_sequence_everywhere(network, after.sequence)
    for org in APPLICATION_ORGS:
        with pytest.raises(FabrxError) as refused:
            read_on(org)
        assert "access denied: channel [pharma] creator org [HospitalBMSP]" in str(refused.value)
    # Only that identity: HospitalB's other client still reads.
    hospital_b = network.consortium.org("HospitalB")
    other, other_signer, _ = fabrx.load_msp_folder("HospitalBMSP", network.client_msp(hospital_b))
    with fabrx.connect(
        network.peer_endpoint(hospital_b, hospital_b.peers[0]), identity=other, signer=other_signer
    ) as gateway:
        gateway.get_network(CHANNEL).get_contract("asset-py").evaluate_transaction("GetAllAssets")


def _aki(certificate: bytes) -> str:
    cert = x509.load_pem_x509_certificate(certificate)
    return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier.hex()  # type: ignore[union-attr]


# --- what else is refused -------------------------------------------------------------------------------


def test_removing_the_last_orderer_is_refused(network: ConsortiumNetwork) -> None:
    config = _current(network)
    (only,) = config.consenters
    with pytest.raises(AdminError, match="is the last orderer of pharma"):
        remove_consenter(config, only.host, only.port)


def test_a_signature_of_another_update_does_not_count(network: ConsortiumNetwork) -> None:
    before = _current(network)
    anchors = before.application_org("HospitalBMSP").anchor_peers
    one = new_channel_update(
        before, set_anchor_peers(before, "HospitalBMSP", [*anchors, AnchorPeer("127.0.0.1", 1)])
    )
    other = new_channel_update(
        before, set_anchor_peers(before, "HospitalBMSP", [*anchors, AnchorPeer("127.0.0.1", 2)])
    )
    with pytest.raises(SignaturesInsufficient, match="does not match this update's bytes"):
        _submit(network, one, _signatures(other, network, ("HospitalB",)))
    assert _current(network).sequence == before.sequence


# --- the same flow through the fabrx command, with files only -------------------------------------------


def test_cli_flow_passes_only_files_between_hosts_and_refuses_too_few_signatures(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    def fabrx_cli(*args: str) -> str:
        result = CliRunner().invoke(
            cli,
            ["--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir), *args],
        )
        return f"exit {result.exit_code}\n{result.output}"

    def own_host(org_name: str, *, orderer: bool = False) -> list[str]:
        """The acting-admin options of a member on its own host: its files, no run directory."""
        org = network.consortium.org(org_name)
        options = [
            *("--msp-id", org.msp_id, "--msp-dir", str(network.layout.user_msp(org_name, "admin").path)),
            *("--peer", f"{network.consortium.host}:{org.peers[0].port}"),
            *("--peer-tls-ca", str(network.layout.ca_cert(org_name))),
        ]
        if orderer:
            options += [
                *("--orderer", network.orderer_endpoint().address),
                *("--orderer-tls-ca", str(network.layout.ca_cert("Orderer"))),
            ]
        return options

    def fabrx_own_host(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env={"FABRX_CONFIG": None, "FABRX_RUN_DIR": None})
        return f"exit {result.exit_code}\n{result.output}"

    before = _current(network)
    original = before.application_org("ManufacturerMSP").anchor_peers
    extra = f"{network.consortium.host}:{NEW_ORG_ANCHOR_PORT}"
    update_file = tmp_path / "update.pb"
    created = fabrx_cli(
        "channel", "update", "anchor-peers", "--as", "Manufacturer",
        *(a for p in (*original, extra) for a in ("--anchor-peer", str(p))), "-o", str(update_file),
    )  # fmt: skip
    assert created.startswith("exit 0"), created
    assert "sets the anchor peers of ManufacturerMSP to" in created
    described = fabrx_own_host("channel", "update", "describe", str(update_file), *own_host("HospitalA"))
    assert f"sets the anchor peers of ManufacturerMSP to {original[0]}, {extra}" in described, described
    content = update_file.read_bytes()

    wrong = fabrx_cli(
        "channel", "update", "sign", str(update_file), "--as", "HospitalA", "-o", str(tmp_path / "a.sig")
    )
    assert wrong.startswith("exit 0"), wrong
    refused = fabrx_cli(
        "channel", "update", "submit", str(update_file), str(tmp_path / "a.sig"), "--as", "Regulator"
    )
    assert refused.startswith("exit 1"), refused
    assert "/Channel/Application/Manufacturer/Admins" in refused and "missing" in refused
    assert _current(network).sequence == before.sequence

    signed = fabrx_own_host(
        "channel",
        "update",
        "sign",
        str(update_file),
        *own_host("Manufacturer")[:4],
        "-o",
        str(tmp_path / "m.sig"),
    )
    assert signed.startswith("exit 0"), signed
    assert update_file.read_bytes() == content
    checked = fabrx_cli(
        "channel", "update", "check", str(update_file), str(tmp_path / "m.sig"), "--as", "Regulator"
    )
    assert checked.startswith("exit 0") and "satisfied" in checked, checked
    submitted = fabrx_own_host(
        "channel", "update", "submit", str(update_file), str(tmp_path / "a.sig"), str(tmp_path / "m.sig"),
        *own_host("Regulator", orderer=True),
    )  # fmt: skip
    assert submitted.startswith("exit 0"), submitted
    # submit waits for the submitter's peer; another organization's peer has the block a moment later.
    _wait_sequence_everywhere(network, before.sequence + 1)
    shown = fabrx_cli("--json", "channel", "config", "--as", "DistributorA")
    data = json.loads(shown.split("\n", 1)[1])
    manufacturer = next(o for o in data["application_orgs"] if o["msp_id"] == "ManufacturerMSP")
    assert manufacturer["anchor_peers"] == [*map(str, original), extra]
    # The orderer organization (no peer) fetches the latest config block from the orderer.
    fetched = fabrx_cli(
        "channel", "fetch-block", "--as", "Orderer", "--config-block", "-o", str(tmp_path / "config.block")
    )
    assert fetched.startswith("exit 0"), fetched
    assert config_from_block((tmp_path / "config.block").read_bytes()).sequence == before.sequence + 1

    # Put it back, for the rest of the session.
    after = _current(network)
    restore = new_channel_update(after, set_anchor_peers(after, "ManufacturerMSP", original))
    restored = _submit(network, restore, _signatures(restore, network, ("Manufacturer",)))
    _wait_sequence_everywhere(network, restored.sequence)
