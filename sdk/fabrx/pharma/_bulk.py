"""Many records of one party in few transactions: the import path of an ERP adapter.

:func:`write_records` sends records in chunks of ``batch_size`` through the chaincode's
``write_records`` transaction, which checks every record with every rule against the ledger and the
records before it. A chunk with refused records fails as a whole (nothing written) and names each
refused record; the accepted ones are sent again without them, so one bad invoice never holds back a
day's import. Chunks go out ``in_flight`` at a time, in lanes by the first batch each record moves, so
records that draw on the same stock counters are sent one after the other and those that do not run
side by side.

Nothing is written twice: a record already on the ledger with the same content is answered with its
anchor, so an import killed at any point is resumed by sending everything again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

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
    canonical_json,
)
from fabrx_pharma.ledger import author_of

from ._errors import PharmaError
from ._results import Anchor

if TYPE_CHECKING:
    from ._base import PharmaClient

__all__ = ["DEFAULT_BATCH_SIZE", "BulkResult", "Refused", "Written", "write_records"]

DEFAULT_BATCH_SIZE = 200
"""Records per transaction: large enough to spread a transaction's cost, well under the chaincode's
limit of 1,000 and Fabric's message sizes for invoices of several lines."""
RECORDS_TRANSIENT_KEY = "records"
INVOICES_TRANSIENT_KEY = "invoices"
REFUSED_MARKER = "refused="


@dataclass(frozen=True)
class Refused:
    """A record the chaincode (or the facade, before sending) refused: its index in the input."""

    index: int
    rule: str
    field: str
    message: str


@dataclass(frozen=True)
class BulkResult:
    """What became of each record: its anchor (written now, or found already on the ledger) or its
    refusal, by index in the input."""

    anchors: Mapping[int, Anchor] = field(default_factory=lambda: MappingProxyType({}))
    refused: tuple[Refused, ...] = ()
    existing: frozenset[int] = frozenset()
    """Indexes of records that were on the ledger already (their anchors are from earlier transactions)."""
    transactions: int = 0
    """Transactions that committed (including ones that only found records already written)."""

    @property
    def ok(self) -> bool:
        return not self.refused


def refusals_of(error: PharmaError) -> list[Refused] | None:
    """The refusals a ``BATCH`` error lists (indexes within the transaction), or ``None`` if it is not
    one."""
    if error.rule != "BATCH" or REFUSED_MARKER not in error.message:
        return None
    listed = json.loads(error.message.split(REFUSED_MARKER, 1)[1])
    return [Refused(int(r["index"]), str(r["code"]), str(r["field"]), str(r["message"])) for r in listed]


_RECORD_TYPE = {
    Party: "party",
    Product: "product",
    Batch: "batch",
    Invoice: "invoice",
    Receipt: "receipt",
    Prescription: "prescription",
    AdverseEvent: "adverse_event",
    Recall: "recall",
}


def _lane(record: AnyRecord, lanes: int) -> int:
    goods = getattr(record, "lines", None) or getattr(record, "items", None)
    if goods:
        return hash((goods[0].product_id, goods[0].batch_number)) % lanes
    return hash(record.key) % lanes


Written = Callable[[Mapping[int, Anchor]], None]
"""Called after each transaction commits, with the anchors of its records by input index (from the
worker thread that sent it)."""


def write_records(
    client: PharmaClient,
    records: Sequence[AnyRecord],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    in_flight: int = 4,
    on_written: Written | None = None,
) -> BulkResult:
    """Write ``records`` of ``client``'s party; see the module docstring. ``on_written`` is told of
    every committed transaction (an adapter's journal).

    Records that are malformed or attributed to another party are refused before anything is sent.
    Raises what a single write raises for anything but a record's refusal (a peer down, a commit
    failure after its retries): the records before it in its lane may be written, and sending the same
    records again completes the import without writing any twice.
    """
    if batch_size < 1 or in_flight < 1:
        raise ValueError("batch_size and in_flight must be at least 1")
    refused: list[Refused] = []
    ready: list[tuple[int, AnyRecord]] = []
    for index, record in enumerate(records):
        problem = client.precheck(record)
        if problem is not None:
            refused.append(Refused(index, problem.rule, problem.field, problem.message))
        else:
            ready.append((index, record))
    lanes: list[list[tuple[int, AnyRecord]]] = [[] for _ in range(in_flight)]
    for entry in ready:
        lanes[_lane(entry[1], in_flight)].append(entry)
    anchors: dict[int, Anchor] = {}
    existing: set[int] = set()
    transactions = 0

    def run_lane(lane: list[tuple[int, AnyRecord]]) -> tuple[dict[int, Anchor], set[int], list[Refused], int]:
        lane_anchors: dict[int, Anchor] = {}
        lane_existing: set[int] = set()
        lane_refused: list[Refused] = []
        sent = 0
        for start in range(0, len(lane), batch_size):
            chunk = lane[start : start + batch_size]
            done, old, bad, count = _send_chunk(client, chunk)
            if done and on_written is not None:
                on_written(MappingProxyType(done))
            lane_anchors.update(done)
            lane_existing |= old
            lane_refused.extend(bad)
            sent += count
        return lane_anchors, lane_existing, lane_refused, sent

    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        for outcome in pool.map(run_lane, [lane for lane in lanes if lane]):
            anchors.update(outcome[0])
            existing |= outcome[1]
            refused.extend(outcome[2])
            transactions += outcome[3]
    return BulkResult(
        anchors=MappingProxyType(dict(sorted(anchors.items()))),
        refused=tuple(sorted(refused, key=lambda r: r.index)),
        existing=frozenset(existing),
        transactions=transactions,
    )


def _send_chunk(
    client: PharmaClient, chunk: list[tuple[int, AnyRecord]]
) -> tuple[dict[int, Anchor], set[int], list[Refused], int]:
    """Send one chunk until every record in it is written or refused."""
    refused: list[Refused] = []
    pending = list(chunk)
    while pending:
        transient: dict[str, str | bytes] = {
            RECORDS_TRANSIENT_KEY: _records_json([record for _, record in pending])
        }
        invoices = [client.invoice_for(record) for _, record in pending if isinstance(record, Receipt)]
        found = [canonical_json(invoice).decode("utf-8") for invoice in invoices if invoice is not None]
        if found:
            transient[INVOICES_TRANSIENT_KEY] = "[" + ",".join(found) + "]"
        try:
            result = client.submit_many(transient)
        except PharmaError as error:
            listed = refusals_of(error)
            if listed is None:
                raise
            drop = {r.index for r in listed}
            refused.extend(
                Refused(pending[r.index][0], r.rule, r.field, r.message)
                for r in listed
                if r.index < len(pending)
            )
            pending = [entry for i, entry in enumerate(pending) if i not in drop]
            continue
        answer = json.loads(result)
        written = [Anchor.from_dict(raw) for raw in answer["anchors"]]
        done = {index: anchor for (index, _), anchor in zip(pending, written, strict=True)}
        old = {index for index, anchor in done.items() if anchor.transaction_id != answer["transaction_id"]}
        return done, old, refused, 1
    return {}, set(), refused, 0


def _records_json(records: Sequence[AnyRecord]) -> bytes:
    parts = [
        b'{"record_type":"'
        + _RECORD_TYPE[type(record)].encode()
        + b'","record":'
        + canonical_json(record)
        + b"}"
        for record in records
    ]
    return b"[" + b",".join(parts) + b"]"


def attributed_to(record: AnyRecord) -> str:
    """The party a record is written by (the regulator's records: ``""``)."""
    return author_of(record)
