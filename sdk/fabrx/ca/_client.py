"""A Fabric CA client speaking the CA's REST protocol (``/api/v1``) over HTTPS."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..errors import CAError
from ..hashing import Hash, sha256
from ..identity import Identity
from ..signing import ExternalKey, Signer
from ._csr import new_csr
from ._errors import AlreadyRegisteredError
from ._models import (
    Attribute,
    AttributeRequest,
    CAInfo,
    Enrollment,
    ExternalEnrollment,
    Revocation,
    RevokedCertificate,
)
from ._token import auth_token
from ._transport import USE_ENVIRONMENT, HttpsTransport

__all__ = ["REVOCATION_REASONS", "CAClient"]

# The reason names the CA understands; it silently maps any other name to "unspecified".
REVOCATION_REASONS = frozenset(
    {
        "unspecified",
        "keycompromise",
        "cacompromise",
        "affiliationchanged",
        "superseded",
        "cessationofoperation",
        "certificatehold",
        "removefromcrl",
        "privilegewithdrawn",
        "aacompromise",
    }
)

# fabric-ca error codes fabrx reacts to (lib/caerrors/servererror.go).
_ERR_AUTHENTICATION_FAILURE = 20
_ERR_DUPLICATE_IDENTITY = 74


@dataclass(frozen=True, repr=False)
class _Basic:
    """Authenticates an enrollment: HTTP basic auth with the enrollment secret."""

    enrollment_id: str
    secret: str


@dataclass(frozen=True, repr=False)
class _Token:
    """Authenticates an enrolled identity: the signed token of :mod:`._token`."""

    identity: Identity
    signer: Signer


class CAClient:
    """A client of one CA of a Fabric CA server.

    ``tls_root_certs`` (PEM bytes, or the path of a PEM file) verifies the server's TLS certificate;
    ``ca_name`` selects a CA when the server hosts several (``--cafiles``); ``server_name`` overrides the
    host name checked against that certificate. ``hash`` must match the CA's ``bccsp.sw.hash``/``security``
    (SHA-256 by default); it digests the tokens that authenticate registrars.

    ``proxy`` reaches the CA through an HTTP proxy (``http://[user:password@]host:port``) with a CONNECT
    tunnel, so TLS still ends at the CA and is verified as without one. By default (``"environment"``) the
    proxy comes from ``HTTPS_PROXY``/``https_proxy`` unless ``NO_PROXY`` lists the CA's host, as curl and
    requests do; ``None`` always connects directly.

    ``timeout`` (seconds, default 30) bounds connecting and each wait for an answer; every method takes
    its own ``timeout=`` for one call (a short one for a health check, a long one for a CA under load).

    Thread-safe; connections are kept alive between requests. Use as a context manager or call
    :meth:`close`. Every method raises :class:`~fabrx.errors.CAError` when the CA cannot be reached
    (message ``cannot reach CA at <url>: ...``) or answers with errors (``messages`` holds the CA's texts).
    """

    def __init__(
        self,
        url: str,
        *,
        tls_root_certs: bytes | str | Path,
        ca_name: str | None = None,
        server_name: str | None = None,
        timeout: float = 30.0,
        hash: Hash = sha256,
        proxy: str | None = USE_ENVIRONMENT,
    ) -> None:
        self._transport = HttpsTransport(
            url,
            tls_root_certs=_read_pem(tls_root_certs),
            server_name=server_name,
            timeout=timeout,
            proxy=proxy,
        )
        self._ca_name = ca_name
        self._hash = hash

    @property
    def url(self) -> str:
        """The CA server's URL as given."""
        return self._transport.url

    @property
    def proxy(self) -> str | None:
        """The proxy URL the client goes through (given or from the environment), ``None`` for none."""
        return self._transport.proxy

    @property
    def ca_name(self) -> str | None:
        """The CA addressed on the server, ``None`` for the server's default CA."""
        return self._ca_name

    def close(self) -> None:
        """Close idle connections."""
        self._transport.close()

    def __enter__(self) -> CAClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def info(self, *, timeout: float | None = None) -> CAInfo:
        """Ask the CA for its name, certificate chain, Idemix issuer keys and version (no credentials).

        ``timeout`` here and in every call: seconds for this call (connecting and each wait for the
        answer), default the client's. A call that times out may still have been carried out by the CA
        (an enrollment counted, an identity registered); :meth:`register` again then raises
        :class:`AlreadyRegisteredError`."""
        result = self._call("cainfo", {}, auth=None, timeout=timeout)
        return _ca_info(result)

    def enroll(
        self,
        enrollment_id: str,
        secret: str,
        *,
        profile: str | None = None,
        csr_hosts: Sequence[str] = (),
        attr_reqs: Sequence[AttributeRequest] = (),
        key: ec.EllipticCurvePrivateKey | None = None,
        timeout: float | None = None,
    ) -> Enrollment:
        """Enroll a registered identity: send a CSR, authenticated by the enrollment secret.

        ``profile`` names the CA's signing profile (``"tls"`` for a TLS certificate: server and client
        auth); ``csr_hosts`` become the certificate's subject alternative names (IP addresses as such).
        With no ``attr_reqs`` the CA adds the attributes registered with ``ecert=True``; otherwise only the
        requested ones. A new P-256 key is generated unless ``key`` is given. ``timeout`` as in
        :meth:`info`.

        Raises:
            CAError: the secret is wrong, the identity's enrollments are used up or revoked, the profile
                does not exist, or the CA cannot be reached.
        """
        key = key or ec.generate_private_key(ec.SECP256R1())
        body = self._sign_request_body(enrollment_id, key, profile, csr_hosts, attr_reqs)
        result = self._call(
            "enroll",
            body,
            auth=_Basic(enrollment_id, secret),
            action=f"enroll {enrollment_id!r}",
            timeout=timeout,
        )
        return _enrollment(result, key)

    def enroll_external(
        self,
        enrollment_id: str,
        secret: str,
        key: ExternalKey,
        *,
        profile: str | None = None,
        csr_hosts: Sequence[str] = (),
        attr_reqs: Sequence[AttributeRequest] = (),
        timeout: float | None = None,
    ) -> ExternalEnrollment:
        """Enroll a registered identity for a key held outside the process, e.g. a
        :class:`fabrx.pkcs11.Pkcs11Key`: ``key`` signs the CSR; its private half never leaves its device.

        Other arguments as in :meth:`enroll`.

        Raises:
            CAError: as :meth:`enroll`; also when the key is not ECDSA P-256/P-384.
            IdentityError: the key's device refused to sign.
        """
        body = self._sign_request_body(enrollment_id, key, profile, csr_hosts, attr_reqs)
        result = self._call(
            "enroll",
            body,
            auth=_Basic(enrollment_id, secret),
            action=f"enroll {enrollment_id!r}",
            timeout=timeout,
        )
        certificate, ca_chain = _issued(result)
        return ExternalEnrollment(certificate=certificate, key=key, ca_chain=ca_chain)

    def reenroll(
        self,
        identity: Identity,
        signer: Signer,
        *,
        profile: str | None = None,
        csr_hosts: Sequence[str] = (),
        attr_reqs: Sequence[AttributeRequest] = (),
        key: ec.EllipticCurvePrivateKey | None = None,
        timeout: float | None = None,
    ) -> Enrollment:
        """Get a new certificate for an enrolled identity, authenticated by its current certificate.

        A new P-256 key is generated unless ``key`` is given (pass the current key to keep it). The
        enrollment ID is the common name of ``identity``'s certificate. Other arguments as in
        :meth:`enroll`.

        Raises:
            CAError: the current certificate is revoked, expired or not issued by this CA.
        """
        enrollment_id = _common_name(identity)
        key = key or ec.generate_private_key(ec.SECP256R1())
        body = self._sign_request_body(enrollment_id, key, profile, csr_hosts, attr_reqs)
        result = self._call(
            "reenroll",
            body,
            auth=_Token(identity, signer),
            action=f"reenroll {enrollment_id!r}",
            timeout=timeout,
        )
        return _enrollment(result, key)

    def register(
        self,
        registrar: Identity,
        signer: Signer,
        enrollment_id: str,
        *,
        secret: str | None = None,
        type: str = "client",
        affiliation: str = "",
        attributes: Sequence[Attribute] = (),
        max_enrollments: int | None = None,
        timeout: float | None = None,
    ) -> str:
        """Register a new identity and return its enrollment secret.

        ``type`` is the identity type the CA writes as an OU (``client``, ``peer``, ``orderer``,
        ``admin`` for node OUs); the registrar needs it in ``hf.Registrar.Roles``. ``affiliation`` ``""``
        registers at the root. Without ``secret`` the CA generates one. ``max_enrollments`` ``None``
        uses the CA's default, ``-1`` allows unlimited enrollments.

        Raises:
            AlreadyRegisteredError: an identity with this enrollment ID exists (enroll with its secret).
            CAError: the registrar may not register this type, affiliation or attribute.
        """
        body: dict[str, Any] = {"id": enrollment_id, "type": type, "affiliation": affiliation}
        if secret is not None:
            body["secret"] = secret
        if max_enrollments is not None:
            body["max_enrollments"] = max_enrollments
        if attributes:
            body["attrs"] = [
                {"name": a.name, "value": a.value, **({"ecert": True} if a.ecert else {})} for a in attributes
            ]
        result = self._call(
            "register",
            body,
            auth=_Token(registrar, signer),
            action=f"register {enrollment_id!r}",
            timeout=timeout,
        )
        if not isinstance(result, dict) or not isinstance(result.get("secret"), str):
            raise CAError(f"CA at {self.url} answered register {enrollment_id!r} without a secret")
        return result["secret"]

    def revoke(
        self,
        registrar: Identity,
        signer: Signer,
        *,
        enrollment_id: str | None = None,
        serial: str | None = None,
        aki: str | None = None,
        certificate: bytes | None = None,
        reason: str = "unspecified",
        gen_crl: bool = False,
        timeout: float | None = None,
    ) -> Revocation:
        """Revoke one certificate, or an identity and all its certificates.

        Give ``enrollment_id`` alone to revoke the identity (it can no longer enroll) and every certificate
        issued to it; or one certificate by ``serial`` and ``aki`` (hex, any case, colons allowed) or by
        its PEM ``certificate``. ``reason`` is one of :data:`REVOCATION_REASONS`; ``gen_crl`` returns the
        CA's new CRL.

        Raises:
            CAError: arguments name nothing to revoke or an unknown reason, the certificate or identity
                is unknown or already revoked, or the registrar lacks ``hf.Revoker``.
        """
        if reason.lower() not in REVOCATION_REASONS:
            choices = ", ".join(sorted(REVOCATION_REASONS))
            raise CAError(f"unknown revocation reason {reason!r}: use one of {choices}")
        if certificate is not None:
            serial, aki = _serial_and_aki(certificate)
        if (serial is None) != (aki is None):
            raise CAError("revoking one certificate needs both serial and aki")
        if enrollment_id is None and serial is None:
            raise CAError("nothing to revoke: give enrollment_id, serial and aki, or certificate")
        body: dict[str, Any] = {"reason": reason.lower()}
        if enrollment_id is not None:
            body["id"] = enrollment_id
        if serial is not None and aki is not None:
            body["serial"] = serial
            body["aki"] = aki
        if gen_crl:
            body["gencrl"] = True
        target = enrollment_id if serial is None else f"certificate {serial}"
        result = self._call(
            "revoke", body, auth=_Token(registrar, signer), action=f"revoke {target!r}", timeout=timeout
        )
        return _revocation(result)

    def _sign_request_body(
        self,
        enrollment_id: str,
        key: ec.EllipticCurvePrivateKey | ExternalKey,
        profile: str | None,
        csr_hosts: Sequence[str],
        attr_reqs: Sequence[AttributeRequest],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"certificate_request": new_csr(enrollment_id, key, csr_hosts).decode("ascii")}
        if csr_hosts:
            # The CA signs the hosts of the request, not those of the CSR, when both are present.
            body["hosts"] = list(csr_hosts)
        if profile:
            body["profile"] = profile
        if attr_reqs:
            body["attr_reqs"] = [
                {"name": r.name, **({"optional": True} if r.optional else {})} for r in attr_reqs
            ]
        return body

    def _call(
        self,
        endpoint: str,
        body: dict[str, Any],
        *,
        auth: _Basic | _Token | None,
        action: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """POST ``body`` (plus ``caname``) to ``endpoint``; return the ``result`` of a successful answer."""
        if self._ca_name:
            body = {**body, "caname": self._ca_name}
        data = json.dumps(body, separators=(",", ":")).encode()
        uri = f"{self._transport.api_path}/{endpoint}"
        headers = {"Content-Type": "application/json"}
        if isinstance(auth, _Basic):
            credentials = base64.b64encode(f"{auth.enrollment_id}:{auth.secret}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {credentials}"
        elif isinstance(auth, _Token):
            headers["Authorization"] = auth_token(
                certificate=auth.identity.credentials,
                signer=auth.signer,
                hash=self._hash,
                method="POST",
                uri=uri,
                body=data,
            )
        status, payload = self._transport.request("POST", uri, data, headers, timeout=timeout)
        return self._result(status, payload, action or endpoint, body.get("id"))

    def _result(self, status: int, payload: bytes, action: str, enrollment_id: Any) -> Any:
        try:
            answer = json.loads(payload) if payload else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise CAError(f"CA at {self.url} refused {action}: HTTP {status} without a Fabric CA answer")
        errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
        if errors or status >= 400 or not answer.get("success", False):
            codes = {e.get("code") for e in errors}
            messages = tuple(str(e.get("message", "")) for e in errors)
            message = f"CA at {self.url} refused {action} (HTTP {status})"
            if _ERR_DUPLICATE_IDENTITY in codes and isinstance(enrollment_id, str):
                raise AlreadyRegisteredError(message, enrollment_id=enrollment_id, messages=messages)
            if _ERR_AUTHENTICATION_FAILURE in codes:
                # The CA hides the cause from clients; these are the usual ones.
                message += ": wrong enrollment secret, enrollments used up, or identity revoked"
            raise CAError(message, messages=messages)
        return answer.get("result")


def _read_pem(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CAError(f"cannot read tls_root_certs {source}: {exc.strerror}") from exc


def _b64decode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise CAError(f"CA answer lacks {what}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise CAError(f"CA answer has invalid base64 in {what}") from exc


def _ca_info(result: Any) -> CAInfo:
    if not isinstance(result, dict):
        raise CAError("CA answer lacks the CA information")
    return CAInfo(
        ca_name=str(result.get("CAName", "")),
        ca_chain=_b64decode(result.get("CAChain"), "CAChain"),
        version=str(result.get("Version", "")),
        issuer_public_key=_b64decode(result.get("IssuerPublicKey") or "", "IssuerPublicKey"),
        issuer_revocation_public_key=_b64decode(
            result.get("IssuerRevocationPublicKey") or "", "IssuerRevocationPublicKey"
        ),
    )


def _enrollment(result: Any, key: ec.EllipticCurvePrivateKey) -> Enrollment:
    certificate, ca_chain = _issued(result)
    return Enrollment(certificate=certificate, private_key=key, ca_chain=ca_chain)


def _issued(result: Any) -> tuple[bytes, bytes]:
    """The certificate and CA chain of an enrollment answer."""
    if not isinstance(result, dict):
        raise CAError("CA answer lacks the enrollment result")
    info = _ca_info(result.get("ServerInfo"))
    return _b64decode(result.get("Cert"), "Cert"), info.ca_chain


def _revocation(result: Any) -> Revocation:
    if not isinstance(result, dict):
        raise CAError("CA answer lacks the revocation result")
    revoked = tuple(
        RevokedCertificate(serial=str(entry.get("Serial", "")), aki=str(entry.get("AKI", "")))
        for entry in result.get("RevokedCerts") or []
        if isinstance(entry, dict)
    )
    crl = _b64decode(result["CRL"], "CRL") if result.get("CRL") else None
    return Revocation(revoked=revoked, crl=crl)


def _common_name(identity: Identity) -> str:
    names = identity.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CAError(f"cannot reenroll: the certificate of {identity.msp_id} has no common name")
    return str(names[0].value)


def _serial_and_aki(certificate: bytes) -> tuple[str, str]:
    try:
        cert = x509.load_pem_x509_certificate(certificate)
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise CAError(f"cannot revoke: not a PEM certificate with an authority key id ({exc})") from exc
    if aki is None:
        raise CAError("cannot revoke: the certificate's authority key identifier has no key identifier")
    return format(cert.serial_number, "x"), aki.hex()
