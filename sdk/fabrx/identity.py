"""Client identities: who signs a request.

An :class:`Identity` is an MSP id plus an X.509 certificate in PEM form. Serialized as
``msp.SerializedIdentity`` it is the *creator* of every proposal, transaction and request a client
signs; Fabric checks it against the channel's MSP definitions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from fabric_protos.msp import identities_pb2

from .errors import IdentityError
from .signing import PrivateKey, Signer, load_private_key, new_private_key_signer

__all__ = ["ATTRIBUTES_OID", "Identity", "load_msp_folder"]

ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")
"""The certificate extension in which Fabric CA writes an enrollment's attributes (``{"attrs": {...}}``)."""


@dataclass(frozen=True)
class Identity:
    """An MSP id and the PEM-encoded X.509 certificate that the MSP issued."""

    msp_id: str
    credentials: bytes

    @classmethod
    def from_pem_file(cls, msp_id: str, path: str | Path) -> Identity:
        """Read a PEM certificate file.

        Raises:
            IdentityError: the file is missing or is not a PEM certificate.
        """
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise IdentityError(f"cannot read certificate {path}: {exc.strerror}") from exc
        identity = cls(msp_id=msp_id, credentials=pem)
        identity.certificate  # noqa: B018 - validates the PEM up front
        return identity

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed certificate.

        Raises:
            IdentityError: ``credentials`` is not a PEM certificate.
        """
        try:
            return x509.load_pem_x509_certificate(self.credentials)
        except ValueError as exc:
            raise IdentityError(f"identity of {self.msp_id} is not a PEM certificate: {exc}") from exc

    @property
    def attributes(self) -> Mapping[str, str]:
        """The Fabric CA attributes the certificate carries (``fabrx.role``, ``hf.EnrollmentID``, ...).

        Empty when the certificate has no attribute extension, or one that is not Fabric CA's
        ``{"attrs": {name: value}}`` JSON (a client only reads them; the chaincode is what refuses a
        malformed extension). Values are strings, as Fabric CA writes them.

        Raises:
            IdentityError: ``credentials`` is not a PEM certificate.
        """
        try:
            extension = self.certificate.extensions.get_extension_for_oid(ATTRIBUTES_OID)
        except x509.ExtensionNotFound:
            return MappingProxyType({})
        value = extension.value
        if not isinstance(value, x509.UnrecognizedExtension):
            return MappingProxyType({})
        try:
            attrs = json.loads(value.value).get("attrs", {})
        except (ValueError, AttributeError):
            return MappingProxyType({})
        if not isinstance(attrs, dict):
            return MappingProxyType({})
        return MappingProxyType({str(name): str(found) for name, found in attrs.items()})

    def serialize(self) -> bytes:
        """The ``msp.SerializedIdentity`` bytes used as the creator of signed messages."""
        return identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.credentials
        ).SerializeToString()


def load_msp_folder(msp_id: str, msp_dir: str | Path) -> tuple[Identity, Signer, PrivateKey]:
    """Load the signing identity of an MSP folder (``signcerts/`` and ``keystore/``).

    Returns the identity, a signer for SHA-256 (P-256) digests and the private key itself.

    Raises:
        IdentityError: the folder lacks exactly one certificate in ``signcerts`` or one key in ``keystore``.
    """
    folder = Path(msp_dir)
    certs = sorted((folder / "signcerts").glob("*.pem"))
    keys = sorted(p for p in (folder / "keystore").glob("*") if p.is_file())
    if len(certs) != 1:
        raise IdentityError(f"{folder / 'signcerts'}: expected one certificate, found {len(certs)}")
    if len(keys) != 1:
        raise IdentityError(f"{folder / 'keystore'}: expected one private key, found {len(keys)}")
    identity = Identity.from_pem_file(msp_id, certs[0])
    key = load_private_key(keys[0])
    return identity, new_private_key_signer(key), key
