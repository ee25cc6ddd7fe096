"""ClientIdentity from real X.509 certificates, composite keys and key-level endorsement policies."""

from __future__ import annotations

import pytest
from chaincode_fakes import issue
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from fabrx_chaincode import (
    AccessDeniedError,
    ChaincodeError,
    ClientIdentity,
    InvalidKeyError,
    KeyEndorsementPolicy,
    RoleType,
    create_composite_key,
    serialize_identity,
    split_composite_key,
)
from fabrx_chaincode.keys import partial_composite_key_range, validate_simple_key


def identity(attributes: dict[str, str] | None = None, msp_id: str = "Org1MSP") -> ClientIdentity:
    ca = issue("ca.org1.example.com", ca=True)
    user = issue("user1", issuer=ca, organizational_units=["client", "dept/a"], attributes=attributes)
    return ClientIdentity(serialize_identity(msp_id, user.cert_pem))


def test_attributes_come_from_the_fabric_ca_extension() -> None:
    client = identity({"role": "auditor", "hf.EnrollmentID": "user1"})
    assert client.msp_id == "Org1MSP"
    assert client.attributes == {"role": "auditor", "hf.EnrollmentID": "user1"}
    assert client.get_attribute_value("role") == "auditor"
    assert client.get_attribute_value("missing") is None
    assert client.has_attribute_value("role", "auditor")
    assert not client.has_attribute_value("role", "admin")


def test_a_certificate_is_parsed_once_for_all_transactions_of_its_client() -> None:
    first = identity({"role": "auditor"})
    again = ClientIdentity(serialize_identity(first.msp_id, first.id_bytes))
    assert again.certificate is first.certificate
    assert again.attributes is first.attributes
    assert again.get_attribute_value("role") == "auditor"


def test_assert_attribute_value_denies_with_403() -> None:
    client = identity({"role": "auditor"})
    client.assert_attribute_value("role", "auditor")
    with pytest.raises(AccessDeniedError, match="'role' is 'auditor'") as wrong:
        client.assert_attribute_value("role", "regulator")
    assert wrong.value.status == 403
    with pytest.raises(AccessDeniedError, match="no attribute 'clearance'"):
        client.assert_attribute_value("clearance", "high")


def test_msp_based_access_control() -> None:
    client = identity(msp_id="HospitalMSP")
    client.assert_msp_id("RegulatorMSP", "HospitalMSP")
    with pytest.raises(AccessDeniedError, match="HospitalMSP"):
        client.assert_msp_id("RegulatorMSP")


def test_certificate_without_attribute_extension_has_no_attributes() -> None:
    client = identity(None)
    assert dict(client.attributes) == {}
    assert client.get_attribute_value("role") is None


def test_id_is_subject_and_issuer_in_the_node_form() -> None:
    client = identity()
    assert (
        client.id == "x509::/C=US/O=Org1/OU=client/OU=dept\\/a/CN=user1::/C=US/O=Org1/CN=ca.org1.example.com"
    )
    assert client.has_ou_value("client") and not client.has_ou_value("admin")


def test_non_certificate_identities_fail_clearly() -> None:
    with pytest.raises(ChaincodeError, match="not a serialized identity"):
        ClientIdentity(b"\xff\xff\xff")
    idemix = ClientIdentity(serialize_identity("IdemixMSP", b"not a certificate"))
    assert idemix.msp_id == "IdemixMSP"
    with pytest.raises(ChaincodeError, match=r"no X\.509 certificate"):
        _ = idemix.attributes


def test_composite_keys_round_trip() -> None:
    key = create_composite_key("invoice", ["org1", "2026-001"])
    assert key == "\x00invoice\x00org1\x002026-001\x00"
    assert split_composite_key(key) == ("invoice", ["org1", "2026-001"])
    assert split_composite_key(create_composite_key("solo")) == ("solo", [])
    start, end = partial_composite_key_range("invoice", ["org1"])
    assert start == "\x00invoice\x00org1\x00" and end == start + "\U0010ffff"


def test_composite_key_rules() -> None:
    with pytest.raises(InvalidKeyError, match="U\\+0000"):
        create_composite_key("bad\x00type")
    with pytest.raises(InvalidKeyError, match="U\\+10FFFF"):
        create_composite_key("ok", ["bad\U0010ffff"])
    with pytest.raises(InvalidKeyError, match="not valid UTF-8"):
        create_composite_key("ok", ["\udc80"])
    with pytest.raises(InvalidKeyError, match="not a composite key"):
        split_composite_key("plain")
    with pytest.raises(InvalidKeyError, match="reserved for composite keys"):
        validate_simple_key("\x00x")


def test_key_endorsement_policy_is_an_n_of_n_signature_policy() -> None:
    policy = KeyEndorsementPolicy()
    policy.add_orgs(RoleType.PEER, "Org2MSP", "Org1MSP")
    policy.add_orgs(RoleType.MEMBER, "Org3MSP")
    policy.delete_orgs("Org3MSP", "Unknown")
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.policy)
    assert envelope.rule.n_out_of.n == 2
    assert [rule.signed_by for rule in envelope.rule.n_out_of.rules] == [0, 1]
    roles = [msp_principal_pb2.MSPRole.FromString(identity.principal) for identity in envelope.identities]
    assert [(r.msp_identifier, r.role) for r in roles] == [
        ("Org1MSP", msp_principal_pb2.MSPRole.PEER),
        ("Org2MSP", msp_principal_pb2.MSPRole.PEER),
    ]
    again = KeyEndorsementPolicy(policy.policy)
    assert again.orgs == ("Org1MSP", "Org2MSP") and again.role_of("Org1MSP") is RoleType.PEER
    assert again.policy == policy.policy


def test_key_endorsement_policy_rejects_garbage() -> None:
    with pytest.raises(ChaincodeError, match="cannot be decoded"):
        KeyEndorsementPolicy(b"\xff\xff")
