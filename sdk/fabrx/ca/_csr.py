"""Certificate signing requests as a Fabric CA expects them."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..errors import CAError

__all__ = ["new_csr", "subject_alternative_names"]


def subject_alternative_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """IP addresses become ``iPAddress`` entries, everything else ``dNSName`` (as fabric-ca-client does)."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def new_csr(enrollment_id: str, key: ec.EllipticCurvePrivateKey, hosts: Sequence[str] = ()) -> bytes:
    """A PEM CSR with ``CN=<enrollment_id>`` and the given host names.

    The CA requires the common name to equal the enrollment ID; it fills in the OUs (identity type and
    affiliation) and the attribute extension itself.

    Raises:
        CAError: the key's curve is not P-256 or P-384.
    """
    algorithms: dict[str, hashes.SHA256 | hashes.SHA384] = {
        "secp256r1": hashes.SHA256(),
        "secp384r1": hashes.SHA384(),
    }
    algorithm = algorithms.get(key.curve.name)
    if algorithm is None:
        raise CAError(f"cannot build a CSR with a {key.curve.name} key: use ECDSA P-256 or P-384")
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, enrollment_id)])
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alternative_names(hosts)), False)
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)
