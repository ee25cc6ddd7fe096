"""PharmaContract on fabrx_chaincode's MemoryLedger: routing, transient records, errors, JSON results."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pharma_cc_world import SCENARIO

from fabrx_chaincode import ChaincodeResponse, MemoryLedger, serialize_identity
from fabrx_chaincode.errors import PeerRequestError
from fabrx_chaincode.identity import ATTRIBUTES_OID
from fabrx_chaincode.memstub import MemoryStub
from fabrx_pharma import AnyRecord, Invoice, InvoiceKind, Party, Prescription, Product, Receipt
from fabrx_pharma.sample import DISTRIBUTOR_A, DISTRIBUTOR_B, HOSPITAL_A, MANUFACTURER, REGULATOR
from fabrx_pharma_chaincode import RECORD_TRANSIENT_KEY, ROLE_ATTRIBUTE
from fabrx_pharma_chaincode.contract import PEER_MSPID_VARIABLE, REQUESTS_TRANSIENT_KEY, PharmaContract

NOW = datetime(2025, 1, 1, tzinfo=UTC)
ROLES = {p.party_id: p.role.value for _, p in SCENARIO.writes if isinstance(p, Party)} | {
    REGULATOR: "regulator"
}


@cache
def creator(msp_id: str, role: str | None = None) -> bytes:
    """A client certificate with Fabric CA's attribute extension carrying ``fabrx.role``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client.{msp_id}")])
    attrs = json.dumps({"attrs": {ROLE_ATTRIBUTE: role or ROLES[msp_id]}}).encode()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.UnrecognizedExtension(ATTRIBUTES_OID, attrs), critical=False)
        .sign(key, hashes.SHA256())
    )
    return serialize_identity(msp_id, certificate.public_bytes(serialization.Encoding.PEM))


def submit(
    ledger: MemoryLedger, msp_id: str, function: str, *args: str, **transient: bytes
) -> ChaincodeResponse:
    return ledger.submit_sync(
        "pharma", function, *args, creator=creator(msp_id), transient=transient, timestamp=NOW
    )


def evaluate(
    ledger: MemoryLedger, msp_id: str, function: str, *args: str, **transient: bytes
) -> ChaincodeResponse:
    return ledger.evaluate_sync(
        "pharma", function, *args, creator=creator(msp_id), transient=transient, timestamp=NOW
    )


WRITES = {
    "Party": ("register_party", False),
    "Product": ("register_product", False),
    "Recall": ("recall_batch", False),
    "Batch": ("record_batch", True),
    "Invoice": ("issue_invoice", True),
    "Receipt": ("record_receipt", True),
    "Prescription": ("record_prescription", True),
    "AdverseEvent": ("report_adverse_event", True),
}


def write(ledger: MemoryLedger, msp_id: str, record: AnyRecord) -> None:
    function, private = WRITES[type(record).__name__]
    if private:
        transient = {RECORD_TRANSIENT_KEY: record.to_json()}
        if isinstance(record, Receipt):
            # The buyer's peer keeps no copy of the invoice yet: the receipt carries it.
            invoice = next(i for i in SCENARIO.records(Invoice) if i.key == str(record.invoice_number))
            transient["invoice"] = invoice.to_json()
        response = submit(ledger, msp_id, function, **transient)
    else:
        response = submit(ledger, msp_id, function, record.to_json().decode())
    assert response.ok, (function, response.message)


def bootstrapped(contract: PharmaContract | None = None) -> MemoryLedger:
    # The in-memory ledger keeps every collection on its one "peer", as the regulator's peer keeps a
    # copy of everything: the contract is told it runs on the regulator's peer.
    if contract is None:
        contract = PharmaContract()
        contract.peer_msp_id = REGULATOR
    ledger = MemoryLedger(channel_id="pharma")
    ledger.deploy("pharma", [contract])
    response = submit(ledger, REGULATOR, "bootstrap", SCENARIO.regulator.to_json().decode())
    assert response.ok, response.message
    return ledger


@pytest.fixture(scope="module")
def ledger() -> MemoryLedger:
    ledger = bootstrapped()
    for msp_id, record in SCENARIO.writes:
        write(ledger, msp_id, record)
    return ledger


def test_a_sale_reads_what_its_rules_need_in_one_request_per_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rules of a second invoice read parties, the policy, products, batches, recalls and the
    # seller's stock: the contract fetches them up front (GetStateMultiple), none key by key, when the
    # chaincode server knows which organization's peer it serves (here DistributorA's).
    monkeypatch.setenv(PEER_MSPID_VARIABLE, DISTRIBUTOR_A)
    contract = PharmaContract()
    assert contract.peer_msp_id == DISTRIBUTOR_A
    ledger = bootstrapped(contract)
    calls: list[tuple[str, str]] = []
    single, multiple = MemoryStub._get_state, MemoryStub._get_multiple_states

    async def get_state(self: MemoryStub, collection: str, key: str) -> bytes:
        calls.append(("single", collection))
        return await single(self, collection, key)

    async def get_multiple(self: MemoryStub, collection: str, keys: list[str]) -> list[bytes]:
        calls.append(("multiple", collection))
        return await multiple(self, collection, keys)

    monkeypatch.setattr(MemoryStub, "_get_state", get_state)
    monkeypatch.setattr(MemoryStub, "_get_multiple_states", get_multiple)
    sales = 0
    for msp_id, record in SCENARIO.writes:
        calls.clear()
        contract.peer_msp_id = msp_id if msp_id == DISTRIBUTOR_A else REGULATOR
        write(ledger, msp_id, record)
        if (
            isinstance(record, Invoice)
            and record.kind is InvoiceKind.SECOND
            and record.seller == DISTRIBUTOR_A
        ):
            sales += 1
            assert calls == [("multiple", ""), ("multiple", f"_implicit_org_{DISTRIBUTOR_A}")], record.key
    assert sales >= 1


def test_the_whole_sample_story_commits_through_the_contract(ledger: MemoryLedger) -> None:
    names = [event.name for event in ledger.events]
    assert names.count("pharma.invoice") == 4
    anchor = json.loads(
        evaluate(ledger, HOSPITAL_A, "read_anchor", "batch", "AMOX-0.25G-24", "A240301").payload
    )
    assert anchor["public"]["raw_material_lots"] == []


def test_private_records_live_in_their_collections_and_stay_off_the_public_state(
    ledger: MemoryLedger,
) -> None:
    invoice = next(r for r in SCENARIO.records(Invoice) if isinstance(r, Invoice))
    for collection in (f"_implicit_org_{MANUFACTURER}", f"_implicit_org_{REGULATOR}"):
        assert invoice.to_json() in ledger.private_data("pharma", collection).values()
    assert invoice.to_json() not in ledger.private_data("pharma", f"_implicit_org_{DISTRIBUTOR_B}").values()
    public = b"".join(ledger.state("pharma").values())
    assert b"unit_price" not in public


def test_reads_return_json_records(ledger: MemoryLedger) -> None:
    invoice = next(r for r in SCENARIO.records(Invoice) if isinstance(r, Invoice))
    response = evaluate(ledger, DISTRIBUTOR_A, "read_invoice", str(invoice.number))
    assert response.ok, response.message
    assert Invoice.from_json(response.payload) == invoice
    stock = json.loads(
        evaluate(ledger, DISTRIBUTOR_A, "read_stock", DISTRIBUTOR_A, "AMOX-0.25G-24", "A240301").payload
    )
    assert (stock["received"], stock["sold"], stock["on_hand"]) == (200, 10, 190)


def test_a_non_member_gets_a_403_with_the_code_and_field(ledger: MemoryLedger) -> None:
    invoice = next(r for r in SCENARIO.records(Invoice) if isinstance(r, Invoice))
    response = evaluate(ledger, DISTRIBUTOR_B, "read_invoice", str(invoice.number))
    assert response.status == 403
    assert response.message.startswith("PRIVATE_DATA number: ")
    assert json.loads(response.payload)["code"] == "PRIVATE_DATA"


def test_a_rule_violation_is_a_400_naming_the_rule_and_field(ledger: MemoryLedger) -> None:
    product = Product("AMOX-0.25G-24", "again", MANUFACTURER, "国药准字H20243001", None, "8123401")
    response = submit(ledger, MANUFACTURER, "register_product", product.to_json().decode())
    assert response.status == 400
    assert response.message.startswith("DUPLICATE_RECORD product_id: ")


def test_a_missing_transient_record_is_refused(ledger: MemoryLedger) -> None:
    response = submit(ledger, MANUFACTURER, "issue_invoice")
    assert response.status == 400
    assert response.message.startswith("RECORD <transient:record>: ")


def test_the_regulator_queries_through_the_contract(ledger: MemoryLedger) -> None:
    report = evaluate(ledger, REGULATOR, "compliance_report", "2024-12-31T00:00:00+08:00")
    assert report.ok and json.loads(report.payload) == []
    traces = json.loads(evaluate(ledger, REGULATOR, "trace", "RX-A-0002").payload)
    assert traces[0]["batch"]["raw_material_lots"][0]["lot"] == "API-2403-11"
    by_patient = json.loads(evaluate(ledger, REGULATOR, "trace", "", traces[0]["patient_pseudonym"]).payload)
    assert [t["prescription_id"] for t in by_patient] == ["RX-A-0002"]
    scope = json.loads(evaluate(ledger, REGULATOR, "recall_scope", "CEFT-1G", "C240320").payload)
    assert [h["party_id"] for h in scope["hospitals"]] == [HOSPITAL_A]
    denied = evaluate(ledger, HOSPITAL_A, "compliance_report")
    assert denied.status == 400 and denied.message.startswith("ROLE party_id: ")
    bad_time = evaluate(ledger, REGULATOR, "compliance_report", "yesterday")
    assert bad_time.message.startswith("RECORD as_of: ")


def test_the_hospital_verifies_through_the_contract(ledger: MemoryLedger) -> None:
    invoices = {(i.seller, i.buyer): i for i in SCENARIO.records(Invoice) if isinstance(i, Invoice)}
    second, first = invoices[(DISTRIBUTOR_A, HOSPITAL_A)], invoices[(MANUFACTURER, DISTRIBUTOR_A)]
    requests = json.dumps([{"number": str(second.number), "first_invoices": [first.to_dict()]}]).encode()
    response = evaluate(ledger, HOSPITAL_A, "verify_invoices", **{REQUESTS_TRANSIENT_KEY: requests})
    assert response.ok, response.message
    (result,) = json.loads(response.payload)
    assert (result["verified"], result["genuine"], result["receipt_matches"]) == (True, True, True)


def test_a_resent_record_reads_no_private_key_so_both_endorsers_read_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A record already on the ledger is answered with its anchor and reads no stock counter. Fetching
    # its submitter's counters up front would read them from the own peer's copy only: DistributorA's
    # peer and the regulator's would then endorse with different read sets.
    contract = PharmaContract()
    contract.peer_msp_id = REGULATOR
    ledger = bootstrapped(contract)
    for msp_id, record in SCENARIO.writes:
        write(ledger, msp_id, record)
    sale = next(
        r
        for m, r in SCENARIO.writes
        if isinstance(r, Invoice) and r.kind is InvoiceKind.SECOND and m == DISTRIBUTOR_A
    )
    collections: list[str] = []
    single, multiple = MemoryStub._get_state, MemoryStub._get_multiple_states

    async def get_state(self: MemoryStub, collection: str, key: str) -> bytes:
        collections.append(collection)
        return await single(self, collection, key)

    async def get_multiple(self: MemoryStub, collection: str, keys: list[str]) -> list[bytes]:
        collections.append(collection)
        return await multiple(self, collection, keys)

    monkeypatch.setattr(MemoryStub, "_get_state", get_state)
    monkeypatch.setattr(MemoryStub, "_get_multiple_states", get_multiple)
    contract.peer_msp_id = DISTRIBUTOR_A
    response = submit(ledger, DISTRIBUTOR_A, "issue_invoice", **{RECORD_TRANSIENT_KEY: sale.to_json()})
    assert response.ok, response.message
    assert json.loads(response.payload)["key"] == sale.key
    assert collections and not [c for c in collections if c], collections


def test_a_peer_without_the_private_data_yet_answers_private_data_not_a_raw_peer_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The hospital's own peer has the hashes of its copies but not the values yet (Fabric: "private data
    # matching public hash version is not available"), both for the prefetch and for single reads.
    monkeypatch.setenv(PEER_MSPID_VARIABLE, HOSPITAL_A)
    contract = PharmaContract()
    contract.peer_msp_id = REGULATOR  # the story is written as on the regulator's peer, which holds all
    ledger = bootstrapped(contract)
    for msp_id, record in SCENARIO.writes:
        write(ledger, msp_id, record)
    contract.peer_msp_id = HOSPITAL_A
    own = f"_implicit_org_{HOSPITAL_A}"
    single, multiple = MemoryStub._get_state, MemoryStub._get_multiple_states
    message = "private data matching public hash version is not available. Public hash version = 1"

    async def get_state(self: MemoryStub, collection: str, key: str) -> bytes:
        if collection == own:
            raise PeerRequestError("GET_STATE", message)
        return await single(self, collection, key)

    async def get_multiple(self: MemoryStub, collection: str, keys: list[str]) -> list[bytes]:
        if collection == own:
            raise PeerRequestError("GET_STATE_MULTIPLE", message)
        return await multiple(self, collection, keys)

    monkeypatch.setattr(MemoryStub, "_get_state", get_state)
    monkeypatch.setattr(MemoryStub, "_get_multiple_states", get_multiple)
    prescription = next(p for p in SCENARIO.records(Prescription) if p.hospital == HOSPITAL_A)
    item = replace(prescription.items[0], trace_codes=())
    again = replace(prescription, prescription_id="RX-A-LATE", items=(item,))
    response = submit(ledger, HOSPITAL_A, "record_prescription", **{RECORD_TRANSIENT_KEY: again.to_json()})
    assert not response.ok and response.status == 403, response.message
    assert response.message.startswith("PRIVATE_DATA"), response.message
    assert "GET_STATE" not in response.message
    read = evaluate(ledger, HOSPITAL_A, "read_prescription", prescription.prescription_id)
    assert read.status == 403 and read.message.startswith("PRIVATE_DATA"), read.message
