"""The hospital's one-call verification: genuine second invoice, matching receipt, first-invoice copies."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from pharma_cc_world import (
    A1,
    DIST_A,
    DIST_B,
    DIST_SUB,
    HOSP,
    HOSP_B,
    MAKER,
    RulesWorld,
    amox_codes,
)

from fabrx_pharma import Exemption, GoodsLine, Invoice, InvoiceKind
from fabrx_pharma_chaincode import (
    ChaincodeError,
    InvoiceVerification,
    NotHeldHere,
    PharmaService,
    RecordRefused,
    VerificationRequest,
    composite_key,
    encode,
    requests_from_json,
)


class Story:
    """MAKER -> DIST_A (first), DIST_A -> HOSP (second, with codes), both received."""

    def __init__(self) -> None:
        self.world = RulesWorld()
        self.first = self.world.deliver(self.world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 20, ()),)))
        self.second = self.world.deliver(
            self.world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 5, amox_codes(1, 5)),))
        )

    def verify(
        self, *copies: Invoice | bytes, msp_id: str = HOSP, number: str | None = None
    ) -> InvoiceVerification:
        raw = tuple(c.to_json() if isinstance(c, Invoice) else c for c in copies)
        request = VerificationRequest(number or str(self.second.number), raw)
        (result,) = self.world.run(msp_id, lambda s: s.verify_invoices([request]))
        return result


@pytest.fixture
def story() -> Story:
    return Story()


def codes(result: InvoiceVerification) -> list[tuple[str, str]]:
    return [(d.code, d.field) for d in result.discrepancies]


def test_a_genuine_invoice_with_its_genuine_first_invoice_copy_verifies(story: Story) -> None:
    result = story.verify(story.first)
    assert result.verified, result.discrepancies
    assert (result.genuine, result.receipt_matches) == (True, True)
    assert [c.genuine for c in result.first_invoices] == [True]
    assert json.loads(encode(result))["verified"] is True


def test_verification_never_reads_the_manufacturer_distributor_trade(story: Story) -> None:
    # The hospital's peer keeps no copy of the maker-distributor trade: the memory peer refuses any read of
    # it, so a passing verification proves only public hashes were used.
    store = story.world.store(HOSP)
    with pytest.raises(NotHeldHere):
        store.get_private_data(f"_implicit_org_{MAKER}", composite_key("invoice", str(story.first.number)))
    assert story.verify(story.first).verified


def test_a_tampered_first_invoice_copy_is_caught_by_its_hash(story: Story) -> None:
    line = story.first.lines[0]
    cheaper = replace(line, unit_price=Decimal("8.00"), amount=Decimal("160.00"))
    tampered = replace(story.first, lines=(cheaper,), total=Decimal("160.00"))
    result = story.verify(tampered)
    assert not result.verified
    assert ("HASH_MISMATCH", "first_invoices[0]") in codes(result)
    assert ("BUYER_SELLER_MATCH", "lines[0].batch_number") in codes(result)
    assert [c.genuine for c in result.first_invoices] == [False]


def test_a_missing_copy_leaves_the_batch_unexplained(story: Story) -> None:
    assert codes(story.verify()) == [("BUYER_SELLER_MATCH", "lines[0].batch_number")]


def test_a_copy_of_someone_elses_first_invoice_does_not_explain_the_batch(story: Story) -> None:
    other = story.world.deliver(story.world.invoice(InvoiceKind.FIRST, MAKER, DIST_B, ((A1, 3, ()),)))
    result = story.verify(other)
    assert [c.genuine for c in result.first_invoices] == [True]
    assert codes(result) == [("BUYER_SELLER_MATCH", "lines[0].batch_number")]


def test_unreadable_and_unknown_copies_are_reported(story: Story) -> None:
    unknown = replace(story.first, number=replace(story.first.number, number="24352000000000009999"))
    result = story.verify(b"not json", unknown, story.first)
    assert codes(result) == [("RECORD", "first_invoices[0]"), ("UNKNOWN_INVOICE", "first_invoices[1]")]


def test_a_second_invoice_tampered_on_the_peer_is_not_genuine(story: Story) -> None:
    # The hospital's own copy (from its receipt) is altered on its peer's disk.
    collection = f"_implicit_org_{HOSP}"
    key = composite_key("invoice", str(story.second.number))
    value, version = story.world.channel.private[collection][key]
    doctored = json.loads(value)
    doctored["shipment"]["shipment_id"] = "SHP-OTHER"  # still a well-formed invoice
    story.world.channel.private[collection][key] = (json.dumps(doctored).encode(), version)
    result = story.verify(story.first)
    assert not result.genuine
    assert ("HASH_MISMATCH", "number") in codes(result)


def test_a_short_receipt_does_not_match_the_invoice() -> None:
    world = RulesWorld()
    first = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 20, ()),)))
    second = world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 5, ()),))
    world.submit(DIST_A, second)
    request = VerificationRequest(str(second.number), (first.to_json(),))
    # Before its receipt the hospital's peer keeps no copy: it verifies on the regulator's peer.
    (before,) = world.evaluate(HOSP, lambda s: s.verify_invoices([request]), peer="RegulatorMSP")
    assert before.receipt_matches is None
    assert codes(before) == [("RECEIPT_MISSING", "receipt")]
    world.submit(HOSP, world.receipt(second, lines=(GoodsLine("AMOX", "A1", 4),)))
    (after,) = world.run(HOSP, lambda s: s.verify_invoices([request]))
    assert after.receipt_matches is False
    assert codes(after) == [("INVOICE_GOODS_RECEIPT", "receipt.lines")]


def test_one_call_verifies_invoices_of_several_suppliers() -> None:
    world = RulesWorld()
    requests = []
    for distributor in (DIST_A, DIST_B):
        first = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, distributor, ((A1, 10, ()),)))
        second = world.deliver(world.invoice(InvoiceKind.SECOND, distributor, HOSP, ((A1, 2, ()),)))
        requests.append({"number": str(second.number), "first_invoices": [first.to_dict()]})
    parsed = requests_from_json(json.dumps(requests))
    results = world.run(HOSP, lambda s: s.verify_invoices(parsed))
    assert [(r.seller, r.verified) for r in results] == [(DIST_A, True), (DIST_B, True)]


def test_a_transfer_chain_is_explained_by_both_copies() -> None:
    world = RulesWorld()
    first = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 10, ()),)))
    transfer = world.deliver(
        world.invoice(
            InvoiceKind.TRANSFER, DIST_A, DIST_SUB, ((A1, 10, ()),), exemption=Exemption.GROUP_TRANSFER
        )
    )
    second = world.deliver(world.invoice(InvoiceKind.SECOND, DIST_SUB, HOSP, ((A1, 4, ()),)))
    request = VerificationRequest(str(second.number), (first.to_json(), transfer.to_json()))
    (result,) = world.run(HOSP, lambda s: s.verify_invoices([request]))
    assert result.verified, result.discrepancies
    only_transfer = VerificationRequest(str(second.number), (transfer.to_json(),))
    (partial,) = world.run(HOSP, lambda s: s.verify_invoices([only_transfer]))
    assert not partial.verified


def test_only_the_buyer_or_a_regulator_may_verify(story: Story) -> None:
    with pytest.raises(ChaincodeError) as caught:
        story.verify(story.first, msp_id=HOSP_B)
    assert (caught.value.code, caught.value.field) == ("ROLE", "number")
    assert story.verify(story.first, msp_id="RegulatorMSP").verified
    with pytest.raises(ChaincodeError) as missing:
        story.verify(msp_id=HOSP, number="24352000000000000404")
    assert missing.value.code == "NOT_FOUND"


def test_malformed_requests_are_refused_with_the_entry() -> None:
    with pytest.raises(ChaincodeError) as caught:
        requests_from_json(b'[{"first_invoices": []}]')
    assert (caught.value.code, caught.value.field) == ("RECORD", "[0].number")
    with pytest.raises(ChaincodeError) as deep:
        requests_from_json(b"[" * 100_000 + b"]" * 100_000)
    assert (deep.value.code, deep.value.field) == ("RECORD", "<requests>")
    assert PharmaService.verify_invoices.__doc__


def test_a_first_invoice_copy_with_amounts_typed_otherwise_verifies_by_value() -> None:
    world = RulesWorld()
    first = world.deliver(world.invoice(InvoiceKind.FIRST, MAKER, DIST_A, ((A1, 10, ()),)))
    second = world.deliver(world.invoice(InvoiceKind.SECOND, DIST_A, HOSP, ((A1, 2, ()),)))
    copy = first.to_dict()
    copy["lines"][0]["unit_price"] = "10.0"  # the ledger's copy says 10.00
    copy["lines"][0]["amount"] = "100"
    copy["total"] = "100.0"
    (result,) = world.run(
        HOSP,
        lambda s: s.verify_invoices(
            requests_from_json(json.dumps([{"number": str(second.number), "first_invoices": [copy]}]))
        ),
    )
    assert result.verified and result.first_invoices[0].genuine, result.discrepancies


@pytest.mark.parametrize(
    "data", ["[" * 100_000 + "]" * 100_000, '[{"number": "1", "first_invoices": ' + "[" * 50_000]
)
def test_a_request_nested_too_deeply_is_refused_clearly(data: str) -> None:
    with pytest.raises(RecordRefused) as refused:
        requests_from_json(data)
    assert refused.value.field == "<requests>"


def test_a_first_invoice_the_regulators_peer_wrote_alone_in_the_sellers_name_is_not_genuine(
    story: Story,
) -> None:
    # What the regulator's peer alone can put on the ledger: a public anchor and a copy in its own
    # collection (the maker's implicit collection needs the maker's endorsement). The anchor names only
    # the regulator's collection, so its hash is consistent with every copy it names.
    from pharma_cc_world import REG

    from fabrx_pharma import record_hash
    from fabrx_pharma.privacy import implicit_collection
    from fabrx_pharma_chaincode.layout import Anchor

    genuine_key = composite_key("invoice", str(story.first.number))
    genuine_anchor = Anchor.from_json(story.world.channel.public[genuine_key][0])
    forged = replace(story.first, number=replace(story.first.number, number="24352000000000007777"))
    number = str(forged.number)
    anchor = replace(
        genuine_anchor,
        key=number,
        hash=record_hash(forged),
        collections=(implicit_collection(REG),),
        public={**genuine_anchor.public, "number": number},
    )
    key = composite_key("invoice", number)
    version = story.world.channel.public[genuine_key][1]
    story.world.channel.public[key] = (anchor.to_json(), version)
    story.world.channel.private[implicit_collection(REG)][key] = (forged.to_json(), version)

    result = story.verify(forged)
    assert [c.genuine for c in result.first_invoices] == [False]
    assert ("HASH_MISMATCH", "first_invoices[0]") in codes(result)
    assert ("BUYER_SELLER_MATCH", "lines[0].batch_number") in codes(result)
    assert story.verify(story.first).verified  # the genuine one still verifies
