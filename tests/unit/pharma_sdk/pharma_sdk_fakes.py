"""Fakes at the contract seam for the pharma facades: a recording contract and one backed by the real
``PharmaContract`` on ``fabrx_chaincode``'s in-memory ledger."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx import EndorseError, ErrorDetail, GatewayError
from fabrx_chaincode import MemoryLedger, serialize_identity
from fabrx_chaincode.identity import ATTRIBUTES_OID
from fabrx_pharma_chaincode.contract import PharmaContract

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
ROLES = {
    "RegulatorMSP": "regulator",
    "ManufacturerMSP": "manufacturer",
    "DistributorAMSP": "distributor",
    "DistributorBMSP": "distributor",
    "HospitalAMSP": "hospital",
    "HospitalBMSP": "hospital",
}


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


def refusal(status: int, text: str, *, cls: type[GatewayError] = EndorseError) -> GatewayError:
    """A Gateway error as a peer reports a chaincode refusal."""
    detail = ErrorDetail("127.0.0.1:7066", "RegulatorMSP", f"chaincode response {status}, {text}")
    return cls(
        "endorse failed: ABORTED: failed to collect enough endorsements", code="ABORTED", details=(detail,)
    )


@cache
def creator(msp_id: str) -> bytes:
    """A client certificate carrying ``fabrx.role`` the way Fabric CA adds attributes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client.{msp_id}")])
    attrs = json.dumps({"attrs": {"fabrx.role": ROLES[msp_id]}}).encode()
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
    """The real ``PharmaContract`` on an in-memory ledger, called as ``msp_id``'s client."""

    def __init__(self, ledger: MemoryLedger, msp_id: str) -> None:
        self._ledger = ledger
        self._msp_id = msp_id

    def _call(self, submit: bool, name: str, args: tuple[str | bytes, ...], transient: object) -> bytes:
        run = self._ledger.submit_sync if submit else self._ledger.evaluate_sync
        options = {"creator": creator(self._msp_id), "transient": dict(transient or {}), "timestamp": NOW}  # type: ignore[call-overload]
        response = run("pharma", name, *args, **options)
        if response.status >= 400:
            raise refusal(response.status, response.message)
        return response.payload

    def submit_transaction(self, name: str, *args: str | bytes, **options: object) -> bytes:
        return self._call(True, name, args, options.get("transient"))

    def evaluate_transaction(self, name: str, *args: str | bytes, **options: object) -> bytes:
        return self._call(False, name, args, options.get("transient"))


def memory_ledger() -> MemoryLedger:
    ledger = MemoryLedger(channel_id="pharma")
    ledger.deploy("pharma", [PharmaContract()])
    return ledger
