"""Message digests applied before signing.

A hash is a plain function ``bytes -> bytes``. Fabric verifies ECDSA signatures over the SHA-256 digest
of the signed bytes for P-256 identities and SHA-384 is accepted for P-384; Ed25519 identities sign the
whole message, so their hash is :func:`none`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

__all__ = ["Hash", "none", "sha3_256", "sha3_384", "sha256", "sha384"]

Hash = Callable[[bytes], bytes]


def sha256(message: bytes) -> bytes:
    """SHA-256 digest (Fabric's default)."""
    return hashlib.sha256(message).digest()


def sha384(message: bytes) -> bytes:
    """SHA-384 digest."""
    return hashlib.sha384(message).digest()


def sha3_256(message: bytes) -> bytes:
    """SHA3-256 digest."""
    return hashlib.sha3_256(message).digest()


def sha3_384(message: bytes) -> bytes:
    """SHA3-384 digest."""
    return hashlib.sha3_384(message).digest()


def none(message: bytes) -> bytes:
    """No digest: the signer receives the whole message (Ed25519, or an HSM that hashes itself)."""
    return message
