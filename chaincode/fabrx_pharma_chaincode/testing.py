"""An in-memory channel and :class:`StateStore` for tests of the pharma logic, with no peer.

:class:`MemoryChannel` holds the committed state of one channel: public keys, the implicit collection of
every member organization (``_implicit_org_<MSP>``) and the events of committed transactions.
:meth:`MemoryChannel.transaction` opens a :class:`MemoryStore`: one transaction of one client, as *one
peer* runs it. It follows the ledger semantics Fabric gives a chaincode:

- reads see committed state only, never the transaction's own writes;
- a peer stores the values of its own organization's implicit collection only: reading another
  organization's value raises :class:`~fabrx_pharma_chaincode.store.NotHeldHere` once the key exists
  (as the peer answers "private data matching public hash version is not available"), while hashes are
  readable everywhere; any collection may be written (implicit collections are not member-only-write);
- a transaction that ran a range query over private data may not write anything
  (:class:`PrivateQueryWriteError`, as Fabric's transaction simulator refuses);
- every read is recorded with the version it saw (:attr:`MemoryStore.read_set`);
- each committed public write is kept in the key's history (transaction id, timestamp, value), which a
  history query answers newest first, outside the read set.

:meth:`MemoryChannel.endorse` plays the part of the Gateway and the committing peers: it runs the same
invocation on a peer of each endorsing organization, requires identical results (read set, writes,
event, response), checks the endorsement policies (the chaincode's: the regulator's peer; each implicit
collection written: its own organization's peer) and that nothing read has changed since, then commits.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from fabrx_pharma.privacy import implicit_collection, member_of_implicit

from .store import CollectionGone, KeyChange, NotHeldHere, composite_key

__all__ = [
    "CollectionAccessError",
    "EndorsementMismatch",
    "EndorsementPolicyFailure",
    "MemoryChannel",
    "MemoryStore",
    "PrivateQueryWriteError",
    "ReadConflict",
]

T = TypeVar("T")


class CollectionAccessError(Exception):
    """The collection is not one the chaincode can use (not the implicit collection of a member)."""


class PrivateQueryWriteError(Exception):
    """A write after a private data range query: Fabric refuses it ("Transaction has already performed
    queries on pvt data. Writes are not allowed")."""


class EndorsementMismatch(Exception):
    """The endorsing peers produced different results ("ProposalResponsePayloads do not match")."""


class EndorsementPolicyFailure(Exception):
    """The endorsements do not satisfy a policy the writes need (``ENDORSEMENT_POLICY_FAILURE``)."""


class ReadConflict(Exception):
    """A key read by the transaction changed before it committed (``MVCC_READ_CONFLICT``)."""


_Versioned = tuple[bytes, int]


@dataclass
class MemoryChannel:
    """The committed state of one channel with one chaincode whose policy is ``OR(regulator.peer)``."""

    members: frozenset[str]
    regulator_msp_id: str
    now: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    """The timestamp the next transactions carry."""
    public: dict[str, _Versioned] = field(default_factory=dict)
    private: dict[str, dict[str, _Versioned]] = field(default_factory=dict)
    events: list[tuple[str, bytes]] = field(default_factory=list)
    history: dict[str, list[KeyChange]] = field(default_factory=dict)
    """Per public key, its committed changes, oldest first (a peer's history database)."""
    peer_msp_id_known: bool = True
    """Whether stores tell the chaincode which organization's peer runs it (``CHAINCODE_PEER_MSPID``)."""
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _version: int = 0

    @classmethod
    def with_members(cls, members: Iterable[str], regulator_msp_id: str) -> MemoryChannel:
        listed = frozenset(members) | {regulator_msp_id}
        return cls(
            members=listed,
            regulator_msp_id=regulator_msp_id,
            private={implicit_collection(m): {} for m in listed},
        )

    def add_member(self, msp_id: str) -> None:
        """A new organization joins the channel (a config update; no chaincode definition changes)."""
        self.members = self.members | {msp_id}
        self.private.setdefault(implicit_collection(msp_id), {})

    def remove_member(self, msp_id: str) -> None:
        """An organization leaves the channel (a config update): its implicit collection is no longer
        defined, so reads of it fail (:class:`~fabrx_pharma_chaincode.store.CollectionGone`); its values'
        hashes stay in the committed state, as on a peer."""
        self.members = self.members - {msp_id}

    def transaction(
        self,
        msp_id: str,
        *,
        attributes: Mapping[str, str] | None = None,
        transient: Mapping[str, bytes] | None = None,
        timestamp: datetime | None = None,
        peer: str | None = None,
    ) -> MemoryStore:
        """Open a transaction of a client of ``msp_id`` on a peer of ``peer`` (default: the client's)."""
        return MemoryStore(
            channel=self,
            transaction_id=f"tx{next(self._numbers):06d}",
            timestamp=timestamp or self.now,
            creator_msp_id=msp_id,
            attributes=dict(attributes or {}),
            transient_map=dict(transient or {}),
            peer=peer or msp_id,
        )

    def endorse(
        self,
        msp_id: str,
        organizations: Sequence[str],
        action: Callable[[MemoryStore], T],
        *,
        attributes: Mapping[str, str] | None = None,
        transient: Mapping[str, bytes] | None = None,
        timestamp: datetime | None = None,
    ) -> T:
        """Run ``action`` on a peer of each of ``organizations``, check, and commit; return its result.

        An invocation that writes nothing on the first peer is a query: its answer is that peer's, as a
        client evaluating on its own peer gets it, and nothing is committed.

        Raises what ``action`` raised on a peer (nothing is committed), or
        :class:`EndorsementMismatch`, :class:`EndorsementPolicyFailure`, :class:`ReadConflict`.
        """
        moment = timestamp or self.now
        transaction_id = f"tx{next(self._numbers):06d}"
        runs: list[tuple[MemoryStore, T]] = []
        for organization in organizations:
            store = MemoryStore(
                channel=self,
                transaction_id=transaction_id,
                timestamp=moment,
                creator_msp_id=msp_id,
                attributes=dict(attributes or {}),
                transient_map=dict(transient or {}),
                peer=organization,
            )
            runs.append((store, action(store)))
            if not store.written and store.event is None:
                return runs[0][1]
        first, result = runs[0]
        for store, other in runs[1:]:
            if store.outcome != first.outcome or other != result:
                raise EndorsementMismatch(
                    f"the peers of {first.peer} and {store.peer} produced different results:\n"
                    f"{first.outcome}\n{store.outcome}"
                )
        first.check_policies(organizations)
        first.commit()
        return result

    def value(self, collection: str, key: str) -> bytes | None:
        """The committed private value (for assertions in tests)."""
        entry = self.private.get(collection, {}).get(key)
        return None if entry is None else entry[0]

    def public_value(self, key: str) -> bytes | None:
        entry = self.public.get(key)
        return None if entry is None else entry[0]

    def _next_version(self) -> int:
        self._version += 1
        return self._version


@dataclass
class MemoryStore:
    """One transaction against a :class:`MemoryChannel`, on one peer; a ``StateStore``."""

    channel: MemoryChannel
    transaction_id: str
    timestamp: datetime
    creator_msp_id: str
    attributes: dict[str, str]
    transient_map: dict[str, bytes]
    peer: str
    writes: dict[str, bytes] = field(default_factory=dict)
    private_writes: dict[tuple[str, str], bytes] = field(default_factory=dict)
    read_set: dict[tuple[str, str], int | None] = field(default_factory=dict)
    """(collection or "", key) -> the version read (None: absent)."""
    event: tuple[str, bytes] | None = None
    committed: bool = False
    queried_private: bool = False
    """Whether the transaction ran a private data range query (after which it may not write)."""

    @property
    def peer_msp_id(self) -> str | None:
        return self.peer if self.channel.peer_msp_id_known else None

    @property
    def outcome(self) -> tuple[object, ...]:
        """What an endorsement signs: the read set, the writes (private ones as hashes) and the event."""
        private = sorted((c, k, hashlib.sha256(v).hexdigest()) for (c, k), v in self.private_writes.items())
        return (sorted(self.read_set.items()), sorted(self.writes.items()), private, self.event)

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

    def _record_read(self, collection: str, key: str, entry: _Versioned | None) -> None:
        self.read_set.setdefault((collection, key), None if entry is None else entry[1])

    def get_state(self, key: str) -> bytes | None:
        entry = self.channel.public.get(key)
        self._record_read("", key, entry)
        return None if entry is None else entry[0]

    def put_state(self, key: str, value: bytes) -> None:
        self._check_writable()
        self.writes[key] = bytes(value)

    def scan_state(self, object_type: str, attributes: Sequence[str] = ()) -> Iterator[tuple[str, bytes]]:
        prefix = composite_key(object_type, *attributes)
        return iter([(k, v[0]) for k, v in sorted(self.channel.public.items()) if k.startswith(prefix)])

    # --- private data ------------------------------------------------------------------------------------

    def _values(self, collection: str) -> dict[str, _Versioned]:
        owner = member_of_implicit(collection)
        if owner is None or owner not in self.channel.members:
            raise CollectionAccessError(f"collection {collection} does not exist for the chaincode")
        return self.channel.private[collection]

    def _held(self, collection: str) -> bool:
        return member_of_implicit(collection) == self.peer

    def _readable(self, collection: str) -> dict[str, _Versioned]:
        owner = member_of_implicit(collection)
        if owner is not None and owner not in self.channel.members and collection in self.channel.private:
            raise CollectionGone(f"collection [{collection}] not defined in the collection config")
        return self._values(collection)

    def get_private_data(self, collection: str, key: str) -> bytes | None:
        entry = self._readable(collection).get(key)
        if entry is not None and not self._held(collection):
            raise NotHeldHere(
                f"{collection} {key!r}: private data matching public hash version is not available"
            )
        self._record_read(collection, key, entry)
        return None if entry is None else entry[0]

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        self._values(collection)
        self._check_writable()
        self.private_writes[(collection, key)] = bytes(value)

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        entry = self._readable(collection).get(key)
        self._record_read(collection, key, entry)
        return None if entry is None else hashlib.sha256(entry[0]).digest()

    def scan_private_data(
        self, collection: str, object_type: str, attributes: Sequence[str] = ()
    ) -> Iterator[tuple[str, bytes]]:
        values = self._values(collection) if self._held(collection) else {}
        self.queried_private = True
        prefix = composite_key(object_type, *attributes)
        return iter([(k, v[0]) for k, v in sorted(values.items()) if k.startswith(prefix)])

    # --- the rest ----------------------------------------------------------------------------------------

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, bytes(payload))

    def history(self, key: str) -> list[KeyChange]:
        return list(reversed(self.channel.history.get(key, [])))

    def check_policies(self, organizations: Sequence[str]) -> None:
        """The chaincode policy (the regulator's peer) and each written implicit collection's (its own
        organization's peer) must be satisfied by ``organizations``."""
        if self.channel.regulator_msp_id not in organizations:
            raise EndorsementPolicyFailure(
                f"the chaincode policy needs {self.channel.regulator_msp_id}.peer; "
                f"endorsed by {organizations}"
            )
        for collection, _ in self.private_writes:
            owner = member_of_implicit(collection)
            if owner not in organizations:
                raise EndorsementPolicyFailure(
                    f"writing {collection} needs {owner}.peer; endorsed by {organizations}"
                )

    def commit(self) -> None:
        """Apply the writes, as a valid transaction's commit does (once); refuse stale reads."""
        if self.committed:
            raise RuntimeError(f"transaction {self.transaction_id} is already committed")
        for (collection, key), version in self.read_set.items():
            values = self.channel.public if not collection else self.channel.private[collection]
            entry = values.get(key)
            if (None if entry is None else entry[1]) != version:
                raise ReadConflict(f"{collection or 'public'} {key!r} changed since it was read")
        self.committed = True
        version = self.channel._next_version()
        for key, value in self.writes.items():
            self.channel.public[key] = (value, version)
            self.channel.history.setdefault(key, []).append(
                KeyChange(self.transaction_id, self.timestamp, value, False)
            )
        for (collection, key), value in self.private_writes.items():
            self.channel.private[collection][key] = (value, version)
        if self.event is not None:
            self.channel.events.append(self.event)

    @property
    def written(self) -> bool:
        """Whether the transaction has put anything."""
        return bool(self.writes or self.private_writes)
