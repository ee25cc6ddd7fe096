"""What a write prefetches: the keys its rules read, and private keys only where the submitter may read."""

from __future__ import annotations

from datetime import UTC, datetime

from pharma_cc_world import SCENARIO

from fabrx_pharma import Invoice, InvoiceKind, Party, Prescription, Receipt
from fabrx_pharma_chaincode.layout import (
    POLICY_VERSIONS_KEY,
    Anchor,
    dispensed_key,
    first_received_key,
    public_part,
    received_key,
    stock_key,
)
from fabrx_pharma_chaincode.prefetch import keeps_books, likely_reads
from fabrx_pharma_chaincode.store import composite_key


def first(cls: type, **match: object) -> object:
    return next(r for r in SCENARIO.records(cls) if all(getattr(r, k) == v for k, v in match.items()))


def test_a_sale_prefetches_its_parties_goods_and_the_sellers_stock() -> None:
    invoice = first(Invoice, kind=InvoiceKind.SECOND)
    assert isinstance(invoice, Invoice)
    plan = likely_reads(invoice, invoice.seller)
    line = invoice.lines[0]
    for key in (
        composite_key("party", invoice.seller),
        composite_key("party", invoice.buyer),
        POLICY_VERSIONS_KEY,
        composite_key("invoice", str(invoice.number)),
        composite_key("batch", line.product_id, line.batch_number),
        composite_key("recall", line.product_id, line.batch_number),
    ):
        assert key in plan.public
    assert len(plan.public) == len(set(plan.public))
    assert plan.private == list(
        dict.fromkeys(
            key
            for x in invoice.lines
            for key in (
                stock_key(invoice.seller, x.product_id, x.batch_number),
                first_received_key(invoice.seller, x.product_id, x.batch_number),
            )
        )
    )


def test_an_invoice_from_someone_else_prefetches_no_private_keys() -> None:
    invoice = first(Invoice, kind=InvoiceKind.SECOND)
    assert isinstance(invoice, Invoice)
    assert likely_reads(invoice, invoice.buyer).private == []


def test_a_receipt_prefetches_the_invoice_anchor_and_the_receivers_stock() -> None:
    receipt = first(Receipt)
    assert isinstance(receipt, Receipt)
    plan = likely_reads(receipt, receipt.receiver)
    assert composite_key("invoice", str(receipt.invoice_number)) in plan.public
    assert plan.private == list(
        dict.fromkeys(
            key
            for x in receipt.lines
            for key in (
                stock_key(receipt.receiver, x.product_id, x.batch_number),
                first_received_key(receipt.receiver, x.product_id, x.batch_number),
            )
        )
    )


def test_a_prescription_prefetches_every_dispensed_code() -> None:
    prescription = first(Prescription)
    assert isinstance(prescription, Prescription)
    plan = likely_reads(prescription, prescription.hospital)
    codes = [code for item in prescription.items for code in item.trace_codes]
    assert codes and all(dispensed_key(code) in plan.public for code in codes)
    assert all(received_key(prescription.hospital, code) in plan.private for code in codes)


def anchor_of(record: object) -> bytes:
    return Anchor(
        record_type="party",
        key="x",
        submitter="RegulatorMSP",
        order=1,
        transaction_id="tx",
        timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        hash="0" * 64,
        collections=(),
        parties=(),
        public=public_part(record),  # type: ignore[arg-type]
    ).to_json()


def test_only_registered_trading_parties_keep_books() -> None:
    invoice = first(Invoice, kind=InvoiceKind.SECOND)
    assert isinstance(invoice, Invoice)
    seller = first(Party, party_id=invoice.seller)
    assert keeps_books(anchor_of(seller))
    assert not keeps_books(anchor_of(SCENARIO.regulator))
    assert not keeps_books(None)
    assert not keeps_books(b"{not json")


def test_a_first_invoice_prefetches_no_first_receipt_which_its_rules_never_read() -> None:
    invoice = first(Invoice, kind=InvoiceKind.FIRST)
    assert isinstance(invoice, Invoice)
    plan = likely_reads(invoice, invoice.seller)
    assert plan.private and not any(
        key == first_received_key(invoice.seller, x.product_id, x.batch_number)
        for x in invoice.lines
        for key in plan.private
    )
