"""ECDSA keys in a PKCS#11 token (an HSM, a smart card, SoftHSM): sign without the private key in memory.

Needs the ``pkcs11`` extra (``pip install 'fabrx[pkcs11]'``, which brings python-pkcs11); the rest of
fabrx never imports this module. A :class:`Pkcs11Key` is an :class:`~fabrx.signing.ExternalKey`:
``key.sign`` is the signer of a Gateway connection and signs the CSR of
:meth:`fabrx.ca.CAClient.enroll_external`::

    with Pkcs11Key.generate("/usr/lib/softhsm/libsofthsm2.so", token_label="erp", pin=pin,
                            label="erp-client") as key:
        enrolled = ca.enroll_external("erp-client", secret, key)
        gateway = fabrx.connect(endpoint, identity=Identity("HospitalAMSP", enrolled.certificate),
                                signer=key.sign)

The token computes raw ECDSA (``CKM_ECDSA``) over the digest fabrx passes; the signature is
normalised to low-S DER as Fabric requires. One session per key, serialised by a lock (PKCS#11
sessions are not thread-safe). Every failure raises :class:`~fabrx.errors.IdentityError` naming the
library, token or key; the PIN never appears in messages.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import IdentityError
from .signing import encode_ecdsa_signature

__all__ = ["Pkcs11Key"]

_CURVES = ("secp256r1", "secp384r1")


class Pkcs11Key:
    """An ECDSA P-256/P-384 private key in a PKCS#11 token, with its public key.

    Obtain one with :meth:`open` (an existing key) or :meth:`generate` (a new key, created in the token
    and not extractable). Use as a context manager or call :meth:`close` to end its session.
    """

    def __init__(
        self,
        session: Any,  # pkcs11.Session; python-pkcs11 is imported on first use only
        private: Any,  # pkcs11.PrivateKey (with its SignMixin)
        public_key: ec.EllipticCurvePublicKey,
        *,
        description: str,
    ) -> None:
        self._session = session
        self._private = private
        self._public_key = public_key
        self._description = description
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        library: str | Path,
        *,
        token_label: str,
        pin: str,
        label: str | None = None,
        key_id: bytes | None = None,
    ) -> Pkcs11Key:
        """The key labelled ``label`` and/or with ``CKA_ID`` ``key_id`` in the token ``token_label``.

        The token must hold the matching public key object too (:meth:`generate` stores both).

        Raises:
            IdentityError: the library cannot be loaded, no such token, wrong PIN, no single matching
                key pair, or the key is not ECDSA P-256/P-384.
        """
        if label is None and key_id is None:
            raise IdentityError("Pkcs11Key.open needs the key's label or key_id")
        lib = _load()
        description = _describe(token_label, label, key_id)
        session = _login(lib, library, token_label, pin)
        try:
            search: dict[Any, Any] = {}
            if label is not None:
                search[lib.Attribute.LABEL] = label
            if key_id is not None:
                search[lib.Attribute.ID] = key_id
            private = _one(session, lib.ObjectClass.PRIVATE_KEY, search, description)
            public = _one(session, lib.ObjectClass.PUBLIC_KEY, search, description)
            return cls(session, private, _public_key(lib, public, description), description=description)
        except BaseException:
            session.close()
            raise

    @classmethod
    def generate(
        cls,
        library: str | Path,
        *,
        token_label: str,
        pin: str,
        label: str,
        key_id: bytes | None = None,
        curve: str = "secp256r1",
    ) -> Pkcs11Key:
        """Generate a key pair in the token, stored under ``label`` (and ``key_id``, default: the label's
        bytes); the private key is sensitive and not extractable.

        Raises:
            IdentityError: the library cannot be loaded, no such token, wrong PIN, a key with this label
                already exists, ``curve`` is not P-256/P-384, or the token refused.
        """
        if curve not in _CURVES:
            raise IdentityError(f"unsupported curve {curve!r} for a PKCS#11 key: use secp256r1 or secp384r1")
        lib = _load()
        key_id = key_id if key_id is not None else label.encode()
        description = _describe(token_label, label, key_id)
        session = _login(lib, library, token_label, pin)
        try:
            existing = list(session.get_objects({lib.Attribute.LABEL: label}))
            if existing:
                raise IdentityError(f"{description} already exists; open it or choose another label")
            try:
                parameters = session.create_domain_parameters(
                    lib.KeyType.EC,
                    {lib.Attribute.EC_PARAMS: lib.encode_named_curve_parameters(curve)},
                    local=True,
                )
                public, private = parameters.generate_keypair(
                    store=True,
                    label=label,
                    id=key_id,
                    private_template={lib.Attribute.SENSITIVE: True, lib.Attribute.EXTRACTABLE: False},
                )
            except lib.PKCS11Error as exc:
                raise IdentityError(f"cannot generate {description}: {_reason(exc)}") from exc
            return cls(session, private, _public_key(lib, public, description), description=description)
        except BaseException:
            session.close()
            raise

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public key (for CSRs and to check a certificate belongs to this key)."""
        return self._public_key

    def sign(self, digest: bytes) -> bytes:
        """Sign ``digest`` in the token (SHA-256 for P-256, SHA-384 for P-384): a low-S DER signature.

        Raises:
            IdentityError: the key is closed, or the token refused to sign.
        """
        lib = _load()
        with self._lock:
            if self._closed:
                raise IdentityError(f"{self._description} is closed")
            try:
                raw = self._private.sign(digest, mechanism=lib.Mechanism.ECDSA)
            except lib.PKCS11Error as exc:
                raise IdentityError(f"{self._description} could not sign: {_reason(exc)}") from exc
        half = len(raw) // 2
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return encode_ecdsa_signature(r, s, curve=self._public_key.curve.name)

    def close(self) -> None:
        """End the key's session (idempotent); signing afterwards raises :class:`IdentityError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._session.close()

    def __enter__(self) -> Pkcs11Key:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pkcs11Key({self._description})"


class _Lib:
    """python-pkcs11's names fabrx uses, imported once on first use."""

    def __init__(self) -> None:
        import pkcs11
        from pkcs11 import exceptions
        from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

        self.pkcs11 = pkcs11
        self.Attribute = pkcs11.Attribute
        self.KeyType = pkcs11.KeyType
        self.Mechanism = pkcs11.Mechanism
        self.ObjectClass = pkcs11.ObjectClass
        self.PKCS11Error = exceptions.PKCS11Error
        self.NoSuchToken = exceptions.NoSuchToken
        self.PinIncorrect = exceptions.PinIncorrect
        self.encode_ec_public_key = encode_ec_public_key
        self.encode_named_curve_parameters = encode_named_curve_parameters


_lib: _Lib | None = None
_lib_lock = threading.Lock()


def _load() -> _Lib:
    global _lib
    with _lib_lock:
        if _lib is None:
            try:
                _lib = _Lib()
            except ImportError as exc:
                raise IdentityError(
                    "PKCS#11 keys need python-pkcs11: install fabrx with the pkcs11 extra "
                    "(pip install 'fabrx[pkcs11]')"
                ) from exc
        return _lib


def _login(lib: _Lib, library: str | Path, token_label: str, pin: str) -> Any:
    """A read-write session on the token, logged in as its user."""
    try:
        module = lib.pkcs11.lib(str(library))
    except (lib.PKCS11Error, RuntimeError, OSError) as exc:
        raise IdentityError(f"cannot load the PKCS#11 library {library}: {exc}") from exc
    try:
        token = module.get_token(token_label=token_label)
    except lib.NoSuchToken as exc:
        raise IdentityError(f"the PKCS#11 library {library} has no token labelled {token_label!r}") from exc
    except lib.PKCS11Error as exc:
        raise IdentityError(f"cannot find token {token_label!r} in {library}: {_reason(exc)}") from exc
    try:
        return token.open(user_pin=pin, rw=True)
    except lib.PinIncorrect as exc:
        raise IdentityError(f"wrong user PIN for PKCS#11 token {token_label!r}") from exc
    except lib.PKCS11Error as exc:
        raise IdentityError(f"cannot log in to PKCS#11 token {token_label!r}: {_reason(exc)}") from exc


def _one(session: Any, object_class: Any, search: dict[Any, Any], description: str) -> Any:
    lib = _load()
    kind = "private" if object_class == lib.ObjectClass.PRIVATE_KEY else "public"
    found = list(session.get_objects({lib.Attribute.CLASS: object_class, **search}))
    if len(found) != 1:
        raise IdentityError(f"{description}: expected one {kind} key, found {len(found)}")
    return found[0]


def _public_key(lib: _Lib, public: Any, description: str) -> ec.EllipticCurvePublicKey:
    try:
        der = lib.encode_ec_public_key(public)
        key = serialization.load_der_public_key(der)
    except (lib.PKCS11Error, ValueError, KeyError) as exc:
        raise IdentityError(f"{description} is not a usable ECDSA key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVES:
        raise IdentityError(f"{description} is not an ECDSA P-256/P-384 key")
    return key


def _describe(token_label: str, label: str | None, key_id: bytes | None) -> str:
    parts = [f"token {token_label!r}"]
    if label is not None:
        parts.append(f"label {label!r}")
    if key_id is not None:
        parts.append(f"id {key_id.hex()}")
    return "PKCS#11 key (" + ", ".join(parts) + ")"


def _reason(exc: BaseException) -> str:
    """python-pkcs11 names the PKCS#11 return value by its exception class, often without a message."""
    return str(exc) or type(exc).__name__
