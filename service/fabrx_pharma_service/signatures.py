"""Signed requests: HTTP Message Signatures (RFC 9421) with Content-Digest (RFC 9530).

Every request an application sends carries one signature::

    Content-Digest: sha-256=:<base64 of SHA-256(body)>:
    Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=1733300000;\
nonce="3f1c...";keyid="erp-1";alg="rsa-pss-sha512"
    Signature: sig1=:<base64 signature of the signature base>:

The service requires the components ``@method``, ``@path`` and ``@query``, plus ``content-digest``
when there is a body (checked against the body) and ``idempotency-key`` when that header is sent;
the parameters ``created`` (not in the future beyond the clock skew, not older than the maximum age),
``nonce`` (never seen from this application within the replay window), ``keyid`` (a registered
application) and, if present, ``alg`` (the algorithm registered for it). ``expires``, when given, must
not have passed. Signing and verifying use the ``http-message-signatures`` library; this module only
states the service's policy over it.
"""

from __future__ import annotations

import base64
import datetime
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import http_sf
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from .applications import Application, ApplicationRegistry
from .errors import Unauthenticated

__all__ = [
    "ALGORITHM_CLASSES",
    "BASE_COMPONENTS",
    "NonceStore",
    "RequestVerifier",
    "VerifiedRequest",
    "claimed_key_id",
    "sign_request",
]

ALGORITHM_CLASSES: Mapping[str, type[algorithms.HTTPSignatureAlgorithm]] = {
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ecdsa-p384-sha384": algorithms.ECDSA_P384_SHA384,
}
BASE_COMPONENTS = ("@method", "@path", "@query")
"""Components every signature must cover."""
MAX_NONCE_LENGTH = 128
MAX_CACHED_VERIFIERS = 1024


class NonceStore(Protocol):
    """Remembers nonces: ``remember`` returns ``False`` if ``(app_id, nonce)`` was seen since ``since``."""

    def remember(self, app_id: str, nonce: str, *, now: float, since: float) -> bool: ...


@dataclass(frozen=True)
class VerifiedRequest:
    """A request whose signature verified: who sent it, and the signed parameters."""

    application: Application
    nonce: str
    created: int


class _Message:
    """The request as the signature library reads it."""

    def __init__(self, method: str, url: str, headers: Iterable[tuple[str, str]]) -> None:
        self.method = method
        self.url = url
        self.headers = _Headers(headers)


class _Headers:
    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items = list(items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._items)

    def __getitem__(self, name: str) -> str:
        values = [v for k, v in self._items if k.lower() == name.lower()]
        if not values:
            raise KeyError(name)
        return ", ".join(values)


class RequestVerifier:
    """Checks a request's signature against the registered applications (see the module doc).

    ``max_age`` is how old a signature may be, ``clock_skew`` how far a client's clock may run ahead or
    behind; a nonce is remembered for ``max_age + clock_skew``, after which the signature is too old to
    be replayed anyway.
    """

    def __init__(
        self,
        registry: ApplicationRegistry,
        nonces: NonceStore,
        *,
        max_age: datetime.timedelta = datetime.timedelta(minutes=5),
        clock_skew: datetime.timedelta = datetime.timedelta(seconds=30),
    ) -> None:
        self._registry = registry
        self._nonces = nonces
        self.max_age = max_age
        self.clock_skew = clock_skew
        # A verifier per registration (its id, key and algorithm), so a request does not parse the
        # application's PEM key again; a replaced registration makes a new one.
        self._verifiers: dict[tuple[str, str, str], HTTPMessageVerifier] = {}

    def verify(
        self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> VerifiedRequest:
        """The verified request, or :class:`Unauthenticated` with a code saying why not:
        ``UNSIGNED``, ``SIGNATURE`` (malformed, wrong key, body or covered values changed),
        ``UNKNOWN_KEY``, ``EXPIRED``, ``CLOCK_SKEW``, ``NONCE``, ``REPLAYED``."""
        message = _Message(method, url, headers)
        if "signature-input" not in message.headers or "signature" not in message.headers:
            raise Unauthenticated(
                "UNSIGNED", "Signature", "sign every request (RFC 9421: Signature-Input and Signature)"
            )
        key_id = _key_id(message.headers["signature-input"])
        application = self._registry.get(key_id)
        if application is None:
            raise Unauthenticated("UNKNOWN_KEY", "keyid", f"no application {key_id!r} is registered")
        verifier = self._verifier(application)
        required = list(BASE_COMPONENTS)
        if "idempotency-key" in message.headers:
            required.append("idempotency-key")
        try:
            (result,) = verifier.verify(message, max_age=self.max_age, require_components=required, body=body)
        except (InvalidSignature, HTTPMessageSignaturesException) as exc:
            raise _refusal(str(exc)) from None
        nonce = result.nonce
        if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE_LENGTH:
            raise Unauthenticated(
                "NONCE", "nonce", f"sign with a fresh random nonce of 1-{MAX_NONCE_LENGTH} characters"
            )
        now = time.time()
        window = (self.max_age + self.clock_skew).total_seconds()
        if not self._nonces.remember(application.app_id, nonce, now=now, since=now - window):
            raise Unauthenticated("REPLAYED", "nonce", "this nonce was already used: sign each request anew")
        return VerifiedRequest(application, nonce, int(result.parameters["created"]))

    def _verifier(self, application: Application) -> HTTPMessageVerifier:
        key = (application.app_id, application.public_key_pem, application.algorithm)
        verifier = self._verifiers.get(key)
        if verifier is None:
            if len(self._verifiers) >= MAX_CACHED_VERIFIERS:
                self._verifiers.clear()
            verifier = self._verifiers[key] = _verifier(application, self.clock_skew)
        return verifier


def claimed_key_id(signature_input: str | None) -> str:
    """The ``keyid`` a request claims, unverified (for the audit log of a refused request), or ``""``."""
    if not signature_input:
        return ""
    try:
        return _key_id(signature_input)[:64]
    except Unauthenticated:
        return ""


def _key_id(signature_input: str) -> str:
    try:
        parsed: Any = http_sf.parse(signature_input.encode("latin-1"), tltype="dictionary")
    except Exception as exc:  # http_sf raises plain ValueErrors of several kinds
        raise Unauthenticated("SIGNATURE", "Signature-Input", f"not a structured field: {exc}") from None
    if len(parsed) != 1:
        raise Unauthenticated("SIGNATURE", "Signature-Input", "send exactly one signature")
    ((_, (_, params)),) = parsed.items()
    key_id = params.get("keyid")
    if not isinstance(key_id, str):
        raise Unauthenticated("SIGNATURE", "keyid", "the signature names no keyid (the application id)")
    return key_id


def _verifier(application: Application, clock_skew: datetime.timedelta) -> HTTPMessageVerifier:
    verifier = HTTPMessageVerifier(
        signature_algorithm=ALGORITHM_CLASSES[application.algorithm],
        key_resolver=MappingKeyResolver(
            public_keys={application.app_id: application.public_key()}, private_keys={}
        ),
    )
    verifier.max_clock_skew = clock_skew
    return verifier


def _refusal(text: str) -> Unauthenticated:
    if "in the future" in text:
        return Unauthenticated("CLOCK_SKEW", "created", f"{text}: check the client's clock")
    if "maximum allowable age" in text or "in the past" in text:
        return Unauthenticated("EXPIRED", "created", f"{text}: sign each request when sending it")
    if "Content-Digest" in text or "content digest" in text.lower():
        return Unauthenticated("SIGNATURE", "Content-Digest", text)
    return Unauthenticated(
        "SIGNATURE",
        "Signature",
        text
        or "the signature does not verify with the application's registered key "
        "(another key signed it, or a covered value changed on the way)",
    )


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    algorithm: str,
    nonce: str | None = None,
    created: datetime.datetime | None = None,
) -> dict[str, str]:
    """The headers to add to a request so the service accepts it: ``Content-Digest`` (when there is a
    body), ``Signature-Input`` and ``Signature``. ``headers`` are the request's other headers
    (``Idempotency-Key`` is covered when present). For Python clients and tests."""
    message = _SignableMessage(method.upper(), url, dict(headers))
    components = list(BASE_COMPONENTS)
    if any(name.lower() == "idempotency-key" for name in headers):
        components.append("idempotency-key")
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHM_CLASSES[algorithm],
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
    )
    signer.sign(
        message,
        key_id=key_id,
        nonce=nonce or base64.urlsafe_b64encode(os.urandom(18)).decode("ascii"),
        created=created or datetime.datetime.now(datetime.UTC),
        label="sig1",
        covered_component_ids=components,
        body=body if body else None,
    )
    return {
        name: value
        for name, value in message.headers.items()
        if name.lower() in ("content-digest", "signature-input", "signature")
    }


class _SignableMessage:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers = headers
