"""Query results: async iterators over range, rich and history queries.

The peer sends results in pages (``QueryResponse``); an iterator holds one page and asks for the next
(``QUERY_STATE_NEXT``) only when the current one is used up. The peer closes its side of a query as
soon as it has sent the last page, and closes every open query when the transaction completes, so
``close()`` is only needed to release a query left part-way on a long transaction. The peer caps the
results of one query (``ledger.state.totalQueryLimit``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Generic, Self, TypeVar

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_shim_pb2

__all__ = [
    "HistoryQueryIterator",
    "KeyModification",
    "KeyValue",
    "QueryPageMetadata",
    "StateQueryIterator",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One result of a range or rich query."""

    key: str
    value: bytes
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class KeyModification:
    """One committed change of a key, from a history query (newest first)."""

    transaction_id: str
    value: bytes
    timestamp: datetime | None
    is_delete: bool


@dataclass(frozen=True, slots=True)
class QueryPageMetadata:
    """What a paginated query returned: the number of records and the bookmark of the next page."""

    fetched_records_count: int
    bookmark: str


def _decode_kv(raw: bytes) -> KeyValue:
    kv = kv_query_result_pb2.KV.FromString(raw)
    return KeyValue(key=kv.key, value=kv.value, namespace=kv.namespace)


def _decode_modification(raw: bytes) -> KeyModification:
    km = kv_query_result_pb2.KeyModification.FromString(raw)
    timestamp = km.timestamp.ToDatetime(tzinfo=UTC) if km.HasField("timestamp") else None
    return KeyModification(
        transaction_id=km.tx_id, value=km.value, timestamp=timestamp, is_delete=km.is_delete
    )


QueryNext = Callable[[str], Awaitable[chaincode_shim_pb2.QueryResponse]]
QueryClose = Callable[[str], Awaitable[None]]


class _QueryIterator(Generic[_T]):
    """Async iteration over the pages of one query; use ``async for`` and optionally ``async with``."""

    _decode: Callable[[bytes], _T]

    def __init__(
        self, first: chaincode_shim_pb2.QueryResponse, fetch_next: QueryNext, close: QueryClose
    ) -> None:
        self._response = first
        self._index = 0
        self._fetch_next = fetch_next
        self._close = close
        self._closed = False
        self._metadata: QueryPageMetadata | None = None
        if first.metadata:
            meta = chaincode_shim_pb2.QueryResponseMetadata.FromString(first.metadata)
            self._metadata = QueryPageMetadata(meta.fetched_records_count, meta.bookmark)

    @property
    def metadata(self) -> QueryPageMetadata | None:
        """Page metadata for a paginated query; None for a query without pagination."""
        return self._metadata

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        while self._index >= len(self._response.results):
            if not self._response.has_more or self._closed:
                raise StopAsyncIteration
            self._response = await self._fetch_next(self._response.id)
            self._index = 0
        raw = self._response.results[self._index].resultBytes
        self._index += 1
        return type(self)._decode(raw)

    async def close(self) -> None:
        """Release the query on the peer. Needless (and free) once the last result was read.

        Raises:
            PeerRequestError: the peer refused to close the query.
        """
        if self._closed:
            return
        self._closed = True
        if self._response.has_more:
            await self._close(self._response.id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class StateQueryIterator(_QueryIterator[KeyValue]):
    """Results of a range, partial composite key or rich query, as :class:`KeyValue`."""

    _decode = staticmethod(_decode_kv)


class HistoryQueryIterator(_QueryIterator[KeyModification]):
    """Committed changes of one key, newest first, as :class:`KeyModification`."""

    _decode = staticmethod(_decode_modification)
