"""The token that authenticates an enrolled identity to a Fabric CA.

Fabric CA 1.4+ accepts ``Authorization: <b64 cert>.<b64 signature>``, where the signature covers
``<METHOD>.<b64 request URI>.<b64 body>.<b64 cert>``: all four parts are standard base64 (with padding),
the certificate is the signer's PEM certificate, the URI is the request path plus query string exactly
as sent (``/api/v1/register``), and the signed bytes are hashed with the CA's configured hash (SHA-256
unless the CA runs with ``bccsp.sw.security: 384``). The CA rejects high-S ECDSA signatures; fabrx
signers are low-S already.
"""

from __future__ import annotations

import base64

from ..hashing import Hash
from ..signing import Signer

__all__ = ["auth_token", "token_payload"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def token_payload(method: str, uri: str, body: bytes, certificate: bytes) -> bytes:
    """The bytes a token signs (before hashing)."""
    return f"{method}.{_b64(uri.encode())}.{_b64(body)}.{_b64(certificate)}".encode("ascii")


def auth_token(*, certificate: bytes, signer: Signer, hash: Hash, method: str, uri: str, body: bytes) -> str:
    """Build the ``Authorization`` header value for a request made as the holder of ``certificate``."""
    signature = signer(hash(token_payload(method, uri, body, certificate)))
    return f"{_b64(certificate)}.{_b64(signature)}"
