"""Fakes at the contract seam for the pharma facades: a recording contract and one backed by the real
``PharmaContract`` on ``fabrx_chaincode``'s in-memory ledger, run on a peer of a chosen organization."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx import EndorseError, ErrorDetail, GatewayError, Status, StatusCode
from fabrx_chaincode import MemoryLedger, serialize_identity
from fabrx_chaincode.errors import PeerRequestError
from fabrx_chaincode.identity import ATTRIBUTES_OID
from fabrx_chaincode.memstub import MemoryStub
from fabrx_pharma.privacy import member_of_implicit
from fabrx_pharma_chaincode.contract import PharmaContract

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
ROLES = {
    "RegulatorMSP": "regulator",
    "ManufacturerMSP": "manufacturer",
    "DistributorAMSP": "distributor",
    "DistributorBMSP": "distributor",
    "HospitalAMSP": "hospital",
    "HospitalBMSP": "hospital",
    "CityHostMSP": "host",
    "CLINIC-0001": "hospital",
    "PHARMA-DIST-01": "distributor",
    "REG-CLINIC-01": "hospital",
}
"""The ``fabrx.role`` of every party's clients: the sample's members, a hosting member, and parties it
(``CLINIC-0001``, ``PHARMA-DIST-01``) and the regulator's organization (``REG-CLINIC-01``) host."""


@dataclass
class Call:
    kind: str
    name: str
    args: tuple[str | bytes, ...]
    transient: Mapping[str, str | bytes] | None
    endorsing_organizations: Sequence[str] | None


@dataclass
class RecordingContract:
    """Answers every call with ``answer(call)`` (bytes, or an exception to raise) and records it."""

    answer: Callable[[Call], bytes | Exception] = lambda _: b"{}"
    calls: list[Call] = field(default_factory=list)

    def _call(self, kind: str, name: str, args: tuple[str | bytes, ...], **options: object) -> bytes:
        call = Call(kind, name, args, options.get("transient"), options.get("endorsing_organizations"))  # type: ignore[arg-type]
        self.calls.append(call)
        result = self.answer(call)
        if isinstance(result, Exception):
            raise result
        return result

    def submit_transaction(self, name: str, *args: str | bytes, **options: object) -> bytes:
        return self._call("submit", name, args, **options)

    def evaluate_transaction(self, name: str, *args: str | bytes, **options: object) -> bytes:
        return self._call("evaluate", name, args, **options)


def refusal(
    status: int, text: str, *, cls: type[GatewayError] = EndorseError, msp_id: str = "RegulatorMSP"
) -> GatewayError:
    """A Gateway error as a peer of ``msp_id`` reports a chaincode refusal."""
    detail = ErrorDetail("127.0.0.1:7066", msp_id, f"chaincode response {status}, {text}")
    return cls(
        "endorse failed: ABORTED: failed to collect enough endorsements", code="ABORTED", details=(detail,)
    )


@cache
def creator(msp_id: str, party_id: str | None = None) -> bytes:
    """A client certificate of ``msp_id`` carrying ``fabrx.role`` the way Fabric CA adds attributes, and
    ``fabrx.party`` for a party hosted by ``msp_id``."""
    key = ec.generate_private_key(ec.SECP256R1())
    party = party_id or msp_id
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client.{party}")])
    attributes = {"fabrx.role": ROLES[party]}
    if party != msp_id:
        attributes["fabrx.party"] = party
    attrs = json.dumps({"attrs": attributes}).encode()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=365))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.UnrecognizedExtension(ATTRIBUTES_OID, attrs), critical=False)
        .sign(key, hashes.SHA256())
    )
    return serialize_identity(msp_id, certificate.public_bytes(serialization.Encoding.PEM))


_NOT_HELD = "private data matching public hash version is not available"


class PeerStub(MemoryStub):
    """A transaction on a peer of ``peer``: like Fabric's peer, it stores the values of its own
    organization's implicit collection only, and refuses to read another organization's value once the
    key exists (hashes stay readable everywhere)."""

    def __init__(self, peer: str, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.peer = peer

    def _refuse_foreign(self, collection: str, values: list[bytes]) -> None:
        member = member_of_implicit(collection)
        if member is not None and member != self.peer and any(values):
            raise PeerRequestError("GET_STATE", _NOT_HELD)

    async def _get_state(self, collection: str, key: str) -> bytes:
        value = await super()._get_state(collection, key)
        self._refuse_foreign(collection, [value])
        return value

    async def _get_multiple_states(self, collection: str, keys_: list[str]) -> list[bytes]:
        values = await super()._get_multiple_states(collection, keys_)
        self._refuse_foreign(collection, values)
        return values


class PeerLedger(MemoryLedger):
    """A :class:`MemoryLedger` with the pharma chaincode, whose transactions run on a peer of
    organization :attr:`peer` (every collection otherwise shared, as the memory ledger keeps them).

    With ``peer_known`` the chaincode is told its peer's organization (``CHAINCODE_PEER_MSPID``, a
    chaincode server per organization); without, it finds out by trying value reads (one server for
    the peers of several organizations).
    """

    def __init__(self, *, channel_id: str = "pharma", peer_known: bool = False) -> None:
        super().__init__(channel_id=channel_id)
        self.peer = "RegulatorMSP"
        self.peer_known = peer_known
        self.contract = PharmaContract()
        self.deploy("pharma", [self.contract])
        self._transactions = itertools.count(1)

    def on_peer(self, peer: str) -> None:
        """Run the next transactions on a peer of ``peer``."""
        self.peer = peer
        self.contract.peer_msp_id = peer if self.peer_known else None

    def stub(
        self,
        chaincode_name: str,
        function: str,
        *args: str | bytes,
        creator: bytes = b"",
        transient: Mapping[str, bytes] | None = None,
        timestamp: datetime | None = None,
        transaction_id: str | None = None,
    ) -> MemoryStub:
        raw = [function.encode(), *(a.encode() if isinstance(a, str) else bytes(a) for a in args)]
        return PeerStub(
            self.peer,
            self,
            chaincode_name,
            raw,
            transaction_id=transaction_id or f"tx{next(self._transactions):06d}",
            creator=creator,
            transient=transient or {},
            timestamp=timestamp or NOW,
        )


class LedgerContract:
    """The real ``PharmaContract`` on a :class:`PeerLedger`, called by a client of ``msp_id`` acting
    for ``party_id`` (default: the organization itself).

    An evaluate runs on a peer of the client's organization, or of the first of its
    ``endorsing_organizations``. A submit runs on a peer of every endorsing organization (default: the
    client's): each must accept it with the same answer (but the transaction id), then the first
    organization's run commits.
    """

    def __init__(self, ledger: PeerLedger, msp_id: str, party_id: str | None = None) -> None:
        self._ledger = ledger
        self._msp_id = msp_id
        self._party_id = party_id
        self.peers: list[tuple[str, str]] = []
        """(transaction name, organization of the peer) of every evaluate and endorsement, in order."""
        self.committed: dict[str, int] = {}
        """The block number of every transaction this client committed, by transaction id."""
        self.last_transaction_id = ""

    def _run(
        self,
        submit: bool,
        peer: str,
        name: str,
        args: tuple[str | bytes, ...],
        transient: Mapping[str, str | bytes] | None,
    ) -> bytes:
        self.peers.append((name, peer))
        self._ledger.on_peer(peer)
        run = self._ledger.submit_sync if submit else self._ledger.evaluate_sync
        sent = {k: v.encode() if isinstance(v, str) else v for k, v in (transient or {}).items()}
        options: dict[str, Any] = {
            "creator": creator(self._msp_id, self._party_id),
            "transient": sent,
            "timestamp": NOW,
        }
        if submit:
            options["transaction_id"] = secrets.token_hex(32)
        response = run("pharma", name, *args, **options)
        if response.status >= 400:
            raise refusal(response.status, response.message, msp_id=peer)
        if submit:
            self.last_transaction_id = options["transaction_id"]
            self.committed[self.last_transaction_id] = self._ledger.block_number
        return response.payload

    def submit_transaction(self, name: str, *args: str | bytes, **options: Any) -> bytes:
        organizations = list(options.get("endorsing_organizations") or [self._msp_id])
        answers = [self._run(False, peer, name, args, options.get("transient")) for peer in organizations[1:]]
        committed = self._run(True, organizations[0], name, args, options.get("transient"))
        for answer in answers:
            if _without_transaction_id(answer) != _without_transaction_id(committed):
                raise EndorseError(
                    "endorse failed: ProposalResponsePayloads do not match", code="ABORTED", details=()
                )
        return committed

    def evaluate_transaction(self, name: str, *args: str | bytes, **options: Any) -> bytes:
        organizations = options.get("endorsing_organizations") or [self._msp_id]
        return self._run(False, organizations[0], name, args, options.get("transient"))

    def transaction_status(self, transaction_id: str) -> Status | None:
        """``VALID`` in its block for a transaction this client committed, ``None`` for any other."""
        block = self.committed.get(transaction_id)
        return None if block is None else Status(transaction_id, StatusCode.VALID, block)


def _without_transaction_id(payload: bytes) -> object:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if isinstance(data, dict):
        data.pop("transaction_id", None)
    return data


def memory_ledger(*, peer_known: bool = False) -> PeerLedger:
    return PeerLedger(channel_id="pharma", peer_known=peer_known)
