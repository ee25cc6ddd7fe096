"""add_local_crl: a CA's CRL goes into a node's local MSP, one file per issuing CA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx_network.errors import NetworkError
from fabrx_network.identities import add_local_crl
from fabrx_network.layout import MspFolder

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def _crl(issuer: str, key: ec.EllipticCurvePrivateKey, *serials: int) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .last_update(NOW)
        .next_update(NOW + timedelta(days=7))
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW).build()
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_a_newer_crl_of_the_same_ca_replaces_the_older_and_another_cas_sits_beside_it(tmp_path: Path) -> None:
    msp = MspFolder(tmp_path / "msp")
    key = ec.generate_private_key(ec.SECP256R1())
    first = add_local_crl(msp, _crl("ca.HospitalA", key, 0x10))
    assert first.parent == msp.path / "crls"
    newer = _crl("ca.HospitalA", key, 0x10, 0x11)
    assert add_local_crl(msp, newer) == first
    assert first.read_bytes() == newer
    other = add_local_crl(msp, _crl("ca.HospitalB", ec.generate_private_key(ec.SECP256R1()), 0x20))
    assert other != first
    assert sorted(p.name for p in (msp.path / "crls").iterdir()) == sorted([first.name, other.name])
    revoked = x509.load_pem_x509_crl(first.read_bytes())
    assert [r.serial_number for r in revoked] == [0x10, 0x11]


def test_anything_but_a_pem_crl_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    msp = MspFolder(tmp_path / "msp")
    for bad in (b"", b"not a crl", b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"):
        with pytest.raises(NetworkError, match="not a PEM certificate revocation list"):
            add_local_crl(msp, bad)
    assert not (msp.path / "crls").exists()
