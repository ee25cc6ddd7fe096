"""The identity that created the transaction proposal, for access control in contracts.

The creator is an ``msp.SerializedIdentity``: the MSP id and, for X.509 MSPs, the PEM certificate.
Fabric CA writes a certificate's attributes (``hf.EnrollmentID``, ``hf.Type``, ``role`` and any
registered with ``ecert=true``) into the X.509 extension ``1.2.3.4.5.6.7.8.1`` as JSON
``{"attrs": {"name": "value", ...}}``.

The certificate is parsed only when a property that needs it is read, and once per process for each
certificate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property, lru_cache
from types import MappingProxyType

from cryptography import x509
from fabric_protos.msp import identities_pb2

from .errors import AccessDeniedError, ChaincodeError

__all__ = ["ATTRIBUTES_OID", "ClientIdentity", "serialize_identity"]

ATTRIBUTES_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")
"""The X.509 extension in which Fabric CA stores certificate attributes."""


def serialize_identity(msp_id: str, certificate_pem: bytes) -> bytes:
    """The creator bytes of an X.509 identity: a serialized ``msp.SerializedIdentity``."""
    return identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=certificate_pem).SerializeToString()


def _format_name(name: x509.Name) -> str:
    # The Node contract API's form, in certificate order: /C=US/O=Org1/CN=user1 ("/" in a value escaped).
    parts = []
    for rdn in name.rdns:
        values = "+".join(
            f"{attribute.rfc4514_attribute_name}={str(attribute.value).replace('/', chr(92) + '/')}"
            for attribute in rdn
        )
        parts.append("/" + values)
    return "".join(parts)


# A client sends many transactions with one certificate: parse it once per process, not per transaction.
# Certificates are immutable, so sharing the parsed objects is safe; failures are not cached.


@lru_cache(maxsize=512)
def _load_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


@lru_cache(maxsize=512)
def _certificate_attributes(pem: bytes) -> Mapping[str, str]:
    try:
        extension = _load_certificate(pem).extensions.get_extension_for_oid(ATTRIBUTES_OID)
    except x509.ExtensionNotFound:
        return MappingProxyType({})
    raw = extension.value
    data = raw.value if isinstance(raw, x509.UnrecognizedExtension) else b""
    try:
        attrs = json.loads(data).get("attrs", {})
    except (ValueError, AttributeError) as exc:
        raise ChaincodeError(f"the certificate attribute extension is not valid JSON: {exc}") from exc
    if not isinstance(attrs, dict):
        raise ChaincodeError('the certificate attribute extension is not {"attrs": {...}}')
    return MappingProxyType({str(k): str(v) for k, v in attrs.items()})


class ClientIdentity:
    """The transaction creator: MSP id, certificate, unique id and certificate attributes.

    Raises:
        ChaincodeError: ``creator`` is not a serialized identity (on construction), or a property
            needing the certificate is read for an identity that has no X.509 certificate.
    """

    def __init__(self, creator: bytes) -> None:
        try:
            identity = identities_pb2.SerializedIdentity.FromString(creator)
        except Exception as exc:  # protobuf raises DecodeError; translate once, here
            raise ChaincodeError(f"the transaction creator is not a serialized identity: {exc}") from exc
        self._msp_id = identity.mspid
        self._id_bytes = identity.id_bytes

    @property
    def msp_id(self) -> str:
        """The MSP id of the creator's organization."""
        return self._msp_id

    @property
    def id_bytes(self) -> bytes:
        """The identity bytes: the PEM certificate for X.509 MSPs."""
        return self._id_bytes

    @cached_property
    def certificate(self) -> x509.Certificate:
        """The creator's X.509 certificate.

        Raises:
            ChaincodeError: the identity bytes are not a PEM certificate (an Idemix identity, say).
        """
        try:
            return _load_certificate(self._id_bytes)
        except ValueError as exc:
            raise ChaincodeError(
                f"the creator of MSP {self._msp_id!r} has no X.509 certificate: {exc}"
            ) from exc

    @cached_property
    def id(self) -> str:
        """A unique id within the MSP: ``x509::<subject DN>::<issuer DN>`` (the Node contract API's form)."""
        cert = self.certificate
        return f"x509::{_format_name(cert.subject)}::{_format_name(cert.issuer)}"

    @cached_property
    def attributes(self) -> Mapping[str, str]:
        """Certificate attributes written by Fabric CA; empty when the certificate carries none.

        Raises:
            ChaincodeError: the attribute extension is present but is not ``{"attrs": {...}}`` JSON.
        """
        self.certificate  # noqa: B018 - raises ChaincodeError for a creator without a certificate
        return _certificate_attributes(self._id_bytes)

    def get_attribute_value(self, name: str) -> str | None:
        """The value of certificate attribute ``name``, or None when the certificate lacks it."""
        return self.attributes.get(name)

    def has_attribute_value(self, name: str, value: str) -> bool:
        """Whether certificate attribute ``name`` exists and equals ``value``."""
        return self.attributes.get(name) == value

    def assert_attribute_value(self, name: str, value: str) -> None:
        """Require certificate attribute ``name`` to equal ``value``.

        Raises:
            AccessDeniedError: the attribute is missing or has another value (status 403).
        """
        actual = self.attributes.get(name)
        if actual is None:
            raise AccessDeniedError(f"access denied: the client certificate has no attribute {name!r}")
        if actual != value:
            raise AccessDeniedError(
                f"access denied: attribute {name!r} is {actual!r}, this transaction requires {value!r}"
            )

    def assert_msp_id(self, *msp_ids: str) -> None:
        """Require the creator to belong to one of ``msp_ids``.

        Raises:
            AccessDeniedError: the creator's MSP is not listed (status 403).
        """
        if self._msp_id not in msp_ids:
            allowed = ", ".join(sorted(msp_ids))
            raise AccessDeniedError(
                f"access denied: MSP {self._msp_id!r} may not run this transaction (allowed: {allowed})"
            )

    def has_ou_value(self, organizational_unit: str) -> bool:
        """Whether the certificate subject has this organizational unit (OU)."""
        values = self.certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
        return any(attribute.value == organizational_unit for attribute in values)
