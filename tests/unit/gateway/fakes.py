"""In-process fakes of a Fabric gateway peer: real gRPC servers on 127.0.0.1 that check what clients send.

``FakeFabric`` implements the Gateway and Deliver services over a tiny in-memory ledger. It verifies
every signature with the creator's certificate, the transaction id (sha256(nonce + creator)), channel
headers and chaincode ids, records what it received, and can inject gRPC errors carrying
``gateway.ErrorDetail`` entries. ``FakeServer`` serves it and can be stopped and restarted on the same
port, as a restarting peer would be, without losing the ledger.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import random
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    events_pb2,
    events_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
)
from google.protobuf import any_pb2
from google.rpc import status_pb2

from fabrx._protocol import transaction_payload
from fabrx.errors import ErrorDetail
from fabrx.identity import Identity
from fabrx.signing import Signer, new_private_key_signer

P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 >> 1
PORT_RANGE = range(25000, 26000)


# ---------------------------------------------------------------------------------------------- credentials


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    hosts: tuple[str, ...] = (),
) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class ClientIdentity:
    """A test client: MSP identity with a self-signed P-256 certificate, and its signer."""

    identity: Identity
    signer: Signer
    key: ec.EllipticCurvePrivateKey


def new_client_identity(msp_id: str = "Org1MSP", name: str = "User1") -> ClientIdentity:
    key = ec.generate_private_key(ec.SECP256R1())
    return ClientIdentity(Identity(msp_id, _certificate(name, key)), new_private_key_signer(key), key)


@dataclass(frozen=True)
class TlsMaterial:
    """A CA with a server certificate for 127.0.0.1/localhost and a client certificate."""

    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes

    @property
    def client_cert_der_hash(self) -> bytes:
        der = x509.load_pem_x509_certificate(self.client_cert).public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).digest()


def new_tls_material() -> TlsMaterial:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = ("fake-tls-ca", ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    return TlsMaterial(
        ca_cert=_certificate("fake-tls-ca", ca_key, ca=True),
        server_cert=_certificate("peer0.org1.example.com", server_key, ca, hosts=("localhost", "127.0.0.1")),
        server_key=_key_pem(server_key),
        client_cert=_certificate("client", client_key, ca),
        client_key=_key_pem(client_key),
    )


# ------------------------------------------------------------------------------------------------ ledger


@dataclass
class FakeTransaction:
    """A transaction in a fake block, with the chaincode event it emitted (if any)."""

    transaction_id: str
    chaincode_name: str = ""
    validation_code: int = 0
    event_name: str = ""
    event_payload: bytes = b""

    @property
    def has_event(self) -> bool:
        return bool(self.event_name)


class FakeLedger:
    """Blocks of fake transactions; block 0 is an empty genesis block. Thread-safe."""

    def __init__(self) -> None:
        self._blocks: list[list[FakeTransaction]] = [[]]
        self._changed = threading.Condition()

    @property
    def height(self) -> int:
        with self._changed:
            return len(self._blocks)

    def append_block(self, transactions: list[FakeTransaction]) -> int:
        with self._changed:
            self._blocks.append(list(transactions))
            self._changed.notify_all()
            return len(self._blocks) - 1

    def block(self, number: int) -> list[FakeTransaction]:
        with self._changed:
            return list(self._blocks[number])

    def find(self, transaction_id: str) -> tuple[int, FakeTransaction] | None:
        with self._changed:
            for number, block in enumerate(self._blocks):
                for transaction in block:
                    if transaction.transaction_id == transaction_id:
                        return number, transaction
        return None

    def wait_for_block(self, number: int, timeout: float) -> bool:
        """Wait until block ``number`` exists (or ``timeout`` passes)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._blocks) > number, timeout)


# ------------------------------------------------------------------------------------------------ service


@dataclass
class Invocation:
    """What a chaincode function received; a handler may call :meth:`set_event`."""

    channel_id: str
    chaincode_name: str
    transaction_name: str
    args: list[bytes]
    transient: dict[str, bytes]
    transaction_id: str
    endorsing_organizations: list[str]
    event: tuple[str, bytes] | None = None

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, payload)


Handler = Callable[[Invocation], bytes]


@dataclass
class InjectedFailure:
    code: grpc.StatusCode
    message: str
    details: tuple[ErrorDetail, ...] = ()


def echo(invocation: Invocation) -> bytes:
    """Default chaincode: returns the transaction name and arguments joined by spaces."""
    return b" ".join([invocation.transaction_name.encode(), *invocation.args])


@dataclass
class Received:
    """Everything the fake received, for assertions."""

    evaluate: list[gateway_pb2.EvaluateRequest] = field(default_factory=list)
    endorse: list[gateway_pb2.EndorseRequest] = field(default_factory=list)
    submit: list[gateway_pb2.SubmitRequest] = field(default_factory=list)
    commit_status: list[gateway_pb2.CommitStatusRequest] = field(default_factory=list)
    chaincode_events: list[gateway_pb2.ChaincodeEventsRequest] = field(default_factory=list)
    seek: list[tuple[str, common_pb2.ChannelHeader, ab_pb2.SeekInfo]] = field(default_factory=list)
    seek_envelopes: list[common_pb2.Envelope] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)


class SignatureRejected(Exception):
    pass


def verify_signature(creator: bytes, message: bytes, signature: bytes) -> str:
    """Check a low-S ECDSA P-256/SHA-256 signature by ``creator``; return its MSP id."""
    identity = identities_pb2.SerializedIdentity.FromString(creator)
    public_key = x509.load_pem_x509_certificate(identity.id_bytes).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise SignatureRejected("signature does not verify") from exc
    if decode_dss_signature(signature)[1] > P256_HALF_ORDER:
        raise SignatureRejected("high-S signature")
    return identity.mspid


class FakeFabric(gateway_pb2_grpc.GatewayServicer, events_pb2_grpc.DeliverServicer):
    """The Gateway and Deliver services of one fake peer."""

    def __init__(self, ledger: FakeLedger | None = None, handler: Handler = echo) -> None:
        self.ledger = ledger or FakeLedger()
        self.handler = handler
        self.received = Received()
        self.failures: dict[str, InjectedFailure] = {}
        self.validation_code: Callable[[Invocation], int] = lambda invocation: 0
        self.auto_commit = True
        self.deliver_status: int | None = None
        self.rejected: list[str] = []
        self._endorsed: dict[str, Invocation] = {}
        self._lock = threading.Lock()

    # -- helpers

    def fail(self, step: str, code: grpc.StatusCode, message: str, *details: ErrorDetail) -> None:
        """Make every later call of ``step`` ("evaluate", "endorse", ...) fail with ``code``."""
        self.failures[step] = InjectedFailure(code, message, details)

    def _maybe_fail(self, step: str, context: grpc.ServicerContext) -> None:
        failure = self.failures.get(step)
        if failure is None:
            return
        status = status_pb2.Status(code=failure.code.value[0], message=failure.message)
        for detail in failure.details:
            packed = any_pb2.Any()
            packed.Pack(
                gateway_pb2.ErrorDetail(address=detail.address, msp_id=detail.msp_id, message=detail.message)
            )
            status.details.append(packed)
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
        context.abort(failure.code, failure.message)

    def _reject(self, context: grpc.ServicerContext, message: str) -> Any:
        self.rejected.append(message)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, message)

    def _check_proposal(
        self,
        signed: proposal_pb2.SignedProposal,
        transaction_id: str,
        channel_id: str,
        context: grpc.ServicerContext,
    ) -> Invocation:
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        try:
            verify_signature(signature_header.creator, signed.proposal_bytes, signed.signature)
        except SignatureRejected as exc:
            self._reject(context, f"proposal: {exc}")
        expected_id = hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
        extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
        problems = [
            (channel_header.tx_id == expected_id, "tx id is not sha256(nonce + creator)"),
            (channel_header.tx_id == transaction_id, "request transaction id differs from the proposal's"),
            (channel_header.channel_id == channel_id, "request channel differs from the proposal's"),
            (channel_header.type == common_pb2.ENDORSER_TRANSACTION, "not an ENDORSER_TRANSACTION"),
            (
                extension.chaincode_id.name == spec.chaincode_id.name,
                "header chaincode id differs from the spec's",
            ),
            (len(signature_header.nonce) == 24, "nonce is not 24 bytes"),
        ]
        for ok, problem in problems:
            if not ok:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        args = list(spec.input.args)
        return Invocation(
            channel_id=channel_id,
            chaincode_name=spec.chaincode_id.name,
            transaction_name=args[0].decode(),
            args=args[1:],
            transient=dict(payload.TransientMap),
            transaction_id=transaction_id,
            endorsing_organizations=[],
        )

    def _run(self, invocation: Invocation, context: grpc.ServicerContext) -> bytes:
        if invocation.chaincode_name == "qscc" and invocation.transaction_name == "GetChainInfo":
            return ledger_pb2.BlockchainInfo(height=self.ledger.height).SerializeToString()
        try:
            if invocation.chaincode_name == "qscc" and invocation.transaction_name == "GetBlockByTxID":
                return self._block_by_transaction_id(invocation.args[1].decode())
            return self.handler(invocation)
        except Exception as exc:  # a chaincode error becomes an endorsement failure with details
            status = status_pb2.Status(code=grpc.StatusCode.ABORTED.value[0], message=str(exc))
            packed = any_pb2.Any()
            packed.Pack(
                gateway_pb2.ErrorDetail(
                    address="peer0.org1.example.com:7051",
                    msp_id="Org1MSP",
                    message=f"chaincode response 500, {exc}",
                )
            )
            status.details.append(packed)
            context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(
                grpc.StatusCode.ABORTED, f"failed to endorse transaction, see attached details: {exc}"
            )
            raise  # unreachable: abort raises

    def _block_by_transaction_id(self, transaction_id: str) -> bytes:
        """What qscc ``GetBlockByTxID`` answers: the whole block, or the ledger index's error."""
        found = self.ledger.find(transaction_id)
        if found is None:
            raise LookupError(
                f"Failed to get block for txID {transaction_id}, "
                f"error no such transaction ID [{transaction_id}] in index"
            )
        number, _ = found
        block = common_pb2.Block(header=common_pb2.BlockHeader(number=number))
        codes = bytearray()
        for transaction in self.ledger.block(number):
            header = common_pb2.ChannelHeader(
                type=common_pb2.ENDORSER_TRANSACTION, tx_id=transaction.transaction_id
            )
            payload = common_pb2.Payload(header=common_pb2.Header(channel_header=header.SerializeToString()))
            block.data.data.append(
                common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString()
            )
            codes.append(transaction.validation_code)
        block.metadata.metadata.extend([b""] * 5)
        block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes(codes)
        return block.SerializeToString()

    # -- Gateway service

    def Evaluate(self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext) -> Any:
        self.received.evaluate.append(request)
        self._maybe_fail("evaluate", context)
        invocation = self._check_proposal(
            request.proposed_transaction, request.transaction_id, request.channel_id, context
        )
        invocation.endorsing_organizations = list(request.target_organizations)
        self.received.invocations.append(invocation)
        result = self._run(invocation, context)
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(status=200, payload=result))

    def Endorse(self, request: gateway_pb2.EndorseRequest, context: grpc.ServicerContext) -> Any:
        self.received.endorse.append(request)
        self._maybe_fail("endorse", context)
        invocation = self._check_proposal(
            request.proposed_transaction, request.transaction_id, request.channel_id, context
        )
        invocation.endorsing_organizations = list(request.endorsing_organizations)
        self.received.invocations.append(invocation)
        result = self._run(invocation, context)
        proposal = proposal_pb2.Proposal.FromString(request.proposed_transaction.proposal_bytes)
        action = proposal_pb2.ChaincodeAction(
            response=proposal_response_pb2.Response(status=200, payload=result),
            chaincode_id=chaincode_pb2.ChaincodeID(name=invocation.chaincode_name),
        )
        if invocation.event is not None:
            action.events = chaincode_event_pb2.ChaincodeEvent(
                chaincode_id=invocation.chaincode_name,
                tx_id=invocation.transaction_id,
                event_name=invocation.event[0],
                payload=invocation.event[1],
            ).SerializeToString()
        response_payload = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=hashlib.sha256(request.proposed_transaction.proposal_bytes).digest(),
            extension=action.SerializeToString(),
        )
        response = proposal_response_pb2.ProposalResponse(
            response=proposal_response_pb2.Response(status=200),
            payload=response_payload.SerializeToString(),
            endorsement=proposal_response_pb2.Endorsement(endorser=b"peer", signature=b"endorsement"),
        )
        payload = transaction_payload(proposal, [response])
        with self._lock:
            self._endorsed[invocation.transaction_id] = invocation
        return gateway_pb2.EndorseResponse(
            prepared_transaction=common_pb2.Envelope(payload=payload.SerializeToString())
        )

    def Submit(self, request: gateway_pb2.SubmitRequest, context: grpc.ServicerContext) -> Any:
        self.received.submit.append(request)
        self._maybe_fail("submit", context)
        envelope = request.prepared_transaction
        payload = common_pb2.Payload.FromString(envelope.payload)
        signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        try:
            verify_signature(signature_header.creator, envelope.payload, envelope.signature)
        except SignatureRejected as exc:
            self._reject(context, f"transaction envelope: {exc}")
        if channel_header.tx_id != request.transaction_id or channel_header.channel_id != request.channel_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "submit request does not match its envelope")
        with self._lock:
            invocation = self._endorsed.pop(request.transaction_id, None)
        if invocation is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "transaction was not endorsed here")
            raise AssertionError  # unreachable
        if self.auto_commit:
            self.commit(invocation)
        return gateway_pb2.SubmitResponse()

    def commit(self, invocation: Invocation) -> int:
        """Write the transaction of ``invocation`` in a new block; returns its number."""
        name, payload = invocation.event or ("", b"")
        return self.ledger.append_block(
            [
                FakeTransaction(
                    transaction_id=invocation.transaction_id,
                    chaincode_name=invocation.chaincode_name,
                    validation_code=self.validation_code(invocation),
                    event_name=name,
                    event_payload=payload,
                )
            ]
        )

    def CommitStatus(
        self, signed: gateway_pb2.SignedCommitStatusRequest, context: grpc.ServicerContext
    ) -> Any:
        request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        self.received.commit_status.append(request)
        self._maybe_fail("commit_status", context)
        try:
            verify_signature(request.identity, signed.request, signed.signature)
        except SignatureRejected as exc:
            self._reject(context, f"commit status request: {exc}")
        while context.is_active():
            found = self.ledger.find(request.transaction_id)
            if found is not None:
                number, transaction = found
                return gateway_pb2.CommitStatusResponse(
                    result=transaction.validation_code, block_number=number
                )
            self.ledger.wait_for_block(self.ledger.height, 0.05)
        return gateway_pb2.CommitStatusResponse()

    def ChaincodeEvents(
        self, signed: gateway_pb2.SignedChaincodeEventsRequest, context: grpc.ServicerContext
    ) -> Iterator[gateway_pb2.ChaincodeEventsResponse]:
        request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
        self.received.chaincode_events.append(request)
        self._maybe_fail("chaincode_events", context)
        try:
            verify_signature(request.identity, signed.request, signed.signature)
        except SignatureRejected as exc:
            self._reject(context, f"chaincode events request: {exc}")
        # Same start and skip rules as Fabric's gateway (internal/pkg/gateway/chaincodeevents.go).
        found = self.ledger.find(request.after_transaction_id) if request.after_transaction_id else None
        if found is not None:
            number = found[0]
        elif request.start_position.HasField("specified"):
            number = request.start_position.specified.number
        else:
            number = self.ledger.height
        passed = not request.after_transaction_id
        while context.is_active():
            if not self.ledger.wait_for_block(number, 0.05):
                continue
            events = []
            for transaction in self.ledger.block(number):
                if not passed:
                    passed = transaction.transaction_id == request.after_transaction_id
                    continue
                if (
                    transaction.has_event
                    and transaction.validation_code == 0
                    and transaction.chaincode_name == request.chaincode_id
                ):
                    events.append(
                        chaincode_event_pb2.ChaincodeEvent(
                            chaincode_id=transaction.chaincode_name,
                            tx_id=transaction.transaction_id,
                            event_name=transaction.event_name,
                            payload=transaction.event_payload,
                        )
                    )
            if events:
                yield gateway_pb2.ChaincodeEventsResponse(events=events, block_number=number)
            number += 1

    # -- Deliver service

    def _deliver(
        self, requests: Iterator[common_pb2.Envelope], context: grpc.ServicerContext, kind: str
    ) -> Iterator[events_pb2.DeliverResponse]:
        envelope = next(requests)
        payload = common_pb2.Payload.FromString(envelope.payload)
        channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        seek = ab_pb2.SeekInfo.FromString(payload.data)
        self.received.seek.append((kind, channel_header, seek))
        self.received.seek_envelopes.append(envelope)
        self._maybe_fail("deliver", context)
        try:
            verify_signature(signature_header.creator, envelope.payload, envelope.signature)
        except SignatureRejected as exc:
            self.rejected.append(f"seek envelope: {exc}")
            yield events_pb2.DeliverResponse(status=common_pb2.FORBIDDEN)
            return
        if self.deliver_status is not None:
            yield events_pb2.DeliverResponse(status=self.deliver_status)
            return
        if channel_header.type != common_pb2.DELIVER_SEEK_INFO:
            yield events_pb2.DeliverResponse(status=common_pb2.BAD_REQUEST)
            return
        number = seek.start.specified.number if seek.start.HasField("specified") else self.ledger.height
        while context.is_active():
            if not self.ledger.wait_for_block(number, 0.05):
                continue
            transactions = self.ledger.block(number)
            block = common_pb2.Block(header=common_pb2.BlockHeader(number=number))
            if kind == "filtered":
                yield events_pb2.DeliverResponse(
                    filtered_block=events_pb2.FilteredBlock(
                        channel_id=channel_header.channel_id,
                        number=number,
                        filtered_transactions=[
                            events_pb2.FilteredTransaction(
                                txid=t.transaction_id, tx_validation_code=t.validation_code
                            )
                            for t in transactions
                        ],
                    )
                )
            elif kind == "private":
                yield events_pb2.DeliverResponse(
                    block_and_private_data=events_pb2.BlockAndPrivateData(block=block)
                )
            else:
                yield events_pb2.DeliverResponse(block=block)
            number += 1

    def Deliver(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        return self._deliver(request_iterator, context, "block")

    def DeliverFiltered(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        return self._deliver(request_iterator, context, "filtered")

    def DeliverWithPrivateData(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        return self._deliver(request_iterator, context, "private")


# ------------------------------------------------------------------------------------------------- server


class FakeServer:
    """Serves a :class:`FakeFabric` on 127.0.0.1, with optional (mutual) TLS; restartable on its port.

    The port is taken from the range reserved for these tests, without ``SO_REUSEPORT``, so test
    processes running side by side never share a port.
    """

    def __init__(
        self, fabric: FakeFabric, *, tls: TlsMaterial | None = None, mutual_tls: bool = False
    ) -> None:
        self.fabric = fabric
        self.tls = tls
        self.mutual_tls = mutual_tls
        self.port = 0
        self._server: grpc.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _bind(self, port: int) -> grpc.Server | None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=[("grpc.so_reuseport", 0)])
        gateway_pb2_grpc.add_GatewayServicer_to_server(self.fabric, server)
        events_pb2_grpc.add_DeliverServicer_to_server(self.fabric, server)
        address = f"127.0.0.1:{port}"
        try:
            if self.tls is None:
                bound = server.add_insecure_port(address)
            else:
                credentials = grpc.ssl_server_credentials(
                    [(self.tls.server_key, self.tls.server_cert)],
                    root_certificates=self.tls.ca_cert if self.mutual_tls else None,
                    require_client_auth=self.mutual_tls,
                )
                bound = server.add_secure_port(address, credentials)
        except RuntimeError:
            bound = 0
        return server if bound == port else None

    def start(self) -> FakeServer:
        """Listen on the port used before (a restart), or on a free port of the reserved range."""
        if self.port:
            candidates = [self.port]
        else:
            offset = random.randrange(len(PORT_RANGE))
            candidates = [PORT_RANGE[(offset + i) % len(PORT_RANGE)] for i in range(len(PORT_RANGE))]
        for port in candidates:
            server = self._bind(port)
            if server is not None:
                server.start()
                self.port, self._server = port, server
                return self
        raise RuntimeError(f"cannot listen on any of {candidates[:3]}...")

    def stop(self) -> None:
        """Stop at once, cancelling open streams, as a crashing peer would."""
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
