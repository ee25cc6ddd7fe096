"""``PharmaContract``: the pharma transactions on the ``fabrx_chaincode`` runtime.

A thin binding: each transaction parses its string arguments, runs one :class:`PharmaService` method
and returns its result as JSON. Private records travel in the transient map (key ``record``; the
hospital's verification requests under ``requests``), never in the arguments, so trade terms and
patient data never enter the proposal stored in the block.

The service and the rules are synchronous (``fabrx_pharma.LedgerView`` is), the runtime's stub is
asynchronous. Each transaction therefore runs the service in a worker thread over a
:class:`StubStore`, which serves reads from a per-transaction cache and hands a read it lacks back to
the server's event loop. A write transaction first reads its record and fetches, in one request per
namespace, the keys the rules will read (:mod:`~fabrx_pharma_chaincode.prefetch`), so the rules
mostly run without waiting for the peer; its writes are put after the service returned.

Errors: a refusal becomes a ``TransactionError`` whose message is the refusal's
(``"<CODE> <field>: <message>"``) and whose payload is ``{"code", "field", "message"}`` as JSON;
status 400 for rule and record refusals, 403 for access, 404 for missing records, 500 for
configuration problems.

Configuration: ``FABRX_PHARMA_REGULATORS`` (comma-separated MSP ids, default ``RegulatorMSP``) names
who may bootstrap the chaincode. ``CHAINCODE_PEER_MSPID``, when a chaincode server serves the peers of one
organization only, names that organization: the chaincode then reads private values straight from its
collection (and prefetches them) instead of finding out which copy the peer keeps.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from fabrx_chaincode import Context, Contract, TransactionError, evaluate, submit
from fabrx_chaincode.errors import PeerRequestError
from fabrx_chaincode.iterators import StateQueryIterator
from fabrx_pharma import (
    AdverseEvent,
    AnyRecord,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    RecordError,
)
from fabrx_pharma.policy import policy_to_json
from fabrx_pharma.privacy import implicit_collection

from .encoding import encode
from .errors import (
    AccessDenied,
    BatchRefused,
    ChaincodeError,
    ConfigurationError,
    NotFound,
    RecordRefused,
    refused_record,
)
from .layout import record_key
from .ledger import PARTY_ATTRIBUTE
from .prefetch import keeps_books, likely_reads
from .service import (
    DEFAULT_REGULATORS,
    INVOICES_TRANSIENT_KEY,
    RECORDS_TRANSIENT_KEY,
    PharmaService,
    parse_input,
    records_from_json,
)
from .store import CollectionGone, KeyChange, NotHeldHere, composite_key
from .verification import requests_from_json

__all__ = ["REGULATORS_VARIABLE", "REQUESTS_TRANSIENT_KEY", "PharmaContract", "StubStore"]

T = TypeVar("T")

REGULATORS_VARIABLE = "FABRX_PHARMA_REGULATORS"
PEER_MSPID_VARIABLE = "CHAINCODE_PEER_MSPID"
_NOT_HELD = "private data matching public hash version is not available"
_GONE = "not defined in the collection config"
REQUESTS_TRANSIENT_KEY = "requests"


class StubStore:
    """A :class:`~fabrx_pharma_chaincode.store.StateStore` over a ``fabrx_chaincode`` transaction context.

    The pharma service runs in a worker thread and calls this store synchronously. Reads are served
    from a per-transaction cache: :meth:`prefetch` fills it from the event loop in one
    ``GetStateMultiple`` request per namespace before the service runs, and a key it lacks is read on
    ``loop`` (the worker waits) and then remembered. A cached read is still the committed value a peer
    returns, whatever the transaction wrote, so it can only save a round trip (the rules read the
    submitter's party record and counters many times per record).

    Writes and the event are held until :meth:`flush`, which the contract awaits on the loop after the
    service returned: a refused transaction never puts anything.
    """

    def __init__(self, ctx: Context, loop: asyncio.AbstractEventLoop, peer_msp_id: str | None = None) -> None:
        self._ctx = ctx
        self._stub = ctx.stub
        self._loop = loop
        self._peer_msp_id = peer_msp_id
        self._reads: dict[tuple[str, str, str], bytes | None] = {}
        self._writes: list[tuple[str, str, bytes]] = []
        self._event: tuple[str, bytes] | None = None

    def _read(
        self, kind: str, collection: str, key: str, call: Callable[[], Coroutine[Any, Any, bytes]]
    ) -> bytes | None:
        marker = (kind, collection, key)
        if marker not in self._reads:
            # The stub returns b"" for a missing key (Fabric stores no empty values).
            try:
                self._reads[marker] = self._wait(call()) or None
            except PeerRequestError as error:
                if _NOT_HELD in error.peer_message:
                    raise NotHeldHere(f"{collection} {key!r}: {error.peer_message}") from None
                if _GONE in error.peer_message:
                    raise CollectionGone(f"{collection}: {error.peer_message}") from None
                raise
        return self._reads[marker]

    def _wait(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    async def prefetch(self, collection: str, keys: Sequence[str]) -> None:
        """Read ``keys`` of the public state (``collection`` ``""``) or of a private data collection in
        one request, into the cache. Call it on the loop, before the service runs.

        If the peer has not received private values the keys hold yet, nothing is cached (the reads then
        fail one by one with :class:`~fabrx_pharma_chaincode.store.NotHeldHere`, which the service turns
        into a ``PRIVATE_DATA`` refusal).
        """
        kind = "private" if collection else "state"
        wanted = [key for key in keys if (kind, collection, key) not in self._reads]
        if not wanted:
            return
        try:
            if collection:
                values = await self._stub.get_multiple_private_data(collection, *wanted)
            else:
                values = await self._stub.get_multiple_states(*wanted)
        except PeerRequestError as error:
            if _NOT_HELD in error.peer_message or _GONE in error.peer_message:
                # This peer lacks some of the values (not received yet), or the collection's organization
                # left the channel: fetch nothing ahead; each read then finds out for its own key.
                return
            raise
        for key, value in zip(wanted, values, strict=True):
            self._reads[(kind, collection, key)] = value or None

    def cached_state(self, key: str) -> bytes | None:
        """A public value :meth:`prefetch` read (``None`` if the key is empty); ``KeyError`` if not read."""
        return self._reads[("state", "", key)]

    async def flush(self) -> None:
        """Put the held writes and set the event, in the order the service made them."""
        for collection, key, value in self._writes:
            if collection:
                await self._stub.put_private_data(collection, key, value)
            else:
                await self._stub.put_state(key, value)
        self._writes.clear()
        if self._event is not None:
            self._stub.set_event(*self._event)

    @property
    def transaction_id(self) -> str:
        return self._stub.transaction_id

    @property
    def timestamp(self) -> datetime:
        return self._stub.timestamp

    @property
    def creator_msp_id(self) -> str:
        return self._ctx.client_identity.msp_id

    @property
    def peer_msp_id(self) -> str | None:
        return self._peer_msp_id

    def creator_attribute(self, name: str) -> str | None:
        return self._ctx.client_identity.get_attribute_value(name)

    def transient(self, key: str) -> bytes | None:
        return self._stub.transient.get(key)

    def get_state(self, key: str) -> bytes | None:
        return self._read("state", "", key, lambda: self._stub.get_state(key))

    def put_state(self, key: str, value: bytes) -> None:
        self._writes.append(("", key, bytes(value)))

    def scan_state(self, object_type: str, attributes: Sequence[str] = ()) -> Iterator[tuple[str, bytes]]:
        return iter(
            self._wait(_drain(self._stub.get_state_by_partial_composite_key(object_type, attributes)))
        )

    def get_private_data(self, collection: str, key: str) -> bytes | None:
        return self._read("private", collection, key, lambda: self._stub.get_private_data(collection, key))

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        if not collection:
            raise ValueError("a private data write needs a collection")
        self._writes.append((collection, key, bytes(value)))

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        return self._read("hash", collection, key, lambda: self._stub.get_private_data_hash(collection, key))

    def scan_private_data(
        self, collection: str, object_type: str, attributes: Sequence[str] = ()
    ) -> Iterator[tuple[str, bytes]]:
        query = self._stub.get_private_data_by_partial_composite_key(collection, object_type, attributes)
        return iter(self._wait(_drain(query)))

    def set_event(self, name: str, payload: bytes) -> None:
        self._event = (name, bytes(payload))

    def history(self, key: str) -> list[KeyChange]:
        async def changes() -> list[KeyChange]:
            async with await self._stub.get_history_for_key(key) as results:
                return [
                    KeyChange(m.transaction_id, m.timestamp, bytes(m.value), m.is_delete)
                    async for m in results
                ]

        return self._wait(changes())


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
    body: dict[str, object] = {"code": error.code, "field": error.field, "message": error.message}
    if isinstance(error, BatchRefused):
        body["refused"] = error.to_list()
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
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


def _invoices(data: bytes | None) -> list[Invoice]:
    if data is None:
        return []
    source = f"<transient:{INVOICES_TRANSIENT_KEY}>"
    try:
        raw = json.loads(data)
    except RecursionError:
        raise RecordRefused("invoices", [(source, "is nested too deeply")]) from None
    except ValueError as exc:
        raise RecordRefused("invoices", [(source, f"is not JSON: {exc}")]) from None
    if not isinstance(raw, list):
        raise RecordRefused("invoices", [(source, "must be a list of invoices")])
    invoices = []
    for i, entry in enumerate(raw):
        try:
            invoices.append(Invoice.from_dict(entry, f"{source}[{i}]"))
        except RecordError as exc:
            raise refused_record(exc) from None
    return invoices


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
        self.peer_msp_id: str | None = os.environ.get(PEER_MSPID_VARIABLE) or None
        """The organization whose peers this server serves (``CHAINCODE_PEER_MSPID``), if only one."""

    def _service(self, store: StubStore) -> PharmaService:
        return PharmaService(store, bootstrap_regulators=self._bootstrap_regulators)

    async def _run(self, ctx: Context, action: Callable[[PharmaService], object]) -> bytes:
        """Run ``action`` in a worker thread over a fresh store, then put what it wrote."""
        store = StubStore(ctx, asyncio.get_running_loop(), self.peer_msp_id)

        def work() -> bytes:
            result = action(self._service(store))
            return result if isinstance(result, bytes) else encode(result)

        try:
            result = await asyncio.to_thread(work)
        except ChaincodeError as error:
            raise _transaction_error(error) from None
        await store.flush()
        return result

    async def _write(self, ctx: Context, read: Callable[[PharmaService], AnyRecord]) -> bytes:
        """A write transaction: read its record, prefetch what the rules will read, check and write it."""
        store = StubStore(ctx, asyncio.get_running_loop(), self.peer_msp_id)
        service = self._service(store)
        try:
            record = read(service)  # parsing only: no ledger access
            party_id = store.creator_attribute(PARTY_ATTRIBUTE) or store.creator_msp_id
            await self._prefetch(store, [record], party_id)
            anchor = await asyncio.to_thread(service.write, record)
        except ChaincodeError as error:
            raise _transaction_error(error) from None
        await store.flush()
        return encode(anchor)

    async def _prefetch(self, store: StubStore, records: Sequence[AnyRecord], party_id: str) -> None:
        """Fetch what the rules of ``records`` will read: one request for public keys, one for the
        submitter's own private keys when the server knows its peer's organization.

        Private keys are fetched only for records not yet on the ledger: a record that is (a resend) is
        answered with its anchor and reads no stock counter, and a private key read on one endorser only
        (its own copy; the other endorser reads its own) would make the two endorsements' read sets
        differ.
        """
        plans = [likely_reads(record, party_id) for record in records]
        await store.prefetch("", list(dict.fromkeys(key for plan in plans for key in plan.public)))
        if not self.peer_msp_id or not keeps_books(store.cached_state(composite_key("party", party_id))):
            return
        private = [
            key
            for record, plan in zip(records, plans, strict=True)
            if store.cached_state(record_key(record)) is None
            for key in plan.private
        ]
        if private:
            await store.prefetch(implicit_collection(self.peer_msp_id), list(dict.fromkeys(private)))

    # --- setup ---------------------------------------------------------------------------------------------

    @submit
    async def bootstrap(self, ctx: Context, regulator: str, policy: str | None = None) -> bytes:
        return await self._run(ctx, lambda s: s.bootstrap(regulator, policy))

    @submit
    async def set_policy(self, ctx: Context, policy: str) -> bytes:
        return await self._run(ctx, lambda s: policy_to_json(s.set_policy(policy)))

    @evaluate
    async def read_policy(self, ctx: Context, at: str | None = None) -> bytes:
        """The policy in force at ``at`` (ISO 8601 with offset); the one set last without it."""
        return await self._run(ctx, lambda s: policy_to_json(s.read_policy(_moment(at, "at"))))

    # --- writes --------------------------------------------------------------------------------------------

    @submit
    async def register_party(self, ctx: Context, party: str) -> bytes:
        return await self._write(ctx, lambda _: parse_input(Party, party, "party"))

    @submit
    async def register_product(self, ctx: Context, product: str) -> bytes:
        return await self._write(ctx, lambda _: parse_input(Product, product, "product"))

    @submit
    async def record_batch(self, ctx: Context) -> bytes:
        return await self._write(ctx, lambda s: s.private_input(Batch))

    @submit
    async def issue_invoice(self, ctx: Context) -> bytes:
        return await self._write(ctx, lambda s: s.private_input(Invoice))

    @submit
    async def record_receipt(self, ctx: Context) -> bytes:
        return await self._write(ctx, lambda s: s.private_input(Receipt))

    @submit
    async def record_prescription(self, ctx: Context) -> bytes:
        return await self._write(ctx, lambda s: s.private_input(Prescription))

    @submit
    async def report_adverse_event(self, ctx: Context) -> bytes:
        return await self._write(ctx, lambda s: s.private_input(AdverseEvent))

    @submit
    async def recall_batch(self, ctx: Context, recall: str) -> bytes:
        return await self._write(ctx, lambda _: parse_input(Recall, recall, "recall"))

    @submit
    async def write_records(self, ctx: Context) -> bytes:
        """Many records of one submitter in one transaction (transient ``records``; receipts' invoices
        under ``invoices``); returns ``{"transaction_id", "anchors"}``, the anchors in order (a record
        already on the ledger keeps its anchor, from an earlier transaction). Refusals: status 400, code
        ``BATCH``, listing each refused record's index, code, field and message."""
        store = StubStore(ctx, asyncio.get_running_loop(), self.peer_msp_id)
        service = self._service(store)
        try:
            records = records_from_json(ctx.stub.transient.get(RECORDS_TRANSIENT_KEY))
            invoices = _invoices(ctx.stub.transient.get(INVOICES_TRANSIENT_KEY))
            party_id = store.creator_attribute(PARTY_ATTRIBUTE) or store.creator_msp_id
            await self._prefetch(store, records, party_id)
            anchors = await asyncio.to_thread(service.write_records, records, invoices)
        except ChaincodeError as error:
            raise _transaction_error(error) from None
        await store.flush()
        return encode({"transaction_id": store.transaction_id, "anchors": anchors})

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

    # --- history (regulators) ------------------------------------------------------------------------------

    @evaluate
    async def policy_history(self, ctx: Context) -> bytes:
        """Every change of the policy, newest first: ``[{"transaction_id", "timestamp", "is_delete",
        "value"}]`` (the value is the policy that transaction set, in force from its timestamp)."""
        return await self._run(ctx, lambda s: s.policy_history())

    @evaluate
    async def party_history(self, ctx: Context, party_id: str) -> bytes:
        """Every registration of a party, newest first (the value is the party's anchor)."""
        return await self._run(ctx, lambda s: s.party_history(party_id))

    @evaluate
    async def record_history(
        self, ctx: Context, record_type: str, key: str, batch_number: str | None = None
    ) -> bytes:
        """Every transaction that wrote a record's anchor, newest first (the value is the anchor)."""
        parts = (key,) if batch_number is None else (key, batch_number)
        return await self._run(ctx, lambda s: s.record_history(record_type, *parts))
