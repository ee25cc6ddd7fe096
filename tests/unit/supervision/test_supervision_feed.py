from __future__ import annotations

from collections.abc import Iterator

import pytest
from chainblocks import SCENARIO, block_of, sample_transactions
from fabric_protos.common import common_pb2
from fabric_protos.peer import events_pb2

from fabrx_pharma import (
    Batch,
    Invoice,
    Party,
    Prescription,
    Receipt,
    TwoInvoicePolicy,
    compliance_report,
    recall_scope,
    trace_prescription,
)
from fabrx_pharma_supervision import BlockUndecodable, SupervisionStore, decode_block
from fabrx_pharma_supervision.feed import LedgerFeed

TRANSACTIONS = sample_transactions()


def test_a_block_gives_every_sample_record_with_the_chaincodes_metadata() -> None:
    decoded = decode_block(block_of(7, TRANSACTIONS))
    assert decoded.block.number == 7
    assert decoded.missing == () and decoded.unreadable == ()
    records = [w.record for w in decoded.block.writes]
    assert isinstance(records[1], TwoInvoicePolicy)
    assert [r for r in records if not isinstance(r, TwoInvoicePolicy)] == [
        SCENARIO.regulator,
        *(record for _, record in SCENARIO.writes),
    ]
    submitters = [w.submitter for w in decoded.block.writes if not isinstance(w.record, TwoInvoicePolicy)]
    assert submitters == [SCENARIO.regulator.party_id, *(s for s, _ in SCENARIO.writes)]
    assert [w.transaction_id for w in decoded.block.writes][2:] == [
        t.transaction_id for t in TRANSACTIONS[1:]
    ]
    orders = [w.order for w in decoded.block.writes if not isinstance(w.record, TwoInvoicePolicy)]
    assert orders == sorted(orders)


def test_private_copies_are_found_by_key_whatever_the_collections_are_called() -> None:
    renamed = decode_block(block_of(0, TRANSACTIONS, rename=lambda c: f"renamed-{c[::-1]}"))
    assert renamed.block == decode_block(block_of(0, TRANSACTIONS)).block


def test_a_member_peer_gives_what_it_may_read_and_lists_the_rest_as_missing() -> None:
    hospital = "HospitalAMSP"
    decoded = decode_block(block_of(0, TRANSACTIONS, readable=lambda c: hospital in c))
    receipts = [w.record for w in decoded.block.writes if isinstance(w.record, Receipt)]
    assert receipts and all(r.receiver == hospital for r in receipts)
    prescriptions = [w.record for w in decoded.block.writes if isinstance(w.record, Prescription)]
    assert prescriptions and all(p.hospital == hospital for p in prescriptions)
    batches = [w.record for w in decoded.block.writes if isinstance(w.record, Batch)]
    assert len(batches) == 3 and all(b.raw_material_lots == () for b in batches)
    # An invoice's copies are its seller's and the regulator's; the buyer's comes with its receipt, in
    # the receipt's transaction, and is decoded from there.
    invoices = [w.record for w in decoded.block.writes if isinstance(w.record, Invoice)]
    assert invoices and all(i.buyer == hospital for i in invoices)
    assert {m.anchor.record_type for m in decoded.missing} >= {"batch", "invoice", "receipt", "prescription"}
    assert all(
        m.anchor.collections and all(hospital not in c for c in m.anchor.collections) for m in decoded.missing
    )


def test_invalid_transactions_and_other_block_kinds_give_no_writes() -> None:
    decoded = decode_block(block_of(0, TRANSACTIONS[:3], invalid={1}))
    assert [type(w.record).__name__ for w in decoded.block.writes] == ["Party", "TwoInvoicePolicy", "Party"]
    config = decode_block(block_of(0, TRANSACTIONS[:2], header_type=common_pb2.HeaderType.Value("CONFIG")))
    assert config.block.writes == ()
    other = decode_block(block_of(0, TRANSACTIONS[:2], namespace="asset"))
    assert other.block.writes == ()


def test_corrupt_anchors_and_copies_are_reported_not_stored() -> None:
    store = TRANSACTIONS[5]
    (key,) = store.writes
    corrupt = type(store)(**{**store.__dict__, "writes": {key: b"{not json"}})
    with pytest.raises(BlockUndecodable, match="corrupt anchor"):
        decode_block(block_of(3, [corrupt]))
    batch_tx = next(
        t for t in TRANSACTIONS if any(b'"raw_material_lots"' in v for v in t.private_writes.values())
    )
    tampered = type(batch_tx)(
        **{
            **batch_tx.__dict__,
            "private_writes": {
                k: v.replace(b'"quantity":', b'"quantity": ') for k, v in batch_tx.private_writes.items()
            },
        }
    )
    decoded = decode_block(block_of(3, [tampered]))
    assert decoded.block.writes == ()
    assert [m.anchor.record_type for m in decoded.unreadable] == ["batch"]
    garbage = events_pb2.BlockAndPrivateData()
    garbage.block.data.data.append(b"\x0a\x03abc")
    with pytest.raises(BlockUndecodable, match="block 0 transaction 0"):
        decode_block(garbage)


class FakeNetwork:
    """A channel whose Deliver service serves prepared blocks from the requested start block."""

    name = "pharma"

    def __init__(self, blocks: list[events_pb2.BlockAndPrivateData]) -> None:
        self.blocks = blocks
        self.starts: list[int | None] = []

    def block_and_private_data_events(
        self, *, start_block: int | None = None, timeout: float | None = None
    ) -> FakeStream:
        self.starts.append(start_block)
        return FakeStream(iter(self.blocks[start_block or 0 :]))


class FakeStream:
    def __init__(self, blocks: Iterator[events_pb2.BlockAndPrivateData]) -> None:
        self._blocks = blocks
        self.closed = False

    def __iter__(self) -> FakeStream:
        return self

    def __next__(self) -> events_pb2.BlockAndPrivateData:
        return next(self._blocks)

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True


def test_the_feed_applies_blocks_from_its_checkpoint_and_answers_as_the_domain(
    store: SupervisionStore,
) -> None:
    blocks = [block_of(n, TRANSACTIONS[n * 4 : n * 4 + 4]) for n in range(6)]
    network = FakeNetwork(blocks)
    feed = LedgerFeed(store, network)
    first = feed.run(until_block=2)
    assert (first.blocks, first.last_block, store.checkpoint("pharma")) == (3, 2, 2)
    second = feed.run(until_block=5)
    assert network.starts == [0, 3]
    assert (second.blocks, second.last_block, second.missing) == (3, 5, ())
    assert first.writes + second.writes == len(SCENARIO.writes) + 2
    assert feed.run(until_block=5).blocks == 0
    ledger = SCENARIO.ledger()
    assert store.compliance_report() == compliance_report(ledger) == []
    rx = "RX-A-0002"
    assert store.trace_prescription(prescription_id=rx) == trace_prescription(ledger, prescription_id=rx)
    assert store.recall_scope("CEFT-1G", "C240320") == recall_scope(ledger, "CEFT-1G", "C240320")
    assert isinstance(next(w.record for w in decode_block(blocks[0]).block.writes), Party)


class BrokenStream(FakeStream):
    """Serves its blocks, then fails as a stream whose peer went away."""

    def __next__(self) -> events_pb2.BlockAndPrivateData:
        try:
            return next(self._blocks)
        except StopIteration:
            raise ConnectionError("peer went away") from None


def test_blocks_before_a_stream_failure_are_applied_one_at_a_time_if_asked_and_the_failure_raised(
    store: SupervisionStore,
) -> None:
    blocks = [block_of(n, TRANSACTIONS[n * 4 : n * 4 + 4]) for n in range(3)]
    network = FakeNetwork(blocks)
    network.block_and_private_data_events = lambda **_: BrokenStream(iter(blocks))  # type: ignore[method-assign]
    applied: list[int] = []
    with pytest.raises(ConnectionError, match="peer went away"):
        LedgerFeed(store, network).run(max_blocks=1, on_applied=applied.append)
    assert applied == [0, 1, 2]
    assert store.checkpoint("pharma") == 2
    with pytest.raises(ValueError, match="max_blocks"):
        LedgerFeed(store, network).run(max_blocks=0)
