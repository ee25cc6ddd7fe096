"""``ChaincodeLedger``: the rules' :class:`fabrx_pharma.LedgerView` over a :class:`StateStore`.

Parties, products, batches and recalls come from the public state; trade records, prescriptions,
adverse events and stock counters from the implicit collections their copies live in (see
:mod:`fabrx_pharma.privacy`).

Every private value the rules read is kept identically in two collections (its author's host and the
regulator's), and the two endorsers of a write belong to those two organizations. Each endorser reads the
value from the collection its own peer stores and the *hash* of the same key from the other one: Fabric
records a value read and a hash read alike in the transaction's read set, so both endorsers produce the
same read set and, from the same values, the same writes (:meth:`ChaincodeLedger.replicated`). The peer's
organization comes from the chaincode server (``StateStore.peer_msp_id``); when the server does not know
it (one server for the peers of several organizations), the ledger finds it by trying value reads.

What a client may read depends on its party: a record it is not a party to is *sealed*. The view then
raises :class:`SealedRecord` instead of pretending the record does not exist, because the rules mostly
ask in order to refuse duplicates (an invoice number used in another trade, a prescription id used at
another hospital); the service turns that into the rule the domain would have named (see
:mod:`~fabrx_pharma_chaincode.service`).

The view remembers the largest ``order`` of everything it read (:attr:`ChaincodeLedger.horizon`), so
a write can be ordered after all it depended on (see :mod:`~fabrx_pharma_chaincode.layout`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from fabrx_pharma import (
    DEFAULT_POLICY,
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
    StockPosition,
    TwoInvoicePolicy,
    record_hash,
)
from fabrx_pharma.policy import PolicyHistory, policy_from_json
from fabrx_pharma.privacy import copy_collections, implicit_collection

from .errors import ChaincodeError, ConfigurationError
from .layout import (
    POLICY_KEY,
    POLICY_VERSIONS_KEY,
    REGULATOR_KEY,
    Anchor,
    dispensed_key,
    first_received_key,
    received_key,
    stock_key,
)
from .store import CollectionGone, NotHeldHere, StateStore, composite_key

__all__ = ["PARTY_ATTRIBUTE", "ChaincodeLedger", "SealedRecord", "stock_from_json", "stock_to_json"]

R = TypeVar("R")

PARTY_ATTRIBUTE = "fabrx.party"
"""The certificate attribute naming the hosted party a client acts for (absent: its organization)."""


class SealedRecord(Exception):
    """A record exists but this peer cannot show it to the submitting client.

    ``reason`` is ``"not a member"`` (the client is not a party to it), ``"not held here"`` (this peer's
    organization keeps no copy of it) or ``"not yet received"`` (the anchor is committed but the private
    data has not reached this peer).
    """

    def __init__(self, record_type: str, key: str, collection: str, reason: str) -> None:
        super().__init__(f"{record_type} {key} is in collection {collection}: {reason}")
        self.record_type = record_type
        self.key = key
        self.collection = collection
        self.reason = reason


def stock_to_json(position: StockPosition, order: int) -> bytes:
    """A stock position as stored: every counter but ``purchased`` (the holder's invoices say it)."""
    values = {name: count for name, count in position.counters().items() if name != "purchased"}
    values["order"] = order
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode("utf-8")


def stock_from_json(data: bytes) -> tuple[StockPosition, int]:
    """Read a stored stock position and its order."""
    raw = json.loads(data)
    return StockPosition.from_counters(raw), int(raw["order"])


_ATTRIBUTED_TO = {
    "invoice": "seller",
    "receipt": "receiver",
    "prescription": "hospital",
    "adverse_event": "hospital",
}
"""The public field naming the party a record is attributed to, by record type."""


def _corrupt(what: str, error: Exception) -> ConfigurationError:
    return ConfigurationError("<ledger>", f"{what} on the ledger cannot be read: {error}")


class ChaincodeLedger:
    """The committed ledger as the submitting client's party may see it on this peer."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._horizon = 0
        self._anchors: dict[str, Anchor | None] = {}
        self._records: dict[tuple[str, str, object], object] = {}
        self._regulator: str | None = None
        self._local: str | None = None
        if store.peer_msp_id:
            self._local = implicit_collection(store.peer_msp_id)
        self._elsewhere: set[str] = set()
        self._supplied: dict[str, Invoice] = {}
        self._pending_public: dict[str, bytes] = {}
        self._pending_private: dict[tuple[str, str], bytes] = {}

    @property
    def store(self) -> StateStore:
        return self._store

    @property
    def horizon(self) -> int:
        """The largest ``order`` among the anchors, stock and index entries read so far."""
        return self._horizon

    def _seen(self, order: int) -> None:
        self._horizon = max(self._horizon, order)

    # --- who is asking, and where ------------------------------------------------------------------------

    @property
    def creator_party_id(self) -> str:
        """The party the client acts for: its ``fabrx.party`` attribute, else its organization's MSP id."""
        return self._store.creator_attribute(PARTY_ATTRIBUTE) or self._store.creator_msp_id

    @property
    def creator(self) -> Party | None:
        """The registered party the client acts for, if any (its host is checked by the service)."""
        return self.party(self.creator_party_id)

    @property
    def regulator_msp_id(self) -> str:
        """The regulator's organization (set at bootstrap), whose collection receives every copy.

        Raises :class:`ConfigurationError` before the chaincode is bootstrapped.
        """
        if self._regulator is None:
            data = self._store.get_state(REGULATOR_KEY)
            if not data:
                raise ConfigurationError("regulator", "the pharma chaincode is not bootstrapped yet")
            self._regulator = data.decode("utf-8")
        return self._regulator

    def host_of(self, party_id: str) -> str:
        """The member organization hosting ``party_id`` (its own MSP id for a member).

        Raises :class:`ConfigurationError` for an unregistered party (the rules refuse those first).
        """
        party = self.party(party_id)
        if party is None:
            raise ConfigurationError("party_id", f"{party_id} is not registered")
        return party.host_msp_id

    def copies_for(self, *party_ids: str) -> tuple[str, ...]:
        """The collections that keep a private value of these parties: their hosts', the regulator's."""
        return copy_collections([self.host_of(p) for p in party_ids], self.regulator_msp_id)

    def genuine_copies(self, anchor: Anchor) -> tuple[str, ...]:
        """Every collection a genuine copy of ``anchor``'s record is kept in: the ones it names, and the
        collections of the party it is attributed to (an invoice's seller, a receipt's receiver, a
        prescription's or adverse event's hospital, else its submitter): that party's host's and the
        regulator's.

        The anchor's own list is what its writer chose. A write to a host's implicit collection needs
        that host's endorsement, so a record whose hash is in every one of these copies was endorsed by
        its author's host; an anchor written without it (the regulator's peer alone naming only its own
        collection) lacks the host's copy and fails a hash comparison over these collections. A party
        that is not registered keeps no copies: only the named ones are returned.
        """
        attributed = str(anchor.public.get(_ATTRIBUTED_TO.get(anchor.record_type, ""), anchor.submitter))
        if self.party(attributed) is None:
            return anchor.collections
        return tuple(dict.fromkeys((*anchor.collections, *self.copies_for(attributed))))

    def may_read(self, anchor: Anchor) -> bool:
        """Whether the client's party may read the private copy of ``anchor``.

        Regulators read everything; a party reads records it is a party to; a party counting as a
        manufacturer reads that manufacturer's batches.
        """
        creator = self.creator
        if creator is not None and creator.role is Role.REGULATOR:
            return True
        party_id = self.creator_party_id
        if party_id in anchor.parties:
            return True
        return (
            anchor.record_type == "batch"
            and creator is not None
            and any(owner in creator.counts_as_manufacturer_of for owner in anchor.parties)
        )

    # --- earlier records of the same transaction ------------------------------------------------------------

    def pend(self, public: Iterable[tuple[str, bytes]], private: Iterable[tuple[str, str, bytes]]) -> None:
        """Show the writes of a record accepted earlier in this transaction to the records after it.

        Fabric lets a transaction read only committed state; a transaction that writes many records
        (``write_records``) checks each against the ledger *and* the records before it, so their writes
        are kept here and read first. What they replace was read (and entered the read set) before.
        """
        for key, value in public:
            self._pending_public[key] = value
            self._anchors.pop(key, None)
        for collection, key, value in private:
            self._pending_private[(collection, key)] = value

    def state(self, key: str) -> bytes | None:
        """A public value: this transaction's earlier write, else the committed one."""
        if key in self._pending_public:
            return self._pending_public[key]
        return self._store.get_state(key)

    # --- reading copies ------------------------------------------------------------------------------------

    def _held_here(self, collection: str) -> bool | None:
        """Whether this peer stores ``collection``'s values; ``None`` while unknown."""
        if self._local is not None:
            return collection == self._local
        return False if collection in self._elsewhere else None

    def replicated(self, collections: Sequence[str], key: str, label: tuple[str, str]) -> bytes | None:
        """A value kept identically in ``collections``: read from the one this peer stores, with a hash
        read of every other, so every endorser records the same read set.

        Returns ``None`` if the key was never written. Raises :class:`SealedRecord` (``"not held here"``)
        if it exists but this peer stores none of the collections, (``"not yet received"``) if this
        peer's copy has not arrived yet.
        """
        for collection in collections:
            pending = self._pending_private.get((collection, key))
            if pending is not None:
                return pending
        value: bytes | None = None
        exists = False
        for collection in collections:
            held = self._held_here(collection)
            if held is False:
                exists = bool(self.copy_hashes((collection,), key) - {None}) or exists
                continue
            try:
                found = self._store.get_private_data(collection, key)
            except CollectionGone:
                continue  # a copy kept by a member that has left the channel
            except NotHeldHere:
                if held:
                    raise SealedRecord(*label, collection, "not yet received") from None
                self._elsewhere.add(collection)
                exists = bool(self.copy_hashes((collection,), key) - {None}) or exists
                continue
            if found is not None:
                self._local = collection
                value = found
        if value is None and exists:
            raise SealedRecord(*label, collections[0] if collections else "", "not held here")
        return value

    def copy_hashes(self, collections: Sequence[str], key: str) -> set[bytes | None]:
        """Fabric's hash of ``key`` in each of ``collections`` still defined on the channel (``None`` for a
        collection without the key).

        A member that left the channel took its implicit collection with it: its copies of the records
        it traded are skipped, and the copies the others keep (the regulator's always) still prove the
        records. Every endorser skips the same collections, so their read sets stay identical.
        """
        hashes: set[bytes | None] = set()
        for collection in collections:
            try:
                hashes.add(self._store.get_private_data_hash(collection, key))
            except CollectionGone:
                continue
        return hashes

    def anchor(self, object_type: str, *attributes: str) -> Anchor | None:
        """The public anchor under ``(object_type, *attributes)``, or ``None``.

        Parsed once per transaction: a read returns the committed value however often it is asked. A key
        part holding U+0000 (which no composite key can hold) finds nothing.
        """
        try:
            key = composite_key(object_type, *attributes)
        except ValueError:
            return None
        return self.anchor_at(key)

    def anchor_at(self, key: str) -> Anchor | None:
        """The public anchor under the composite ``key``, or ``None`` (see :meth:`anchor`)."""
        if key in self._anchors:
            return self._anchors[key]
        data = self.state(key)
        anchor = None
        if data is not None:
            try:
                anchor = Anchor.from_json(data)
            except ValueError as exc:
                raise _corrupt(f"record {key!r}", exc) from exc
            self._seen(anchor.order)
        self._anchors[key] = anchor
        return anchor

    @staticmethod
    def key_of(anchor: Anchor) -> str:
        """The key of the record behind ``anchor`` (its anchor's and its private copies')."""
        if anchor.record_type in ("batch", "recall"):
            product_id = str(anchor.public["product_id"])
            return composite_key(anchor.record_type, product_id, str(anchor.public["batch_number"]))
        return composite_key(anchor.record_type, anchor.key)

    def private_record(self, anchor: Anchor, read: Callable[[bytes], R]) -> R:
        """The private copy an anchor points to, read with ``read`` (a record's ``from_json``).

        Raises :class:`SealedRecord` if the client may not read it or this peer does not hold it.
        """
        if not anchor.collections:
            raise ValueError(f"{anchor.record_type} {anchor.key} has no private copy")
        label = (anchor.record_type, anchor.key)
        if not self.may_read(anchor):
            raise SealedRecord(*label, anchor.collections[0], "not a member")
        key = self.key_of(anchor)
        collections = anchor.collections
        if anchor.record_type == "invoice":
            # The buyer keeps its copy from its receipt on, in its host's collection.
            buyer = self.party(str(anchor.public.get("buyer")))
            if buyer is not None:
                own = implicit_collection(buyer.host_msp_id)
                if own not in collections:
                    collections = (*collections, own)
        data = self.replicated(collections, key, label)
        if data is None:
            raise SealedRecord(*label, anchor.collections[0], "not yet received")
        try:
            return read(data)
        except RecordError as exc:
            raise _corrupt(f"{anchor.record_type} {anchor.key}", exc) from exc

    def supply_invoice(self, invoice: Invoice) -> None:
        """Use ``invoice`` as the committed invoice of its number, once it matches the ledger's hashes.

        A receipt carries the invoice it receives, because the buyer's peer keeps no copy of it until then.
        """
        self._supplied[str(invoice.number)] = invoice

    def _supplied_invoice(self, anchor: Anchor) -> Invoice:
        invoice = self._supplied[anchor.key]
        digest = record_hash(invoice)
        key = self.key_of(anchor)
        # Hash reads of every copy: the same read set on the buyer's peer and on the regulator's.
        stored = self.copy_hashes(anchor.collections, key)
        if digest != anchor.hash or stored != {bytes.fromhex(digest)}:
            raise ChaincodeError(
                "HASH_MISMATCH",
                "invoice",
                f"the copy of invoice {anchor.key} sent with the receipt differs from the one on the ledger",
            )
        return invoice

    def _public(self, anchor: Anchor | None, cls: Callable[[object], R]) -> R | None:
        """The record an anchor shows whole, validated once per transaction (records are immutable)."""
        if anchor is None:
            return None
        memo = (anchor.record_type, anchor.key, cls)
        if memo not in self._records:
            try:
                self._records[memo] = cls(dict(anchor.public))
            except RecordError as exc:
                raise _corrupt(f"{anchor.record_type} {anchor.key}", exc) from exc
        return self._records[memo]  # type: ignore[return-value]

    # --- LedgerView --------------------------------------------------------------------------------------

    def party(self, party_id: str) -> Party | None:
        return self._public(self.anchor("party", party_id), Party.from_dict)

    def product(self, product_id: str) -> Product | None:
        return self._public(self.anchor("product", product_id), Product.from_dict)

    def batch(self, product_id: str, batch_number: str) -> Batch | None:
        """The public batch record: everything but its raw-material lots (see :meth:`full_batch`)."""
        return self._public(self.anchor("batch", product_id, batch_number), Batch.from_dict)

    def invoice(self, number: str) -> Invoice | None:
        anchor = self.anchor("invoice", number)
        if anchor is None:
            return None
        if number in self._supplied:
            return self._supplied_invoice(anchor)
        return self.private_record(anchor, Invoice.from_json)

    def receipt_of(self, invoice_number: str) -> Receipt | None:
        anchor = self.anchor("receipt", invoice_number)
        return None if anchor is None else self.private_record(anchor, Receipt.from_json)

    def prescription(self, prescription_id: str) -> Prescription | None:
        anchor = self.anchor("prescription", prescription_id)
        return None if anchor is None else self.private_record(anchor, Prescription.from_json)

    def adverse_event(self, report_id: str) -> AdverseEvent | None:
        anchor = self.anchor("adverse_event", report_id)
        return None if anchor is None else self.private_record(anchor, AdverseEvent.from_json)

    def recall(self, product_id: str, batch_number: str) -> Recall | None:
        return self._public(self.anchor("recall", product_id, batch_number), Recall.from_dict)

    def may_read_stock(self, holder: str) -> bool:
        """Whether the client's party may read ``holder``'s counters: its own, a manufacturer's it counts
        as, or anyone's for a regulator."""
        creator = self.creator
        if creator is None:
            return False
        return (
            creator.role is Role.REGULATOR
            or creator.party_id == holder
            or holder in creator.counts_as_manufacturer_of
        )

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        """The holder's counters (``purchased`` left 0, see :meth:`purchased`).

        Raises :class:`SealedRecord` if the client may not read the holder's counters.
        """
        label = ("stock", f"{holder}:{product_id}/{batch_number}")
        collections = self.copies_for(holder)
        if not self.may_read_stock(holder):
            raise SealedRecord(*label, collections[0], "not a member")
        data = self.replicated(collections, stock_key(holder, product_id, batch_number), label)
        if data is None:
            return StockPosition()
        try:
            position, order = stock_from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(f"stock {label[1]}", exc) from exc
        self._seen(order)
        return position

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        """What ``holder`` is known, on its own node, to have bought of a batch: what it received.

        A buyer's node learns of a purchase with its receipt (the invoice's copies are in the seller's and
        the regulator's collections until then), so a sale of goods bought but not yet received is refused
        as never bought (``BUYER_SELLER_MATCH``): record the receipt first.
        """
        return self.stock(holder, product_id, batch_number).received

    def _holder_entry(self, holder: str, key: str, label: tuple[str, str]) -> dict[str, object] | None:
        """A JSON entry of ``holder``'s books (its host's collection and the regulator's), or ``None``.

        Raises :class:`SealedRecord` if the client may not read the holder's books.
        """
        collections = self.copies_for(holder)
        if not self.may_read_stock(holder):
            raise SealedRecord(*label, collections[0], "not a member")
        data = self.replicated(collections, key, label)
        if data is None:
            return None
        try:
            entry = json.loads(data)
            self._seen(int(entry["order"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(f"{label[0]} {label[1]}", exc) from exc
        return entry  # type: ignore[no-any-return]

    def received_in(self, holder: str, trace_code: str) -> str | None:
        """The invoice whose receipt brought ``trace_code`` to ``holder`` (see :func:`received_codes
        <fabrx_pharma.stock.received_codes>`). Raises :class:`SealedRecord` like :meth:`stock`."""
        entry = self._holder_entry(
            holder, received_key(holder, trace_code), ("stock", f"{holder}:{trace_code}")
        )
        return None if entry is None else str(entry["invoice_number"])

    def first_received(self, holder: str, product_id: str, batch_number: str) -> datetime | None:
        """When ``holder`` first received goods of the batch. Raises :class:`SealedRecord` like
        :meth:`stock`."""
        label = ("stock", f"{holder}:{product_id}/{batch_number}")
        entry = self._holder_entry(holder, first_received_key(holder, product_id, batch_number), label)
        if entry is None:
            return None
        try:
            return datetime.fromisoformat(str(entry["received_at"]))
        except (KeyError, ValueError) as exc:
            raise _corrupt(f"first receipt {label[1]}", exc) from exc

    def dispensed_in(self, trace_code: str) -> str | None:
        data = self.state(dispensed_key(trace_code))
        if data is None:
            return None
        try:
            entry = json.loads(data)
            self._seen(int(entry["order"]))
            return str(entry["prescription_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt("dispensing index entry", exc) from exc

    # --- beyond the rules --------------------------------------------------------------------------------

    @property
    def policy(self) -> TwoInvoicePolicy:
        """The policy the regulator set last, or the national default before it set one."""
        return self.policies.latest

    @property
    def policies(self) -> PolicyHistory:
        """Every policy in force since bootstrap, each from its transaction time.

        A ledger written before policies were versioned has only ``config/policy``: that policy is then
        in force from the start.
        """
        try:
            versions = self._store.get_state(POLICY_VERSIONS_KEY)
            if versions is not None:
                return PolicyHistory.from_json(versions)
            data = self._store.get_state(POLICY_KEY)
            return PolicyHistory.single(DEFAULT_POLICY if data is None else policy_from_json(data))
        except ValueError as exc:
            raise _corrupt("the policy", exc) from exc

    def policy_at(self, moment: datetime) -> TwoInvoicePolicy:
        """The policy in force at ``moment``: what a write of that transaction time is checked against."""
        return self.policies.in_force(moment)

    def full_batch(self, product_id: str, batch_number: str) -> Batch | None:
        """The batch with its raw-material lots when the client may read them here, else the public
        record."""
        anchor = self.anchor("batch", product_id, batch_number)
        if anchor is None:
            return None
        if anchor.collections and self.may_read(anchor):
            try:
                return self.private_record(anchor, Batch.from_json)
            except SealedRecord:
                pass  # no copy on this peer (yet): the public part is still true
        return self._public(anchor, Batch.from_dict)
