"""``PharmaContract``: the pharma transactions on the ``fabrx_chaincode`` runtime.

A thin binding: each transaction parses its string arguments, runs one :class:`PharmaService` method
and returns its result as JSON. Private records travel in the transient map (key ``record``; the
hospital's verification requests under ``requests``), never in the arguments, so trade terms and
patient data never enter the proposal stored in the block.

The service and the rules are synchronous (``fabrx_pharma.LedgerView`` is), the runtime's stub is
asynchronous. Each transaction therefore runs the service in a worker thread, and
:class:`StubStore` hands every ledger call back to the server's event loop and waits for it. Ledger
calls of one transaction still run one at a time, in call order.

Errors: a refusal becomes a ``TransactionError`` whose message is the refusal's
(``"<CODE> <field>: <message>"``) and whose payload is ``{"code", "field", "message"}`` as JSON;
status 400 for rule and record refusals, 403 for access, 404 for missing records, 500 for
configuration problems.

Configuration: ``FABRX_PHARMA_REGULATORS`` (comma-separated MSP ids, default ``RegulatorMSP``) names
who may bootstrap the chaincode.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from fabrx_chaincode import Context, Contract, TransactionError, evaluate, submit
from fabrx_chaincode.iterators import StateQueryIterator

from .encoding import encode
from .errors import AccessDenied, ChaincodeError, ConfigurationError, NotFound, RecordRefused
from .layout import policy_to_json
from .service import DEFAULT_REGULATORS, PharmaService
from .verification import requests_from_json

__all__ = ["REGULATORS_VARIABLE", "REQUESTS_TRANSIENT_KEY", "PharmaContract", "StubStore"]

T = TypeVar("T")

REGULATORS_VARIABLE = "FABRX_PHARMA_REGULATORS"
REQUESTS_TRANSIENT_KEY = "requests"


class StubStore:
    """A :class:`~fabrx_pharma_chaincode.store.StateStore` over a ``fabrx_chaincode`` transaction context.

    Its methods are called from a worker thread; each ledger call runs on ``loop`` and is awaited there.
    Point reads are remembered for the transaction: a read returns the committed value whatever the
    transaction wrote, so asking the peer twice can only cost a round trip (the rules read the
    submitter's party record and counters many times per record).
    """

    def __init__(self, ctx: Context, loop: asyncio.AbstractEventLoop) -> None:
        self._ctx = ctx
        self._stub = ctx.stub
        self._loop = loop
        self._reads: dict[tuple[str, str, str], bytes | None] = {}

    def _read(
        self, kind: str, collection: str, key: str, call: Callable[[], Coroutine[Any, Any, bytes]]
    ) -> bytes | None:
        marker = (kind, collection, key)
        if marker not in self._reads:
            # The stub returns b"" for a missing key (Fabric stores no empty values).
            self._reads[marker] = self._wait(call()) or None
        return self._reads[marker]

    def _wait(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    @property
    def transaction_id(self) -> str:
        return self._stub.transaction_id

    @property
    def timestamp(self) -> datetime:
        return self._stub.timestamp

    @property
    def creator_msp_id(self) -> str:
        return self._ctx.client_identity.msp_id

    def creator_attribute(self, name: str) -> str | None:
        return self._ctx.client_identity.get_attribute_value(name)

    def transient(self, key: str) -> bytes | None:
        return self._stub.transient.get(key)

    def get_state(self, key: str) -> bytes | None:
        return self._read("state", "", key, lambda: self._stub.get_state(key))

    def put_state(self, key: str, value: bytes) -> None:
        self._wait(self._stub.put_state(key, value))

    def scan_state(self, object_type: str, attributes: Sequence[str] = ()) -> Iterator[tuple[str, bytes]]:
        return iter(
            self._wait(_drain(self._stub.get_state_by_partial_composite_key(object_type, attributes)))
        )

    def get_private_data(self, collection: str, key: str) -> bytes | None:
        return self._read("private", collection, key, lambda: self._stub.get_private_data(collection, key))

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        self._wait(self._stub.put_private_data(collection, key, value))

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        return self._read("hash", collection, key, lambda: self._stub.get_private_data_hash(collection, key))

    def scan_private_data(
        self, collection: str, object_type: str, attributes: Sequence[str] = ()
    ) -> Iterator[tuple[str, bytes]]:
        query = self._stub.get_private_data_by_partial_composite_key(collection, object_type, attributes)
        return iter(self._wait(_drain(query)))

    def set_event(self, name: str, payload: bytes) -> None:
        self._stub.set_event(name, payload)


async def _drain(query: Coroutine[Any, Any, StateQueryIterator]) -> list[tuple[str, bytes]]:
    async with await query as results:
        return [(kv.key, kv.value) async for kv in results]


def _status(error: ChaincodeError) -> int:
    if isinstance(error, AccessDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, ConfigurationError):
        return 500
    return 400


def _transaction_error(error: ChaincodeError) -> TransactionError:
    payload = json.dumps(
        {"code": error.code, "field": error.field, "message": error.message}, ensure_ascii=False
    ).encode("utf-8")
    return TransactionError(str(error), status=_status(error), payload=payload)


def _moment(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RecordRefused("query", [(field, f"{text!r} is not an ISO 8601 time with a UTC offset")])
    return moment


def _regulators() -> tuple[str, ...]:
    configured = os.environ.get(REGULATORS_VARIABLE, "")
    names = tuple(name.strip() for name in configured.split(",") if name.strip())
    return names or DEFAULT_REGULATORS


class PharmaContract(Contract):
    """The two-invoice supervision transactions (see :class:`PharmaService` for their semantics)."""

    name = "pharma"
    version = "1.0"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._bootstrap_regulators = _regulators()

    async def _run(self, ctx: Context, action: Callable[[PharmaService], object]) -> bytes:
        store = StubStore(ctx, asyncio.get_running_loop())

        def work() -> bytes:
            result = action(PharmaService(store, bootstrap_regulators=self._bootstrap_regulators))
            return result if isinstance(result, bytes) else encode(result)

        try:
            return await asyncio.to_thread(work)
        except ChaincodeError as error:
            raise _transaction_error(error) from None

    # --- setup ---------------------------------------------------------------------------------------------

    @submit
    async def bootstrap(self, ctx: Context, regulator: str, policy: str | None = None) -> bytes:
        return await self._run(ctx, lambda s: s.bootstrap(regulator, policy))

    @submit
    async def set_policy(self, ctx: Context, policy: str) -> bytes:
        return await self._run(ctx, lambda s: policy_to_json(s.set_policy(policy)))

    @evaluate
    async def read_policy(self, ctx: Context) -> bytes:
        return await self._run(ctx, lambda s: policy_to_json(s.read_policy()))

    # --- writes --------------------------------------------------------------------------------------------

    @submit
    async def register_party(self, ctx: Context, party: str) -> bytes:
        return await self._run(ctx, lambda s: s.register_party(party))

    @submit
    async def register_product(self, ctx: Context, product: str) -> bytes:
        return await self._run(ctx, lambda s: s.register_product(product))

    @submit
    async def record_batch(self, ctx: Context) -> bytes:
        return await self._run(ctx, PharmaService.record_batch)

    @submit
    async def issue_invoice(self, ctx: Context) -> bytes:
        return await self._run(ctx, PharmaService.issue_invoice)

    @submit
    async def record_receipt(self, ctx: Context) -> bytes:
        return await self._run(ctx, PharmaService.record_receipt)

    @submit
    async def record_prescription(self, ctx: Context) -> bytes:
        return await self._run(ctx, PharmaService.record_prescription)

    @submit
    async def report_adverse_event(self, ctx: Context) -> bytes:
        return await self._run(ctx, PharmaService.report_adverse_event)

    @submit
    async def recall_batch(self, ctx: Context, recall: str) -> bytes:
        return await self._run(ctx, lambda s: s.recall_batch(recall))

    # --- reads ---------------------------------------------------------------------------------------------

    @evaluate
    async def read_anchor(
        self, ctx: Context, record_type: str, key: str, batch_number: str | None = None
    ) -> bytes:
        parts = (key,) if batch_number is None else (key, batch_number)
        return await self._run(ctx, lambda s: s.read_anchor(record_type, *parts))

    @evaluate
    async def read_party(self, ctx: Context, msp_id: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_party(msp_id))

    @evaluate
    async def read_product(self, ctx: Context, product_id: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_product(product_id))

    @evaluate
    async def read_batch(self, ctx: Context, product_id: str, batch_number: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_batch(product_id, batch_number))

    @evaluate
    async def read_recall(self, ctx: Context, product_id: str, batch_number: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_recall(product_id, batch_number))

    @evaluate
    async def read_invoice(self, ctx: Context, number: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_invoice(number))

    @evaluate
    async def read_receipt(self, ctx: Context, invoice_number: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_receipt(invoice_number))

    @evaluate
    async def read_prescription(self, ctx: Context, prescription_id: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_prescription(prescription_id))

    @evaluate
    async def read_adverse_event(self, ctx: Context, report_id: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_adverse_event(report_id))

    @evaluate
    async def read_stock(self, ctx: Context, holder: str, product_id: str, batch_number: str) -> bytes:
        return await self._run(ctx, lambda s: s.read_stock(holder, product_id, batch_number))

    @evaluate
    async def trace_code_status(self, ctx: Context, trace_code: str) -> bytes:
        return await self._run(ctx, lambda s: s.trace_code_status(trace_code))

    # --- hospital and regulator ----------------------------------------------------------------------------

    @evaluate
    async def verify_invoices(self, ctx: Context) -> bytes:
        """Requests come in the transient map under ``requests``: the first-invoice copies carry the
        manufacturer–distributor trade terms."""
        raw = ctx.stub.transient.get(REQUESTS_TRANSIENT_KEY)

        def action(service: PharmaService) -> object:
            if raw is None:
                raise RecordRefused(
                    "verification request",
                    [(f"<transient:{REQUESTS_TRANSIENT_KEY}>", "no requests were sent")],
                )
            return service.verify_invoices(requests_from_json(raw))

        return await self._run(ctx, action)

    @evaluate
    async def compliance_report(self, ctx: Context, as_of: str | None = None) -> bytes:
        return await self._run(ctx, lambda s: s.compliance_report(_moment(as_of, "as_of")))

    @evaluate
    async def diversion_signals(self, ctx: Context, as_of: str | None = None) -> bytes:
        return await self._run(ctx, lambda s: s.diversion_signals(_moment(as_of, "as_of")))

    @evaluate
    async def trace(
        self, ctx: Context, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> bytes:
        # Arguments are positional: a client tracing a patient sends "" as the prescription id.
        return await self._run(
            ctx,
            lambda s: s.trace(
                prescription_id=prescription_id or None, patient_pseudonym=patient_pseudonym or None
            ),
        )

    @evaluate
    async def recall_scope(self, ctx: Context, product_id: str, batch_number: str) -> bytes:
        return await self._run(ctx, lambda s: s.recall_scope(product_id, batch_number))
