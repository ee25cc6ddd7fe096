"""Test doubles for fabrx_chaincode: X.509 material, signed proposals and a fake peer.

:class:`FakePeer` plays the peer's side of ``Chaincode.Connect``: it dials the chaincode server with
a plain gRPC client, answers REGISTER with REGISTERED and READY, sends TRANSACTION messages and
replies to the chaincode's ledger requests, so tests can assert every message the chaincode sends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2
from fabric_protos.peer import (
    chaincode_pb2,
    chaincode_shim_pb2,
    chaincode_shim_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
)

from fabrx_chaincode import serialize_identity
from fabrx_chaincode.identity import ATTRIBUTES_OID

Msg = chaincode_shim_pb2.ChaincodeMessage
TIMEOUT = 5.0


# ---- X.509 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    key_pem: bytes
    cert_pem: bytes
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _name(
    common_name: str, organizational_units: Sequence[str] = (), organization: str = "Org1"
) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou) for ou in organizational_units]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    organizational_units: Sequence[str] = (),
    attributes: Mapping[str, str] | None = None,
    hosts: Sequence[str] = (),
) -> Issued:
    """A P-256 certificate, self-signed when ``issuer`` is None, optionally with Fabric CA attributes."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name, organizational_units)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if attributes is not None:
        value = json.dumps({"attrs": dict(attributes)}).encode()
        builder = builder.add_extension(x509.UnrecognizedExtension(ATTRIBUTES_OID, value), critical=False)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signer = issuer.key if issuer else key
    cert = builder.sign(signer, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Issued(key_pem, cert.public_bytes(serialization.Encoding.PEM), key, cert)


# ---- proposals --------------------------------------------------------------------------------


def signed_proposal(
    *,
    channel_id: str,
    transaction_id: str,
    creator: bytes,
    nonce: bytes = b"n" * 24,
    transient: Mapping[str, bytes] | None = None,
    timestamp: dt.datetime | None = None,
) -> proposal_pb2.SignedProposal:
    """A proposal as a client builds it (the signature is not checked by the chaincode)."""
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel_id, tx_id=transaction_id, epoch=0
    )
    channel_header.timestamp.FromDatetime(timestamp or dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=b"", TransientMap=dict(transient or {}))
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())
    return proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString(), signature=b"sig")


def creator_bytes(msp_id: str = "Org1MSP", attributes: Mapping[str, str] | None = None) -> bytes:
    ca = issue("ca.org1", ca=True)
    user = issue("user1", issuer=ca, organizational_units=["client"], attributes=attributes)
    return serialize_identity(msp_id, user.cert_pem)


# ---- the fake peer ------------------------------------------------------------------------------


def response_of(msg: chaincode_shim_pb2.ChaincodeMessage) -> proposal_response_pb2.Response:
    assert msg.type == Msg.COMPLETED, (
        f"expected COMPLETED, got {Msg.Type.Name(msg.type)}: {msg.payload[:200]!r}"
    )
    return proposal_response_pb2.Response.FromString(msg.payload)


class FakePeer:
    """The peer's end of one chaincode stream."""

    def __init__(self, target: str, *, credentials: grpc.ChannelCredentials | None = None) -> None:
        size = 110 * 1024 * 1024
        options: list[tuple[str, int | str]] = [
            ("grpc.max_send_message_length", size),
            ("grpc.max_receive_message_length", size),
        ]
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        else:
            options.append(("grpc.ssl_target_name_override", "localhost"))
            self._channel = grpc.aio.secure_channel(target, credentials, options=options)
        self._call = chaincode_shim_pb2_grpc.ChaincodeStub(self._channel).Connect()
        self._lock = asyncio.Lock()
        self._inbox: dict[str, asyncio.Queue[chaincode_shim_pb2.ChaincodeMessage]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.register: chaincode_shim_pb2.ChaincodeMessage | None = None

    async def handshake(self, ready: chaincode_pb2.ChaincodeAdditionalParams | None = None) -> None:
        """Read REGISTER, answer REGISTERED and READY (with ``ready`` as its payload)."""
        self.register = await asyncio.wait_for(self._call.read(), TIMEOUT)
        await self.send(Msg(type=Msg.REGISTERED))
        await self.send(Msg(type=Msg.READY, payload=ready.SerializeToString() if ready else b""))
        self._reader = asyncio.create_task(self._read_all())

    async def _read_all(self) -> None:
        while True:
            msg = await self._call.read()
            if msg is grpc.aio.EOF:
                return
            self.queue(msg.txid).put_nowait(msg)

    def queue(self, txid: str) -> asyncio.Queue[chaincode_shim_pb2.ChaincodeMessage]:
        return self._inbox.setdefault(txid, asyncio.Queue())

    async def send(self, msg: chaincode_shim_pb2.ChaincodeMessage) -> None:
        async with self._lock:
            await self._call.write(msg)

    async def transaction(
        self,
        txid: str,
        *args: str | bytes,
        channel_id: str = "mychannel",
        proposal: proposal_pb2.SignedProposal | None = None,
        init: bool = False,
        raw_payload: bytes | None = None,
    ) -> None:
        """Send a TRANSACTION (or INIT) with these arguments."""
        encoded = [a.encode() if isinstance(a, str) else a for a in args]
        payload = (
            raw_payload
            if raw_payload is not None
            else chaincode_pb2.ChaincodeInput(args=encoded).SerializeToString()
        )
        msg = Msg(
            type=Msg.INIT if init else Msg.TRANSACTION, payload=payload, txid=txid, channel_id=channel_id
        )
        if proposal is not None:
            msg.proposal.CopyFrom(proposal)
        await self.send(msg)

    async def next(self, txid: str, timeout: float = TIMEOUT) -> chaincode_shim_pb2.ChaincodeMessage:
        """The next message the chaincode sent for ``txid``."""
        return await asyncio.wait_for(self.queue(txid).get(), timeout)

    async def reply(
        self, request: chaincode_shim_pb2.ChaincodeMessage, payload: bytes = b"", *, error: bool = False
    ) -> None:
        """Answer a ledger request with RESPONSE (or ERROR)."""
        kind = Msg.ERROR if error else Msg.RESPONSE
        await self.send(Msg(type=kind, payload=payload, txid=request.txid, channel_id=request.channel_id))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self._call.cancel()
        await self._channel.close()
