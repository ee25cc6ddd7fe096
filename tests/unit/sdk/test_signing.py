from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from fabric_protos.msp import identities_pb2

from fabrx import hashing
from fabrx._protocol import new_transaction_context
from fabrx.errors import IdentityError
from fabrx.identity import Identity, load_msp_folder
from fabrx.signing import encode_ecdsa_signature, load_private_key, new_private_key_signer

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def test_ecdsa_signatures_are_low_s_and_verify() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sign = new_private_key_signer(key)
    for i in range(64):  # about half of raw ECDSA signatures are high-S
        digest = hashing.sha256(b"message %d" % i)
        signature = sign(digest)
        _, s = decode_dss_signature(signature)
        assert s <= P256_ORDER // 2
        key.public_key().verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def test_raw_ecdsa_signatures_are_encoded_low_s_and_still_verify() -> None:
    # What an HSM hands back: r and s as it computed them, high-S half of the time.
    key = ec.generate_private_key(ec.SECP256R1())
    digest = hashlib.sha256(b"proposal").digest()
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    high_s = max(s, P256_ORDER - s)

    signature = encode_ecdsa_signature(r, high_s, curve="secp256r1")

    assert decode_dss_signature(signature) == (r, min(s, P256_ORDER - s))
    key.public_key().verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    low = encode_ecdsa_signature(r, min(s, P256_ORDER - s), curve="secp256r1")
    assert low == signature


def test_raw_ecdsa_signature_of_an_unknown_curve_is_refused() -> None:
    with pytest.raises(IdentityError, match="unsupported ECDSA curve 'secp521r1'"):
        encode_ecdsa_signature(1, 2, curve="secp521r1")


def test_p384_signer_accepts_sha384_digest() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    digest = hashing.sha384(b"payload")
    key.public_key().verify(new_private_key_signer(key)(digest), digest, ec.ECDSA(Prehashed(hashes.SHA384())))


def test_ed25519_signer_signs_whole_message() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    message = b"a proposal"
    key.public_key().verify(new_private_key_signer(key)(hashing.none(message)), message)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(new_private_key_signer(key)(message), b"another")


def test_ecdsa_signer_rejects_non_digest() -> None:
    sign = new_private_key_signer(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(IdentityError, match="pass a digest"):
        sign(b"not a digest")


def test_unsupported_key_is_rejected() -> None:
    pem = ec.generate_private_key(ec.SECP521R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(IdentityError, match="unsupported"):
        load_private_key(pem)
    with pytest.raises(IdentityError, match="not an unencrypted PEM"):
        load_private_key(b"garbage")


def test_transaction_id_is_sha256_of_nonce_and_creator() -> None:
    creator = identities_pb2.SerializedIdentity(mspid="Org1MSP", id_bytes=b"cert").SerializeToString()
    context = new_transaction_context(creator)
    assert len(context.nonce) == 24
    assert context.transaction_id == hashlib.sha256(context.nonce + creator).hexdigest()
    assert new_transaction_context(creator).transaction_id != context.transaction_id


def test_msp_folder_needs_one_cert_and_one_key(tmp_path) -> None:
    (tmp_path / "signcerts").mkdir()
    (tmp_path / "keystore").mkdir()
    with pytest.raises(IdentityError, match="expected one certificate, found 0"):
        load_msp_folder("Org1MSP", tmp_path)


def test_identity_serializes_as_msp_serialized_identity() -> None:
    identity = Identity(msp_id="Org1MSP", credentials=b"-----BEGIN CERTIFICATE-----")
    decoded = identities_pb2.SerializedIdentity.FromString(identity.serialize())
    assert (decoded.mspid, decoded.id_bytes) == ("Org1MSP", b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(IdentityError, match="not a PEM certificate"):
        _ = identity.certificate
