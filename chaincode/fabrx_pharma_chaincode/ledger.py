"""``ChaincodeLedger``: the rules' :class:`fabrx_pharma.LedgerView` over a :class:`StateStore`.

Parties, products, batches and recalls come from the public state; trade records, prescriptions and
adverse events from the private collection their anchor names; stock from the holder's books.

What a peer may read depends on the submitting client: a record in a collection the client's
organization is not a member of is *sealed*. The view then raises :class:`SealedRecord` instead of
pretending the record does not exist, because the rules mostly ask in order to refuse duplicates
(an invoice number used in another trade, a prescription id used at another hospital); the service
turns that into the rule the domain would have named (see :mod:`~fabrx_pharma_chaincode.service`).

The view remembers the largest ``order`` of everything it read (:attr:`ChaincodeLedger.horizon`), so
a write can be ordered after all it depended on (see :mod:`~fabrx_pharma_chaincode.layout`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
)
from fabrx_pharma.policy import policy_from_json
from fabrx_pharma.privacy import BOOKS_PREFIX, books_collection, trade_collection
from fabrx_pharma.records import quantities

from .errors import ConfigurationError
from .layout import POLICY_KEY, Anchor, dispensed_key, stock_key
from .store import StateStore, composite_key

__all__ = ["ChaincodeLedger", "SealedRecord", "stock_from_json", "stock_to_json"]

R = TypeVar("R")


class SealedRecord(Exception):
    """A record exists but this peer cannot show it to the submitting client.

    ``reason`` is ``"not a member"`` (the client's organization is not a member of ``collection``) or
    ``"not yet received"`` (the anchor is committed but the private data has not reached this peer).
    """

    def __init__(self, record_type: str, key: str, collection: str, reason: str) -> None:
        super().__init__(f"{record_type} {key} is in collection {collection}: {reason}")
        self.record_type = record_type
        self.key = key
        self.collection = collection
        self.reason = reason


def stock_to_json(position: StockPosition, order: int) -> bytes:
    """A stock position as stored in books: every counter but ``purchased`` (the holder's invoices say it)."""
    values = {name: count for name, count in position.counters().items() if name != "purchased"}
    values["order"] = order
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode("utf-8")


def stock_from_json(data: bytes) -> tuple[StockPosition, int]:
    """Read a stored stock position and its order."""
    raw = json.loads(data)
    return StockPosition.from_counters(raw), int(raw["order"])


def _corrupt(what: str, error: Exception) -> ConfigurationError:
    return ConfigurationError("<ledger>", f"{what} on the ledger cannot be read: {error}")


class ChaincodeLedger:
    """The committed ledger as the submitting client's organization may see it on this peer."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._horizon = 0
        self._anchors: dict[str, Anchor | None] = {}
        self._records: dict[tuple[str, str, object], object] = {}
        self._all_parties: list[Party] | None = None

    @property
    def store(self) -> StateStore:
        return self._store

    @property
    def horizon(self) -> int:
        """The largest ``order`` among the anchors, stock and index entries read so far."""
        return self._horizon

    def _seen(self, order: int) -> None:
        self._horizon = max(self._horizon, order)

    # --- access ------------------------------------------------------------------------------------------

    @property
    def creator(self) -> Party | None:
        """The registered party of the submitting client's organization, if any."""
        return self.party(self._store.creator_msp_id)

    def may_read(self, collection: str, owners: tuple[str, ...]) -> bool:
        """Whether the submitting client's organization is a member of ``collection``.

        Regulators are members of every collection; ``books_<X>`` also admits parties counting as X.
        """
        creator = self.creator
        msp_id = self._store.creator_msp_id
        if creator is not None and creator.role is Role.REGULATOR:
            return True
        if msp_id in owners:
            return True
        return (
            collection.startswith(BOOKS_PREFIX)
            and creator is not None
            and any(owner in creator.counts_as_manufacturer_of for owner in owners)
        )

    def anchor(self, object_type: str, *attributes: str) -> Anchor | None:
        """The public anchor under ``(object_type, *attributes)``, or ``None``.

        Parsed once per transaction: a read returns the committed value however often it is asked.
        """
        key = composite_key(object_type, *attributes)
        if key in self._anchors:
            return self._anchors[key]
        data = self._store.get_state(key)
        anchor = None
        if data is not None:
            try:
                anchor = Anchor.from_json(data)
            except ValueError as exc:
                raise _corrupt(f"{object_type} {'/'.join(attributes)}", exc) from exc
            self._seen(anchor.order)
        self._anchors[key] = anchor
        return anchor

    def private_record(self, anchor: Anchor, read: Callable[[bytes], R]) -> R:
        """The private copy an anchor points to, read with ``read`` (a record's ``from_json``).

        Raises :class:`SealedRecord` if the client may not read it or this peer lacks it.
        """
        collection = anchor.collection
        if collection is None:
            raise ValueError(f"{anchor.record_type} {anchor.key} has no private copy")
        if not self.may_read(collection, anchor.owners):
            raise SealedRecord(anchor.record_type, anchor.key, collection, "not a member")
        data = self._store.get_private_data(collection, self._key_of(anchor))
        if data is None:
            raise SealedRecord(anchor.record_type, anchor.key, collection, "not yet received")
        try:
            return read(data)
        except RecordError as exc:
            raise _corrupt(f"{anchor.record_type} {anchor.key}", exc) from exc

    @staticmethod
    def _key_of(anchor: Anchor) -> str:
        if anchor.record_type in ("batch", "recall"):
            product_id = str(anchor.public["product_id"])
            return composite_key(anchor.record_type, product_id, str(anchor.public["batch_number"]))
        return composite_key(anchor.record_type, anchor.key)

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

    def party(self, msp_id: str) -> Party | None:
        return self._public(self.anchor("party", msp_id), Party.from_dict)

    def product(self, product_id: str) -> Product | None:
        return self._public(self.anchor("product", product_id), Product.from_dict)

    def batch(self, product_id: str, batch_number: str) -> Batch | None:
        """The public batch record: everything but its raw-material lots (see :meth:`full_batch`)."""
        return self._public(self.anchor("batch", product_id, batch_number), Batch.from_dict)

    def invoice(self, number: str) -> Invoice | None:
        anchor = self.anchor("invoice", number)
        return None if anchor is None else self.private_record(anchor, Invoice.from_json)

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

    def stock(self, holder: str, product_id: str, batch_number: str) -> StockPosition:
        """The holder's counters from ``books_<holder>``; ``purchased`` is left 0 (see :meth:`purchased`).

        Raises :class:`SealedRecord` if the client may not read the holder's books.
        """
        collection = books_collection(holder)
        key = f"{holder}:{product_id}/{batch_number}"
        if not self.may_read(collection, (holder,)):
            raise SealedRecord("stock", key, collection, "not a member")
        data = self._private_or_none(collection, stock_key(product_id, batch_number), "stock", key)
        if data is None:
            return StockPosition()
        try:
            position, order = stock_from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(f"stock {key}", exc) from exc
        self._seen(order)
        return position

    def purchased(self, holder: str, product_id: str, batch_number: str) -> int:
        """What ``holder`` bought of a batch: the lines of the invoices addressed to it, in the trade
        collections the client may read.

        The invoices themselves are the record of purchases, so no write keeps a separate total. Summing
        them is a private range query, after which Fabric refuses any write of the transaction: the rules
        ask only when they are about to refuse a sale, and reads (``read_stock``) may ask freely.
        """
        total = 0
        for trade in self._trades_of(holder):
            for _, data in self._store.scan_private_data(trade, "invoice"):
                try:
                    invoice = Invoice.from_json(data)
                except RecordError as exc:
                    raise _corrupt(f"an invoice in {trade}", exc) from exc
                if invoice.buyer == holder:
                    total += quantities(invoice.lines).get((product_id, batch_number), 0)
        return total

    def _private_or_none(self, collection: str, key: str, record_type: str, label: str) -> bytes | None:
        """A private value, ``None`` if it was never written; :class:`SealedRecord` ("not yet received")
        if it was written but this peer lacks the data. A counter silently read as 0 on one endorser
        and as its value on another would make their results differ."""
        data = self._store.get_private_data(collection, key)
        if data is None and self._store.get_private_data_hash(collection, key) is not None:
            raise SealedRecord(record_type, label, collection, "not yet received")
        return data

    def _trades_of(self, holder: str) -> list[str]:
        """The trade collections of ``holder`` the client may read (its own, or all for a regulator).

        A party counting as a manufacturer reads the manufacturer's books but not its trades; it then
        sees ``purchased`` as 0, which only matters for a holder that is not a manufacturer.
        """
        party = self.party(holder)
        if party is None:
            return []
        creator = self.creator
        regulator = creator is not None and creator.role is Role.REGULATOR
        names = []
        for other in self.parties():
            if other.msp_id == holder or other.role is Role.REGULATOR:
                continue
            if other.role is party.role and party.role is not Role.DISTRIBUTOR:
                continue  # no trade collection between two manufacturers or two hospitals
            if regulator or self._store.creator_msp_id in (holder, other.msp_id):
                names.append(trade_collection(other, party))
        return names

    def parties(self) -> list[Party]:
        """Every registered party (a public range query: allowed before writes, unlike a private one)."""
        if self._all_parties is None:
            listed = []
            for _, value in self._store.scan_state("party"):
                try:
                    anchor = Anchor.from_json(value)
                    party = Party.from_dict(dict(anchor.public))
                except (ValueError, RecordError) as exc:
                    raise _corrupt("a party", exc) from exc
                self._seen(anchor.order)
                listed.append(party)
            self._all_parties = listed
        return self._all_parties

    def dispensed_in(self, trace_code: str) -> str | None:
        data = self._store.get_state(dispensed_key(trace_code))
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
        """The policy the regulator set, or the national default before it set one."""
        data = self._store.get_state(POLICY_KEY)
        if data is None:
            return DEFAULT_POLICY
        try:
            return policy_from_json(data)
        except ValueError as exc:
            raise _corrupt("the policy", exc) from exc

    def full_batch(self, product_id: str, batch_number: str) -> Batch | None:
        """The batch with its raw-material lots when the client may read the manufacturer's books,
        else the public record."""
        anchor = self.anchor("batch", product_id, batch_number)
        if anchor is None:
            return None
        if anchor.collection is not None and self.may_read(anchor.collection, anchor.owners):
            try:
                return self.private_record(anchor, Batch.from_json)
            except SealedRecord:
                pass  # private copy not yet on this peer: the public part is still true
        return self._public(anchor, Batch.from_dict)
