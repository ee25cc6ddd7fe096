"""Config updates without a network: computing, describing, signing and checking them.

The channel configuration is built here from three throwaway organizations (each its own CA, an admin
and a client identity with node OUs), with ``MAJORITY Admins`` over the application organizations as
configtxgen writes it. The real-network counterparts are in tests/integration/test_channel_update.py.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Cert, new_ca
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2, configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import identities_pb2, msp_principal_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_configuration_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2

from fabrx.admin import (
    BLOCK_VALIDATION_POLICY,
    AnchorPeer,
    ChannelConfig,
    ChannelUpdate,
    JoinRequest,
    JoinRequestError,
    UpdateSignature,
    add_consenter,
    add_crl,
    add_organization,
    changes_of,
    check_signatures,
    compute_update,
    describe_update,
    new_channel_update,
    remove_consenter,
    remove_organization,
    set_anchor_peers,
    set_orderer_endpoints,
    sign_update,
    verify_block,
)
from fabrx.admin.configedit import bft_block_validation_policy
from fabrx.errors import AdminError
from fabrx.identity import Identity
from fabrx.signing import Signer, new_private_key_signer
from fabrx_cli.main import cli

CHANNEL = "testchannel"


def _leaf(ca: Cert, common_name: str, ou: str) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Cert(key, cert)


@dataclass(frozen=True)
class Org:
    name: str
    msp_id: str
    ca: Cert
    admin: Cert
    client: Cert

    def identity(self, cert: Cert | None = None) -> Identity:
        return Identity(self.msp_id, (cert or self.admin).cert_pem)

    def signer(self, cert: Cert | None = None) -> Signer:
        return new_private_key_signer((cert or self.admin).key)

    def request(self, *anchors: AnchorPeer) -> JoinRequest:
        return JoinRequest(
            name=self.name,
            msp_id=self.msp_id,
            root_certs=(self.ca.cert_pem,),
            tls_root_certs=(self.ca.cert_pem,),
            anchor_peers=anchors,
        )


def _org(name: str) -> Org:
    ca = new_ca(f"ca.{name}")
    return Org(
        name, f"{name}MSP", ca, _leaf(ca, f"admin.{name}", "admin"), _leaf(ca, f"user.{name}", "client")
    )


@pytest.fixture(scope="module")
def orgs() -> dict[str, Org]:
    return {name: _org(name) for name in ("OrgA", "OrgB", "OrgC", "OrgD")}


def _implicit(rule: int, sub_policy: str) -> configtx_pb2.ConfigPolicy:
    return configtx_pb2.ConfigPolicy(
        mod_policy="Admins",
        policy=policies_pb2.Policy(
            type=policies_pb2.Policy.IMPLICIT_META,
            value=policies_pb2.ImplicitMetaPolicy(rule=rule, sub_policy=sub_policy).SerializeToString(),
        ),
    )


@pytest.fixture(scope="module")
def config(orgs: dict[str, Org]) -> ChannelConfig:
    """A channel of OrgA, OrgB and OrgC (OrgD is not a member), ``MAJORITY Admins`` everywhere."""
    majority = policies_pb2.ImplicitMetaPolicy.MAJORITY
    application = configtx_pb2.ConfigGroup(
        mod_policy="Admins",
        policies={"Admins": _implicit(majority, "Admins"), "Readers": _implicit(0, "Readers")},
    )
    root = configtx_pb2.ConfigGroup(
        mod_policy="Admins",
        policies={"Admins": _implicit(majority, "Admins")},
        groups={"Application": application},
    )
    config = ChannelConfig(CHANNEL, configtx_pb2.Config(sequence=3, channel_group=root))
    for name in ("OrgA", "OrgB", "OrgC"):
        anchor = AnchorPeer("127.0.0.1", 7000 + len(config.application_orgs))
        config = ChannelConfig(CHANNEL, add_organization(config, orgs[name].request(anchor)))
    return config


def _sign(update: ChannelUpdate, *signers: tuple[Identity, Signer]) -> list[UpdateSignature]:
    return [UpdateSignature.from_bytes(sign_update(update, i, s).bytes) for i, s in signers]


def test_changing_one_value_writes_only_its_path_and_raises_its_version(config: ChannelConfig) -> None:
    update = compute_update(config, set_anchor_peers(config, "OrgBMSP", [AnchorPeer("peer1.orgb", 9051)]))
    assert update.channel_id == CHANNEL
    org_write = update.write_set.groups["Application"].groups["OrgB"]
    assert dict(org_write.values).keys() == {"AnchorPeers"}
    assert org_write.values["AnchorPeers"].version == 1
    assert org_write.version == 0 and update.write_set.groups["Application"].version == 0
    # The read set names the path at its versions, and nothing of the other organizations.
    assert set(update.read_set.groups["Application"].groups) == {"OrgB"}
    assert not update.read_set.groups["Application"].groups["OrgB"].values
    assert [(c.path, c.action, c.mod_policy_path) for c in changes_of(update, config)] == [
        ("/Channel/Application/OrgB/AnchorPeers", "modify", "/Channel/Application/OrgB/Admins")
    ]


def test_adding_an_organization_rewrites_the_application_group_at_a_new_version(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    update = compute_update(config, add_organization(config, orgs["OrgD"].request()))
    application = update.write_set.groups["Application"]
    assert application.version == 1 and application.mod_policy == "Admins"
    assert application.groups["OrgD"].version == 0
    assert set(application.groups["OrgD"].policies) == {"Readers", "Writers", "Admins", "Endorsement"}
    # Unchanged members are written at their own versions, and read.
    assert {name: g.version for name, g in update.read_set.groups["Application"].groups.items()} == {
        "OrgA": 0,
        "OrgB": 0,
        "OrgC": 0,
    }
    assert describe_update(update, config) == ("adds organization OrgDMSP (group OrgD)",)
    assert [c.mod_policy_path for c in changes_of(update, config) if c.mod_policy_path] == [
        "/Channel/Application/Admins"
    ]


def test_no_difference_is_an_error(config: ChannelConfig) -> None:
    with pytest.raises(AdminError, match="no differences"):
        compute_update(config, config.copy())


def test_descriptions_name_organizations_anchor_peers_and_removals(config: ChannelConfig) -> None:
    anchors = new_channel_update(config, set_anchor_peers(config, "OrgAMSP", []))
    assert describe_update(anchors.update, config) == (
        "removes the anchor peers of OrgAMSP (were: 127.0.0.1:7000)",
    )
    removal = new_channel_update(config, remove_organization(config, "OrgCMSP"))
    assert describe_update(removal.update, config) == ("removes organization OrgCMSP (group OrgC)",)


def test_majority_of_admins_is_required_and_the_refusal_names_what_is_missing(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    update = new_channel_update(config, remove_organization(config, "OrgCMSP"))
    a, b = orgs["OrgA"], orgs["OrgB"]
    one = check_signatures(update, _sign(update, (a.identity(), a.signer())), config)
    assert not one.satisfied
    assert "/Channel/Application/Admins (MAJORITY Admins (2 of 3)): missing 1 more of" in one.explain()
    assert "/Channel/Application/OrgB/Admins" in one.explain()
    # A client of OrgB is a member, not an admin: it does not count for OrgB's Admins.
    with_client = _sign(update, (a.identity(), a.signer()), (b.identity(b.client), b.signer(b.client)))
    assert not check_signatures(update, with_client, config).satisfied
    two = check_signatures(
        update, _sign(update, (a.identity(), a.signer()), (b.identity(), b.signer())), config
    )
    assert two.satisfied, two.explain()
    # The same admin twice counts once.
    twice = _sign(update, (a.identity(), a.signer()), (a.identity(), a.signer()))
    check = check_signatures(update, twice, config)
    assert not check.satisfied and any("signed already" in r for r in check.rejected)


def test_signatures_over_other_bytes_or_from_outside_the_msp_do_not_count(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    update = new_channel_update(config, set_anchor_peers(config, "OrgAMSP", [AnchorPeer("a", 1)]))
    other = new_channel_update(config, set_anchor_peers(config, "OrgAMSP", [AnchorPeer("a", 2)]))
    a, d = orgs["OrgA"], orgs["OrgD"]
    check = check_signatures(update, _sign(other, (a.identity(), a.signer())), config)
    assert not check.satisfied
    assert "does not match this update's bytes" in check.rejected[0]
    # OrgD's admin claiming to be OrgA's: its certificate is not issued by OrgA's CA.
    impostor = Identity("OrgAMSP", d.admin.cert_pem)
    check = check_signatures(update, _sign(update, (impostor, d.signer())), config)
    assert "not issued by a CA of OrgAMSP" in check.rejected[0]
    # OrgD is not in the channel at all.
    check = check_signatures(update, _sign(update, (d.identity(), d.signer())), config)
    assert "OrgDMSP is not an organization of channel" in check.rejected[0]
    assert check_signatures(update, _sign(update, (a.identity(), a.signer())), config).satisfied


def test_a_stale_update_is_refused(config: ChannelConfig) -> None:
    first = ChannelConfig(CHANNEL, set_anchor_peers(config, "OrgAMSP", [AnchorPeer("a", 1)]))
    # The channel moved on: OrgA's anchor peers are now at version 1.
    moved = ChannelConfig(CHANNEL, configtx_pb2.Config(sequence=4, channel_group=_bumped(first)))
    update = new_channel_update(config, set_anchor_peers(config, "OrgAMSP", [AnchorPeer("b", 2)]))
    with pytest.raises(AdminError, match="stale"):
        changes_of(update.update, moved)


def _bumped(config: ChannelConfig) -> configtx_pb2.ConfigGroup:
    group = config.channel_group
    group.groups["Application"].groups["OrgA"].values["AnchorPeers"].version = 1
    return group


def test_a_revoked_admin_no_longer_counts(config: ChannelConfig, orgs: dict[str, Org]) -> None:
    a = orgs["OrgA"]
    now = datetime.datetime.now(datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(a.ca.cert.subject)
        .last_update(now)
        .next_update(now + datetime.timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(a.admin.cert.serial_number)
            .revocation_date(now)
            .build()
        )
        .sign(a.ca.key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(AdminError, match="is not signed by a CA of OrgBMSP"):
        add_crl(config, "OrgBMSP", crl)
    with pytest.raises(AdminError, match="does not revoke serial"):
        add_crl(config, "OrgAMSP", crl, revoked=[a.client.cert.serial_number])
    update = new_channel_update(config, add_crl(config, "OrgAMSP", crl, revoked=[a.admin.cert.serial_number]))
    assert describe_update(update.update, config) == (
        f"updates the CRL of OrgAMSP, revoking certificate serial(s) {a.admin.cert.serial_number:x}",
    )
    revoked = ChannelConfig(CHANNEL, add_crl(config, "OrgAMSP", crl))
    anchors = new_channel_update(revoked, set_anchor_peers(revoked, "OrgAMSP", [AnchorPeer("a", 1)]))
    check = check_signatures(anchors, _sign(anchors, (a.identity(), a.signer())), revoked)
    assert not check.satisfied and "is revoked by OrgAMSP's CRL" in check.rejected[0]


def test_join_requests_are_validated_and_round_trip_as_json(orgs: dict[str, Org]) -> None:
    d = orgs["OrgD"]
    request = d.request(AnchorPeer("127.0.0.1", 9999))
    assert JoinRequest.from_json(request.to_json()) == request
    with pytest.raises(JoinRequestError) as refused:
        JoinRequest(name="Org D", msp_id="OrgDMSP", root_certs=(d.admin.cert_pem,), tls_root_certs=())
    assert refused.value.problems == (
        "name: 'Org D' is not a group name (letters, digits, '.', '-', '_')",
        "root_certs[0]: not a CA certificate (basic constraints CA:FALSE)",
        "tls_root_certs: at least one PEM CA certificate is required",
    )


def test_add_organization_refuses_an_msp_id_or_group_already_in_the_channel(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    with pytest.raises(AdminError, match="MSP id OrgAMSP is already used by organization OrgA"):
        add_organization(config, orgs["OrgA"].request())
    renamed = JoinRequest(
        name="OrgB",
        msp_id="NewMSP",
        root_certs=(orgs["OrgD"].ca.cert_pem,),
        tls_root_certs=(orgs["OrgD"].ca.cert_pem,),
    )
    with pytest.raises(AdminError, match="already has an organization group named OrgB"):
        add_organization(config, renamed)


def test_update_and_signature_files_reject_other_bytes() -> None:
    with pytest.raises(AdminError, match="not a channel configuration update file"):
        ChannelUpdate.from_bytes(b"\x00garbage")
    with pytest.raises(AdminError, match="not a config update signature"):
        UpdateSignature.from_bytes(b"")


def test_cli_signs_with_an_msp_folder_into_its_own_file_leaving_the_update_unchanged(
    config: ChannelConfig, orgs: dict[str, Org], tmp_path: Path
) -> None:
    a = orgs["OrgA"]
    update = new_channel_update(config, set_anchor_peers(config, "OrgAMSP", [AnchorPeer("a", 1)]))
    update_file = tmp_path / "update.pb"
    update_file.write_bytes(update.bytes)
    msp = tmp_path / "msp"
    (msp / "signcerts").mkdir(parents=True)
    (msp / "keystore").mkdir()
    (msp / "signcerts" / "cert.pem").write_bytes(a.admin.cert_pem)
    (msp / "keystore" / "key_sk").write_bytes(a.admin.key_pem)
    result = CliRunner().invoke(
        cli,
        [
            *("channel", "update", "sign", str(update_file)),
            *("--msp-id", "OrgAMSP", "--msp-dir", str(msp), "-o", str(tmp_path / "OrgA.sig")),
        ],
    )
    assert result.exit_code == 0, result.output
    assert update_file.read_bytes() == update.bytes
    signature = UpdateSignature.from_bytes((tmp_path / "OrgA.sig").read_bytes())
    assert signature.signer.msp_id == "OrgAMSP"
    assert check_signatures(update, [signature], config).satisfied


def _raft_channel(config: ChannelConfig, orgs: dict[str, Org], ports: tuple[int, ...]) -> ChannelConfig:
    """``config`` with an orderer group: Raft consenters on ``ports``, OrgD's MSP as orderer organization."""
    tls = orgs["OrgD"].admin.cert_pem
    metadata = etcdraft_pb2.ConfigMetadata(
        consenters=[
            etcdraft_pb2.Consenter(host="127.0.0.1", port=p, client_tls_cert=tls, server_tls_cert=tls)
            for p in ports
        ]
    )
    consensus = orderer_configuration_pb2.ConsensusType(
        type="etcdraft", metadata=metadata.SerializeToString()
    )
    majority = policies_pb2.ImplicitMetaPolicy.MAJORITY
    with_orderer = ChannelConfig(CHANNEL, add_organization(config, orgs["OrgD"].request()))
    changed = with_orderer.copy()
    org_group = changed.channel_group.groups["Application"].groups["OrgD"]
    del changed.channel_group.groups["Application"].groups["OrgD"]
    org_group.values["Endpoints"].mod_policy = "Admins"
    org_group.values["Endpoints"].value = configuration_pb2.OrdererAddresses(
        addresses=[f"127.0.0.1:{p}" for p in ports]
    ).SerializeToString()
    orderer = changed.channel_group.groups["Orderer"]
    orderer.mod_policy = "Admins"
    orderer.policies["Admins"].CopyFrom(_implicit(majority, "Admins"))
    orderer.values["ConsensusType"].mod_policy = "Admins"
    orderer.values["ConsensusType"].value = consensus.SerializeToString()
    orderer.groups["OrgD"].CopyFrom(org_group)
    return ChannelConfig(CHANNEL, changed)


def test_removing_a_consenter_drops_its_endpoint_and_needs_the_orderer_admins(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    raft = _raft_channel(config, orgs, (7050, 7055))
    assert [str(c) for c in raft.consenters] == ["127.0.0.1:7050", "127.0.0.1:7055"]
    update = new_channel_update(raft, remove_consenter(raft, "127.0.0.1", 7055))
    assert describe_update(update.update, raft) == (
        "removes consenter 127.0.0.1:7055",
        "sets the orderer endpoints of OrgDMSP to 127.0.0.1:7050 (were: 127.0.0.1:7050, 127.0.0.1:7055)",
    )
    assert sorted(c.mod_policy_path for c in changes_of(update.update, raft)) == [
        "/Channel/Orderer/Admins",
        "/Channel/Orderer/OrgD/Admins",
    ]
    d = orgs["OrgD"]
    assert check_signatures(update, _sign(update, (d.identity(), d.signer())), raft).satisfied
    a = orgs["OrgA"]
    assert not check_signatures(update, _sign(update, (a.identity(), a.signer())), raft).satisfied
    with pytest.raises(AdminError, match=r"has no consenter 127\.0\.0\.1:9999"):
        remove_consenter(raft, "127.0.0.1", 9999)
    single = _raft_channel(config, orgs, (7050,))
    with pytest.raises(AdminError, match="is the last orderer of testchannel"):
        remove_consenter(single, "127.0.0.1", 7050)


def test_adding_a_raft_consenter_needs_the_orderer_admins_and_leaves_the_endpoints(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    raft = _raft_channel(config, orgs, (7050,))
    d = orgs["OrgD"]
    tls = _leaf(d.ca, "orderer1.OrgD", "orderer")
    update = new_channel_update(raft, add_consenter(raft, "OrgDMSP", "127.0.0.1", 7055, tls.cert_pem))
    # Peers learn of the orderer only when its endpoint is set, once it orders.
    assert describe_update(update.update, raft) == ("adds consenter 127.0.0.1:7055",)
    assert [c.mod_policy_path for c in changes_of(update.update, raft)] == ["/Channel/Orderer/Admins"]
    assert check_signatures(update, _sign(update, (d.identity(), d.signer())), raft).satisfied
    a = orgs["OrgA"]
    assert not check_signatures(update, _sign(update, (a.identity(), a.signer())), raft).satisfied
    added = ChannelConfig(CHANNEL, add_consenter(raft, "OrgDMSP", "127.0.0.1", 7055, tls.cert_pem))
    (_, new) = added.consenters
    assert (new.host, new.port, new.server_tls_cert, new.client_tls_cert) == (
        "127.0.0.1",
        7055,
        tls.cert_pem,
        tls.cert_pem,
    )
    assert added.orderer_org("OrgDMSP").endpoints == ("127.0.0.1:7050",)
    # Adding and removing again gives back the consenters and endpoints of the start.
    back = ChannelConfig(CHANNEL, remove_consenter(added, "127.0.0.1", 7055))
    assert back.consenters == raft.consenters
    assert back.orderer_org("OrgDMSP").endpoints == ("127.0.0.1:7050",)


def test_a_consenter_is_refused_naming_every_problem(config: ChannelConfig, orgs: dict[str, Org]) -> None:
    raft = _raft_channel(config, orgs, (7050,))
    foreign = _leaf(orgs["OrgA"].ca, "orderer1.OrgA", "orderer")
    with pytest.raises(AdminError) as refused:
        add_consenter(raft, "OrgDMSP", "127.0.0.1", 7050, foreign.cert_pem)
    message = str(refused.value)
    assert "cannot add consenter 127.0.0.1:7050 to testchannel" in message
    assert "127.0.0.1:7050 is already a consenter" in message
    assert "the TLS certificate is not issued by a TLS CA of OrgDMSP" in message
    existing = raft.consenters[0].server_tls_cert
    with pytest.raises(AdminError, match=r"is already that of consenter 127\.0\.0\.1:7050"):
        add_consenter(raft, "OrgDMSP", "127.0.0.1", 7055, existing)
    with pytest.raises(AdminError, match="the TLS certificate is not a PEM certificate"):
        add_consenter(raft, "OrgDMSP", "127.0.0.1", 7055, b"not a certificate")
    with pytest.raises(AdminError, match="has no orderer organization with MSP id OrgAMSP"):
        add_consenter(raft, "OrgAMSP", "127.0.0.1", 7055, foreign.cert_pem)
    with pytest.raises(AdminError, match="ordered by nothing"):
        add_consenter(config, "OrgDMSP", "127.0.0.1", 7055, foreign.cert_pem)


def _bft_channel(config: ChannelConfig, orgs: dict[str, Org], ports: tuple[int, ...]) -> ChannelConfig:
    """The Raft channel of :func:`_raft_channel` turned BFT: consenters with ids and identities."""
    raft = _raft_channel(config, orgs, ports)
    changed = raft.copy()
    orderer = changed.channel_group.groups["Orderer"]
    d = orgs["OrgD"]
    mapping = [
        configuration_pb2.Consenter(
            id=i + 1,
            host="127.0.0.1",
            port=p,
            msp_id="OrgDMSP",
            identity=d.admin.cert_pem,
            client_tls_cert=d.admin.cert_pem,
            server_tls_cert=d.admin.cert_pem,
        )
        for i, p in enumerate(ports)
    ]
    orderer.values["Orderers"].mod_policy = "Admins"
    orderer.values["Orderers"].value = configuration_pb2.Orderers(
        consenter_mapping=mapping
    ).SerializeToString()
    orderer.values["ConsensusType"].value = orderer_configuration_pb2.ConsensusType(
        type="BFT"
    ).SerializeToString()
    # As configtxgen writes it: the signatures of a BFT quorum of the consenters.
    orderer.policies["BlockValidation"].mod_policy = "Admins"
    orderer.policies["BlockValidation"].policy.CopyFrom(bft_block_validation_policy(mapping))
    return ChannelConfig(CHANNEL, changed)


def _block_validation(config: ChannelConfig) -> tuple[int, list[tuple[str, bytes]]]:
    """The quorum and the (MSP id, certificate) of each identity of a BFT block validation policy."""
    policy = config.channel_group.groups["Orderer"].policies["BlockValidation"].policy
    assert policy.type == policies_pb2.Policy.SIGNATURE
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
    rules = envelope.rule.n_out_of.rules
    assert [r.signed_by for r in rules] == list(range(len(envelope.identities)))
    signers = []
    for principal in envelope.identities:
        assert principal.principal_classification == msp_principal_pb2.MSPPrincipal.IDENTITY
        identity = identities_pb2.SerializedIdentity.FromString(principal.principal)
        signers.append((identity.mspid, identity.id_bytes))
    return envelope.rule.n_out_of.n, signers


def test_a_bft_consenter_gets_the_next_id_and_its_identity(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    bft = _bft_channel(config, orgs, (7050, 7055, 7058, 7061))
    d = orgs["OrgD"]
    tls = _leaf(d.ca, "orderer4.OrgD", "orderer")
    enrollment = _leaf(d.ca, "orderer4.OrgD", "orderer")
    with pytest.raises(AdminError, match="a BFT consenter needs the orderer's enrollment certificate"):
        add_consenter(bft, "OrgDMSP", "127.0.0.1", 7064, tls.cert_pem)
    with pytest.raises(AdminError, match="the identity is not issued by a CA of OrgDMSP"):
        add_consenter(bft, "OrgDMSP", "127.0.0.1", 7064, tls.cert_pem, identity=orgs["OrgA"].client.cert_pem)
    update = new_channel_update(
        bft, add_consenter(bft, "OrgDMSP", "127.0.0.1", 7064, tls.cert_pem, identity=enrollment.cert_pem)
    )
    assert describe_update(update.update, bft) == (
        "sets the block validation policy to the signatures of 4 of the 5 consenters",
        "adds consenter 127.0.0.1:7064",
    )
    changes = changes_of(update.update, bft)
    assert [(c.path, c.mod_policy_path) for c in changes] == [
        ("/Channel/Orderer/BlockValidation", "/Channel/Orderer/Admins"),
        ("/Channel/Orderer/Orderers", "/Channel/Orderer/Admins"),
    ]
    added = ChannelConfig(
        CHANNEL, add_consenter(bft, "OrgDMSP", "127.0.0.1", 7064, tls.cert_pem, identity=enrollment.cert_pem)
    )
    new = added.consenters[-1]
    assert (new.id, new.msp_id, new.identity, new.server_tls_cert) == (
        5,
        "OrgDMSP",
        enrollment.cert_pem,
        tls.cert_pem,
    )
    # Four consenters tolerate one fault and need three signatures; five still tolerate one and need four.
    assert _block_validation(bft) == (3, [("OrgDMSP", d.admin.cert_pem)] * 4)
    assert _block_validation(added) == (
        4,
        [("OrgDMSP", d.admin.cert_pem)] * 4 + [("OrgDMSP", enrollment.cert_pem)],
    )
    removed = ChannelConfig(CHANNEL, remove_consenter(added, "127.0.0.1", 7055))
    assert [c.id for c in removed.consenters] == [1, 3, 4, 5]
    assert "127.0.0.1:7055" not in removed.orderer_org("OrgDMSP").endpoints
    assert _block_validation(removed) == (
        3,
        [("OrgDMSP", d.admin.cert_pem)] * 3 + [("OrgDMSP", enrollment.cert_pem)],
    )


def test_orderer_endpoints_are_moved_by_the_orderer_organizations_admins(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    raft = _raft_channel(config, orgs, (7050, 7055))
    update = new_channel_update(
        raft, set_orderer_endpoints(raft, "OrgDMSP", ["orderer0.example:7050", "127.0.0.1:7055"])
    )
    assert describe_update(update.update, raft) == (
        "sets the orderer endpoints of OrgDMSP to orderer0.example:7050, 127.0.0.1:7055 "
        "(were: 127.0.0.1:7050, 127.0.0.1:7055)",
    )
    assert [c.mod_policy_path for c in changes_of(update.update, raft)] == ["/Channel/Orderer/OrgD/Admins"]
    # The consenters (cluster addresses) stay.
    moved = ChannelConfig(
        CHANNEL, set_orderer_endpoints(raft, "OrgDMSP", ["orderer0.example:7050", "127.0.0.1:7055"])
    )
    assert moved.consenters == raft.consenters
    with pytest.raises(AdminError) as refused:
        set_orderer_endpoints(raft, "OrgDMSP", ["nohost", "127.0.0.1:7055", "127.0.0.1:7055"])
    assert "'nohost' is not host:port" in str(refused.value)
    assert "127.0.0.1:7055 given more than once" in str(refused.value)
    with pytest.raises(AdminError, match="no endpoint given"):
        set_orderer_endpoints(raft, "OrgDMSP", [])
    with pytest.raises(AdminError, match=r"are already 127\.0\.0\.1:7050, 127\.0\.0\.1:7055"):
        set_orderer_endpoints(raft, "OrgDMSP", ["127.0.0.1:7050", "127.0.0.1:7055"])


def _signed_block(config: ChannelConfig, signer_org: Org, cert: Cert, number: int = 5) -> common_pb2.Block:
    """A block of two transactions signed as an orderer signs it: over metadata value, signature header
    and the ASN.1 DER header (``SEQUENCE { INTEGER, OCTET STRING, OCTET STRING }``), written out here."""
    data = [b"tx-one", b"tx-two"]
    previous, data_hash = b"\x01" * 32, hashlib.sha256(b"".join(data)).digest()
    header = common_pb2.BlockHeader(number=number, previous_hash=previous, data_hash=data_hash)
    der = bytes([0x30, 3 + 34 + 34, 0x02, 0x01, number, 0x04, 32]) + previous + bytes([0x04, 32]) + data_hash
    signature_header = common_pb2.SignatureHeader(
        creator=signer_org.identity(cert).serialize(), nonce=b"n" * 24
    ).SerializeToString()
    value = b"orderer-block-metadata"
    signature = signer_org.signer(cert)(hashlib.sha256(value + signature_header + der).digest())
    metadata = common_pb2.Metadata(
        value=value,
        signatures=[common_pb2.MetadataSignature(signature_header=signature_header, signature=signature)],
    )
    block = common_pb2.Block(header=header, data=common_pb2.BlockData(data=data))
    block.metadata.metadata.extend([b""] * 5)
    block.metadata.metadata[common_pb2.SIGNATURES] = metadata.SerializeToString()
    return block


def test_a_block_signed_by_a_revoked_orderer_certificate_fails_block_validation(
    config: ChannelConfig, orgs: dict[str, Org]
) -> None:
    raft = _raft_channel(config, orgs, (7050,))
    with_policy = raft.copy()
    with_policy.channel_group.groups["Orderer"].policies["BlockValidation"].CopyFrom(
        _implicit(policies_pb2.ImplicitMetaPolicy.ANY, "Writers")
    )
    channel = ChannelConfig(CHANNEL, with_policy)
    d = orgs["OrgD"]
    block = _signed_block(channel, d, d.admin)
    verdict = verify_block(block.SerializeToString(), channel)
    assert verdict.valid, verdict.explain()
    assert verdict.number == 5 and verdict.accepted == ("OrgDMSP admin admin.OrgD",)

    # Other transactions under the same header: the data hash no longer matches.
    tampered = common_pb2.Block()
    tampered.CopyFrom(block)
    tampered.data.data[1] = b"tx-forged"
    assert not verify_block(tampered.SerializeToString(), channel).data_hash_matches
    # A signature by a member of an application organization does not satisfy BlockValidation.
    by_org_a = verify_block(
        _signed_block(channel, orgs["OrgA"], orgs["OrgA"].admin).SerializeToString(), channel
    )
    assert not by_org_a.valid and by_org_a.policy.path == BLOCK_VALIDATION_POLICY
    assert "signer's MSP OrgAMSP" not in " ".join(
        by_org_a.rejected
    )  # OrgA is a channel MSP, just not orderer

    # OrgD's CA revokes the signing certificate and the CRL is in the channel: the same block is refused.
    now = datetime.datetime.now(datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(d.ca.cert.subject)
        .last_update(now)
        .next_update(now + datetime.timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(d.admin.cert.serial_number)
            .revocation_date(now)
            .build()
        )
        .sign(d.ca.key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    revoked = ChannelConfig(CHANNEL, add_crl(channel, "OrgDMSP", crl, revoked=[d.admin.cert.serial_number]))
    refused = verify_block(block.SerializeToString(), revoked)
    assert not refused.valid and refused.accepted == ()
    serial = d.admin.cert.serial_number
    assert refused.rejected == (
        f"signature 1: signer of OrgDMSP is not valid: its certificate (serial {serial:x}) "
        "is revoked by OrgDMSP's CRL",
    )
    assert refused.explain().startswith("block 5 is refused")
    with pytest.raises(AdminError, match="not a Fabric block"):
        verify_block(b"\xff\xff", channel)
