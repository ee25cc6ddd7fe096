"""Pharma writes from a block with private data: what the feed applies to the store.

For each valid endorser transaction of the block, the public writes of the pharma chaincode's namespace
are read for anchors (``fabrx_pharma_chaincode.layout``: the key of a record, its anchor as JSON) and
the policy key; a record that is public whole (party, product, recall) comes from its anchor, any other
from its private copy — the record's canonical JSON under the same key as its anchor, in whatever
collection the transaction wrote it. Collections are never named here: private writes are matched to
anchors by key alone, so the decoder reads per-pair, per-holder and implicit per-organization
collections alike.

A private copy the peer did not hand over (this member may not read it, or the peer has not received
it yet) is listed in :attr:`DecodedBlock.missing`; a batch falls back to its public part (without its
raw-material lots). A copy whose hash is not the anchor's is listed in :attr:`DecodedBlock.unreadable`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import events_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from fabrx_pharma import (
    RECORD_TYPES,
    AnyRecord,
    Batch,
    Invoice,
    Receipt,
    RecordError,
    TwoInvoicePolicy,
    record_from_json,
)
from fabrx_pharma.policy import policy_from_json
from fabrx_pharma_chaincode.layout import POLICY_KEY, Anchor

from ._rows import micros
from .errors import BlockUndecodable
from .writes import LedgerBlock, LedgerWrite

__all__ = ["DecodedBlock", "MissingRecord", "decode_block"]

_VALID = 0
_ENDORSER_TRANSACTION = common_pb2.HeaderType.Value("ENDORSER_TRANSACTION")


@dataclass(frozen=True)
class MissingRecord:
    """An anchor whose private copy was not in the block: who holds it and why it was left out."""

    anchor: Anchor
    reason: str


@dataclass(frozen=True)
class DecodedBlock:
    """The store's view of one block."""

    block: LedgerBlock
    missing: tuple[MissingRecord, ...] = field(default=())
    unreadable: tuple[MissingRecord, ...] = field(default=())


def _private_writes(data: events_pb2.BlockAndPrivateData, index: int, namespace: str) -> dict[str, bytes]:
    writes: dict[str, bytes] = {}
    if index not in data.private_data_map:
        return writes
    private: rwset_pb2.TxPvtReadWriteSet = data.private_data_map[index]
    for ns in private.ns_pvt_rwset:
        if ns.namespace != namespace:
            continue
        for collection in ns.collection_pvt_rwset:
            for write in kv_rwset_pb2.KVRWSet.FromString(collection.rwset).writes:
                if not write.is_delete:
                    writes[write.key] = write.value
    return writes


def _collections_of(data: events_pb2.BlockAndPrivateData, index: int, namespace: str) -> set[str]:
    if index not in data.private_data_map:
        return set()
    return {
        collection.collection_name
        for ns in data.private_data_map[index].ns_pvt_rwset
        if ns.namespace == namespace
        for collection in ns.collection_pvt_rwset
    }


def _public_writes(envelope_bytes: bytes, namespace: str) -> tuple[str, list[tuple[str, bytes]]] | None:
    """(transaction id, public writes of ``namespace``) of an endorser transaction, else ``None``."""
    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(envelope_bytes).payload)
    header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    if header.type != _ENDORSER_TRANSACTION:
        return None
    writes: list[tuple[str, bytes]] = []
    for action in transaction_pb2.Transaction.FromString(payload.data).actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        response = proposal_response_pb2.ProposalResponsePayload.FromString(
            action_payload.action.proposal_response_payload
        )
        results = proposal_pb2.ChaincodeAction.FromString(response.extension).results
        for ns in rwset_pb2.TxReadWriteSet.FromString(results).ns_rwset:
            if ns.namespace == namespace:
                writes += [
                    (w.key, w.value)
                    for w in kv_rwset_pb2.KVRWSet.FromString(ns.rwset).writes
                    if not w.is_delete
                ]
    return header.tx_id, writes


def _anchor_type(key: str) -> str | None:
    parts = key.split("\x00")
    return parts[1] if len(parts) > 2 and key.startswith("\x00") and parts[1] in RECORD_TYPES else None


def decode_block(data: events_pb2.BlockAndPrivateData, *, namespace: str = "pharma") -> DecodedBlock:
    """The pharma writes of one block (valid transactions only), in block order.

    Raises :class:`BlockUndecodable` if the block or a transaction in it cannot be parsed, or an anchor
    or record on it is corrupt.
    """
    block = data.block
    number = int(block.header.number)
    try:
        flags = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
    except IndexError:
        flags = b""
    writes: list[LedgerWrite] = []
    missing: list[MissingRecord] = []
    unreadable: list[MissingRecord] = []
    for index, envelope in enumerate(block.data.data):
        if index < len(flags) and flags[index] != _VALID:
            continue
        try:
            decoded = _public_writes(envelope, namespace)
        except (DecodeError, ValueError) as exc:
            raise BlockUndecodable(f"block {number} transaction {index}: {exc}") from exc
        if decoded is None:
            continue
        transaction_id, public = decoded
        private: dict[str, bytes] | None = None
        tx_writes: list[LedgerWrite] = []
        for key, value in public:
            if key == POLICY_KEY:
                policy = _policy(value, number, index)
                tx_writes.append(_policy_write(policy, transaction_id, block, index))
                continue
            record_type = _anchor_type(key)
            if record_type is None:
                continue
            try:
                anchor = Anchor.from_json(value)
            except ValueError as exc:
                raise BlockUndecodable(f"block {number} transaction {transaction_id}: {exc}") from exc
            if private is None:
                private = _private_writes(data, index, namespace)
            record = _record(anchor, private.get(key), missing, unreadable, number)
            if record is not None:
                tx_writes.append(
                    LedgerWrite(
                        record, anchor.submitter, anchor.transaction_id, anchor.timestamp, anchor.order
                    )
                )
        if private is not None and len(_collections_of(data, index, namespace)) == 1:
            # One collection readable here: this is the buyer's own node, which gets its invoice copies
            # with its receipts (a peer that sees the seller's or the regulator's copies has them already).
            writes.extend(_buyer_copies(private, {key for key, _ in public}, tx_writes))
        writes.extend(tx_writes)
    return DecodedBlock(LedgerBlock(number, tuple(writes)), tuple(missing), tuple(unreadable))


def _buyer_copies(
    private: dict[str, bytes], anchored: set[str], tx_writes: list[LedgerWrite]
) -> list[LedgerWrite]:
    """Invoices whose copy reaches the buyer's node with its receipt: a private write under an invoice
    key with no anchor in the same transaction. They come just before the receipt (their own anchors,
    in earlier blocks, were not readable here), attributed to their seller."""
    receipts = [w for w in tx_writes if isinstance(w.record, Receipt)]
    if not receipts:
        return []
    first = receipts[0]
    copies = []
    for key, value in private.items():
        if key in anchored or _anchor_type(key) != "invoice":
            continue
        try:
            invoice = Invoice.from_json(value)
        except RecordError:
            continue
        copies.append(
            LedgerWrite(invoice, invoice.seller, first.transaction_id, first.timestamp, first.order - 1)
        )
    return copies


def _record(
    anchor: Anchor,
    copy: bytes | None,
    missing: list[MissingRecord],
    unreadable: list[MissingRecord],
    number: int,
) -> AnyRecord | None:
    cls = RECORD_TYPES[anchor.record_type]
    try:
        if not anchor.collections:
            return cls.from_dict(dict(anchor.public))
        if copy is None:
            missing.append(
                MissingRecord(anchor, "private copy not in the block (not readable here, or not yet)")
            )
            return cls.from_dict(dict(anchor.public)) if cls is Batch else None
        if hashlib.sha256(copy).hexdigest() != anchor.hash:
            unreadable.append(MissingRecord(anchor, "private copy's hash differs from the anchor's"))
            return None
        return record_from_json(anchor.record_type, copy)
    except RecordError as exc:
        raise BlockUndecodable(f"block {number}: {anchor.record_type} {anchor.key}: {exc}") from exc


def _policy(value: bytes, number: int, index: int) -> TwoInvoicePolicy:
    try:
        return policy_from_json(value)
    except ValueError as exc:
        raise BlockUndecodable(f"block {number} transaction {index}: policy: {exc}") from exc


def _policy_write(
    policy: TwoInvoicePolicy, transaction_id: str, block: common_pb2.Block, index: int
) -> LedgerWrite:
    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(block.data.data[index]).payload)
    header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    moment = datetime.fromtimestamp(header.timestamp.seconds, tz=UTC) + timedelta(
        microseconds=header.timestamp.nanos // 1000
    )
    return LedgerWrite(policy, _creator_msp(payload), transaction_id, moment, micros(moment))


def _creator_msp(payload: common_pb2.Payload) -> str:
    signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
    return identities_pb2.SerializedIdentity.FromString(signature_header.creator).mspid or "unknown"
