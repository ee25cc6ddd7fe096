"""Fakes at the service's seam: members whose facades run the real pharma contract on an in-memory
ledger, applications with fresh keys, and a signing HTTP client over the ASGI app."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from fabrx import EndorseError, ErrorDetail
from fabrx.pharma import PharmaClient, RecordNotFound
from fabrx_chaincode import MemoryLedger, serialize_identity
from fabrx_chaincode.identity import ATTRIBUTES_OID
from fabrx_pharma import GoodsLine, Invoice, InvoiceLine, InvoiceNumber, Role
from fabrx_pharma_chaincode.contract import PharmaContract
from fabrx_pharma_service import (
    Application,
    ApplicationRegistry,
    AuditLog,
    ServiceLimits,
    ServiceState,
    TransactionStatus,
    create_app,
    sign_request,
)
from fabrx_pharma_service.members import FACADES

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
ROLES = {
    "RegulatorMSP": Role.REGULATOR,
    "ManufacturerMSP": Role.MANUFACTURER,
    "DistributorAMSP": Role.DISTRIBUTOR,
    "DistributorBMSP": Role.DISTRIBUTOR,
    "HospitalAMSP": Role.HOSPITAL,
    "HospitalBMSP": Role.HOSPITAL,
}


@cache
def creator(msp_id: str) -> bytes:
    """A client certificate carrying ``fabrx.role`` the way Fabric CA adds attributes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client.{msp_id}")])
    attrs = json.dumps({"attrs": {"fabrx.role": ROLES[msp_id].value}}).encode()
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


class LedgerContract:
    """The real ``PharmaContract`` on an in-memory ledger, called as ``msp_id``'s client; counts submits."""

    def __init__(self, ledger: MemoryLedger, msp_id: str, submits: list[str]) -> None:
        self._ledger = ledger
        self._msp_id = msp_id
        self._submits = submits

    def _call(self, submit: bool, name: str, args: tuple[str | bytes, ...], transient: object) -> bytes:
        run = self._ledger.submit_sync if submit else self._ledger.evaluate_sync
        options = {"creator": creator(self._msp_id), "transient": dict(transient or {}), "timestamp": NOW}  # type: ignore[call-overload]
        response = run("pharma", name, *args, **options)
        if response.status >= 400:
            detail = ErrorDetail(
                "127.0.0.1:7066", "RegulatorMSP", f"chaincode response {response.status}, {response.message}"
            )
            raise EndorseError("endorse failed", code="ABORTED", details=(detail,), transaction_id="f" * 64)
        if submit:
            self._submits.append(name)
        return response.payload

    def submit_transaction(self, name: str, *args: str | bytes, **options: object) -> bytes:
        return self._call(True, name, args, options.get("transient"))

    def evaluate_transaction(self, name: str, *args: str | bytes, **options: object) -> bytes:
        return self._call(False, name, args, options.get("transient"))


@dataclass
class LedgerMember:
    """A member organization whose facades run on a shared in-memory ledger."""

    ledger: MemoryLedger
    msp_id: str
    submits: list[str] = field(default_factory=list)
    failure: Exception | None = None
    """Raised by every facade call when set (a network failure)."""

    def facade(self, identity: str, role: Role) -> PharmaClient:
        if self.failure is not None:
            raise self.failure
        return FACADES[role](LedgerContract(self.ledger, self.msp_id, self.submits), self.msp_id)

    def transaction_status(self, identity: str, transaction_id: str) -> TransactionStatus:
        if transaction_id == "a" * 64:
            return TransactionStatus(transaction_id, "VALID", 7)
        raise RecordNotFound("NOT_FOUND", "transaction_id", f"the peer has no transaction {transaction_id}")

    def close(self) -> None:
        pass


def unreceived_sale(sale: Invoice) -> Invoice:
    """Another sale like ``sale`` (one package of its first line, numbered ``...99``) whose goods are
    never received: the report's ``RECEIPT_MISSING`` once its receipt falls due."""
    line = sale.lines[0]
    return dataclasses.replace(
        sale,
        number=InvoiceNumber.parse(str(sale.number)[:-2] + "99"),
        lines=(InvoiceLine(line.product_id, line.batch_number, 1, line.unit_price, line.unit_price),),
        total=line.unit_price,
        shipment=dataclasses.replace(
            sale.shipment,
            shipment_id="SHP-UNRECEIVED",
            lines=(GoodsLine(line.product_id, line.batch_number, 1),),
        ),
    )


def memory_ledger() -> MemoryLedger:
    # The in-memory ledger keeps every collection on its one "peer", as the regulator's peer keeps a
    # copy of every private record: the contract is told it runs there.
    contract = PharmaContract()
    contract.peer_msp_id = "RegulatorMSP"
    ledger = MemoryLedger(channel_id="pharma")
    ledger.deploy("pharma", [contract])
    return ledger


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key(curve: str = "p256") -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1() if curve == "p384" else ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class SignedClient:
    """An application calling a service: signs every request it sends (unless told otherwise)."""

    def __init__(
        self,
        client: TestClient,
        app_id: str,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        algorithm: str,
    ) -> None:
        self.client = client
        self.app_id = app_id
        self.key = key
        self.algorithm = algorithm

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        created: datetime | None = None,
        nonce: str | None = None,
    ) -> Any:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        sent = dict(headers or {})
        if data:
            sent.setdefault("Content-Type", "application/json")
        if sign:
            sent.update(
                sign_request(
                    method,
                    f"https://testserver{path}",
                    sent,
                    data,
                    key_id=self.app_id,
                    private_key=self.key,
                    algorithm=self.algorithm,
                    created=created,
                    nonce=nonce,
                )
            )
        return self.client.request(method, path, content=data, headers=sent)

    def get(self, path: str, **options: Any) -> Any:
        return self.request("GET", path, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> Any:
        return self.request("POST", path, body, **options)


@dataclass
class Services:
    """One service per member organization over one ledger, each with one registered application."""

    root: Path
    ledger: MemoryLedger = field(default_factory=memory_ledger)
    members: dict[str, LedgerMember] = field(default_factory=dict)
    clients: dict[str, SignedClient] = field(default_factory=dict)
    audits: dict[str, AuditLog] = field(default_factory=dict)
    registries: dict[str, ApplicationRegistry] = field(default_factory=dict)
    limits: ServiceLimits = field(default_factory=ServiceLimits)

    def client(self, msp_id: str) -> SignedClient:
        if msp_id not in self.clients:
            folder = self.root / msp_id
            member = LedgerMember(self.ledger, msp_id)
            registry = ApplicationRegistry(folder / "applications.json")
            key = rsa_key() if ROLES[msp_id] is Role.HOSPITAL else ec_key()
            application = Application.new(
                f"erp-{msp_id}", role=ROLES[msp_id].value, identity="client", public_key_pem=public_pem(key)
            )
            registry.add(application)
            audit = AuditLog(folder / "audit.jsonl")
            app = create_app(
                member, registry, ServiceState(folder / "state.sqlite"), audit, limits=self.limits
            )
            self.members[msp_id] = member
            self.audits[msp_id] = audit
            self.registries[msp_id] = registry
            self.clients[msp_id] = SignedClient(
                TestClient(app), application.app_id, key, application.algorithm
            )
        return self.clients[msp_id]
