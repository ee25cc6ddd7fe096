"""The HTTP API over the real pharma contract on an in-memory ledger, one service per member: every
write and read, verification, supervision, role checks, error mapping, idempotency and the audit log."""

from __future__ import annotations

import dataclasses
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_fakes import LedgerContract, Services

from fabrx import CommitError, ConnectionFailure, EndorseError
from fabrx.errors import CommitStatusUnknown
from fabrx.pharma import AccessRefused, PharmaError, RecordInvalid, RecordNotFound, Regulator
from fabrx_pharma import AdverseEvent, Invoice, Prescription, Receipt, RecordError, ValidationError
from fabrx_pharma.sample import build_sample_scenario
from fabrx_pharma_service import ServiceLimits, service_error

SAMPLE = build_sample_scenario()
PATHS = {
    "party": "/v1/parties",
    "product": "/v1/products",
    "batch": "/v1/batches",
    "invoice": "/v1/invoices",
    "receipt": "/v1/receipts",
    "prescription": "/v1/prescriptions",
    "adverse_event": "/v1/adverse-events",
    "recall": "/v1/recalls",
}
INVOICES = [r for r in SAMPLE.records(Invoice) if isinstance(r, Invoice)]
FIRST_A = next(i for i in INVOICES if i.seller == "ManufacturerMSP" and i.buyer == "DistributorAMSP")
SECOND_A = next(i for i in INVOICES if i.seller == "DistributorAMSP" and i.buyer == "HospitalAMSP")
PRESCRIPTION = next(r for r in SAMPLE.records(Prescription) if isinstance(r, Prescription))
EVENT = next(r for r in SAMPLE.records(AdverseEvent) if isinstance(r, AdverseEvent))


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Services:
    """The sample story written through the services of its six members (bootstrap by the facade)."""
    services = Services(tmp_path_factory.mktemp("services"), limits=ServiceLimits(max_body_bytes=64 * 1024))
    Regulator(LedgerContract(services.ledger, "RegulatorMSP", []), "RegulatorMSP").bootstrap(SAMPLE.regulator)
    for submitter, record in SAMPLE.writes:
        answer = services.client(submitter).post(PATHS[record.RECORD_TYPE], record.to_dict())
        assert answer.status_code == 201, answer.text
        anchor = answer.json()
        assert (anchor["record_type"], anchor["submitter"]) == (record.RECORD_TYPE, submitter)
    return services


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Services]:
    services = Services(tmp_path, limits=ServiceLimits(max_body_bytes=64 * 1024))
    Regulator(LedgerContract(services.ledger, "RegulatorMSP", []), "RegulatorMSP").bootstrap(SAMPLE.regulator)
    yield services


def test_every_record_of_the_story_reads_back_with_its_field_names(story: Services) -> None:
    hospital = story.client("HospitalAMSP")
    assert hospital.get(f"/v1/invoices/{SECOND_A.number}").json() == SECOND_A.to_dict()
    receipt = next(
        r for r in SAMPLE.records(Receipt) if isinstance(r, Receipt) and r.receiver == "HospitalAMSP"
    )
    assert hospital.get(f"/v1/receipts/{receipt.invoice_number}").json() == receipt.to_dict()
    assert hospital.get(f"/v1/prescriptions/{PRESCRIPTION.prescription_id}").json() == PRESCRIPTION.to_dict()
    assert hospital.get(f"/v1/adverse-events/{EVENT.report_id}").json() == EVENT.to_dict()
    party = hospital.get("/v1/parties/DistributorAMSP").json()
    assert party["role"] == "distributor"
    line = SECOND_A.lines[0]
    product = hospital.get(f"/v1/products/{line.product_id}").json()
    assert product["product_id"] == line.product_id
    batch = hospital.get(f"/v1/batches/{line.product_id}/{line.batch_number}").json()
    assert batch["batch_number"] == line.batch_number and batch["raw_material_lots"] == []
    lots = story.client("ManufacturerMSP").get(f"/v1/batches/{line.product_id}/{line.batch_number}").json()
    assert lots["raw_material_lots"]
    anchor = hospital.get(f"/v1/anchors/invoice/{SECOND_A.number}").json()
    assert anchor["submitter"] == "DistributorAMSP" and "lines" not in anchor["public"]
    assert hospital.get("/v1/policy").json()["allow_group_transfer"] is True
    stock = story.client("DistributorAMSP").get(f"/v1/stock/{line.product_id}/{line.batch_number}").json()
    assert stock["on_hand"] == stock["received"] - stock["sold"] - stock["transferred"] - stock["sold_remote"]
    code = (
        PRESCRIPTION.items[0].trace_codes[0] if PRESCRIPTION.items[0].trace_codes else "6901234000000000001"
    )
    status = hospital.get(f"/v1/trace-codes/{code}").json()
    assert status["trace_code"] == code


def test_a_hospital_verifies_a_genuine_and_a_tampered_first_invoice_copy(story: Services) -> None:
    tampered = dataclasses.replace(FIRST_A, total=FIRST_A.total + 1).to_dict()
    tampered["lines"][0]["amount"] = str(FIRST_A.lines[0].amount + 1)
    tampered["lines"][0]["unit_price"] = str(FIRST_A.lines[0].unit_price)
    body = {
        "invoices": [
            {"number": str(SECOND_A.number), "first_invoices": [FIRST_A.to_dict()]},
        ]
    }
    (genuine,) = story.client("HospitalAMSP").post("/v1/verifications", body).json()
    assert genuine["verified"] and genuine["genuine"] and genuine["first_invoices"][0]["genuine"]
    copy = FIRST_A.to_dict()
    copy["shipment"]["shipment_id"] = "SHP-FORGED"
    body["invoices"][0]["first_invoices"] = [copy]
    (forged,) = story.client("HospitalAMSP").post("/v1/verifications", body).json()
    assert not forged["verified"] and not forged["first_invoices"][0]["genuine"]
    assert any(d["code"] == "HASH_MISMATCH" for d in forged["discrepancies"])


def test_the_regulator_reports_traces_and_scopes_a_recall(story: Services) -> None:
    regulator = story.client("RegulatorMSP")
    findings = regulator.get("/v1/compliance-report?as_of=2024-12-31T00:00:00%2B08:00")
    assert findings.status_code == 200 and isinstance(findings.json(), list)
    assert regulator.get("/v1/diversion-signals").status_code == 200
    (trace,) = regulator.get(f"/v1/traces?prescription_id={PRESCRIPTION.prescription_id}").json()
    assert trace["manufacturer"]["role"] == "manufacturer" and trace["chains"]
    item = PRESCRIPTION.items[0]
    scope = regulator.get(f"/v1/recall-scope/{item.product_id}/{item.batch_number}").json()
    assert PRESCRIPTION.prescription_id in [p["prescription_id"] for p in scope["prescriptions"]]
    (by_number,) = regulator.post(
        "/v1/verifications", {"invoices": [{"number": str(SECOND_A.number)}]}
    ).json()
    assert by_number["genuine"]


def test_a_time_without_offset_is_refused_with_its_field(story: Services) -> None:
    answer = story.client("RegulatorMSP").get("/v1/compliance-report?as_of=2024-12-31T00:00:00")
    assert answer.status_code == 400 and answer.json()["field"] == "as_of"


def test_a_hospital_cannot_read_another_hospitals_trade(story: Services) -> None:
    answer = story.client("HospitalBMSP").get(f"/v1/invoices/{SECOND_A.number}")
    assert answer.status_code == 403
    assert answer.json()["code"] in ("PRIVATE_DATA", "ROLE")
    verify = story.client("HospitalBMSP").post(
        "/v1/verifications", {"invoices": [{"number": str(SECOND_A.number)}]}
    )
    assert verify.status_code == 403


@pytest.mark.parametrize(
    ("msp_id", "method", "path"),
    [
        ("HospitalAMSP", "POST", "/v1/batches"),
        ("DistributorAMSP", "POST", "/v1/prescriptions"),
        ("ManufacturerMSP", "POST", "/v1/parties"),
        ("HospitalAMSP", "GET", "/v1/compliance-report"),
        ("DistributorAMSP", "POST", "/v1/verifications"),
        ("HospitalAMSP", "PUT", "/v1/policy"),
    ],
)
def test_an_operation_of_another_role_is_forbidden_and_sends_nothing(
    story: Services, msp_id: str, method: str, path: str
) -> None:
    client = story.client(msp_id)
    before = list(story.members[msp_id].submits)
    answer = client.request(method, path, {"x": 1} if method != "GET" else None)
    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN"
    assert story.members[msp_id].submits == before


def test_a_record_attributed_to_another_organization_is_forbidden(fresh: Services) -> None:
    record = dataclasses.replace(SECOND_A, seller="DistributorBMSP").to_dict()
    answer = fresh.client("DistributorAMSP").post("/v1/invoices", record)
    assert answer.status_code == 403 and (answer.json()["code"], answer.json()["field"]) == ("ROLE", "seller")


def test_a_rule_refusal_is_400_with_rule_field_and_transaction_id(fresh: Services) -> None:
    for submitter, record in SAMPLE.writes:
        if record.RECORD_TYPE in ("party", "product", "batch"):
            assert (
                fresh.client(submitter).post(PATHS[record.RECORD_TYPE], record.to_dict()).status_code == 201
            )
    # A second invoice before the distributor bought anything: refused by the chaincode, nothing written.
    answer = fresh.client("DistributorAMSP").post("/v1/invoices", SECOND_A.to_dict())
    assert answer.status_code == 400
    error = answer.json()
    assert error["code"] in ("BUYER_SELLER_MATCH", "CONSERVATION", "NOT_FOUND", "RECORD") and error["field"]
    assert error["transaction_id"] == "f" * 64
    missing = fresh.client("DistributorAMSP").get(f"/v1/anchors/invoice/{SECOND_A.number}")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


def test_a_reused_number_is_a_conflict_and_the_same_record_again_its_anchor(story: Services) -> None:
    client = story.client("ManufacturerMSP")
    again = client.post("/v1/invoices", FIRST_A.to_dict())
    assert again.status_code in (200, 201) and again.json()["key"] == str(FIRST_A.number)
    changed = FIRST_A.to_dict()
    changed["shipment"]["shipment_id"] = "SHP-OTHER"
    answer = client.post("/v1/invoices", changed)
    assert answer.status_code == 409 and answer.json()["code"] in ("INVOICE_REUSED", "DUPLICATE_RECORD")


def test_malformed_json_is_422_and_a_malformed_record_400_with_every_field(story: Services) -> None:
    client = story.client("DistributorAMSP")
    before = list(story.members["DistributorAMSP"].submits)
    broken = client.post("/v1/receipts", raw=b'{"receipt_id": ')
    assert broken.status_code == 422 and broken.json()["code"] == "MALFORMED_JSON"
    record = SECOND_A.to_dict() | {"total": "x", "issue_date": "yesterday"}
    bad = client.post("/v1/invoices", record)
    assert bad.status_code == 400 and bad.json()["code"] == "RECORD"
    fields = {p["field"] for p in bad.json()["problems"]}
    assert {"total", "issue_date"} <= fields
    assert story.members["DistributorAMSP"].submits == before


def test_an_oversize_body_is_413_before_anything_else(story: Services) -> None:
    client = story.client("DistributorAMSP")
    before = list(story.members["DistributorAMSP"].submits)
    answer = client.post("/v1/receipts", raw=b"[" + b"0," * 40_000 + b"0]")
    assert answer.status_code == 413 and answer.json()["code"] == "TOO_LARGE"
    assert story.members["DistributorAMSP"].submits == before


def test_an_unsigned_or_replayed_request_writes_nothing(story: Services) -> None:
    client = story.client("HospitalAMSP")
    before = list(story.members["HospitalAMSP"].submits)
    unsigned = client.post("/v1/prescriptions", PRESCRIPTION.to_dict(), sign=False)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "UNSIGNED"
    first = client.get("/v1/policy", nonce="fixed-nonce-1")
    assert first.status_code == 200
    again = client.get("/v1/policy", nonce="fixed-nonce-1")
    assert again.status_code == 401 and again.json()["code"] == "REPLAYED"
    assert story.members["HospitalAMSP"].submits == before
    refused = [e for e in story.audits["HospitalAMSP"].entries() if e.status == 401]
    assert [(e.app_id, e.outcome) for e in refused[-2:]] == [
        ("", "UNSIGNED"),
        ("unverified:erp-HospitalAMSP", "REPLAYED"),
    ]


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(fresh: Services) -> None:
    regulator = fresh.client("RegulatorMSP")
    party = next(record for _, record in SAMPLE.writes if record.RECORD_TYPE == "party")
    headers = {"Idempotency-Key": "party-0001"}
    first = regulator.post("/v1/parties", party.to_dict(), headers=headers)
    again = regulator.post("/v1/parties", party.to_dict(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert fresh.members["RegulatorMSP"].submits.count("register_party") == 1
    other = regulator.post("/v1/parties", party.to_dict() | {"name": "Another"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_CONFLICT"
    assert fresh.members["RegulatorMSP"].submits.count("register_party") == 1


def test_a_refusal_is_replayed_but_a_network_failure_releases_the_key(fresh: Services) -> None:
    client = fresh.client("HospitalAMSP")
    headers = {"Idempotency-Key": "rx-1"}
    refused = client.post("/v1/prescriptions", PRESCRIPTION.to_dict(), headers=headers)
    assert refused.status_code in (400, 404)
    assert client.post("/v1/prescriptions", PRESCRIPTION.to_dict(), headers=headers).json() == refused.json()
    member = fresh.members["HospitalAMSP"]
    member.failure = ConnectionFailure("peer down", code="UNAVAILABLE")
    down = client.post("/v1/prescriptions", PRESCRIPTION.to_dict(), headers={"Idempotency-Key": "rx-2"})
    assert down.status_code == 503 and down.json()["code"] == "UNAVAILABLE"
    member.failure = None
    retried = client.post("/v1/prescriptions", PRESCRIPTION.to_dict(), headers={"Idempotency-Key": "rx-2"})
    assert retried.status_code != 503 and "Idempotent-Replayed" not in retried.headers


def test_the_status_of_a_transaction(story: Services) -> None:
    client = story.client("HospitalAMSP")
    found = client.get("/v1/transactions/" + "a" * 64).json()
    assert found == {"transaction_id": "a" * 64, "validation_code": "VALID", "valid": True, "block_number": 7}
    assert client.get("/v1/transactions/" + "b" * 64).status_code == 404


def test_health_needs_no_signature(story: Services) -> None:
    answer = story.client("HospitalAMSP").client.get("/v1/health")
    assert answer.json() == {"status": "ok", "member": "HospitalAMSP"}


def test_the_audit_log_names_who_did_what_without_patient_data(story: Services) -> None:
    regulator = story.client("RegulatorMSP")
    regulator.get(f"/v1/traces?patient_pseudonym={PRESCRIPTION.patient_pseudonym}")
    entries = story.audits["HospitalAMSP"].entries()
    written = [e for e in entries if e.operation == "record_prescription" and e.status == 201]
    assert written and written[0].record_key == PRESCRIPTION.prescription_id
    assert written[0].app_id == "erp-HospitalAMSP" and written[0].identity == "client"
    assert written[0].transaction_id and written[0].outcome == "ok"
    for msp_id, audit in story.audits.items():
        text = audit.path.read_text(encoding="utf-8")
        assert PRESCRIPTION.patient_pseudonym not in text and EVENT.description not in text, msp_id
        assert stat.S_IMODE(audit.path.stat().st_mode) == 0o600
    assert any(
        e.operation == "trace" and e.record_key == "patient" for e in story.audits["RegulatorMSP"].entries()
    )


def _mapped(error: Exception) -> tuple[int, str]:
    translated = service_error(error)
    return translated.status, translated.code


def test_library_errors_map_to_http_statuses() -> None:
    problem = ValidationError("RECORD", "total", "not a number")
    assert _mapped(RecordInvalid("total", "bad")) == (400, "RECORD")
    assert _mapped(RecordError("Invoice", [problem])) == (400, "RECORD")
    assert _mapped(PharmaError("CONSERVATION", "lines[0].quantity", "too many")) == (400, "CONSERVATION")
    assert _mapped(PharmaError("ROLE", "seller", "not yours")) == (403, "ROLE")
    assert _mapped(AccessRefused("PRIVATE_DATA", "number", "not a member", status=403)) == (
        403,
        "PRIVATE_DATA",
    )
    assert _mapped(RecordNotFound("NOT_FOUND", "number", "none", status=404)) == (404, "NOT_FOUND")
    assert _mapped(PharmaError("INVOICE_REUSED", "number", "used")) == (409, "INVOICE_REUSED")
    assert _mapped(PharmaError("CONFIG", "msp_id", "bad", status=500)) == (500, "CONFIG")
    assert _mapped(CommitError("t" * 64, "MVCC_READ_CONFLICT", 9)) == (409, "MVCC_READ_CONFLICT")
    assert _mapped(ConnectionFailure("down", code="UNAVAILABLE")) == (503, "UNAVAILABLE")
    assert _mapped(EndorseError("refused", code="ABORTED", transaction_id="t")) == (502, "ABORTED")
    unknown = service_error(CommitStatusUnknown("cut off", code="UNAVAILABLE", transaction_id="c" * 64))
    assert (unknown.status, unknown.code, unknown.transaction_id) == (502, "COMMIT_STATUS_UNKNOWN", "c" * 64)
    assert "/v1/transactions/" + "c" * 64 in unknown.message
    assert service_error(CommitError("t" * 64, "MVCC_READ_CONFLICT", 9)).retryable
    assert not service_error(PharmaError("CONSERVATION", "x", "y")).retryable


def test_error_bodies_carry_status_code_field_message_and_transaction(story: Services) -> None:
    body: dict[str, Any] = story.client("HospitalAMSP").get("/v1/invoices/00000000000000000000").json()
    assert set(body) >= {"status", "code", "field", "message", "transaction_id"}
    assert json.dumps(body)


def test_a_bulk_request_answers_each_write_on_its_own(fresh: Services) -> None:
    regulator = fresh.client("RegulatorMSP")
    parties = [record for _, record in SAMPLE.writes if record.RECORD_TYPE == "party"]
    body = {
        "writes": [
            {"operation": "register_party", "record": parties[0].to_dict(), "idempotency_key": "p-0"},
            {"operation": "register_party", "record": parties[1].to_dict() | {"uscc": "bad"}},
            {"operation": "record_batch", "record": {"product_id": "X"}},
            {"operation": "register_party", "record": parties[2].to_dict(), "idempotency_key": "p-2"},
        ]
    }
    answer = regulator.post("/v1/bulk", body)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [201, 400, 403, 201]
    assert results[1]["error"]["field"] == "uscc" and results[2]["error"]["code"] == "FORBIDDEN"
    assert results[0]["anchor"]["key"] == parties[0].key
    submits = fresh.members["RegulatorMSP"].submits.count("register_party")
    again = regulator.post("/v1/bulk", {"writes": [body["writes"][0], body["writes"][3]]}).json()["results"]
    assert [r["anchor"] for r in again] == [results[0]["anchor"], results[3]["anchor"]]
    assert fresh.members["RegulatorMSP"].submits.count("register_party") == submits


def test_a_malformed_bulk_request_is_refused_whole(fresh: Services) -> None:
    regulator = fresh.client("RegulatorMSP")
    unknown = regulator.post("/v1/bulk", {"writes": [{"operation": "drop_table", "record": {}}]})
    assert unknown.status_code == 422 and unknown.json()["field"] == "writes[0].operation"
    empty = regulator.post("/v1/bulk", {"writes": []})
    assert empty.status_code == 422 and empty.json()["field"] == "writes"
    keyed = regulator.post("/v1/bulk", {"writes": []}, headers={"Idempotency-Key": "k"})
    assert keyed.status_code == 422 and keyed.json()["code"] == "IDEMPOTENCY_KEY"
    assert fresh.members["RegulatorMSP"].submits == []


def test_the_regulator_reads_the_history_of_the_policy_a_party_and_a_record(fresh: Services) -> None:
    regulator = fresh.client("RegulatorMSP")
    assert regulator.request("PUT", "/v1/policy", {"one_invoice_mode": True}).status_code == 200
    switched, bootstrapped = regulator.get("/v1/history/policy").json()
    assert switched["value"]["one_invoice_mode"] is True
    assert bootstrapped["value"]["one_invoice_mode"] is False
    assert switched["transaction_id"] != bootstrapped["transaction_id"] and switched["timestamp"]
    (registration,) = regulator.get("/v1/history/parties/RegulatorMSP").json()
    assert registration["value"]["public"]["party_id"] == "RegulatorMSP"
    (write,) = regulator.get("/v1/history/records/party/RegulatorMSP").json()
    assert write["transaction_id"] == registration["transaction_id"]
    missing = regulator.get("/v1/history/parties/NobodyMSP")
    assert missing.status_code == 404 and missing.json()["field"] == "party_id"
    refused = fresh.client("HospitalAMSP").get("/v1/history/policy")
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
