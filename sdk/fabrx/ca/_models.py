"""Values exchanged with a Fabric CA: what is registered, requested and issued."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..signing import ExternalKey, Signer, new_private_key_signer

__all__ = [
    "Attribute",
    "AttributeRequest",
    "CAInfo",
    "Enrollment",
    "ExternalEnrollment",
    "Revocation",
    "RevokedCertificate",
]


@dataclass(frozen=True)
class Attribute:
    """An attribute registered with an identity.

    With ``ecert=True`` the CA puts it into every enrollment certificate that does not request
    attributes explicitly (the JSON extension ``1.2.3.4.5.6.7.8.1`` that chaincode reads with ``cid``).
    """

    name: str
    value: str
    ecert: bool = False


@dataclass(frozen=True)
class AttributeRequest:
    """An attribute an enrollment asks to have in its certificate.

    A required attribute (``optional=False``) the identity does not own makes the enrollment fail.
    """

    name: str
    optional: bool = False


@dataclass(frozen=True)
class CAInfo:
    """What a CA says about itself (``/api/v1/cainfo``).

    ``ca_chain`` is the PEM chain from the CA's own certificate up to its root (the root alone for a
    root CA). The Idemix keys are raw bytes, empty when the server has no Idemix issuer.
    """

    ca_name: str
    ca_chain: bytes
    version: str
    issuer_public_key: bytes = b""
    issuer_revocation_public_key: bytes = b""


@dataclass(frozen=True, repr=False)
class Enrollment:
    """A certificate issued by the CA, the private key it certifies and the CA chain.

    ``certificate`` and ``ca_chain`` are PEM. The private key never leaves the client: the CA only saw
    the certificate signing request.
    """

    certificate: bytes
    private_key: ec.EllipticCurvePrivateKey
    ca_chain: bytes

    @property
    def private_key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (the form MSP keystores and wallets hold)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def signer(self) -> Signer:
        """A signer over SHA-256/384 digests for the enrolled private key."""
        return new_private_key_signer(self.private_key)

    def __repr__(self) -> str:
        # Keep the private key out of logs and tracebacks.
        return f"Enrollment(certificate=<{len(self.certificate)} bytes PEM>, private_key=<hidden>)"


@dataclass(frozen=True, repr=False)
class ExternalEnrollment:
    """A certificate issued by the CA for a key held outside the process (an HSM key), and the CA chain.

    ``certificate`` and ``ca_chain`` are PEM; ``key`` signs for the certificate and never left its device.
    """

    certificate: bytes
    key: ExternalKey
    ca_chain: bytes

    def signer(self) -> Signer:
        """The key's signer (digests in, low-S DER signatures out)."""
        return self.key.sign

    def __repr__(self) -> str:
        return f"ExternalEnrollment(certificate=<{len(self.certificate)} bytes PEM>, key={self.key!r})"


@dataclass(frozen=True)
class RevokedCertificate:
    """A certificate the CA marked revoked: lowercase hex serial number and authority key identifier."""

    serial: str
    aki: str


@dataclass(frozen=True)
class Revocation:
    """The outcome of a revoke request; ``crl`` is the new PEM CRL when one was asked for."""

    revoked: tuple[RevokedCertificate, ...] = ()
    crl: bytes | None = field(default=None, repr=False)
