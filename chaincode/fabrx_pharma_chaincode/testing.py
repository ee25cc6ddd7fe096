"""An in-memory channel and :class:`StateStore` for tests of the pharma logic, with no peer.

:class:`MemoryChannel` holds the committed state: public keys, one map per private data collection
(defined up front, as a chaincode definition does) and the events of committed transactions.
:meth:`MemoryChannel.transaction` opens a :class:`MemoryStore`: one transaction of one client, as the
peer of that client's organization runs it. It follows the ledger semantics Fabric gives a chaincode:

- reads see committed state only, never the transaction's own writes;
- :meth:`MemoryStore.commit` applies the writes; a transaction that raised is simply not committed;
- a collection not in the definition cannot be used at all, and one the client's organization is
  not a member of can be neither read (``member_only_read``) nor written (``member_only_write``):
  :class:`CollectionAccessError`, as the peer refuses; its hashes stay readable by everyone;
- a transaction that ran a range query over private data may not write anything
  (:class:`PrivateQueryWriteError`, as Fabric's transaction simulator refuses).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fabrx_pharma.privacy import CollectionSpec

from .store import composite_key

__all__ = ["CollectionAccessError", "MemoryChannel", "MemoryStore", "PrivateQueryWriteError"]


class CollectionAccessError(Exception):
    """The client's organization may not use this collection (or it is not defined)."""


class PrivateQueryWriteError(Exception):
    """A write after a private data range query: Fabric refuses it ("Transaction has already performed
    queries on pvt data. Writes are not allowed")."""


@dataclass
class MemoryChannel:
    """The committed state of one channel with one chaincode."""

    collections: Mapping[str, CollectionSpec]
    now: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    """The timestamp the next transactions carry."""
    public: dict[str, bytes] = field(default_factory=dict)
    private: dict[str, dict[str, bytes]] = field(default_factory=dict)
    events: list[tuple[str, bytes]] = field(default_factory=list)
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    def with_collections(cls, specs: Iterable[CollectionSpec]) -> MemoryChannel:
        listed = {spec.name: spec for spec in specs}
        return cls(collections=listed, private={name: {} for name in listed})

    def transaction(
        self,
        msp_id: str,
        *,
        attributes: Mapping[str, str] | None = None,
        transient: Mapping[str, bytes] | None = None,
        timestamp: datetime | None = None,
    ) -> MemoryStore:
        """Open a transaction of a client of ``msp_id`` with these certificate attributes."""
        return MemoryStore(
            channel=self,
            transaction_id=f"tx{next(self._numbers):06d}",
            timestamp=timestamp or self.now,
            creator_msp_id=msp_id,
            attributes=dict(attributes or {}),
            transient_map=dict(transient or {}),
        )


@dataclass
class MemoryStore:
    """One transaction against a :class:`MemoryChannel`; a :class:`~fabrx_pharma_chaincode.StateStore`."""

    channel: MemoryChannel
    transaction_id: str
    timestamp: datetime
    creator_msp_id: str
    attributes: dict[str, str]
    transient_map: dict[str, bytes]
    writes: dict[str, bytes] = field(default_factory=dict)
    private_writes: dict[tuple[str, str], bytes] = field(default_factory=dict)
    event: tuple[str, bytes] | None = None
    committed: bool = False
    queried_private: bool = False
    """Whether the transaction ran a private data range query (after which it may not write)."""

    def _check_writable(self) -> None:
        if self.queried_private:
            raise PrivateQueryWriteError(
                f"transaction {self.transaction_id} has already performed queries on pvt data; "
                "writes are not allowed"
            )

    def creator_attribute(self, name: str) -> str | None:
        return self.attributes.get(name)

    def transient(self, key: str) -> bytes | None:
        return self.transient_map.get(key)

    # --- public state -----------------------------------------------------------------------------------

    def get_state(self, key: str) -> bytes | None:
        return self.channel.public.get(key)

    def put_state(self, key: str, value: bytes) -> None:
        self._check_writable()
        self.writes[key] = bytes(value)

    def scan_state(self, object_type: str, attributes: Sequence[str] = ()) -> Iterator[tuple[str, bytes]]:
        return _scan(self.channel.public, composite_key(object_type, *attributes))

    # --- private data ------------------------------------------------------------------------------------

    def _spec(self, collection: str, access: str) -> CollectionSpec:
        spec = self.channel.collections.get(collection)
        if spec is None:
            raise CollectionAccessError(f"collection {collection} is not defined for the chaincode")
        member = self.creator_msp_id in spec.members
        if access == "read" and spec.member_only_read and not member:
            raise CollectionAccessError(
                f"tx creator {self.creator_msp_id} does not have read access permission on {collection}"
            )
        if access == "write" and spec.member_only_write and not member:
            raise CollectionAccessError(
                f"tx creator {self.creator_msp_id} does not have write access permission on {collection}"
            )
        return spec

    def get_private_data(self, collection: str, key: str) -> bytes | None:
        self._spec(collection, "read")
        return self.channel.private[collection].get(key)

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        self._spec(collection, "write")
        self._check_writable()
        self.private_writes[(collection, key)] = bytes(value)

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        self._spec(collection, "hash")
        value = self.channel.private[collection].get(key)
        return None if value is None else hashlib.sha256(value).digest()

    def scan_private_data(
        self, collection: str, object_type: str, attributes: Sequence[str] = ()
    ) -> Iterator[tuple[str, bytes]]:
        self._spec(collection, "read")
        self.queried_private = True
        return _scan(self.channel.private[collection], composite_key(object_type, *attributes))

    # --- the rest ----------------------------------------------------------------------------------------

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, bytes(payload))

    def commit(self) -> None:
        """Apply the writes to the channel, as a valid transaction's commit does (once)."""
        if self.committed:
            raise RuntimeError(f"transaction {self.transaction_id} is already committed")
        self.committed = True
        self.channel.public.update(self.writes)
        for (collection, key), value in self.private_writes.items():
            self.channel.private[collection][key] = value
        if self.event is not None:
            self.channel.events.append(self.event)

    @property
    def written(self) -> bool:
        """Whether the transaction has put anything."""
        return bool(self.writes or self.private_writes)


def _scan(values: Mapping[str, bytes], prefix: str) -> Iterator[tuple[str, bytes]]:
    return iter([(key, values[key]) for key in sorted(values) if key.startswith(prefix)])
