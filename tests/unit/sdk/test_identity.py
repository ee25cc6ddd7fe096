"""Identity: the Fabric CA attributes a client's certificate carries."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx import Identity, IdentityError
from fabrx.identity import ATTRIBUTES_OID


def _identity(extension_value: bytes | None) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(11)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if extension_value is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ATTRIBUTES_OID, extension_value), critical=False
        )
    certificate = builder.sign(key, hashes.SHA256())
    return Identity("ClinicHostMSP", certificate.public_bytes(serialization.Encoding.PEM))


def test_attributes_are_the_fabric_ca_attributes_of_the_certificate() -> None:
    identity = _identity(
        b'{"attrs": {"fabrx.role": "hospital", "fabrx.party": "CLINIC-7", "hf.Type": "client"}}'
    )

    assert dict(identity.attributes) == {
        "fabrx.role": "hospital",
        "fabrx.party": "CLINIC-7",
        "hf.Type": "client",
    }


def test_attributes_are_read_only() -> None:
    attributes = _identity(b'{"attrs": {"fabrx.role": "hospital"}}').attributes

    with pytest.raises(TypeError):
        attributes["fabrx.role"] = "regulator"  # type: ignore[index]


@pytest.mark.parametrize("value", [None, b"not json", b'{"attrs": ["fabrx.role"]}', b"[1, 2]"])
def test_a_certificate_without_readable_attributes_has_none(value: bytes | None) -> None:
    assert dict(_identity(value).attributes) == {}


def test_attributes_of_a_credential_that_is_no_certificate_raise_identity_error() -> None:
    with pytest.raises(IdentityError, match="not a PEM certificate"):
        Identity("ClinicHostMSP", b"garbage").attributes  # noqa: B018 - the property raises
