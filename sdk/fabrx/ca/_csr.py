"""Certificate signing requests as a Fabric CA expects them."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..errors import CAError
from ..hashing import Hash, sha256, sha384
from ..signing import ExternalKey

__all__ = ["new_csr", "subject_alternative_names"]

# DER of the object identifiers an external key's CSR needs (RFC 5758, RFC 2985, RFC 5280).
_ECDSA_WITH: dict[str, tuple[bytes, Hash]] = {
    "secp256r1": (bytes.fromhex("06082a8648ce3d040302"), sha256),  # ecdsa-with-SHA256
    "secp384r1": (bytes.fromhex("06082a8648ce3d040303"), sha384),  # ecdsa-with-SHA384
}
_EXTENSION_REQUEST = bytes.fromhex("06092a864886f70d01090e")  # pkcs-9 extensionRequest
_SUBJECT_ALT_NAME = bytes.fromhex("0603551d11")  # id-ce-subjectAltName


def subject_alternative_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """IP addresses become ``iPAddress`` entries, everything else ``dNSName`` (as fabric-ca-client does)."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def new_csr(
    enrollment_id: str, key: ec.EllipticCurvePrivateKey | ExternalKey, hosts: Sequence[str] = ()
) -> bytes:
    """A PEM CSR with ``CN=<enrollment_id>`` and the given host names.

    The CA requires the common name to equal the enrollment ID; it fills in the OUs (identity type and
    affiliation) and the attribute extension itself.

    ``key`` is an in-memory private key or an :class:`~fabrx.signing.ExternalKey` (an HSM key), which
    signs the request's digest without the private key leaving its device.

    Raises:
        CAError: the key's curve is not P-256 or P-384.
    """
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return _external_key_csr(enrollment_id, key, hosts)
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


def _external_key_csr(enrollment_id: str, key: ExternalKey, hosts: Sequence[str]) -> bytes:
    """The CSR of :func:`new_csr`, signed by ``key.sign`` over the request info's digest.

    ``cryptography`` signs CSRs only with its own key objects, so the PKCS#10 framing (RFC 2986) is written
    here around the DER parts ``cryptography`` encodes: the subject, the public key and the extension.
    """
    public_key = key.public_key
    curve = public_key.curve.name
    if curve not in _ECDSA_WITH:
        raise CAError(f"cannot build a CSR with a {curve} key: use ECDSA P-256 or P-384")
    algorithm, digest = _ECDSA_WITH[curve]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, enrollment_id)]).public_bytes()
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    attributes = b""
    if hosts:
        san = x509.SubjectAlternativeName(subject_alternative_names(hosts)).public_bytes()
        extension = _der(0x30, _SUBJECT_ALT_NAME + _der(0x04, san))
        attributes = _der(0x30, _EXTENSION_REQUEST + _der(0x31, _der(0x30, extension)))
    info = _der(0x30, bytes.fromhex("020100") + subject + spki + _der(0xA0, attributes))
    signature = key.sign(digest(info))
    der = _der(0x30, info + _der(0x30, algorithm) + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM)


def _der(tag: int, content: bytes) -> bytes:
    """A DER type-length-value with a definite length."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded + content
