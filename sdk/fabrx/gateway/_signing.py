"""The client identity that signs Gateway requests: creator bytes, signer and hash in one place."""

from __future__ import annotations

from ..errors import IdentityError
from ..hashing import Hash
from ..identity import Identity
from ..signing import Signer


class SigningIdentity:
    """An :class:`~fabrx.identity.Identity` with its serialized creator bytes and optional signer.

    Without a signer every request must be signed offline: take its ``digest``, sign it elsewhere and
    rebuild the request with the matching ``Gateway.new_signed_*`` method.
    """

    __slots__ = ("creator", "hash", "identity", "signer")

    def __init__(self, identity: Identity, signer: Signer | None, hash: Hash) -> None:
        self.identity = identity
        # Serialized once: every proposal, transaction and request carries these bytes.
        self.creator = identity.serialize()
        self.signer = signer
        self.hash = hash

    def sign(self, digest: bytes) -> bytes:
        """Sign ``digest``.

        Raises:
            IdentityError: the Gateway was connected without a signer.
        """
        if self.signer is None:
            raise IdentityError(
                "this Gateway has no signer, so it cannot sign requests: connect with signer=..., or sign "
                "the request's .digest offline and rebuild it with gateway.new_signed_proposal / "
                "new_signed_transaction / new_signed_commit / new_signed_chaincode_events_request / "
                "new_signed_block_events_request (and its filtered and private-data twins)"
            )
        return self.signer(digest)
