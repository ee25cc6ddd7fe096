from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from fabrx_pharma import (
    RECORD_TYPES,
    Invoice,
    Party,
    Prescription,
    Product,
    RecordError,
    Role,
    canonical_json,
    record_from_json,
    record_hash,
)
from fabrx_pharma.records import MAX_RECORD_BYTES, Batch, GoodsLine, InvoiceLine, Recall, Receipt
from fabrx_pharma.sample import build_sample_scenario, sample_uscc

SCENARIO = build_sample_scenario()
ALL_RECORDS = [record for _, record in SCENARIO.writes] + [SCENARIO.regulator]


def first_invoice_dict() -> dict[str, Any]:
    invoice = next(r for r in ALL_RECORDS if isinstance(r, Invoice))
    return invoice.to_dict()


def problems(cls: Any, data: object) -> dict[str, str]:
    with pytest.raises(RecordError) as caught:
        cls.from_dict(data)
    return {p.field: p.rule for p in caught.value.problems}


@pytest.mark.parametrize("record", ALL_RECORDS, ids=lambda r: f"{r.RECORD_TYPE}-{r.key}")
def test_every_sample_record_round_trips_through_dict_and_json(record: Any) -> None:
    cls = type(record)
    assert cls.from_dict(record.to_dict()) == record
    assert cls.from_json(record.to_json()) == record
    assert record_from_json(record.RECORD_TYPE, record.to_json()) == record


def test_record_types_name_every_ledger_record() -> None:
    assert set(RECORD_TYPES) == {
        "party",
        "product",
        "batch",
        "invoice",
        "receipt",
        "prescription",
        "adverse_event",
        "recall",
    }
    with pytest.raises(KeyError, match="unknown record type 'shipment'"):
        record_from_json("shipment", b"{}")


def test_canonical_json_sorts_keys_without_spaces_and_keeps_utf8() -> None:
    party = SCENARIO.regulator
    data = canonical_json(party)
    assert (
        data
        == json.dumps(party.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert b" :" not in data and b", " not in data
    assert "卫生健康委员会".encode() in data  # not \\u-escaped
    assert list(json.loads(data)) == sorted(json.loads(data))


def test_record_hash_lets_a_hospital_check_a_first_invoice_copy() -> None:
    on_ledger = Invoice.from_dict(first_invoice_dict())
    expected = record_hash(on_ledger)
    assert expected == hashlib.sha256(canonical_json(on_ledger)).hexdigest()
    # The copy handed over by the distributor, with keys in another order, hashes the same.
    reordered = dict(reversed(list(first_invoice_dict().items())))
    assert record_hash(Invoice.from_json(json.dumps(reordered))) == expected
    # A doctored copy (a different unit price) does not.
    doctored = first_invoice_dict()
    doctored["lines"][0]["unit_price"] = "11.50"
    doctored["lines"][0]["amount"] = "2300.00"
    doctored["total"] = str(Decimal(doctored["total"]) - 200)
    assert record_hash(Invoice.from_dict(doctored)) != expected


def test_a_copy_with_amounts_written_otherwise_is_the_same_invoice_by_value() -> None:
    on_ledger = Invoice.from_dict(first_invoice_dict())
    retyped = first_invoice_dict()
    for line in retyped["lines"]:
        line["unit_price"] = line["unit_price"].rstrip("0").rstrip(".")  # 12.50 -> 12.5
        line["amount"] = line["amount"][:-1]  # 2500.00 -> 2500.0
    retyped["total"] = retyped["total"].split(".")[0]  # 2500.00 -> 2500 when whole
    copy_ = Invoice.from_json(json.dumps(retyped))
    assert copy_ == on_ledger
    assert record_hash(copy_) == record_hash(on_ledger)
    assert copy_.to_dict()["lines"][0]["unit_price"] == "12.50"


def test_decimals_are_written_by_value_in_one_canonical_form() -> None:
    line = InvoiceLine("P", "B", 3, Decimal("1.500000"), Decimal("4.5"))
    assert (line.to_dict()["unit_price"], line.to_dict()["amount"]) == ("1.50", "4.50")
    assert InvoiceLine("P", "B", 1, Decimal("0.125"), Decimal("0.13")).to_dict()["unit_price"] == "0.125"
    assert InvoiceLine("P", "B", 1, Decimal("1E+2"), Decimal("100")).to_dict()["unit_price"] == "100.00"


@pytest.mark.parametrize("quantity", [10**30, 10**9 + 1])
def test_a_quantity_beyond_the_bound_is_a_clear_problem_not_an_arithmetic_error(quantity: int) -> None:
    data = first_invoice_dict()
    data["lines"][0]["quantity"] = quantity
    data["shipment"]["lines"][0]["quantity"] = quantity
    found = problems(Invoice, data)
    assert found["lines[0].quantity"] == "RANGE" and found["shipment.lines[0].quantity"] == "RANGE"
    # The largest quantity at the largest price: compared exactly, reported as an arithmetic problem.
    line = {"product_id": "P", "batch_number": "B", "quantity": 10**9, "unit_price": "9" * 15 + ".999999"}
    line["amount"] = "1.00"
    assert problems(InvoiceLine, line) == {"amount": "ARITHMETIC"}


def test_from_dict_reports_every_problem_with_its_path() -> None:
    data = first_invoice_dict()
    del data["seller"]
    data["lines"][1]["quantity"] = 0
    data["shipment"]["lines"][0]["batch_number"] = "bad id with spaces"
    data["issue_date"] = "2024/05/06"
    found = problems(Invoice, data)
    assert found == {
        "seller": "REQUIRED",
        "lines[1].quantity": "TYPE",
        "shipment.lines[0].batch_number": "RECORD_ID_FORMAT",
        "issue_date": "FORMAT",
    }


def test_error_message_lists_each_problem() -> None:
    data = first_invoice_dict()
    data["lines"][1]["quantity"] = -3
    with pytest.raises(RecordError) as caught:
        Invoice.from_dict(data)
    assert "lines[1].quantity: must be a positive integer, got -3" in str(caught.value)


def test_nested_path_prefix_is_applied() -> None:
    with pytest.raises(RecordError) as caught:
        GoodsLine.from_dict({"product_id": "P", "batch_number": "B"}, "invoices[3].shipment.lines[0]")
    assert [p.field for p in caught.value.problems] == ["invoices[3].shipment.lines[0].quantity"]


def test_unknown_fields_are_rejected_so_hashes_cover_everything() -> None:
    data = first_invoice_dict()
    data["discount"] = "5.00"
    assert problems(Invoice, data) == {"discount": "UNKNOWN_FIELD"}


def test_invoice_arithmetic_is_checked() -> None:
    data = first_invoice_dict()
    data["total"] = "1.00"
    assert problems(Invoice, data) == {"total": "ARITHMETIC"}
    line = {"product_id": "P", "batch_number": "B", "quantity": 3, "unit_price": "0.333333", "amount": "1.00"}
    assert InvoiceLine.from_dict(line).amount == Decimal("1.00")
    line["amount"] = "0.99"
    assert problems(InvoiceLine, line) == {"amount": "ARITHMETIC"}


@pytest.mark.parametrize(
    ("value", "rule"), [(12.5, "TYPE"), ("1e3", "TYPE"), ("-1.00", "TYPE"), ("1.001", "FORMAT")]
)
def test_money_must_be_a_decimal_string(value: object, rule: str) -> None:
    line = {"product_id": "P", "batch_number": "B", "quantity": 1, "unit_price": "1.00", "amount": value}
    assert problems(InvoiceLine, line)["amount"] == rule


def test_transfer_invoice_needs_an_exemption_and_only_it_may_have_one() -> None:
    data = first_invoice_dict()
    data["kind"] = "transfer"
    assert problems(Invoice, data) == {"exemption": "REQUIRED"}
    data = first_invoice_dict()
    data["exemption"] = "group_transfer"
    assert problems(Invoice, data) == {"exemption": "FORMAT"}
    data["exemption"] = "friendship"
    assert problems(Invoice, data) == {"exemption": "CHOICE"}


def test_seller_and_buyer_must_differ() -> None:
    data = first_invoice_dict()
    data["buyer"] = data["seller"]
    assert problems(Invoice, data) == {"buyer": "FORMAT"}


def test_trace_codes_are_one_per_package_and_unique() -> None:
    codes = ["81234010000000000001", "81234010000000000002"]
    line = {"product_id": "P", "batch_number": "B", "quantity": 3, "trace_codes": codes}
    assert problems(GoodsLine, line) == {"trace_codes": "COUNT"}
    line = {"product_id": "P", "batch_number": "B", "quantity": 2, "trace_codes": [codes[0], codes[0]]}
    assert problems(GoodsLine, line) == {"trace_codes": "DUPLICATE"}
    line = {"product_id": "P", "batch_number": "B", "quantity": 2, "trace_codes": [codes[0], "123"]}
    assert problems(GoodsLine, line) == {"trace_codes[1]": "TRACE_CODE_FORMAT"}


def test_timestamps_need_a_utc_offset() -> None:
    data = SCENARIO.records(Receipt)[0].to_dict()
    data["received_at"] = "2024-05-07T14:00:00"
    assert problems(Receipt, data) == {"received_at": "FORMAT"}
    data["received_at"] = "2024-05-07T06:00:00Z"
    assert Receipt.from_dict(data).received_at == datetime(2024, 5, 7, 6, tzinfo=UTC)


def test_party_fields_are_validated() -> None:
    data = SCENARIO.regulator.to_dict()
    data.update(
        role="patient", uscc="91350100M000100Y44", parent_party_id=data["party_id"], remote_area="yes"
    )
    assert problems(Party, data) == {
        "role": "CHOICE",
        "uscc": "USCC_CHECK",
        "parent_party_id": "FORMAT",
        "remote_area": "TYPE",
    }


def test_only_a_distributor_can_count_as_a_manufacturer() -> None:
    data = SCENARIO.regulator.to_dict()
    data["counts_as_manufacturer_of"] = ["MakerMSP"]
    assert problems(Party, data) == {"counts_as_manufacturer_of": "FORMAT"}


DISTRIBUTOR = next(r for r in ALL_RECORDS if isinstance(r, Party) and r.role is Role.DISTRIBUTOR)
CLINIC_ID = sample_uscc("52", "350102", "MJ000001")


def test_party_ids_are_validated_as_party_ids_and_the_host_as_an_msp_id() -> None:
    data = DISTRIBUTOR.to_dict()
    data.update(
        party_id="Distributor A",
        host_msp_id="Org 1",
        parent_party_id="-A",
        counts_as_manufacturer_of=["Maker/MSP"],
    )
    assert problems(Party, data) == {
        "party_id": "PARTY_ID_FORMAT",
        "host_msp_id": "MSP_ID_FORMAT",
        "parent_party_id": "PARTY_ID_FORMAT",
        "counts_as_manufacturer_of[0]": "PARTY_ID_FORMAT",
    }


def test_party_json_names_the_host_which_defaults_to_the_party_itself() -> None:
    data = DISTRIBUTOR.to_dict()
    assert data["host_msp_id"] == data["party_id"] and DISTRIBUTOR.is_member
    without = {k: v for k, v in data.items() if k != "host_msp_id"}
    assert Party.from_dict(without) == Party.from_dict({**data, "host_msp_id": None}) == DISTRIBUTOR
    # A hosted clinic, named by its USCC; the fifth positional argument is the host.
    clinic = Party(CLINIC_ID, Role.HOSPITAL, "Sample Street Clinic", CLINIC_ID, DISTRIBUTOR.party_id)
    assert (clinic.host_msp_id, clinic.is_member) == (DISTRIBUTOR.party_id, False)
    assert json.loads(clinic.to_json())["host_msp_id"] == DISTRIBUTOR.party_id
    assert Party.from_json(clinic.to_json()) == clinic
    assert record_from_json("party", canonical_json(clinic)) == clinic


@pytest.mark.parametrize("role", ["regulator", "host"])
def test_a_regulator_or_a_host_is_a_member_organization(role: str) -> None:
    data = {**DISTRIBUTOR.to_dict(), "role": role}
    assert Party.from_dict(data).is_member
    data["host_msp_id"] = "OtherMSP"
    assert problems(Party, data) == {"host_msp_id": "FORMAT"}
    assert not Party.from_dict({**data, "role": "hospital"}).is_member  # trading parties may be hosted


def test_product_needs_a_trace_prefix_or_a_gtin() -> None:
    data = SCENARIO.records(Product)[0].to_dict()
    data.update(gtin=None, trace_prefix=None)
    assert problems(Product, data) == {"trace_prefix": "REQUIRED"}
    data.update(trace_prefix="812340", approval_number="国药准字Q20003263")
    assert problems(Product, data) == {
        "trace_prefix": "TRACE_PREFIX_FORMAT",
        "approval_number": "APPROVAL_NUMBER_FORMAT",
    }


def test_batch_expiry_must_follow_production() -> None:
    data = SCENARIO.records(Batch)[0].to_dict()
    data["expiry_date"] = data["production_date"]
    assert problems(Batch, data) == {"expiry_date": "TIME_ORDER"}
    data = SCENARIO.records(Batch)[0].to_dict()
    data["raw_material_lots"][0]["quantity"] = "0"
    assert problems(Batch, data) == {"raw_material_lots[0].quantity": "FORMAT"}


def test_prescription_refuses_a_clear_patient_id() -> None:
    data = SCENARIO.records(Prescription)[0].to_dict()
    data["patient_pseudonym"] = "350102198001011234"
    assert problems(Prescription, data) == {"patient_pseudonym": "PSEUDONYM_FORMAT"}


def test_missing_record_or_nested_object_is_reported() -> None:
    assert problems(Recall, None) == {"<record>": "REQUIRED"}
    assert problems(Recall, []) == {"<record>": "TYPE"}
    data = first_invoice_dict()
    data["shipment"] = None
    assert problems(Invoice, data) == {"shipment": "REQUIRED"}


def json_problem(data: bytes | str) -> tuple[str, str]:
    with pytest.raises(RecordError) as caught:
        Recall.from_json(data)
    (problem,) = caught.value.problems
    return problem.rule, problem.message


def test_from_json_rejects_oversize_input_before_parsing() -> None:
    rule, message = json_problem(b" " * (MAX_RECORD_BYTES + 1))
    assert rule == "SIZE" and str(MAX_RECORD_BYTES) in message


def test_from_json_rejects_non_utf8() -> None:
    assert json_problem('{"reason": "召回"}'.encode("gb18030"))[0] == "ENCODING"


@pytest.mark.parametrize(
    "data",
    [b'{"reason": "a", "reason": "b"}', b'{"quantity": NaN}', b"{not json", b"[" * 100_000 + b"]" * 100_000],
    ids=["duplicate-key", "nan", "syntax", "deep-nesting"],
)
def test_from_json_rejects_ambiguous_or_malformed_json(data: bytes) -> None:
    assert json_problem(data)[0] == "JSON"


def test_to_dict_output_is_independent_of_the_record() -> None:
    invoice = Invoice.from_dict(first_invoice_dict())
    data = invoice.to_dict()
    mutated = copy.deepcopy(data)
    mutated["lines"].clear()
    assert invoice.to_dict() == data


def test_arithmetic_is_still_checked_when_an_unrelated_field_is_bad() -> None:
    data = first_invoice_dict()
    data["total"] = "1.00"
    data["buyer"] = "not a party id"
    assert problems(Invoice, data) == {"buyer": "PARTY_ID_FORMAT", "total": "ARITHMETIC"}
