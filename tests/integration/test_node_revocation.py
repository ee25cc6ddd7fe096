"""A compromised node certificate is revoked: the channel stops trusting the node, and keeps working.

Peer: HospitalA starts a second peer (``peer1``) beside the session's network, its enrollment and TLS
certificates issued by HospitalA's own Fabric CA as for any of its peers, joins it to ``pharma`` and
installs the ``asset-py`` package on it (the shared chaincode server serves it too). A transaction
endorsed by that peer alone satisfies ``asset-py``'s policy (``OR`` of Regulator, Manufacturer and
HospitalA peers) and commits VALID. Then HospitalA's CA revokes the peer's enrollment certificate and
HospitalA's admin puts the CA's CRL into the channel (the same ``add-crl`` update as for a client).
From that block on the same transaction, still endorsed by peer1, is committed INVALID
(``ENDORSEMENT_POLICY_FAILURE``) on every peer; the orderer refuses to deliver blocks to peer1; the
other organizations' peers drop it from gossip, so their service discovery no longer offers it.
HospitalA's own peer checks a peer of its organization against its *local* MSP, which has no CRL: it
keeps offering peer1 (docs/network.md, "Revocation", says what the organization does about that).
Submits through the Gateway keep committing. The session's own nodes are not restarted.

Orderer: a second Raft orderer (``orderer1`` of the ``raft3`` variant) joins ``pharma`` as consenter.
Each Raft orderer signs its own copy of every block with its enrollment certificate. The orderer
organization's CA revokes that certificate and its admin adds the CRL: orderer1 stays a consenter (Raft
authenticates consenters by TLS certificate) and the channel keeps ordering, but its copies of the new
blocks carry only its revoked signature and fail the channel's ``BlockValidation`` policy, which is
what a peer checks before committing a block it was delivered (it then fails over to another orderer);
orderer0's copies of the same blocks pass. Checked with :func:`fabrx.admin.verify_block` and the
``fabrx channel fetch-block`` / ``verify-block`` commands.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2
from netsupport import TEST_PORT_BASE, installed_fabric, spawned_node
from orderersupport import (
    current_config,
    join_and_add,
    orderer0_height,
    raft3_orderer_node,
    remove_node,
    submit_signed_by_orderer_org,
    wait_info,
    wait_sequence_everywhere,
)

import fabrx
from fabrx.admin import (
    BLOCK_VALIDATION_POLICY,
    PeerAdmin,
    SigningIdentity,
    TransactionInvalid,
    add_crl,
    describe_update,
    fetch_block,
    new_channel_update,
    read_channel_config,
    sign_update,
    submit_transaction,
    submit_update,
    verify_block,
)
from fabrx.discovery import channel_peers
from fabrx.errors import AdminError
from fabrx_cli.main import cli
from fabrx_network import ConsortiumNetwork
from fabrx_network.admins import org_admin, org_registrar
from fabrx_network.chaincodes import chaincode_files
from fabrx_network.config import Peer
from fabrx_network.identities import IdentityPlan, issue_identity
from fabrx_network.layout import RunLayout
from fabrx_network.render import render_peer

pytestmark = pytest.mark.integration

CHANNEL = "pharma"
ORG = "HospitalA"
CHAINCODE = "asset-py"
# The extra peers' ports: in this suite's range, above the consortium's own (HospitalC's use +950..954).
PEER_PORT = TEST_PORT_BASE + 960
WITNESS_PORT = TEST_PORT_BASE + 963


@dataclass
class ExtraPeer:
    """HospitalA's second peer, started by the test: its admin handle, identity and certificate serial."""

    admin: PeerAdmin
    address: str
    identity: fabrx.Identity
    signer: fabrx.Signer
    serial: int
    log: Path


@contextlib.contextmanager
def _extra_peer(
    network: ConsortiumNetwork,
    root: Path,
    name: str,
    port: int,
    orderer_override: tuple[str, str] | None = None,
) -> Iterator[ExtraPeer]:
    """Peer ``name`` of HospitalA, identities from HospitalA's CA, rendered as fabrx renders any peer.

    ``orderer_override`` (from, to) makes it pull blocks from orderer ``to`` wherever the channel names
    orderer ``from`` (Fabric's ``peer.deliveryclient.addressOverrides``, in a core.yaml of its own).
    """
    consortium = network.consortium
    org = consortium.org(ORG)
    peer = Peer(name=name, port=port, chaincode_port=port + 1, operations_port=port + 2)
    layout = RunLayout(root / f"hospitala-{name}-host")
    msp = layout.peer_msp(ORG, peer.name)
    plan = IdentityPlan(ORG, f"{name}.{ORG}", "peer", msp, layout.peer_tls(ORG, peer.name))
    client, registrar = org_registrar(network, ORG)
    with client:
        issue_identity(
            client, registrar, f"{name}-secret", plan, (plan.enrollment_id, "localhost", consortium.host)
        )
    shutil.copytree(network.layout.ccaas_builder, layout.ccaas_builder)
    # ``org`` as configured: the new peer's gossip starts from HospitalA's peer0.
    spec = render_peer(consortium, org, peer, layout, installed_fabric())
    if orderer_override is not None:
        config_dir = root / f"{name}-config"
        config_dir.mkdir()
        core = yaml.safe_load((installed_fabric().config_dir / "core.yaml").read_text())
        source, target = orderer_override
        ca_file = str(network.layout.ca_cert(consortium.orderer_org.name))
        core["peer"]["deliveryclient"]["addressOverrides"] = [
            {"from": source, "to": target, "caCertsFile": ca_file}
        ]
        (config_dir / "core.yaml").write_text(yaml.safe_dump(core))
        spec = dataclasses.replace(spec, env={**spec.env, "FABRIC_CFG_PATH": str(config_dir)})
    admin = org_admin(network, ORG)
    address = f"{consortium.host}:{peer.port}"
    peer_admin = PeerAdmin(
        fabrx.Endpoint(address=address, tls_root_certs=network.layout.ca_cert(ORG).read_bytes()),
        admin.identity,
        admin.signer,
    )
    identity, signer, _ = fabrx.load_msp_folder(org.msp_id, msp.path)
    serial = x509.load_pem_x509_certificate(msp.signcert.read_bytes()).serial_number
    with peer_admin, spawned_node(spec, peer_admin.channels):
        yield ExtraPeer(peer_admin, address, identity, signer, serial, spec.log_path)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout:.0f} s")
        time.sleep(0.2)


def _discovered(
    network: ConsortiumNetwork, identity: fabrx.Identity, signer: fabrx.Signer, at: str = ORG
) -> set[str]:
    """The endpoints of ``pharma``'s peers that ``at``'s peer0 offers through service discovery."""
    org = network.consortium.org(at)
    peers = channel_peers(network.peer_endpoint(org, org.peers[0]), CHANNEL, identity, signer)
    return {p.endpoint for p in peers}


def test_a_revoked_peer_certificate_no_longer_endorses_while_the_channel_keeps_committing(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    consortium = network.consortium
    org = consortium.org(ORG)
    admin = org_admin(network, ORG)
    client_identity, client_signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    client = SigningIdentity(client_identity, client_signer, fabrx.hashing.sha256)
    members = [org_admin(network, o.name).require_peer() for o in consortium.orgs]
    orderer = admin.require_orderer()
    chaincode = next(c for c in consortium.chaincodes if c.name == CHAINCODE)
    package = chaincode_files(network.layout, chaincode).package.read_bytes()

    def create(asset: str, endorser: PeerAdmin) -> int:
        """``CreateAsset`` endorsed by ``endorser`` alone; waited for on every member's peer."""
        committed = submit_transaction(
            client,
            CHANNEL,
            CHAINCODE,
            [b"CreateAsset", asset.encode(), b"red", b"1", b"hospital-a", b"1"],
            f"create {asset}",
            endorsers=[endorser.connection],
            orderer=orderer,
            commit_peers=[m.connection for m in members],
        )
        return committed.block_number

    def gateway_submit(asset: str) -> None:
        with fabrx.connect(
            network.peer_endpoint(org, org.peers[0]), identity=client_identity, signer=client_signer
        ) as gateway:
            gateway.get_network(CHANNEL).get_contract(CHAINCODE).submit_transaction(
                "CreateAsset", asset, "blue", "1", "hospital-a", "1"
            )

    with _extra_peer(network, tmp_path, "peer1", PEER_PORT) as peer1:
        genesis = fetch_block(orderer, admin.identity, admin.signer, CHANNEL, 0)
        peer1.admin.join_channel(genesis)
        peer1.admin.install(package)
        target = members[0].chain_info(CHANNEL).height
        _wait(lambda: peer1.admin.chain_info(CHANNEL).height >= target, f"peer1 at height {target}", 120)
        _wait(
            lambda: peer1.address in _discovered(network, client_identity, client_signer),
            "peer1 offered by discovery",
        )

        # Before: peer1's endorsement alone satisfies the policy; the transaction commits VALID everywhere.
        create(f"noderev-before-{peer1.serial:x}", peer1.admin)

        # HospitalA's CA revokes peer1's enrollment certificate; HospitalA's admin adds the CRL.
        registrar_client, registrar = org_registrar(network, ORG)
        with registrar_client:
            revocation = registrar_client.revoke(
                fabrx.Identity("", registrar.certificate),
                registrar.signer(),
                certificate=peer1.identity.credentials,
                gen_crl=True,
            )
        assert revocation.crl is not None
        before = read_channel_config(members[0], CHANNEL)
        update = new_channel_update(
            before, add_crl(before, org.msp_id, revocation.crl, revoked=[peer1.serial])
        )
        assert f"revoking certificate serial(s) {peer1.serial:x}" in describe_update(update.update, before)[0]
        signature = sign_update(update, admin.identity, admin.signer)
        after = submit_update(update, [signature], peer=admin.require_peer(), orderer=orderer)
        _wait(
            lambda: all(read_channel_config(m, CHANNEL).sequence >= after.sequence for m in members),
            "the CRL on every member's peer",
        )

        # After: peer1 still endorses (its own MSP has no CRL), but every peer invalidates the transaction.
        with pytest.raises(TransactionInvalid) as invalid:
            create(f"noderev-after-{peer1.serial:x}", peer1.admin)
        assert invalid.value.validation_code == "ENDORSEMENT_POLICY_FAILURE"
        # The orderer refuses peer1's deliver requests: it receives no more blocks.
        with pytest.raises(AdminError, match="FORBIDDEN"):
            fetch_block(orderer, peer1.identity, peer1.signer, CHANNEL, 0)
        # Service discovery: every other organization's peer stops offering peer1 (gossip checks it
        # against the channel's MSP, which now has the CRL). HospitalA's own peer0 checks a peer of its
        # own organization against its local MSP, which has no CRL: it still offers peer1.
        others = [o.name for o in consortium.orgs if o.name != ORG]
        _wait(
            lambda: (
                not any(
                    peer1.address in _discovered(network, client_identity, client_signer, o) for o in others
                )
            ),
            "peer1 dropped by every other organization's discovery",
        )
        assert peer1.address in _discovered(network, client_identity, client_signer)
        # HospitalA's gateway endorses on its own peer0 (its local peer): its submits commit meanwhile.
        for n in range(3):
            gateway_submit(f"noderev-gateway-{peer1.serial:x}-{n}")
        create(f"noderev-peer0-{peer1.serial:x}", admin.require_peer())


def test_blocks_signed_by_a_revoked_orderer_certificate_are_refused_while_the_others_order(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    org = network.consortium.org(ORG)
    client_identity, client_signer, _ = fabrx.load_msp_folder(org.msp_id, network.client_msp(org))
    orderer0 = network.orderer_endpoint()

    def gateway_submit(asset: str) -> None:
        with fabrx.connect(
            network.peer_endpoint(org, org.peers[0]), identity=client_identity, signer=client_signer
        ) as gateway:
            gateway.get_network(CHANNEL).get_contract(CHAINCODE).submit_transaction(
                "CreateAsset", asset, "green", "1", "hospital-a", "1"
            )

    def fabrx_cli(*args: str, code: int = 0) -> dict[str, Any]:
        run_dir = ("--config", str(network.base_dir / "consortium.yaml"), "--run-dir", str(network.run_dir))
        result = CliRunner().invoke(cli, [*run_dir, "--json", *args])
        assert result.exit_code == code, result.output
        parsed: dict[str, Any] = json.loads(result.stdout if code == 0 else result.stderr)
        return parsed

    def block(endpoint: fabrx.Endpoint, number: int) -> bytes:
        return fetch_block(endpoint, client_identity, client_signer, CHANNEL, number)

    with raft3_orderer_node(network, "orderer1", tmp_path) as orderer1:
        # A consenter the channel does not advertise: only the witness peer below pulls blocks from it
        # (no gateway sends transactions to it, so no client is affected by what follows).
        join_and_add(network, orderer1, CHANNEL, advertise=False)
        try:
            at_orderer1 = dataclasses.replace(orderer0, address=orderer1.address)
            certificate = x509.load_pem_x509_certificate(orderer1.enrollment_cert)
            serial = certificate.serial_number
            subject = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value

            # Before: orderer1 signs its copy of each block with its enrollment certificate; it verifies.
            gateway_submit(f"noderev-orderer-before-{serial:x}")
            config = current_config(network, CHANNEL)
            newest = orderer0_height(network, CHANNEL) - 1
            wait_info(orderer1, CHANNEL, "consenter", newest + 1)
            before = verify_block(block(at_orderer1, newest), config)
            assert before.valid, before.explain()
            assert before.accepted == (f"OrdererMSP orderer {subject!s}",), before.accepted

            # The orderer organization's CA revokes that certificate; its admin adds the CRL.
            client, registrar = org_registrar(network, "Orderer")
            with client:
                revocation = client.revoke(
                    fabrx.Identity("", registrar.certificate),
                    registrar.signer(),
                    certificate=orderer1.enrollment_cert,
                    gen_crl=True,
                )
            assert revocation.crl is not None
            update = new_channel_update(
                config, add_crl(config, "OrdererMSP", revocation.crl, revoked=[serial])
            )
            after = submit_signed_by_orderer_org(network, update)
            wait_sequence_everywhere(network, CHANNEL, after.sequence)
            crl_block = orderer0_height(network, CHANNEL) - 1  # nothing else submits meanwhile

            # orderer1 is still a Raft consenter (the cluster authenticates consenters by their TLS
            # certificates): the channel keeps ordering, and submits commit on the peers.
            for n in range(3):
                gateway_submit(f"noderev-orderer-after-{serial:x}-{n}")
            newest = orderer0_height(network, CHANNEL) - 1
            wait_info(orderer1, CHANNEL, "consenter", newest + 1)
            from_orderer1 = block(at_orderer1, newest)
            from_orderer0 = block(orderer0, newest)
            # The same transactions, but orderer1's copy carries only its own, now revoked, signature:
            # a peer delivered this block by orderer1 refuses it; orderer0's copy passes.
            assert (
                common_pb2.Block.FromString(from_orderer1).data
                == common_pb2.Block.FromString(from_orderer0).data
            )
            refused = verify_block(from_orderer1, after)
            assert not refused.valid
            assert refused.accepted == ()
            assert refused.rejected == (
                f"signature 1: signer of OrdererMSP is not valid: its certificate (serial {serial:x}) "
                "is revoked by OrdererMSP's CRL",
            ), refused.explain()
            assert refused.policy.path == BLOCK_VALIDATION_POLICY
            accepted = verify_block(from_orderer0, after)
            assert accepted.valid, accepted.explain()

            # A real peer: one that reaches the ordering service only through orderer1 (the channel's
            # orderer0 address overridden to orderer1) joins, commits every block up to the CRL's and
            # refuses the next one, as every peer does with the blocks orderer1 delivers.
            override = (orderer0.address, orderer1.address)
            with _extra_peer(network, tmp_path, "peer2", WITNESS_PORT, override) as witness:
                witness.admin.join_channel(block(orderer0, 0))
                refusal = f"block [{crl_block + 1}] from orderer [Address: {orderer1.address}"
                _wait(lambda: refusal in witness.log.read_text(errors="replace"), "peer2 refusing a block")
                line = next(x for x in witness.log.read_text(errors="replace").splitlines() if refusal in x)
                assert "could not be verified" in line, line
                _wait(
                    lambda: witness.admin.chain_info(CHANNEL).height > crl_block, "peer2 at the CRL's block"
                )
                assert witness.admin.chain_info(CHANNEL).height == crl_block + 1  # and not beyond
                assert orderer0_height(network, CHANNEL) > crl_block + 1

            # The same check from the CLI, as an operator runs it: fetch the block from the orderer
            # in question with a reader's own files, verify it with the channel's configuration.
            regulator_msp = network.layout.user_msp("Regulator", "admin").path
            fetched = tmp_path / "from-orderer1.block"
            fabrx_cli(
                *("channel", "fetch-block", "--msp-id", "RegulatorMSP", "--msp-dir", str(regulator_msp)),
                *("--orderer", orderer1.address, "--orderer-tls-ca", str(network.layout.ca_cert("Orderer"))),
                *("--number", str(newest), "-o", str(fetched)),
            )
            assert fetched.read_bytes() == from_orderer1
            refused_cli = fabrx_cli(
                "channel", "verify-block", "--as", "Regulator", "--block", str(fetched), code=1
            )
            assert "is revoked by OrdererMSP's CRL" in json.dumps(refused_cli), refused_cli
            from_orderer0_file = tmp_path / "from-orderer0.block"
            from_orderer0_file.write_bytes(from_orderer0)
            valid_cli = fabrx_cli(
                "channel", "verify-block", "--as", "Regulator", "--block", str(from_orderer0_file)
            )
            assert valid_cli["valid"] is True and valid_cli["block_number"] == newest, valid_cli
        finally:
            remove_node(network, orderer1, CHANNEL)
