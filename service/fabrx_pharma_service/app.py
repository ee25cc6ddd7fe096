"""The HTTP API of one member organization: signed JSON requests in, the pharma facades behind.

:func:`create_app` builds the ASGI application (FastAPI). Each request goes through the same steps:

1. the body is read up to :attr:`ServiceLimits.max_body_bytes` (413 beyond);
2. the signature is verified (:mod:`.signatures`; 401, nothing else happens);
3. the application's role must be one the operation allows (403);
4. a write with an ``Idempotency-Key`` answers what the first request with that key was answered, or
   409 if the key came with another request (:mod:`.state`);
5. the body is parsed (422 if it is not JSON, 400 ``RECORD`` listing every bad field) and the facade is
   called through the application's Fabric identity;
6. the outcome is written to the audit log (:mod:`.audit`).

Library errors become one JSON error body in one place, :func:`service_error` (see :mod:`.errors`).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from fabrx_pharma import (
    AdverseEvent,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    RecordError,
    Role,
)
from fabrx_pharma.policy import policy_from_json, policy_to_json
from fabrx_pharma.records import Record

from .applications import Application, ApplicationRegistry
from .audit import AuditEntry, AuditLog
from .errors import (
    Forbidden,
    MalformedRequest,
    PayloadTooLarge,
    Refused,
    ServiceError,
)
from .members import Member
from .portal import Portal, portal_router
from .results import jsonable
from .schemas import component_schemas
from .signatures import RequestVerifier, claimed_key_id
from .state import ServiceState, StoredResponse, fingerprint
from .supervision import SOURCE_HEADER, StoreQueries, SupervisionLike
from .translation import service_error

__all__ = [
    "API_VERSION",
    "ServiceLimits",
    "create_app",
    "iter_operations",
    "openapi_document",
    "service_error",
    "service_openapi",
]

API_VERSION = "1.0.0"
R = TypeVar("R", bound=Record)

ALL_ROLES = frozenset(Role)
REGULATOR = frozenset({Role.REGULATOR})
MANUFACTURER = frozenset({Role.MANUFACTURER})
HOSPITAL = frozenset({Role.HOSPITAL})


WRITES: dict[str, tuple[frozenset[Role], type[Record]]] = {
    "register_party": (REGULATOR, Party),
    "register_product": (MANUFACTURER, Product),
    "record_batch": (MANUFACTURER, Batch),
    "issue_invoice": (frozenset({Role.MANUFACTURER, Role.DISTRIBUTOR}), Invoice),
    "record_receipt": (frozenset({Role.DISTRIBUTOR, Role.HOSPITAL}), Receipt),
    "record_prescription": (HOSPITAL, Prescription),
    "report_adverse_event": (HOSPITAL, AdverseEvent),
    "recall_batch": (frozenset({Role.REGULATOR, Role.MANUFACTURER}), Recall),
}
"""Every record write: the roles allowed and the record it takes. The name is the facade method's."""
MAX_BULK_WRITES = 100


@dataclass(frozen=True)
class ServiceLimits:
    """What the service accepts: body size, signature age and clock skew."""

    max_body_bytes: int = 2 << 20
    """Largest request body (2 MiB: a record is at most 1 MiB, a verification carries several copies)."""
    signature_max_age: timedelta = timedelta(minutes=5)
    clock_skew: timedelta = timedelta(seconds=30)


@dataclass
class Call:
    """One authenticated request: the application, the raw body and the idempotency key."""

    application: Application
    method: str
    path: str
    body: bytes
    idempotency_key: str | None


def _error_response(error: ServiceError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


class _Api:
    """The request steps shared by every route (see the module doc)."""

    def __init__(
        self,
        member: Member,
        registry: ApplicationRegistry,
        state: ServiceState,
        audit: AuditLog,
        limits: ServiceLimits,
    ) -> None:
        self.member = member
        self.state = state
        self.audit = audit
        self.limits = limits
        self.verifier = RequestVerifier(
            registry, state, max_age=limits.signature_max_age, clock_skew=limits.clock_skew
        )

    async def authenticate(self, request: Request) -> Call:
        body = await _read_body(request, self.limits.max_body_bytes)
        scope = request.scope
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        host = request.headers.get("host", "localhost")
        url = f"{scope.get('scheme', 'https')}://{host}{raw_path.decode('latin-1')}"
        if query:
            url += "?" + query.decode("latin-1")
        verified = self.verifier.verify(request.method, url, request.headers.items(), body)
        return Call(
            application=verified.application,
            method=request.method,
            path=scope["path"],
            body=body,
            idempotency_key=request.headers.get("idempotency-key"),
        )

    def allow(self, call: Call, operation: str, roles: frozenset[Role]) -> None:
        role = call.application.role
        if role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(
                "FORBIDDEN",
                "role",
                f"application {call.application.app_id} has role {role.value}; {operation} is for {allowed}",
            )

    def record_outcome(
        self, call: Call, operation: str, key: str, transaction_id: str, status: int, outcome: str
    ) -> None:
        app = call.application
        self.audit.record(
            AuditEntry(app.app_id, app.identity, operation, key, transaction_id, status, outcome)
        )

    def run(
        self,
        call: Call,
        operation: str,
        roles: frozenset[Role],
        action: Callable[[Any], tuple[Any, str, str]],
        *,
        status: int = 200,
        key: str = "",
        write: bool = False,
        headers: Callable[[], dict[str, str]] | None = None,
    ) -> Response:
        """Run ``action(facade) -> (result, record key, transaction id)`` for an allowed application;
        writes go through the idempotency store."""
        claimed = None
        try:
            self.allow(call, operation, roles)
            if write and call.idempotency_key:
                claimed = call.idempotency_key
                _check_key(claimed)
                stored = self.state.begin(
                    call.application.app_id, claimed, fingerprint(call.method, call.path, call.body)
                )
                if stored is not None:
                    claimed = None
                    self.record_outcome(call, operation, key, "", stored.status, "replayed")
                    return Response(
                        stored.body,
                        status_code=stored.status,
                        media_type="application/json",
                        headers={"Idempotent-Replayed": "true"},
                    )
            facade = self.member.facade(call.application.identity, call.application.role)
            result, record_key, transaction_id = action(facade)
        except Exception as exc:
            error = service_error(exc)
            if claimed is not None:
                final = not error.retryable and error.status < 500
                self.state.finish(
                    call.application.app_id,
                    claimed,
                    StoredResponse(error.status, _dumps(error.body())) if final else None,
                )
            self.record_outcome(call, operation, key, error.transaction_id, error.status, error.code)
            raise error from exc
        body = _dumps(jsonable(result))
        if claimed is not None:
            self.state.finish(call.application.app_id, claimed, StoredResponse(status, body))
        self.record_outcome(call, operation, record_key or key, transaction_id, status, "ok")
        return Response(
            body, status_code=status, media_type="application/json", headers=headers() if headers else None
        )


def _check_key(key: str) -> None:
    if not (1 <= len(key) <= 255) or not key.isascii() or not key.isprintable():
        raise MalformedRequest("IDEMPOTENCY_KEY", "Idempotency-Key", "use 1-255 printable ASCII characters")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("TOO_LARGE", "body", f"the body is {declared} bytes; the service takes {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("TOO_LARGE", "body", f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json(call: Call) -> Any:
    try:
        return json.loads(call.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest("MALFORMED_JSON", "body", f"the body is not UTF-8 JSON: {exc}") from None


def _record(call: Call, cls: type[R]) -> R:
    _json(call)
    return cls.from_json(call.body)


def _change(change: Any) -> dict[str, Any]:
    return {
        "transaction_id": change.transaction_id,
        "timestamp": change.timestamp.isoformat() if change.timestamp else None,
        "is_delete": change.is_delete,
        "value": change.value,
    }


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused("RECORD", name, f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Refused("RECORD", name, "give the time with its UTC offset, e.g. 2025-06-30T00:00:00+08:00")
    return moment


_BODY = "#/components/schemas/"


def _body(schema: str, description: str = "") -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _BODY + schema}}},
        }
    }


def _answers(schema: str | None, status: int = 200, *, array: bool = False) -> dict[int | str, Any]:
    answers: dict[int | str, Any] = {
        code: {"description": text, "content": {"application/json": {"schema": {"$ref": _BODY + "Error"}}}}
        for code, text in _ERRORS.items()
    }
    content: dict[str, Any] = {}
    if schema is not None:
        item = {"$ref": _BODY + schema}
        content = {"application/json": {"schema": {"type": "array", "items": item} if array else item}}
    answers[status] = {"description": "the result", "content": content}
    return answers


_ERRORS = {
    400: "refused by a two-invoice rule or as a malformed record (code, field)",
    401: "unsigned, bad or expired signature, replayed nonce, clock skew",
    403: "the application's role or organization may not do this",
    404: "nothing stored under that key",
    409: "idempotency key reused with another body, record exists, or transaction invalidated (retry)",
    413: "body too large",
    422: "body is not JSON, or not the JSON the operation takes",
    502: "a peer or orderer answered with an error: retry with the same idempotency key",
    503: "the member's peer cannot be reached: retry with the same idempotency key",
}


def create_app(
    member: Member,
    registry: ApplicationRegistry,
    state: ServiceState,
    audit: AuditLog,
    *,
    limits: ServiceLimits | None = None,
    portal: Portal | None = None,
    supervision: SupervisionLike | None = None,
) -> FastAPI:
    """The service of ``member``: its applications in ``registry``, nonces and idempotency in ``state``,
    every request in ``audit``; with ``portal``, the portal's pages under ``/portal``; with
    ``supervision``, the regulator's report, diversion signals, traces and recall scopes answered from
    that supervision store instead of the chaincode."""
    api = _Api(member, registry, state, audit, limits or ServiceLimits())
    app = FastAPI(
        title="fabrx pharma service",
        version=API_VERSION,
        summary="One member organization's signed HTTP interface to the two-invoice supervision ledger.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/v1/openapi.json",
        generate_unique_id_function=lambda route: route.name,
    )

    @app.exception_handler(ServiceError)
    async def _refused(request: Request, error: ServiceError) -> JSONResponse:
        if error.status in (401, 413):  # refused before any application was known to the route
            claimed = claimed_key_id(request.headers.get("signature-input"))
            api.audit.record(
                AuditEntry(
                    f"unverified:{claimed}" if claimed else "",
                    "",
                    f"{request.method} {request.url.path}",
                    "",
                    "",
                    error.status,
                    error.code,
                )
            )
        return _error_response(error)

    signed = Depends(api.authenticate)

    def write(
        call: Call, operation: str, roles: frozenset[Role], cls: type[R], action: Callable[[Any, R], Any]
    ) -> Response:
        def run(facade: Any) -> tuple[Any, str, str]:
            record = _record(call, cls)
            anchor = action(facade, record)
            return anchor, record.key, anchor.transaction_id

        return api.run(call, operation, roles, run, status=201, write=True)

    def read(
        call: Call, operation: str, key: str, action: Callable[[Any], Any], roles: frozenset[Role] = ALL_ROLES
    ) -> Response:
        return api.run(call, operation, roles, lambda facade: (action(facade), key, ""), key=key)

    # --- writes -------------------------------------------------------------------------------------------

    @app.post("/v1/parties", status_code=201, openapi_extra=_body("Party"), responses=_answers("Anchor", 201))
    def register_party(call: Call = signed) -> Response:
        """Register (or update) a party with its role (regulator)."""
        return write(call, "register_party", REGULATOR, Party, lambda f, r: f.register_party(r))

    @app.put("/v1/policy", openapi_extra=_body("Policy"), responses=_answers("Policy"))
    def set_policy(call: Call = signed) -> Response:
        """Set the two-invoice policy in force (regulator)."""

        def run(facade: Any) -> tuple[Any, str, str]:
            body = _json(call)
            try:
                policy = policy_from_json(json.dumps(body))
            except (ValueError, TypeError, KeyError) as exc:
                raise Refused("RECORD", "policy", str(exc)) from None
            return json.loads(policy_to_json(facade.set_policy(policy))), "policy", ""

        return api.run(call, "set_policy", REGULATOR, run, write=True, key="policy")

    @app.post(
        "/v1/products", status_code=201, openapi_extra=_body("Product"), responses=_answers("Anchor", 201)
    )
    def register_product(call: Call = signed) -> Response:
        """Register a product (manufacturer)."""
        return write(call, "register_product", MANUFACTURER, Product, lambda f, r: f.register_product(r))

    @app.post("/v1/batches", status_code=201, openapi_extra=_body("Batch"), responses=_answers("Anchor", 201))
    def record_batch(call: Call = signed) -> Response:
        """Record a production batch with its raw-material lots (manufacturer; lots stay private)."""
        return write(call, "record_batch", MANUFACTURER, Batch, lambda f, r: f.record_batch(r))

    @app.post(
        "/v1/invoices",
        status_code=201,
        openapi_extra=_body("Invoice", "first or direct (manufacturer), second or transfer (distributor)"),
        responses=_answers("Anchor", 201),
    )
    def issue_invoice(call: Call = signed) -> Response:
        """Issue an invoice with its shipment: first or direct invoices (manufacturer), second or transfer
        invoices (distributor)."""
        roles = frozenset({Role.MANUFACTURER, Role.DISTRIBUTOR})
        return write(call, "issue_invoice", roles, Invoice, lambda f, r: f.issue_invoice(r))

    @app.post(
        "/v1/receipts", status_code=201, openapi_extra=_body("Receipt"), responses=_answers("Anchor", 201)
    )
    def record_receipt(call: Call = signed) -> Response:
        """Record the inbound receipt of an invoice addressed to this organization (distributor, hospital)."""
        roles = frozenset({Role.DISTRIBUTOR, Role.HOSPITAL})
        return write(call, "record_receipt", roles, Receipt, lambda f, r: f.record_receipt(r))

    @app.post(
        "/v1/prescriptions",
        status_code=201,
        openapi_extra=_body("Prescription"),
        responses=_answers("Anchor", 201),
    )
    def record_prescription(call: Call = signed) -> Response:
        """Record a prescription and its dispensing (hospital; patients by pseudonym only)."""
        return write(
            call, "record_prescription", HOSPITAL, Prescription, lambda f, r: f.record_prescription(r)
        )

    @app.post(
        "/v1/adverse-events",
        status_code=201,
        openapi_extra=_body("AdverseEvent"),
        responses=_answers("Anchor", 201),
    )
    def report_adverse_event(call: Call = signed) -> Response:
        """Report an adverse reaction to a drug this hospital dispensed (hospital)."""
        return write(
            call, "report_adverse_event", HOSPITAL, AdverseEvent, lambda f, r: f.report_adverse_event(r)
        )

    @app.post(
        "/v1/recalls", status_code=201, openapi_extra=_body("Recall"), responses=_answers("Anchor", 201)
    )
    def recall_batch(call: Call = signed) -> Response:
        """Recall a batch (regulator, or the batch's manufacturer)."""
        roles = frozenset({Role.REGULATOR, Role.MANUFACTURER})
        return write(call, "recall_batch", roles, Recall, lambda f, r: f.recall_batch(r))

    @app.post(
        "/v1/bulk",
        openapi_extra=_body("BulkRequest"),
        responses=_answers("BulkResult"),
    )
    def bulk_write(call: Call = signed) -> Response:
        """Several record writes in one request, run one after the other (each committed before the
        next); each answered on its own. An item may carry its own ``idempotency_key``."""
        if call.idempotency_key is not None:
            raise MalformedRequest(
                "IDEMPOTENCY_KEY",
                "Idempotency-Key",
                "a bulk request takes an idempotency_key per write instead",
            )
        items = _bulk_items(_json(call))
        results = []
        for index, item in enumerate(items):
            operation = item["operation"]
            roles, cls = WRITES[operation]
            body = json.dumps(item["record"], ensure_ascii=False).encode("utf-8")
            single = dataclasses.replace(
                call, path=f"{call.path}#{operation}", body=body, idempotency_key=item.get("idempotency_key")
            )

            def action(facade: Any, record: Any, op: str = operation) -> Any:
                return getattr(facade, op)(record)

            try:
                answer = write(single, operation, roles, cls, action)
            except ServiceError as error:
                results.append({"index": index, "status": error.status, "error": error.body()})
                continue
            results.append(
                {"index": index, "status": answer.status_code, "anchor": json.loads(bytes(answer.body))}
            )
        return Response(_dumps({"results": results}), media_type="application/json")

    # --- reads anyone may make ----------------------------------------------------------------------------

    @app.get("/v1/parties/{party_id}", responses=_answers("Party"))
    def read_party(party_id: str, call: Call = signed) -> Response:
        return read(call, "read_party", party_id, lambda f: f.read_party(party_id))

    @app.get("/v1/products/{product_id}", responses=_answers("Product"))
    def read_product(product_id: str, call: Call = signed) -> Response:
        return read(call, "read_product", product_id, lambda f: f.read_product(product_id))

    @app.get("/v1/batches/{product_id}/{batch_number}", responses=_answers("Batch"))
    def read_batch(product_id: str, batch_number: str, call: Call = signed) -> Response:
        """A batch; its raw-material lots only for its manufacturer and the regulator."""
        key = f"{product_id}/{batch_number}"
        return read(call, "read_batch", key, lambda f: f.read_batch(product_id, batch_number))

    @app.get("/v1/recalls/{product_id}/{batch_number}", responses=_answers("Recall"))
    def read_recall(product_id: str, batch_number: str, call: Call = signed) -> Response:
        key = f"{product_id}/{batch_number}"
        return read(call, "read_recall", key, lambda f: f.read_recall(product_id, batch_number))

    @app.get("/v1/anchors/{record_type}/{key}", responses=_answers("Anchor"))
    def read_anchor(
        record_type: str, key: str, call: Call = signed, batch_number: str | None = None
    ) -> Response:
        """The public anchor of any record (``invoice``, ``receipt``, ``prescription`` ...)."""
        return read(
            call,
            "read_anchor",
            f"{record_type}/{key}",
            lambda f: f.read_anchor(record_type, key, batch_number),
        )

    @app.get("/v1/policy", responses=_answers("Policy"))
    def read_policy(call: Call = signed) -> Response:
        return read(call, "read_policy", "policy", lambda f: json.loads(policy_to_json(f.read_policy())))

    @app.get("/v1/trace-codes/{trace_code}", responses=_answers("TraceCodeStatus"))
    def trace_code_status(trace_code: str, call: Call = signed) -> Response:
        """Whether a package's traceability code was already dispensed (回流药 check)."""
        return read(call, "trace_code_status", trace_code, lambda f: f.trace_code_status(trace_code))

    @app.get("/v1/transactions/{transaction_id}", responses=_answers("TransactionStatus"))
    def transaction_status(transaction_id: str, call: Call = signed) -> Response:
        """How a submitted transaction ended on the member's peer (validation code, block)."""
        identity = call.application.identity
        return api.run(
            call,
            "transaction_status",
            ALL_ROLES,
            lambda _: (
                member.transaction_status(identity, transaction_id).to_dict(),
                transaction_id,
                transaction_id,
            ),
            key=transaction_id,
        )

    # --- reads for the parties of a trade and the regulator -------------------------------------------------

    @app.get("/v1/invoices/{number}", responses=_answers("Invoice"))
    def read_invoice(number: str, call: Call = signed) -> Response:
        """The full invoice: for its seller, its buyer and the regulator (403 otherwise)."""
        return read(call, "read_invoice", number, lambda f: f.read_invoice(number))

    @app.get("/v1/receipts/{invoice_number}", responses=_answers("Receipt"))
    def read_receipt(invoice_number: str, call: Call = signed) -> Response:
        return read(call, "read_receipt", invoice_number, lambda f: f.read_receipt(invoice_number))

    @app.get("/v1/prescriptions/{prescription_id}", responses=_answers("Prescription"))
    def read_prescription(prescription_id: str, call: Call = signed) -> Response:
        return read(
            call, "read_prescription", prescription_id, lambda f: f.read_prescription(prescription_id)
        )

    @app.get("/v1/adverse-events/{report_id}", responses=_answers("AdverseEvent"))
    def read_adverse_event(report_id: str, call: Call = signed) -> Response:
        return read(call, "read_adverse_event", report_id, lambda f: f.read_adverse_event(report_id))

    @app.get("/v1/stock/{product_id}/{batch_number}", responses=_answers("StockPosition"))
    def read_stock(
        product_id: str, batch_number: str, call: Call = signed, holder: str | None = None
    ) -> Response:
        """A holder's stock of a batch (own organization by default)."""
        key = f"{holder or member.msp_id}/{product_id}/{batch_number}"
        return read(call, "read_stock", key, lambda f: f.read_stock(product_id, batch_number, holder=holder))

    # --- verification and supervision ---------------------------------------------------------------------

    @app.post(
        "/v1/verifications",
        openapi_extra=_body("VerificationRequest"),
        responses=_answers("InvoiceVerification", array=True),
    )
    def verify_invoices(call: Call = signed) -> Response:
        """Verify invoices of any suppliers in one call (hospital, with the first-invoice copies the
        sellers handed over; regulator, by number). Nothing is written."""
        role = call.application.role

        def run(facade: Any) -> tuple[Any, str, str]:
            requests = _verification_requests(_json(call))
            if role is Role.REGULATOR:
                return facade.verify_invoices(list(requests)), ",".join(requests), ""
            return facade.verify_invoices(requests), ",".join(requests), ""

        return api.run(call, "verify_invoices", frozenset({Role.HOSPITAL, Role.REGULATOR}), run)

    queries = None if supervision is None else StoreQueries(supervision)

    def supervise(call: Call, operation: str, key: str, action: Callable[[Any], Any]) -> Response:
        """A regulator's query, from the supervision store when there is one, else from the chaincode."""
        if queries is None:
            return read(call, operation, key, action, REGULATOR)
        return api.run(
            call,
            operation,
            REGULATOR,
            lambda _: (action(queries), key, ""),
            key=key,
            headers=lambda: {SOURCE_HEADER: queries.source()},
        )

    @app.get("/v1/compliance-report", responses=_answers("Finding", array=True))
    def compliance_report(call: Call = signed, as_of: str | None = None) -> Response:
        """Every finding on the ledger with its reason (regulator)."""
        moment = _moment(as_of, "as_of")
        return supervise(call, "compliance_report", "", lambda q: q.compliance_report(as_of=moment))

    @app.get("/v1/diversion-signals", responses=_answers("Finding", array=True))
    def diversion_signals(call: Call = signed, as_of: str | None = None) -> Response:
        """The findings that signal diversion, sales beyond stock or resale (regulator)."""
        moment = _moment(as_of, "as_of")
        return supervise(call, "diversion_signals", "", lambda q: q.diversion_signals(as_of=moment))

    @app.get("/v1/traces", responses=_answers("Trace", array=True))
    def trace(
        call: Call = signed, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> Response:
        """Trace a prescription, or every prescription of a patient pseudonym, back to the batch, the
        manufacturer, its raw-material lots and the invoice chain (regulator). The pseudonym is never
        written to the audit log."""
        key = prescription_id or "patient"
        return supervise(
            call,
            "trace",
            key,
            lambda q: q.trace(prescription_id=prescription_id, patient_pseudonym=patient_pseudonym),
        )

    @app.get("/v1/recall-scope/{product_id}/{batch_number}", responses=_answers("RecallScope"))
    def recall_scope(product_id: str, batch_number: str, call: Call = signed) -> Response:
        """Every distributor, hospital, invoice and prescription a batch reached (regulator)."""
        key = f"{product_id}/{batch_number}"
        return supervise(call, "recall_scope", key, lambda q: q.recall_scope(product_id, batch_number))

    def history(call: Call, operation: str, key: str, action: Callable[[Any], Any]) -> Response:
        """A regulator's history query, always from the chaincode (the peer's history database)."""
        return read(call, operation, key, lambda f: [_change(c) for c in action(f)], REGULATOR)

    @app.get("/v1/history/policy", responses=_answers("Change", array=True))
    def policy_history(call: Call = signed) -> Response:
        """Every change of the two-invoice policy, newest first; each in force from its time (regulator)."""
        return history(call, "policy_history", "policy", lambda f: f.policy_history())

    @app.get("/v1/history/parties/{party_id}", responses=_answers("Change", array=True))
    def party_history(party_id: str, call: Call = signed) -> Response:
        """Every registration of a party (first, updates, activation changes), newest first (regulator)."""
        return history(call, "party_history", party_id, lambda f: f.party_history(party_id))

    @app.get("/v1/history/records/{record_type}/{key}", responses=_answers("Change", array=True))
    def record_history(
        record_type: str, key: str, call: Call = signed, batch_number: str | None = None
    ) -> Response:
        """Every transaction that wrote a record's anchor, newest first (regulator)."""
        return history(
            call,
            "record_history",
            f"{record_type}/{key}",
            lambda f: f.record_history(record_type, key, batch_number),
        )

    @app.get("/v1/health", include_in_schema=True)
    def health() -> dict[str, str]:
        """Unsigned liveness check: the service runs (it does not call the network)."""
        return {"status": "ok", "member": member.msp_id}

    if portal is not None:
        app.include_router(portal_router(member, portal, audit, queries))
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def _bulk_items(body: Any) -> list[dict[str, Any]]:
    writes = body.get("writes") if isinstance(body, dict) else None
    if not isinstance(writes, list) or not 1 <= len(writes) <= MAX_BULK_WRITES:
        raise MalformedRequest(
            "MALFORMED_JSON",
            "writes",
            'send {"writes": [{"operation": ..., "record": {...}}, ...]} with 1-'
            + f"{MAX_BULK_WRITES} items",
        )
    for i, item in enumerate(writes):
        if not isinstance(item, dict) or item.get("operation") not in WRITES:
            raise MalformedRequest(
                "MALFORMED_JSON", f"writes[{i}].operation", f"one of {', '.join(sorted(WRITES))}"
            )
        if not isinstance(item.get("record"), dict):
            raise MalformedRequest("MALFORMED_JSON", f"writes[{i}].record", "give the record as an object")
        key = item.get("idempotency_key")
        if key is not None and not isinstance(key, str):
            raise MalformedRequest("MALFORMED_JSON", f"writes[{i}].idempotency_key", "give a string")
    return writes


def _verification_requests(body: Any) -> dict[str, list[Invoice]]:
    if not isinstance(body, dict) or not isinstance(body.get("invoices"), list) or not body["invoices"]:
        raise MalformedRequest(
            "MALFORMED_JSON", "invoices", 'send {"invoices": [{"number": ..., "first_invoices": [...]}]}'
        )
    requests: dict[str, list[Invoice]] = {}
    for i, entry in enumerate(body["invoices"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("number"), str):
            raise MalformedRequest(
                "MALFORMED_JSON", f"invoices[{i}].number", "give the invoice number as a string"
            )
        copies = entry.get("first_invoices", [])
        if not isinstance(copies, list):
            raise MalformedRequest(
                "MALFORMED_JSON", f"invoices[{i}].first_invoices", "give a list of invoices"
            )
        parsed = []
        for j, copy in enumerate(copies):
            try:
                parsed.append(Invoice.from_dict(copy, f"invoices[{i}].first_invoices[{j}]"))
            except RecordError as exc:
                raise service_error(exc) from None
        requests[entry["number"]] = parsed
    return requests


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3 document of the service: FastAPI's paths, the records' schemas, the signature scheme."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
            openapi_version="3.1.0",
        )
        document.setdefault("components", {})["schemas"] = component_schemas()
        document["components"]["securitySchemes"] = {
            "httpMessageSignature": {
                "type": "apiKey",
                "in": "header",
                "name": "Signature",
                "description": "RFC 9421 HTTP Message Signature with Signature-Input covering "
                '"@method" "@path" "@query", "content-digest" (RFC 9530) when there is a body and '
                '"idempotency-key" when sent; parameters created, nonce, keyid (the application id), alg. '
                "See docs/service.md.",
            }
        }
        document["components"]["parameters"] = _HEADER_PARAMETERS
        document["security"] = [{"httpMessageSignature": []}]
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if path == "/v1/health":
                    operation["security"] = []
                    continue
                names = ["SignatureInput"]
                if method in ("post", "put"):
                    names.append("ContentDigest")
                    if path not in ("/v1/verifications", "/v1/bulk"):
                        names.append("IdempotencyKey")
                refs = [{"$ref": f"#/components/parameters/{name}"} for name in names]
                operation["parameters"] = [*operation.get("parameters", []), *refs]
        app.openapi_schema = document
    return app.openapi_schema


_HEADER_PARAMETERS = {
    "SignatureInput": {
        "name": "Signature-Input",
        "in": "header",
        "required": True,
        "description": 'RFC 9421: sig1=("@method" "@path" "@query" ["idempotency-key"] ["content-digest"])'
        ';created=<unix seconds>;keyid="<application id>";alg="<algorithm>";nonce="<fresh random>"',
        "schema": {"type": "string"},
    },
    "ContentDigest": {
        "name": "Content-Digest",
        "in": "header",
        "required": True,
        "description": "RFC 9530: sha-256=:<base64 of SHA-256 of the body>: (covered by the signature)",
        "schema": {"type": "string"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "1-255 printable ASCII characters; the same key with the same request answers the "
        "first answer again, with another request 409 (covered by the signature when sent)",
        "schema": {"type": "string", "maxLength": 255},
    },
}


class _Unconnected:
    """A member stand-in for building the document without a network."""

    msp_id = "MemberMSP"

    def facade(self, identity: str, role: Role) -> Any:
        raise NotImplementedError("no network")

    def transaction_status(self, identity: str, transaction_id: str) -> Any:
        raise NotImplementedError("no network")

    def close(self) -> None:
        pass


def service_openapi() -> dict[str, Any]:
    """The OpenAPI document of the service, built without a network (``fabrx serve openapi``)."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        state = ServiceState(root / "state.sqlite")
        try:
            app = create_app(
                _Unconnected(),
                ApplicationRegistry(root / "applications.json"),
                state,
                AuditLog(root / "audit.jsonl"),
            )
            return openapi_document(app)
        finally:
            state.close()


def iter_operations(document: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """``(METHOD, path)`` of every operation in an OpenAPI document."""
    for path, item in document["paths"].items():
        for method in item:
            yield method.upper(), path
