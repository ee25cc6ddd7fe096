"""Checking a block's orderer signatures as a peer does before it commits a block.

A peer accepts a block from an orderer only if the block's ``SIGNATURES`` metadata satisfies the
channel's ``/Channel/Orderer/BlockValidation`` policy (on a Raft channel ``ANY Writers`` of the orderer
organizations, i.e. one valid orderer signature) and the header's data hash matches the block's
transactions. Each Raft orderer signs its own copy of every block with its signing (enrollment)
certificate; a signature counts only if it verifies and its certificate is valid for its MSP in the
channel configuration: issued by one of the MSP's CAs and not on the MSP's CRLs. So once an orderer's
certificate is revoked in the channel, every block *that* orderer delivers is refused by the peers
(they fail over to another orderer of the channel), while the same blocks delivered by the other
orderers are accepted.

:func:`verify_block` repeats that check offline, with the configuration the caller passes, and says
why a block would be refused. BFT blocks, whose signatures name the consenter by id instead of by
certificate, are reported as not verifiable here. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from ..errors import AdminError
from ..identity import Identity
from ._configpolicy import PolicyOutcome, classify_signer, evaluate_policy
from ._configpolicy import Signer as PolicySigner
from .channelconfig import ChannelConfig

__all__ = ["BLOCK_VALIDATION_POLICY", "BlockVerification", "verify_block"]

BLOCK_VALIDATION_POLICY = "/Channel/Orderer/BlockValidation"


@dataclass(frozen=True)
class BlockVerification:
    """The verdict on one block: its number, the orderer signatures that count (``accepted``), one
    reason per signature that does not (``rejected``), whether the data hash matches, and the outcome
    of the ``BlockValidation`` policy over the accepted signers."""

    number: int
    accepted: tuple[str, ...]
    rejected: tuple[str, ...]
    data_hash_matches: bool
    policy: PolicyOutcome

    @property
    def valid(self) -> bool:
        """A peer with this channel configuration would commit the block."""
        return self.data_hash_matches and self.policy.satisfied

    def explain(self) -> str:
        lines = [f"block {self.number} is {'valid' if self.valid else 'refused'}"]
        if not self.data_hash_matches:
            lines.append("the header's data hash does not match the block's transactions")
        if self.policy.satisfied:
            lines.append(f"{self.policy.path} ({self.policy.rule}): satisfied by {', '.join(self.accepted)}")
        else:
            lines.append(
                f"{self.policy.path} ({self.policy.rule or 'unknown'}): missing {self.policy.missing}"
            )
        lines.extend(f"signature not counted: {reason}" for reason in self.rejected)
        return "\n  ".join(lines)


def verify_block(block: bytes, config: ChannelConfig) -> BlockVerification:
    """Verify ``block``'s orderer signatures and data hash against ``config``.

    ``config`` should be the channel configuration in force for the block (the latest configuration
    at or before it): a CRL added later does not make an earlier block invalid on the peers that
    committed it, but a peer that receives the block afterwards checks it with the configuration it
    has then.

    Raises:
        AdminError: ``block`` is not a Fabric block.
    """
    try:
        parsed = common_pb2.Block.FromString(block)
        metadata = common_pb2.Metadata.FromString(parsed.metadata.metadata[common_pb2.SIGNATURES])
    except (DecodeError, IndexError) as exc:
        raise AdminError(f"not a Fabric block with signature metadata: {exc}") from exc
    header = _header_bytes(parsed.header)
    accepted: list[PolicySigner] = []
    seen: set[bytes] = set()
    rejected: list[str] = []
    for number, signature in enumerate(metadata.signatures, start=1):
        verdict = _verify(metadata.value + signature.signature_header + header, signature, config)
        if isinstance(verdict, str):
            rejected.append(f"signature {number}: {verdict}")
            continue
        key, signer = verdict
        if key not in seen:
            seen.add(key)
            accepted.append(signer)
    data_hash = hashlib.sha256(b"".join(parsed.data.data)).digest()
    return BlockVerification(
        number=parsed.header.number,
        accepted=tuple(str(s) for s in accepted),
        rejected=tuple(rejected),
        data_hash_matches=data_hash == parsed.header.data_hash,
        policy=evaluate_policy(config, BLOCK_VALIDATION_POLICY, tuple(accepted)),
    )


def _verify(
    message: bytes, signature: common_pb2.MetadataSignature, config: ChannelConfig
) -> tuple[bytes, PolicySigner] | str:
    if not signature.signature_header:
        return "names its signer by consenter id (a BFT block), which fabrx does not verify"
    try:
        creator = common_pb2.SignatureHeader.FromString(signature.signature_header).creator
        serialized = identities_pb2.SerializedIdentity.FromString(creator)
        identity = Identity(msp_id=serialized.mspid, credentials=serialized.id_bytes)
        certificate = identity.certificate
    except Exception as exc:  # DecodeError, IdentityError: not a readable signer
        return f"unreadable signer ({exc})"
    msp = config.msp(identity.msp_id)
    if msp is None:
        return f"signer's MSP {identity.msp_id} is not an organization of channel {config.channel_id}"
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"{identity.msp_id} signer: only ECDSA signatures are verified"
    try:
        public_key.verify(signature.signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return f"the signature by {identity.msp_id} {certificate.subject.rfc4514_string()} does not verify"
    signer = classify_signer(msp, certificate)
    if isinstance(signer, str):
        return f"signer of {identity.msp_id} is not valid: {signer}"
    return identity.credentials, signer


def _header_bytes(header: common_pb2.BlockHeader) -> bytes:
    """The bytes a block signature covers of the header: the ASN.1 DER ``SEQUENCE`` of the number
    (``INTEGER``), the previous hash and the data hash (``OCTET STRING`` each), as Fabric encodes it."""
    return _der(
        0x30, _der_integer(header.number) + _der(0x04, header.previous_hash) + _der(0x04, header.data_hash)
    )


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # minimal, with a 0 sign bit
    return _der(0x02, body)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body
