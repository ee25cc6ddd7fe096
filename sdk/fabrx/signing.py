"""Signers: plain functions from digest to signature.

A signer is any callable ``bytes -> bytes`` taking the digest produced by the chosen hash
(:mod:`fabrx.hashing`) and returning the signature Fabric expects. An HSM or KMS signer is therefore just
a function; no subclassing is needed.

ECDSA signatures are DER-encoded and normalised to low-S (``s <= n/2``): Fabric rejects high-S
signatures, and ``cryptography`` does not normalise them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from .errors import IdentityError

__all__ = [
    "ExternalKey",
    "PrivateKey",
    "Signer",
    "encode_ecdsa_signature",
    "load_private_key",
    "new_private_key_signer",
]

Signer = Callable[[bytes], bytes]

# Curve orders of the curves Fabric accepts for ECDSA identities.
_CURVE_ORDERS: dict[str, int] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class ExternalKey(Protocol):
    """An ECDSA private key held outside the process (an HSM, a KMS): its public key and a signer.

    ``sign`` takes a digest and returns a DER signature normalised to low-S (use
    :func:`encode_ecdsa_signature`), so ``key.sign`` is a :data:`Signer`. :class:`fabrx.pkcs11.Pkcs11Key`
    is one; :meth:`fabrx.ca.CAClient.enroll_external` enrolls one with a Fabric CA.
    """

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public half of the key (P-256 or P-384)."""
        ...

    def sign(self, digest: bytes) -> bytes:
        """Sign ``digest`` (SHA-256 for P-256, SHA-384 for P-384); a low-S DER signature."""
        ...


def encode_ecdsa_signature(r: int, s: int, *, curve: str) -> bytes:
    """The DER ECDSA signature ``(r, s)`` with ``s`` normalised to low-S (``s <= n/2``), as Fabric requires.

    For signers whose device returns the raw ``r`` and ``s`` (PKCS#11 returns ``r || s``). ``curve`` is
    the curve's name as ``cryptography`` spells it (``"secp256r1"``, ``"secp384r1"``).

    Raises:
        IdentityError: ``curve`` is not P-256 or P-384.
    """
    order = _CURVE_ORDERS.get(curve)
    if order is None:
        raise IdentityError(f"unsupported ECDSA curve {curve!r}: use P-256 (secp256r1) or P-384 (secp384r1)")
    if s > order >> 1:
        s = order - s
    return encode_dss_signature(r, s)


def load_private_key(source: bytes | str | Path) -> PrivateKey:
    """Load an unencrypted PEM private key (PKCS#8 or SEC1) from bytes or a file path.

    Raises:
        IdentityError: the file is missing or holds no supported (ECDSA P-256/P-384, Ed25519) key.
    """
    if isinstance(source, (str, Path)):
        try:
            pem = Path(source).read_bytes()
        except OSError as exc:
            raise IdentityError(f"cannot read private key {source}: {exc.strerror}") from exc
    else:
        pem = source
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"not an unencrypted PEM private key: {exc}") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVE_ORDERS:
        return key
    raise IdentityError(
        f"unsupported private key type {type(key).__name__}: use ECDSA P-256/P-384 or Ed25519"
    )


def new_private_key_signer(key: PrivateKey) -> Signer:
    """Return a signer for an in-memory private key.

    For ECDSA the signer expects a digest (use :func:`fabrx.hashing.sha256`, or ``sha384`` for P-384) and
    returns a low-S DER signature. For Ed25519 it signs the bytes it is given (use
    :func:`fabrx.hashing.none`).
    """
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVE_ORDERS:
        raise IdentityError("unsupported private key: use ECDSA P-256/P-384 or Ed25519")
    curve = key.curve.name
    ecdsa_key = key

    def sign(digest: bytes) -> bytes:
        algorithm = _ECDSA_BY_DIGEST_LENGTH.get(len(digest))
        if algorithm is None:
            raise IdentityError(
                f"ECDSA signer received a {len(digest)}-byte message; pass a digest (SHA-256/384)"
            )
        r, s = decode_dss_signature(ecdsa_key.sign(digest, algorithm))
        return encode_ecdsa_signature(r, s, curve=curve)

    return sign


# cryptography only needs the digest length to be consistent with the algorithm it names. Built once:
# the signer runs for every request.
_ECDSA_BY_DIGEST_LENGTH: dict[int, ec.ECDSA] = {
    algorithm.digest_size: ec.ECDSA(Prehashed(algorithm))
    for algorithm in (hashes.SHA224(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512())
}
