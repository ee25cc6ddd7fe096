"""The narrow view of a chaincode stub the pharma logic is written against: :class:`StateStore`.

The pharma service needs only this much of Fabric's chaincode stub, so it runs unchanged over the
``fabrx_chaincode`` runtime (see :mod:`fabrx_pharma_chaincode.contract`) and over the in-memory store
of :mod:`fabrx_pharma_chaincode.testing`.

Ledger semantics, as on a Fabric peer:

- A read sees the committed state only, never this transaction's own writes.
- Writes are applied only if the transaction is valid at commit; a refused invocation writes nothing.
- Keys are composite keys in Fabric's format (:func:`composite_key`), so record ids that contain ``/``
  cannot collide; a scan by a partial composite key returns keys in ascending order.
- Private data lives in named collections; the pharma chaincode uses the implicit per-organization
  collections only. A peer stores the values of its own organization's collection alone: reading another
  organization's value fails (:class:`NotHeldHere`) once the key exists, while the SHA-256 of any value
  (``get_private_data_hash``) is readable on every peer, because Fabric keeps it in the public state. A
  value read and a hash read of the same key record the same entry in the transaction's read set, which
  is what lets two endorsers of different organizations produce identical results.
- An organization that leaves the channel takes its implicit collection with it: the hashes of its values
  stay in the public state, but the peer refuses every read of the collection (:class:`CollectionGone`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "COMPOSITE_KEY_NAMESPACE",
    "CollectionGone",
    "KeyChange",
    "NotHeldHere",
    "StateStore",
    "composite_key",
    "split_composite_key",
]


class NotHeldHere(Exception):
    """The key exists in a collection whose values this peer does not store (another organization's)."""


class CollectionGone(Exception):
    """The collection is no longer defined on the channel: its organization left (a channel config update
    removed it), so no peer serves reads of it any more, not even of its hashes."""


COMPOSITE_KEY_NAMESPACE = "\x00"
"""What starts every composite key (Fabric's ``compositeKeyNamespace``); also separates its parts."""


def composite_key(object_type: str, *attributes: str) -> str:
    """Build a key as Fabric's ``CreateCompositeKey`` does: ``\\x00type\\x00attr1\\x00attr2\\x00``.

    Raises ``ValueError`` if a part is empty (the type) or contains U+0000.
    """
    if not object_type:
        raise ValueError("a composite key needs an object type")
    for part in (object_type, *attributes):
        if "\x00" in part:
            raise ValueError(f"a composite key part cannot contain U+0000: {part!r}")
    return COMPOSITE_KEY_NAMESPACE + "".join(f"{part}\x00" for part in (object_type, *attributes))


def split_composite_key(key: str) -> tuple[str, tuple[str, ...]]:
    """Return (object type, attributes) of a key built by :func:`composite_key`.

    Raises ``ValueError`` for a key that is not a composite key.
    """
    if not key.startswith(COMPOSITE_KEY_NAMESPACE) or not key.endswith("\x00") or len(key) < 3:
        raise ValueError(f"not a composite key: {key!r}")
    parts = key[1:-1].split("\x00")
    return parts[0], tuple(parts[1:])


@dataclass(frozen=True)
class KeyChange:
    """One committed change of a public key, from the peer's history database."""

    transaction_id: str
    timestamp: datetime | None
    """The timestamp of the transaction that made the change (``None`` if the peer gave none)."""
    value: bytes
    """The value written (empty for a delete)."""
    is_delete: bool

    def to_dict(self) -> dict[str, object]:
        """The change as a history transaction answers it: the value as JSON (``None`` for a delete)."""
        value: object = None
        if not self.is_delete:
            try:
                value = json.loads(self.value)
            except ValueError:
                value = self.value.decode("utf-8", "replace")
        return {
            "transaction_id": self.transaction_id,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
            "is_delete": self.is_delete,
            "value": value,
        }


class StateStore(Protocol):
    """One transaction's access to the ledger, as the pharma service needs it."""

    @property
    def transaction_id(self) -> str: ...

    @property
    def timestamp(self) -> datetime:
        """The transaction timestamp the client put in the proposal header (time-zone aware)."""
        ...

    @property
    def creator_msp_id(self) -> str:
        """The MSP id of the client that signed the proposal."""
        ...

    @property
    def peer_msp_id(self) -> str | None:
        """The organization of the peer running the transaction, when the chaincode server knows it."""
        ...

    def creator_attribute(self, name: str) -> str | None:
        """An attribute of the client's certificate (Fabric CA ``attrs``), ``None`` if absent."""
        ...

    def transient(self, key: str) -> bytes | None:
        """A value of the proposal's transient map: sent to the endorsers, never stored on the ledger."""
        ...

    def get_state(self, key: str) -> bytes | None: ...

    def put_state(self, key: str, value: bytes) -> None: ...

    def scan_state(self, object_type: str, attributes: Sequence[str] = ()) -> Iterator[tuple[str, bytes]]:
        """Every (key, value) whose composite key starts with ``object_type`` and ``attributes``."""
        ...

    def get_private_data(self, collection: str, key: str) -> bytes | None:
        """The committed value; ``None`` if the key was never written.

        Raises :class:`NotHeldHere` if the key exists but this peer does not store the collection's values,
        :class:`CollectionGone` if the collection's organization has left the channel.
        """
        ...

    def put_private_data(self, collection: str, key: str, value: bytes) -> None: ...

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        """The SHA-256 digest (32 bytes) of the committed private value; readable by non-members.

        Raises :class:`CollectionGone` if the collection's organization has left the channel.
        """
        ...

    def scan_private_data(
        self, collection: str, object_type: str, attributes: Sequence[str] = ()
    ) -> Iterator[tuple[str, bytes]]:
        """Like :meth:`scan_state`, in a collection; raises like :meth:`get_private_data`."""
        ...

    def set_event(self, name: str, payload: bytes) -> None:
        """Set the transaction's chaincode event (one per transaction; it is public, in the block)."""
        ...

    def history(self, key: str) -> list[KeyChange]:
        """Every committed change of a public key, newest first (Fabric's ``GetHistoryForKey``).

        Ledger semantics: the answer is not in the transaction's read set (nothing checks at commit
        that it is still complete), so only queries use it, never a write's checks; it needs the peer's
        history database (on by default).
        """
        ...
