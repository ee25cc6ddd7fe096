"""A channel configuration update as files: created once, signed by each admin apart, then submitted.

The flow between members, each on its own host:

1. one admin computes the update (:func:`new_channel_update`) and hands out its bytes
   (:attr:`ChannelUpdate.bytes`: a ``common.Envelope`` of type ``CONFIG_UPDATE`` holding a
   ``ConfigUpdateEnvelope`` without signatures, the file ``peer channel signconfigtx`` also reads);
2. each reviewing admin reads what it does (:func:`~fabrx.admin.describe_update`) and signs it
   (:func:`sign_update`): the signature (a ``common.ConfigSignature``) is a file of its own, the update
   file is unchanged;
3. anyone collects the signatures and submits (:func:`submit_update`). fabrx first verifies every
   signature against the update's own bytes and the channel's MSPs, and evaluates the ``mod_policy`` of
   every element the update changes (:func:`check_signatures`); when the signatures do not satisfy them
   it refuses, naming what is missing, and nothing is sent.

A signature covers ``signature_header || config_update``: changing one byte of the update (or signing
another update) makes it fail verification.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2, configtx_pb2
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from .._protocol import new_channel_header, sign_envelope
from ..endpoint import Endpoint
from ..errors import AdminError
from ..hashing import Hash, sha256
from ..identity import Identity
from ..signing import Signer
from ._configpolicy import PolicyOutcome, classify_signer, evaluate_policy
from ._configpolicy import Signer as PolicySigner
from ._endorse import DEFAULT_COMMIT_TIMEOUT, DEFAULT_TIMEOUT, broadcast
from .channelconfig import ChannelConfig, read_channel_config
from .configupdate import changes_of, compute_update
from .peer import PeerAdmin

__all__ = [
    "ChannelUpdate",
    "SignatureCheck",
    "SignaturesInsufficient",
    "UpdateSignature",
    "check_signatures",
    "new_channel_update",
    "sign_update",
    "submit_update",
]

_NONCE_LENGTH = 24


class SignaturesInsufficient(AdminError):
    """The collected signatures do not satisfy the policies the update needs; nothing was submitted.

    ``check`` holds every verdict: the rejected signatures and each policy with what it misses.
    """

    def __init__(self, check: SignatureCheck) -> None:
        self.check = check
        super().__init__(check.explain())


@dataclass(frozen=True)
class ChannelUpdate:
    """A config update for ``channel_id``: ``config_update`` is the serialized ``common.ConfigUpdate``
    that every signature covers."""

    channel_id: str
    config_update: bytes

    @property
    def update(self) -> configtx_pb2.ConfigUpdate:
        """The parsed ``common.ConfigUpdate``."""
        return configtx_pb2.ConfigUpdate.FromString(self.config_update)

    @property
    def bytes(self) -> bytes:
        """The update file: an unsigned ``CONFIG_UPDATE`` envelope, as ``peer channel signconfigtx`` reads."""
        payload = common_pb2.Payload(
            header=common_pb2.Header(
                # No timestamp: the same update always gives the same file.
                channel_header=common_pb2.ChannelHeader(
                    type=common_pb2.CONFIG_UPDATE, channel_id=self.channel_id
                ).SerializeToString()
            ),
            data=configtx_pb2.ConfigUpdateEnvelope(config_update=self.config_update).SerializeToString(),
        )
        return common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString()

    @classmethod
    def from_bytes(cls, data: builtins.bytes) -> ChannelUpdate:
        """Read an update file (a ``CONFIG_UPDATE`` envelope, or a bare ``ConfigUpdateEnvelope``).

        Signatures inside the envelope are ignored: fabrx keeps them in files of their own.

        Raises:
            AdminError: the bytes are neither, or the update names no channel.
        """
        try:
            envelope = common_pb2.Envelope.FromString(data)
            payload = common_pb2.Payload.FromString(envelope.payload)
            header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            if header.type == common_pb2.CONFIG_UPDATE:
                inner = configtx_pb2.ConfigUpdateEnvelope.FromString(payload.data)
            else:
                inner = configtx_pb2.ConfigUpdateEnvelope.FromString(data)
            update = configtx_pb2.ConfigUpdate.FromString(inner.config_update)
        except DecodeError as exc:
            raise AdminError(f"not a channel configuration update file: {exc}") from exc
        if not inner.config_update or not update.channel_id:
            raise AdminError("not a channel configuration update file: it holds no config update")
        return cls(channel_id=update.channel_id, config_update=bytes(inner.config_update))


@dataclass(frozen=True)
class UpdateSignature:
    """One admin's signature of an update: a ``common.ConfigSignature``.

    ``signature_header`` is a serialized ``SignatureHeader`` (the signer's serialized identity and a
    nonce); ``signature`` covers ``signature_header || config_update``.
    """

    signature_header: bytes
    signature: bytes

    @property
    def bytes(self) -> bytes:
        """The signature file."""
        return configtx_pb2.ConfigSignature(
            signature_header=self.signature_header, signature=self.signature
        ).SerializeToString()

    @classmethod
    def from_bytes(cls, data: builtins.bytes) -> UpdateSignature:
        """Read a signature file.

        Raises:
            AdminError: the bytes are not a ``ConfigSignature`` with a signer.
        """
        try:
            parsed = configtx_pb2.ConfigSignature.FromString(data)
            header = common_pb2.SignatureHeader.FromString(parsed.signature_header)
        except DecodeError as exc:
            raise AdminError(f"not a config update signature: {exc}") from exc
        if not header.creator or not parsed.signature:
            raise AdminError("not a config update signature: no signer or no signature")
        return cls(signature_header=bytes(parsed.signature_header), signature=bytes(parsed.signature))

    @property
    def signer(self) -> Identity:
        """Who signed (the identity in the signature header).

        Raises:
            AdminError: the header's creator is not a serialized identity.
        """
        try:
            header = common_pb2.SignatureHeader.FromString(self.signature_header)
            creator = identities_pb2.SerializedIdentity.FromString(header.creator)
        except DecodeError as exc:
            raise AdminError(f"unreadable signer in a config update signature: {exc}") from exc
        return Identity(msp_id=creator.mspid, credentials=bytes(creator.id_bytes))


def new_channel_update(current: ChannelConfig, updated: configtx_pb2.Config) -> ChannelUpdate:
    """The update turning ``current`` into ``updated`` (see :func:`~fabrx.admin.compute_update`).

    Raises:
        AdminError: nothing differs.
    """
    update = compute_update(current, updated)
    return ChannelUpdate(channel_id=current.channel_id, config_update=update.SerializeToString())


def sign_update(
    update: ChannelUpdate, identity: Identity, signer: Signer, hash: Hash = sha256
) -> UpdateSignature:
    """``identity``'s signature of ``update`` (``peer channel signconfigtx`` without touching the file)."""
    header = common_pb2.SignatureHeader(
        creator=identity.serialize(), nonce=os.urandom(_NONCE_LENGTH)
    ).SerializeToString()
    return UpdateSignature(signature_header=header, signature=signer(hash(header + update.config_update)))


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on an update's signatures against the channel's current configuration.

    ``accepted`` are the valid signers; ``rejected`` one reason per signature that does not count;
    ``policies`` one outcome per ``mod_policy`` the update must satisfy.
    """

    accepted: tuple[str, ...]
    rejected: tuple[str, ...]
    policies: tuple[PolicyOutcome, ...]

    @property
    def satisfied(self) -> bool:
        return all(p.satisfied for p in self.policies)

    def explain(self) -> str:
        """Every unmet policy with what it misses, and every signature that did not count."""
        lines = []
        for outcome in self.policies:
            if outcome.satisfied:
                lines.append(f"{outcome.path} ({outcome.rule}): satisfied")
            else:
                lines.append(f"{outcome.path} ({outcome.rule or 'unknown'}): missing {outcome.missing}")
        lines.extend(f"signature not counted: {reason}" for reason in self.rejected)
        verdict = "the signatures satisfy" if self.satisfied else "the signatures do not satisfy"
        signers = ", ".join(self.accepted) or "none"
        return f"{verdict} the update's policies (valid signers: {signers}):\n  " + "\n  ".join(lines)


def check_signatures(
    update: ChannelUpdate, signatures: Sequence[UpdateSignature], current: ChannelConfig
) -> SignatureCheck:
    """Verify ``signatures`` of ``update`` and evaluate the policies it must satisfy on ``current``.

    A signature counts when it verifies over this update's bytes with its signer's key, and the
    signer's certificate is valid for its MSP in ``current`` (issued by its CA, not revoked); one
    signer counts once. The policies are the ``mod_policy`` of every element the update modifies or
    removes, and of every group it adds members to, as ``current`` has them.

    Raises:
        AdminError: the update is for another channel or is stale (see :func:`~fabrx.admin.changes_of`).
    """
    changes = changes_of(update.update, current)
    paths = sorted({c.mod_policy_path for c in changes if c.mod_policy_path})
    accepted: list[PolicySigner] = []
    seen: set[bytes] = set()
    rejected: list[str] = []
    for number, signature in enumerate(signatures, start=1):
        verdict = _verify(update, signature, current)
        if isinstance(verdict, str):
            rejected.append(f"signature {number}: {verdict}")
            continue
        key, signer = verdict
        if key in seen:
            rejected.append(f"signature {number}: {signer} signed already")
            continue
        seen.add(key)
        accepted.append(signer)
    outcomes = tuple(evaluate_policy(current, path, tuple(accepted)) for path in paths)
    return SignatureCheck(
        accepted=tuple(str(s) for s in accepted), rejected=tuple(rejected), policies=outcomes
    )


def _verify(
    update: ChannelUpdate, signature: UpdateSignature, current: ChannelConfig
) -> tuple[bytes, PolicySigner] | str:
    try:
        identity = signature.signer
        certificate = identity.certificate
    except AdminError as exc:
        return str(exc)
    except Exception as exc:  # IdentityError: the creator holds no certificate
        return f"unreadable signer certificate ({exc})"
    msp = current.msp(identity.msp_id)
    if msp is None:
        return f"signer's MSP {identity.msp_id} is not an organization of channel {current.channel_id}"
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"{identity.msp_id} signer: only ECDSA signatures are verified"
    message = signature.signature_header + update.config_update
    try:
        public_key.verify(signature.signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return (
            f"the signature by {identity.msp_id} does not match this update's bytes "
            "(the update was changed after signing, or the signature is of another update)"
        )
    signer = classify_signer(msp, certificate)
    if isinstance(signer, str):
        return f"signer of {identity.msp_id} is not valid: {signer}"
    return identity.credentials, signer


def submit_update(
    update: ChannelUpdate,
    signatures: Sequence[UpdateSignature],
    *,
    peer: PeerAdmin,
    orderer: Endpoint,
    timeout: float = DEFAULT_TIMEOUT,
    commit_timeout: float = DEFAULT_COMMIT_TIMEOUT,
) -> ChannelConfig:
    """Check the signatures, send the update to ``orderer``, and wait until ``peer`` has the new config.

    ``peer`` (an admin's handle on one of its organization's peers) reads the current configuration
    before, signs the envelope to the orderer (its identity must be a channel writer) and is watched
    until its configuration sequence moves past the one checked.

    Raises:
        SignaturesInsufficient: a policy is not satisfied (nothing was sent).
        AdminError: the update is stale or for another channel, the orderer refused it, or the peer did
            not show the new configuration within ``commit_timeout``.
    """
    current = read_channel_config(peer, update.channel_id)
    check = check_signatures(update, signatures, current)
    if not check.satisfied:
        raise SignaturesInsufficient(check)
    envelope_data = configtx_pb2.ConfigUpdateEnvelope(
        config_update=update.config_update,
        signatures=[
            configtx_pb2.ConfigSignature(signature_header=s.signature_header, signature=s.signature)
            for s in signatures
        ],
    ).SerializeToString()
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=new_channel_header(
                common_pb2.CONFIG_UPDATE, update.channel_id
            ).SerializeToString(),
            signature_header=common_pb2.SignatureHeader(
                creator=peer.signing.identity.serialize(), nonce=os.urandom(_NONCE_LENGTH)
            ).SerializeToString(),
        ),
        data=envelope_data,
    )
    action = f"update the configuration of {update.channel_id}"
    broadcast(
        orderer, sign_envelope(payload, peer.signing.signer, peer.signing.hash), action, timeout=timeout
    )
    deadline = time.monotonic() + commit_timeout
    while True:
        latest = read_channel_config(peer, update.channel_id)
        if latest.sequence > current.sequence:
            return latest
        if time.monotonic() > deadline:
            raise AdminError(
                f"{action}: the orderer accepted the update but peer {peer.endpoint.address} still shows "
                f"configuration sequence {latest.sequence} after {commit_timeout:.0f} s"
            )
        time.sleep(0.2)
