"""Fakes at the transport seam for fabrx.admin tests: in-process gRPC peers and orderer, and identities.

The fake peer's Endorser verifies every signed proposal against the creator's certificate (so a
wrong signer, hash or creator fails the test), checks the headers Fabric checks (transaction id
derived from nonce and creator, channel header type, chaincode id) and routes
``(chaincode, function)`` to a handler the test installs. Its Gateway answers ``CommitStatus``; the
fake orderer's AtomicBroadcast verifies the envelope signature and records the transaction.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc
from fabric_protos.peer import (
    chaincode_pb2,
    peer_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from fabrx.admin import PeerAdmin
from fabrx.endpoint import Endpoint
from fabrx.identity import Identity
from fabrx.signing import new_private_key_signer

# --- certificates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def new_ca(common_name: str) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Cert(key, cert)


def issue(ca: Cert, common_name: str, *, dns: tuple[str, ...] = (), ip: tuple[str, ...] = ()) -> Cert:
    """A leaf certificate for TLS server and client use (and as an MSP signing certificate)."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ip]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Cert(key, builder.sign(ca.key, hashes.SHA256()))


@dataclass(frozen=True)
class TestIdentity:
    msp_id: str
    cert: Cert

    @property
    def identity(self) -> Identity:
        return Identity(msp_id=self.msp_id, credentials=self.cert.cert_pem)

    @property
    def signer(self) -> Callable[[bytes], bytes]:
        return new_private_key_signer(self.cert.key)


def new_identity(msp_id: str) -> TestIdentity:
    return TestIdentity(msp_id, issue(new_ca(f"ca.{msp_id}"), f"admin.{msp_id}"))


# --- signature checks -----------------------------------------------------------------------------


def verify_creator_signature(creator: bytes, message: bytes, signature: bytes) -> str:
    """Verify ``signature`` over sha256(``message``) with the creator's certificate; return its MSP id."""
    serialized = identities_pb2.SerializedIdentity.FromString(creator)
    certificate = x509.load_pem_x509_certificate(serialized.id_bytes)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    return str(serialized.mspid)


# --- fake peer ----------------------------------------------------------------------------------------


@dataclass
class Call:
    """One proposal the fake peer received, decoded."""

    channel_header: Any
    signature_header: Any
    chaincode: str
    args: list[bytes]
    msp_id: str


Handler = Callable[[Call], tuple[int, str, bytes]]


@dataclass
class FakePeer(peer_pb2_grpc.EndorserServicer, gateway_pb2_grpc.GatewayServicer):
    """Endorser + Gateway(CommitStatus) fake; ``handlers[(chaincode, function)]`` answer proposals."""

    name: str
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    commit_status_requests: list[Any] = field(default_factory=list)
    # transaction id -> (validation code, block number); VALID in block 5 when absent
    commit_results: dict[str, tuple[int, int]] = field(default_factory=dict)
    # what qscc GetChainInfo answers when no handler is set: each call takes the next height, the last
    # one repeating (a peer that catches up)
    heights: list[int] = field(default_factory=lambda: [6])

    def ProcessProposal(self, request: Any, context: grpc.ServicerContext) -> Any:
        proposal = proposal_pb2.Proposal.FromString(request.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        msp_id = verify_creator_signature(signature_header.creator, request.proposal_bytes, request.signature)
        # Fabric's rule: the transaction id is hex(sha256(nonce + creator)).
        expected_tx_id = hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
        assert channel_header.tx_id == expected_tx_id
        extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        invocation = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input)
        assert invocation.chaincode_spec.chaincode_id.name == extension.chaincode_id.name
        call = Call(
            channel_header=channel_header,
            signature_header=signature_header,
            chaincode=extension.chaincode_id.name,
            args=list(invocation.chaincode_spec.input.args),
            msp_id=msp_id,
        )
        self.calls.append(call)
        handler = self.handlers.get((call.chaincode, call.args[0].decode()))
        if handler is None and (call.chaincode, call.args[0]) == ("qscc", b"GetChainInfo"):
            height = self.heights.pop(0) if len(self.heights) > 1 else self.heights[0]
            info = ledger_pb2.BlockchainInfo(height=height).SerializeToString()
            handler = lambda _call: (200, "", info)  # noqa: E731
        if handler is None:
            return proposal_response_pb2.ProposalResponse(
                response=proposal_response_pb2.Response(status=500, message="no handler in fake peer")
            )
        status, message, result = handler(call)
        # Deterministic across fake peers so that endorsements of one proposal match.
        response_payload = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=hashlib.sha256(request.proposal_bytes).digest(),
            extension=result,
        ).SerializeToString()
        return proposal_response_pb2.ProposalResponse(
            version=1,
            response=proposal_response_pb2.Response(status=status, message=message, payload=result),
            payload=response_payload if status < 400 else b"",
            endorsement=proposal_response_pb2.Endorsement(endorser=self.name.encode(), signature=b"sig"),
        )

    def CommitStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        status_request = gateway_pb2.CommitStatusRequest.FromString(request.request)
        verify_creator_signature(status_request.identity, request.request, request.signature)
        self.commit_status_requests.append(status_request)
        code, block = self.commit_results.get(status_request.transaction_id, (transaction_pb2.VALID, 5))
        return gateway_pb2.CommitStatusResponse(result=code, block_number=block)


@dataclass
class FakeOrderer(ab_pb2_grpc.AtomicBroadcastServicer):
    """AtomicBroadcast fake: verifies envelope signatures, records payloads, answers ``status``."""

    status: int = common_pb2.SUCCESS
    info: str = ""
    payloads: list[Any] = field(default_factory=list)
    # statuses answered first, one per envelope, before falling back to ``status``
    script: list[int] = field(default_factory=list)

    def Broadcast(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        for envelope in request_iterator:
            payload = common_pb2.Payload.FromString(envelope.payload)
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            verify_creator_signature(signature_header.creator, envelope.payload, envelope.signature)
            self.payloads.append(payload)
            status = self.script.pop(0) if self.script else self.status
            yield ab_pb2.BroadcastResponse(status=status, info=self.info)


@dataclass
class FakeNetwork:
    peers: list[FakePeer]
    orderer: FakeOrderer
    peer_endpoints: list[Endpoint]
    orderer_endpoint: Endpoint
    org1: TestIdentity
    org2: TestIdentity

    def admin(self, index: int = 0, who: TestIdentity | None = None) -> PeerAdmin:
        identity = who or (self.org1 if index == 0 else self.org2)
        return PeerAdmin(self.peer_endpoints[index], identity.identity, identity.signer, timeout=5)


def _serve(*servicers: Any) -> tuple[grpc.Server, Endpoint]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    for servicer in servicers:
        if isinstance(servicer, FakePeer):
            peer_pb2_grpc.add_EndorserServicer_to_server(servicer, server)
            gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, server)
        else:
            ab_pb2_grpc.add_AtomicBroadcastServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, Endpoint(address=f"127.0.0.1:{port}")


@pytest.fixture(scope="session")
def org1() -> TestIdentity:
    return new_identity("Org1MSP")


@pytest.fixture(scope="session")
def org2() -> TestIdentity:
    return new_identity("Org2MSP")


@pytest.fixture
def network(org1: TestIdentity, org2: TestIdentity) -> Iterator[FakeNetwork]:
    peers = [FakePeer("peer0.org1"), FakePeer("peer0.org2")]
    orderer = FakeOrderer()
    servers_endpoints = [_serve(peer) for peer in peers]
    orderer_server, orderer_endpoint = _serve(orderer)
    try:
        yield FakeNetwork(
            peers=peers,
            orderer=orderer,
            peer_endpoints=[endpoint for _, endpoint in servers_endpoints],
            orderer_endpoint=orderer_endpoint,
            org1=org1,
            org2=org2,
        )
    finally:
        for server, _ in servers_endpoints:
            server.stop(None)
        orderer_server.stop(None)


def channel_block(channel_id: str) -> bytes:
    """A minimal block whose first envelope names ``channel_id`` (enough for the client side)."""
    header = common_pb2.ChannelHeader(type=common_pb2.CONFIG, channel_id=channel_id)
    payload = common_pb2.Payload(header=common_pb2.Header(channel_header=header.SerializeToString()))
    envelope = common_pb2.Envelope(payload=payload.SerializeToString())
    block = common_pb2.Block(
        header=common_pb2.BlockHeader(number=0),
        data=common_pb2.BlockData(data=[envelope.SerializeToString()]),
    )
    return bytes(block.SerializeToString())


@pytest.fixture
def make_block() -> Callable[[str], bytes]:
    return channel_block


@pytest.fixture
def make_ca() -> Callable[[str], Cert]:
    return new_ca


@pytest.fixture
def make_cert() -> Callable[..., Cert]:
    return issue
