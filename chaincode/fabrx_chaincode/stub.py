"""The chaincode stub: a transaction's view of the ledger and of its own proposal.

Ledger semantics, the same for every implementation (the peer-backed stub and
:class:`~fabrx_chaincode.memstub.MemoryStub`):

- Reads return the state committed before the transaction started: a read does **not** see this
  transaction's own writes, in public or private data.
- Writes are recorded in the transaction's write set and take effect only if the transaction is
  endorsed, ordered and validated. Writing an empty value deletes the key (Fabric stores no empty
  values), so ``get_state`` returns ``b""`` exactly when the key does not exist.
- Simple keys must be valid UTF-8 and must not start with U+0000, which is reserved for composite
  keys (see :mod:`fabrx_chaincode.keys`).
- A range query's end key is exclusive; an empty start or end key leaves that side open. Range and
  history results come in key order and newest-first order respectively. Rich queries
  (``get_query_result``) need CouchDB as the peer's state database.
- Ledger calls of one transaction run one at a time, in call order (the peer accepts one request per
  transaction at a time); concurrent calls from one transaction are queued, never rejected.
- Private data calls need a non-empty collection name; the peer checks collection membership.

Ledger calls are coroutines; properties and non-ledger methods are plain. Every ledger call may raise
:class:`~fabrx_chaincode.errors.PeerRequestError` when the peer refuses it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime

from fabric_protos.peer import chaincode_shim_pb2, proposal_pb2

from . import keys
from .chaincode import ChaincodeEvent, ChaincodeResponse
from .errors import InvalidArgumentError, InvalidKeyError
from .iterators import HistoryQueryIterator, StateQueryIterator

__all__ = ["ChaincodeStub"]

VALIDATION_PARAMETER = "VALIDATION_PARAMETER"
"""The state metadata key under which Fabric keeps a key-level endorsement policy."""

_WriteRecord = chaincode_shim_pb2.WriteRecord
QueryResponse = chaincode_shim_pb2.QueryResponse


def _require_collection(collection: str) -> None:
    if not collection:
        raise InvalidArgumentError("a private data collection name must not be empty")


def _require_key(key: str) -> None:
    if not key:
        raise InvalidKeyError("a ledger key must not be empty")


def _require_bytes(value: object) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"ledger values are bytes, got {type(value).__name__} (encode a str with .encode())")


def _query_metadata(page_size: int, bookmark: str) -> bytes:
    if page_size <= 0:
        raise InvalidArgumentError(f"page_size must be positive, got {page_size}")
    return chaincode_shim_pb2.QueryMetadata(pageSize=page_size, bookmark=bookmark).SerializeToString()


class ChaincodeStub(ABC):
    """One transaction's access to the ledger, its arguments and its proposal (see the module docstring).

    Implementations provide the transaction properties and a small set of protected ledger
    primitives; key rules, composite-key ranges, write batching and argument checks live here, so
    every implementation applies them identically.
    """

    def __init__(self) -> None:
        self._event: ChaincodeEvent | None = None
        # Write batch: (collection, key, is_metadata) -> last record; None when writes go straight out.
        self._batch: dict[tuple[str, str, bool], chaincode_shim_pb2.WriteRecord] | None = None

    # ---- transaction properties -------------------------------------------------------------

    @property
    @abstractmethod
    def channel_id(self) -> str:
        """The channel of the transaction."""

    @property
    @abstractmethod
    def transaction_id(self) -> str:
        """The transaction id."""

    @property
    @abstractmethod
    def args(self) -> Sequence[bytes]:
        """The raw invocation arguments, function name first."""

    @property
    def string_args(self) -> list[str]:
        """The arguments decoded as UTF-8 (undecodable bytes replaced)."""
        return [arg.decode("utf-8", "replace") for arg in self.args]

    @property
    def function_and_parameters(self) -> tuple[str, list[str]]:
        """The first argument (the function name) and the rest, as strings."""
        args = self.string_args
        return (args[0], args[1:]) if args else ("", [])

    @property
    @abstractmethod
    def creator(self) -> bytes:
        """The proposal creator: a serialized ``msp.SerializedIdentity`` (empty without a proposal)."""

    @property
    @abstractmethod
    def transient(self) -> Mapping[str, bytes]:
        """The proposal's transient data: never written to the ledger, used to pass private data in."""

    @property
    @abstractmethod
    def binding(self) -> bytes:
        """SHA-256 of nonce, creator and epoch: ties an application-level proof to this proposal."""

    @property
    @abstractmethod
    def timestamp(self) -> datetime:
        """The transaction timestamp chosen by the client (UTC); identical on every endorsing peer."""

    @property
    @abstractmethod
    def signed_proposal(self) -> proposal_pb2.SignedProposal | None:
        """The signed proposal as the peer received it (None for a stub without one)."""

    @property
    def decorations(self) -> Mapping[str, bytes]:
        """Data added to the input by peer-side decorators (usually empty)."""
        return {}

    # ---- events ---------------------------------------------------------------------------------

    def set_event(self, name: str, payload: bytes = b"") -> None:
        """Set the transaction's chaincode event; a later call replaces it (one event per transaction).

        The event reaches listeners only if the transaction commits as valid.

        Raises:
            InvalidArgumentError: ``name`` is empty.
        """
        if not name:
            raise InvalidArgumentError("a chaincode event name must not be empty")
        _require_bytes(payload)
        self._event = ChaincodeEvent(name=name, payload=bytes(payload))

    @property
    def event(self) -> ChaincodeEvent | None:
        """The event set by :meth:`set_event`, if any."""
        return self._event

    # ---- composite keys (pure) --------------------------------------------------------------------

    @staticmethod
    def create_composite_key(object_type: str, attributes: Sequence[str] = ()) -> str:
        """See :func:`fabrx_chaincode.keys.create_composite_key`."""
        return keys.create_composite_key(object_type, attributes)

    @staticmethod
    def split_composite_key(key: str) -> tuple[str, list[str]]:
        """See :func:`fabrx_chaincode.keys.split_composite_key`."""
        return keys.split_composite_key(key)

    # ---- public state -------------------------------------------------------------------------

    async def get_state(self, key: str) -> bytes:
        """The committed value of ``key``; ``b""`` when it does not exist."""
        return await self._get_state("", key)

    async def get_multiple_states(self, *keys_: str) -> list[bytes]:
        """The committed values of several keys, in order (``b""`` for a missing key).

        Uses one ``GET_STATE_MULTIPLE`` request per batch where the peer supports it.
        """
        return await self._get_multiple_states("", list(keys_)) if keys_ else []

    async def put_state(self, key: str, value: bytes) -> None:
        """Write ``value`` under ``key`` (an empty value deletes the key).

        Raises:
            InvalidKeyError: ``key`` is empty.
            TypeError: ``value`` is not bytes.
        """
        _require_key(key)
        _require_bytes(value)
        await self._write("", key, bytes(value), _WriteRecord.PUT_STATE)

    async def delete_state(self, key: str) -> None:
        """Delete ``key`` from the world state."""
        _require_key(key)
        await self._write("", key, b"", _WriteRecord.DEL_STATE)

    async def get_state_by_range(self, start_key: str, end_key: str) -> StateQueryIterator:
        """Keys in ``[start_key, end_key)`` in key order; composite keys are never included.

        Raises:
            InvalidKeyError: a bound starts with U+0000.
        """
        start = self._range_start(start_key, end_key)
        return self._iterator(await self._range("", start, end_key, b""))

    async def get_state_by_range_with_pagination(
        self, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> StateQueryIterator:
        """One page of a range query; ``iterator.metadata`` holds the next page's bookmark.

        Pagination is for read-only (evaluate) transactions: Fabric rejects it in a submit.
        """
        start = self._range_start(start_key, end_key)
        return self._iterator(await self._range("", start, end_key, _query_metadata(page_size, bookmark)))

    async def get_state_by_partial_composite_key(
        self, object_type: str, attributes: Sequence[str] = ()
    ) -> StateQueryIterator:
        """Composite keys starting with ``object_type`` and ``attributes``, in key order."""
        start, end = keys.partial_composite_key_range(object_type, attributes)
        return self._iterator(await self._range("", start, end, b""))

    async def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: Sequence[str], page_size: int, bookmark: str = ""
    ) -> StateQueryIterator:
        """One page of a partial composite key query (read-only transactions only)."""
        start, end = keys.partial_composite_key_range(object_type, attributes)
        return self._iterator(await self._range("", start, end, _query_metadata(page_size, bookmark)))

    async def get_query_result(self, query: str) -> StateQueryIterator:
        """Results of a CouchDB rich (Mango) query; not re-executed at validation (no phantom checks)."""
        return self._iterator(await self._rich_query("", query, b""))

    async def get_query_result_with_pagination(
        self, query: str, page_size: int, bookmark: str = ""
    ) -> StateQueryIterator:
        """One page of a rich query (read-only transactions only)."""
        return self._iterator(await self._rich_query("", query, _query_metadata(page_size, bookmark)))

    async def get_history_for_key(self, key: str) -> HistoryQueryIterator:
        """Committed changes of ``key``, newest first (needs the peer's history database)."""
        _require_key(key)
        return HistoryQueryIterator(await self._history(key), self._query_next, self._query_close)

    async def get_state_validation_parameter(self, key: str) -> bytes:
        """The key-level endorsement policy of ``key``; ``b""`` when it has none."""
        metadata = await self._get_state_metadata("", key)
        return metadata.get(VALIDATION_PARAMETER, b"")

    async def set_state_validation_parameter(self, key: str, policy: bytes) -> None:
        """Set the key-level endorsement policy of ``key`` (see :mod:`fabrx_chaincode.statebased`)."""
        _require_key(key)
        _require_bytes(policy)
        await self._write("", key, bytes(policy), _WriteRecord.PUT_STATE_METADATA)

    # ---- private data -------------------------------------------------------------------------

    async def get_private_data(self, collection: str, key: str) -> bytes:
        """The committed private value of ``key``; ``b""`` when missing or not held by this peer."""
        _require_collection(collection)
        return await self._get_state(collection, key)

    async def get_multiple_private_data(self, collection: str, *keys_: str) -> list[bytes]:
        """The committed private values of several keys, in order."""
        _require_collection(collection)
        return await self._get_multiple_states(collection, list(keys_)) if keys_ else []

    async def get_private_data_hash(self, collection: str, key: str) -> bytes:
        """SHA-256 of the committed private value; readable by peers outside the collection."""
        _require_collection(collection)
        return await self._get_private_data_hash(collection, key)

    async def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        """Write a private value; only its hash goes into the transaction (pass the value as transient)."""
        _require_collection(collection)
        _require_key(key)
        _require_bytes(value)
        await self._write(collection, key, bytes(value), _WriteRecord.PUT_STATE)

    async def delete_private_data(self, collection: str, key: str) -> None:
        """Delete a private key (its history stays in the private data store until purged)."""
        _require_collection(collection)
        _require_key(key)
        await self._write(collection, key, b"", _WriteRecord.DEL_STATE)

    async def purge_private_data(self, collection: str, key: str) -> None:
        """Delete a private key and purge its past versions from every peer's private data store."""
        _require_collection(collection)
        _require_key(key)
        await self._write(collection, key, b"", _WriteRecord.PURGE_PRIVATE_DATA)

    async def get_private_data_by_range(
        self, collection: str, start_key: str, end_key: str
    ) -> StateQueryIterator:
        """Private keys in ``[start_key, end_key)``."""
        _require_collection(collection)
        start = self._range_start(start_key, end_key)
        return self._iterator(await self._range(collection, start, end_key, b""))

    async def get_private_data_by_partial_composite_key(
        self, collection: str, object_type: str, attributes: Sequence[str] = ()
    ) -> StateQueryIterator:
        """Private composite keys starting with ``object_type`` and ``attributes``."""
        _require_collection(collection)
        start, end = keys.partial_composite_key_range(object_type, attributes)
        return self._iterator(await self._range(collection, start, end, b""))

    async def get_private_data_query_result(self, collection: str, query: str) -> StateQueryIterator:
        """Results of a rich query over a collection (CouchDB only)."""
        _require_collection(collection)
        return self._iterator(await self._rich_query(collection, query, b""))

    async def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes:
        """The key-level endorsement policy of a private key; ``b""`` when it has none."""
        _require_collection(collection)
        metadata = await self._get_state_metadata(collection, key)
        return metadata.get(VALIDATION_PARAMETER, b"")

    async def set_private_data_validation_parameter(self, collection: str, key: str, policy: bytes) -> None:
        """Set the key-level endorsement policy of a private key."""
        _require_collection(collection)
        _require_key(key)
        _require_bytes(policy)
        await self._write(collection, key, bytes(policy), _WriteRecord.PUT_STATE_METADATA)

    # ---- other chaincodes -----------------------------------------------------------------------

    async def invoke_chaincode(
        self, chaincode_name: str, args: Sequence[bytes | str], channel_id: str = ""
    ) -> ChaincodeResponse:
        """Call another chaincode in this transaction and return its response.

        On the same channel its writes join this transaction; on another channel (``channel_id``) the
        call is read-only. The callee sees the same proposal and creator. Failures of the callee, or
        a peer refusing the call, come back as a response with an error status, not as an exception.

        Raises:
            ProtocolError: the stream to the peer is gone.
        """
        if not chaincode_name:
            raise InvalidArgumentError("the chaincode name to invoke must not be empty")
        target = f"{chaincode_name}/{channel_id}" if channel_id else chaincode_name
        raw = [arg.encode() if isinstance(arg, str) else bytes(arg) for arg in args]
        return await self._invoke_chaincode(target, raw)

    # ---- write batching -------------------------------------------------------------------------

    async def flush_writes(self) -> None:
        """Send writes held in the write batch now (the shim also does it when the transaction ends).

        Raises:
            PeerRequestError: the peer refused a write; later batched writes are dropped.
        """
        if self._batch:
            records = list(self._batch.values())
            self._batch.clear()
            await self._write_batch(records)

    async def _write(self, collection: str, key: str, value: bytes, kind: int) -> None:
        batch = self._batch
        if batch is not None:
            is_metadata = kind == _WriteRecord.PUT_STATE_METADATA
            record = _WriteRecord(key=key, collection=collection, type=kind)  # type: ignore[arg-type]
            if is_metadata:
                record.metadata.metakey = VALIDATION_PARAMETER
                record.metadata.value = value
            else:
                record.value = value
            # Like the peer's write set, the last write to a key wins; metadata is tracked apart.
            batch.pop((collection, key, is_metadata), None)
            batch[(collection, key, is_metadata)] = record
            return
        if kind == _WriteRecord.PUT_STATE:
            await self._put_state(collection, key, value)
        elif kind == _WriteRecord.DEL_STATE:
            await self._del_state(collection, key)
        elif kind == _WriteRecord.PURGE_PRIVATE_DATA:
            await self._purge_private_data(collection, key)
        else:
            await self._put_state_metadata(collection, key, VALIDATION_PARAMETER, value)

    # ---- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _range_start(start_key: str, end_key: str) -> str:
        start = start_key or keys.EMPTY_KEY_SUBSTITUTE
        keys.validate_simple_key(start, end_key)
        return start

    def _iterator(self, first: chaincode_shim_pb2.QueryResponse) -> StateQueryIterator:
        return StateQueryIterator(first, self._query_next, self._query_close)

    # ---- primitives implemented by each stub ------------------------------------------------------

    @abstractmethod
    async def _get_state(self, collection: str, key: str) -> bytes: ...

    @abstractmethod
    async def _get_multiple_states(self, collection: str, keys_: list[str]) -> list[bytes]: ...

    @abstractmethod
    async def _get_private_data_hash(self, collection: str, key: str) -> bytes: ...

    @abstractmethod
    async def _get_state_metadata(self, collection: str, key: str) -> dict[str, bytes]: ...

    @abstractmethod
    async def _put_state(self, collection: str, key: str, value: bytes) -> None: ...

    @abstractmethod
    async def _del_state(self, collection: str, key: str) -> None: ...

    @abstractmethod
    async def _purge_private_data(self, collection: str, key: str) -> None: ...

    @abstractmethod
    async def _put_state_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None: ...

    @abstractmethod
    async def _write_batch(self, records: list[chaincode_shim_pb2.WriteRecord]) -> None: ...

    @abstractmethod
    async def _range(
        self, collection: str, start: str, end: str, metadata: bytes
    ) -> chaincode_shim_pb2.QueryResponse: ...

    @abstractmethod
    async def _rich_query(
        self, collection: str, query: str, metadata: bytes
    ) -> chaincode_shim_pb2.QueryResponse: ...

    @abstractmethod
    async def _history(self, key: str) -> chaincode_shim_pb2.QueryResponse: ...

    @abstractmethod
    async def _query_next(self, query_id: str) -> chaincode_shim_pb2.QueryResponse: ...

    @abstractmethod
    async def _query_close(self, query_id: str) -> None: ...

    @abstractmethod
    async def _invoke_chaincode(self, target: str, args: list[bytes]) -> ChaincodeResponse: ...
