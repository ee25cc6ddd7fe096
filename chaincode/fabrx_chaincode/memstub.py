"""An in-memory ledger and stub for unit-testing contracts without a peer.

::

    ledger = MemoryLedger()
    ledger.deploy("asset", [AssetContract()])
    response = await ledger.submit("asset", "CreateAsset", "a1", "blue", "5", "Tom", "300", creator=creator)
    assert response.ok and ledger.state("asset")["a1"]

:meth:`MemoryLedger.submit` runs a transaction and, if it succeeds, commits its writes at once (one
block per transaction); :meth:`MemoryLedger.evaluate` runs it and discards the writes. Stub behaviour
shared with the peer-backed stub (key rules, composite keys, argument checks, write batching) is the
same code. Within a transaction the semantics match a peer: reads see committed state only, never the
transaction's own writes; an empty value deletes; the last write to a key wins.

Differences from a real peer:

- No endorsement, ordering or validation: endorsement policies and key-level policies are stored but
  not enforced; there are no MVCC read conflicts, since transactions run and commit one at a time.
- Private data: no collection membership or access checks; every collection is readable and
  writable; purge removes the current value (there is no private history to purge).
- Rich queries (``get_query_result``) raise :class:`~fabrx_chaincode.errors.PeerRequestError`: there
  is no CouchDB. Pagination works for range queries, with the next key as bookmark; pagination in a
  submit is not rejected as the peer would.
- No query result limits, message size limits, execute timeout or chaincode-to-chaincode ACLs;
  ``invoke_chaincode`` calls a chaincode deployed on this ledger, and the callee's writes commit with
  the caller's (a call naming another channel runs read-only, as on a peer).
- The signed proposal is None; ``creator``, ``transient``, ``timestamp`` and ``transaction_id`` are
  whatever the test passes (defaults: empty creator, no transient data, the current time, a counter).
- History records the committed value, transaction id and timestamp of each write, newest first.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_shim_pb2, proposal_pb2

from ._router import as_chaincode
from .chaincode import ERROR, Chaincode, ChaincodeResponse, response_for_exception
from .contract import Contract
from .errors import InvalidArgumentError, PeerRequestError
from .iterators import KeyModification
from .stub import VALIDATION_PARAMETER, ChaincodeStub

__all__ = ["CommittedEvent", "MemoryLedger", "MemoryStub"]

QueryResponse = chaincode_shim_pb2.QueryResponse
_Record = chaincode_shim_pb2.WriteRecord

PAGE_LIMIT = 100
"""Results per page of a non-paginated query, so iteration crosses page boundaries as on a peer."""

_DELETE = None


@dataclass(eq=False)
class _Namespace:
    chaincode: Chaincode
    state: dict[str, bytes] = field(default_factory=dict)
    private: dict[str, dict[str, bytes]] = field(default_factory=dict)
    metadata: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    history: dict[str, list[KeyModification]] = field(default_factory=dict)

    def data(self, collection: str) -> dict[str, bytes]:
        return self.state if not collection else self.private.setdefault(collection, {})


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """A chaincode event of a committed transaction."""

    chaincode_name: str
    transaction_id: str
    block_number: int
    name: str
    payload: bytes


class MemoryStub(ChaincodeStub):
    """A stub over one :class:`MemoryLedger` namespace; writes stay pending until committed."""

    def __init__(
        self,
        ledger: MemoryLedger,
        chaincode_name: str,
        args: Sequence[bytes],
        *,
        transaction_id: str,
        creator: bytes,
        transient: Mapping[str, bytes],
        timestamp: datetime,
        read_only: bool = False,
        write_batch: bool = False,
    ) -> None:
        super().__init__()
        self._ledger = ledger
        self._chaincode_name = chaincode_name
        self._namespace = ledger._namespace(chaincode_name)
        self._args = list(args)
        self._transaction_id = transaction_id
        self._creator = creator
        self._transient = MappingProxyType(dict(transient))
        self._timestamp = timestamp
        self._read_only = read_only
        self.writes: dict[tuple[str, str], bytes | None] = {}
        """Pending writes by (collection, key): a value, or None for a delete."""
        self.purges: set[tuple[str, str]] = set()
        self.metadata_writes: dict[tuple[str, str], bytes] = {}
        self.callees: list[MemoryStub] = []
        self._queries: dict[str, list[bytes]] = {}
        self._query_ids = itertools.count(1)
        if write_batch:
            self._batch = {}

    # ---- transaction properties -------------------------------------------------------------

    @property
    def channel_id(self) -> str:
        return self._ledger.channel_id

    @property
    def transaction_id(self) -> str:
        return self._transaction_id

    @property
    def args(self) -> Sequence[bytes]:
        return self._args

    @property
    def creator(self) -> bytes:
        return self._creator

    @property
    def transient(self) -> Mapping[str, bytes]:
        return self._transient

    @property
    def binding(self) -> bytes:
        return hashlib.sha256(self._transaction_id.encode() + self._creator).digest()

    @property
    def timestamp(self) -> datetime:
        return self._timestamp

    @property
    def signed_proposal(self) -> proposal_pb2.SignedProposal | None:
        return None

    @property
    def chaincode_name(self) -> str:
        """The namespace this stub reads and writes."""
        return self._chaincode_name

    # ---- reads ----------------------------------------------------------------------------------

    async def _get_state(self, collection: str, key: str) -> bytes:
        return self._namespace.data(collection).get(key, b"")

    async def _get_multiple_states(self, collection: str, keys_: list[str]) -> list[bytes]:
        data = self._namespace.data(collection)
        return [data.get(key, b"") for key in keys_]

    async def _get_private_data_hash(self, collection: str, key: str) -> bytes:
        value = self._namespace.data(collection).get(key)
        return hashlib.sha256(value).digest() if value else b""

    async def _get_state_metadata(self, collection: str, key: str) -> dict[str, bytes]:
        return dict(self._namespace.metadata.get((collection, key), {}))

    # ---- writes ---------------------------------------------------------------------------------

    def _check_key(self, key: str) -> None:
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PeerRequestError("PUT_STATE", f"invalid key {key!r}: not valid UTF-8") from exc

    async def _put_state(self, collection: str, key: str, value: bytes) -> None:
        self._check_key(key)
        self.writes[(collection, key)] = value or _DELETE

    async def _del_state(self, collection: str, key: str) -> None:
        self.writes[(collection, key)] = _DELETE

    async def _purge_private_data(self, collection: str, key: str) -> None:
        self.writes[(collection, key)] = _DELETE
        self.purges.add((collection, key))

    async def _put_state_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None:
        self.metadata_writes[(collection, key)] = value

    async def _write_batch(self, records: list[chaincode_shim_pb2.WriteRecord]) -> None:
        for record in records:
            if record.type == _Record.PUT_STATE:
                await self._put_state(record.collection, record.key, record.value)
            elif record.type == _Record.DEL_STATE:
                await self._del_state(record.collection, record.key)
            elif record.type == _Record.PURGE_PRIVATE_DATA:
                await self._purge_private_data(record.collection, record.key)
            else:
                await self._put_state_metadata(
                    record.collection, record.key, record.metadata.metakey, record.metadata.value
                )

    # ---- queries --------------------------------------------------------------------------------

    def _page(self, results: list[bytes]) -> chaincode_shim_pb2.QueryResponse:
        if len(results) <= PAGE_LIMIT:
            return QueryResponse(
                results=[chaincode_shim_pb2.QueryResultBytes(resultBytes=r) for r in results]
            )
        query_id = str(next(self._query_ids))
        self._queries[query_id] = results[PAGE_LIMIT:]
        page = [chaincode_shim_pb2.QueryResultBytes(resultBytes=r) for r in results[:PAGE_LIMIT]]
        return QueryResponse(results=page, has_more=True, id=query_id)

    async def _range(
        self, collection: str, start: str, end: str, metadata: bytes
    ) -> chaincode_shim_pb2.QueryResponse:
        data = self._namespace.data(collection)
        page_size, bookmark = 0, ""
        if metadata:
            query_metadata = chaincode_shim_pb2.QueryMetadata.FromString(metadata)
            page_size, bookmark = query_metadata.pageSize, query_metadata.bookmark
        lower = bookmark or start
        keys_ = sorted(k for k in data if k >= lower and (not end or k < end))
        namespace = self._chaincode_name
        if not page_size:
            encoded = [
                kv_query_result_pb2.KV(namespace=namespace, key=k, value=data[k]).SerializeToString()
                for k in keys_
            ]
            return self._page(encoded)
        page, rest = keys_[:page_size], keys_[page_size:]
        results = [
            chaincode_shim_pb2.QueryResultBytes(
                resultBytes=kv_query_result_pb2.KV(
                    namespace=namespace, key=k, value=data[k]
                ).SerializeToString()
            )
            for k in page
        ]
        meta = chaincode_shim_pb2.QueryResponseMetadata(
            fetched_records_count=len(page), bookmark=rest[0] if rest else ""
        )
        return QueryResponse(results=results, metadata=meta.SerializeToString())

    async def _rich_query(
        self, collection: str, query: str, metadata: bytes
    ) -> chaincode_shim_pb2.QueryResponse:
        raise PeerRequestError("GET_QUERY_RESULT", "rich queries need CouchDB; the memory ledger has none")

    async def _history(self, key: str) -> chaincode_shim_pb2.QueryResponse:
        entries = []
        for modification in reversed(self._namespace.history.get(key, [])):
            km = kv_query_result_pb2.KeyModification(
                tx_id=modification.transaction_id, value=modification.value, is_delete=modification.is_delete
            )
            if modification.timestamp is not None:
                km.timestamp.FromDatetime(modification.timestamp)
            entries.append(km.SerializeToString())
        return self._page(entries)

    async def _query_next(self, query_id: str) -> chaincode_shim_pb2.QueryResponse:
        rest = self._queries.pop(query_id, None)
        if rest is None:
            raise PeerRequestError("QUERY_STATE_NEXT", f"query {query_id} is not open")
        response = self._page(rest)
        if response.has_more:  # _page registered the remainder under a new id; keep the caller's
            self._queries[query_id] = self._queries.pop(response.id)
            response.id = query_id
        return response

    async def _query_close(self, query_id: str) -> None:
        self._queries.pop(query_id, None)

    # ---- other chaincodes -----------------------------------------------------------------------

    async def _invoke_chaincode(self, target: str, args: list[bytes]) -> ChaincodeResponse:
        name, _, channel = target.partition("/")
        if name not in self._ledger._namespaces:
            return ChaincodeResponse(
                status=ERROR, message=f"chaincode {name!r} is not deployed on the memory ledger"
            )
        callee = MemoryStub(
            self._ledger,
            name,
            args,
            transaction_id=self._transaction_id,
            creator=self._creator,
            transient=self._transient,
            timestamp=self._timestamp,
            read_only=self._read_only or bool(channel and channel != self.channel_id),
        )
        response = await self._ledger._run(callee)
        if response.ok and not callee._read_only:
            self.callees.append(callee)
        return response


class MemoryLedger:
    """World state, private data, state metadata and history of chaincodes deployed on one channel."""

    def __init__(self, *, channel_id: str = "mychannel", write_batch: bool = False) -> None:
        self.channel_id = channel_id
        self.block_number = 0
        """Blocks committed so far (one per successful submit)."""
        self.events: list[CommittedEvent] = []
        """Events of committed transactions, oldest first."""
        self._write_batch = write_batch
        self._namespaces: dict[str, _Namespace] = {}
        self._counter = itertools.count(1)

    def deploy(self, chaincode_name: str, chaincode: Chaincode | Contract | Sequence[Contract]) -> None:
        """Make ``chaincode`` (a chaincode, contract or list of contracts) callable as ``chaincode_name``."""
        self._namespaces[chaincode_name] = _Namespace(as_chaincode(chaincode))

    def _namespace(self, chaincode_name: str) -> _Namespace:
        try:
            return self._namespaces[chaincode_name]
        except KeyError:
            raise InvalidArgumentError(
                f"chaincode {chaincode_name!r} is not deployed on this memory ledger"
            ) from None

    def state(self, chaincode_name: str) -> Mapping[str, bytes]:
        """The committed world state of a chaincode (read-only view)."""
        return MappingProxyType(self._namespace(chaincode_name).state)

    def private_data(self, chaincode_name: str, collection: str) -> Mapping[str, bytes]:
        """The committed private data of one collection (read-only view)."""
        return MappingProxyType(self._namespace(chaincode_name).private.get(collection, {}))

    def state_metadata(self, chaincode_name: str, key: str, collection: str = "") -> Mapping[str, bytes]:
        """The committed metadata of a key (``VALIDATION_PARAMETER`` holds a key-level policy)."""
        return MappingProxyType(self._namespace(chaincode_name).metadata.get((collection, key), {}))

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
        """A stub for one transaction, to call contract methods directly; :meth:`commit` applies it."""
        raw = [function.encode(), *(a.encode() if isinstance(a, str) else bytes(a) for a in args)]
        return MemoryStub(
            self,
            chaincode_name,
            raw,
            transaction_id=transaction_id or f"tx{next(self._counter):06d}",
            creator=creator,
            transient=transient or {},
            timestamp=timestamp or datetime.now(UTC),
            write_batch=self._write_batch,
        )

    async def _run(self, stub: MemoryStub) -> ChaincodeResponse:
        chaincode = self._namespaces[stub.chaincode_name].chaincode
        try:
            response = await chaincode.invoke(stub)
            if response.ok:
                await stub.flush_writes()
        except Exception as exc:
            response = response_for_exception(exc, stub.transaction_id)
        return response

    async def submit(
        self,
        chaincode_name: str,
        function: str,
        *args: str | bytes,
        creator: bytes = b"",
        transient: Mapping[str, bytes] | None = None,
        timestamp: datetime | None = None,
        transaction_id: str | None = None,
    ) -> ChaincodeResponse:
        """Run a transaction and, when it succeeds, commit its writes and event in a new block."""
        stub = self.stub(
            chaincode_name,
            function,
            *args,
            creator=creator,
            transient=transient,
            timestamp=timestamp,
            transaction_id=transaction_id,
        )
        response = await self._run(stub)
        if response.ok:
            self.commit(stub)
        return response

    async def evaluate(
        self,
        chaincode_name: str,
        function: str,
        *args: str | bytes,
        creator: bytes = b"",
        transient: Mapping[str, bytes] | None = None,
        timestamp: datetime | None = None,
    ) -> ChaincodeResponse:
        """Run a transaction and discard its writes, as a client's evaluate does."""
        stub = self.stub(
            chaincode_name, function, *args, creator=creator, transient=transient, timestamp=timestamp
        )
        return await self._run(stub)

    def submit_sync(
        self, chaincode_name: str, function: str, *args: str | bytes, **options: object
    ) -> ChaincodeResponse:
        """:meth:`submit` for synchronous tests (runs its own event loop)."""
        return asyncio.run(self.submit(chaincode_name, function, *args, **options))  # type: ignore[arg-type]

    def evaluate_sync(
        self, chaincode_name: str, function: str, *args: str | bytes, **options: object
    ) -> ChaincodeResponse:
        """:meth:`evaluate` for synchronous tests (runs its own event loop)."""
        return asyncio.run(self.evaluate(chaincode_name, function, *args, **options))  # type: ignore[arg-type]

    def commit(self, stub: MemoryStub) -> None:
        """Apply a transaction's pending writes (and its callees') as one new block."""
        self.block_number += 1
        self._apply(stub)
        if stub.event is not None:
            self.events.append(
                CommittedEvent(
                    stub.chaincode_name,
                    stub.transaction_id,
                    self.block_number,
                    stub.event.name,
                    stub.event.payload,
                )
            )

    def _apply(self, stub: MemoryStub) -> None:
        namespace = self._namespaces[stub.chaincode_name]
        for (collection, key), value in stub.writes.items():
            data = namespace.data(collection)
            if value is None:
                data.pop(key, None)
                namespace.metadata.pop((collection, key), None)
            else:
                data[key] = value
            if not collection:
                namespace.history.setdefault(key, []).append(
                    KeyModification(stub.transaction_id, value or b"", stub.timestamp, value is None)
                )
        for (collection, key), policy in stub.metadata_writes.items():
            entry = namespace.metadata.setdefault((collection, key), {})
            if policy:
                entry[VALIDATION_PARAMETER] = policy
            else:
                entry.pop(VALIDATION_PARAMETER, None)
        for callee in stub.callees:
            self._apply(callee)
