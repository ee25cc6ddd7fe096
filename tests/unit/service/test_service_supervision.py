"""The regulator's queries answered from a supervision store fed with the sample story."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_fakes import (
    LedgerContract,
    LedgerMember,
    SignedClient,
    ec_key,
    memory_ledger,
    public_pem,
    unreceived_sale,
)

from fabrx.pharma import Manufacturer, Regulator
from fabrx_pharma import (
    InMemoryLedger,
    Invoice,
    Party,
    Prescription,
    Product,
    Role,
    compliance_report,
)
from fabrx_pharma.sample import build_sample_scenario
from fabrx_pharma_service import Application, ApplicationRegistry, AuditLog, ServiceState, create_app
from fabrx_pharma_service.portal import AccountStore, Portal, SessionStore
from fabrx_pharma_supervision import LedgerBlock, LedgerWrite, SupervisionStore

SAMPLE = build_sample_scenario()
PRESCRIPTION = next(r for r in SAMPLE.records(Prescription) if isinstance(r, Prescription))
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
LEDGER = memory_ledger()
Regulator(LedgerContract(LEDGER, "RegulatorMSP", []), "RegulatorMSP").bootstrap(SAMPLE.regulator)
for _submitter, _record in SAMPLE.writes:
    if isinstance(_record, Party):
        Regulator(LedgerContract(LEDGER, "RegulatorMSP", []), "RegulatorMSP").register_party(_record)
    if isinstance(_record, Product):
        Manufacturer(LedgerContract(LEDGER, _submitter, []), _submitter).register_product(_record)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SupervisionStore]:
    with SupervisionStore.open(f"sqlite:///{tmp_path / 'supervision.db'}") as opened:
        writes = [(SAMPLE.regulator.party_id, SAMPLE.regulator), *SAMPLE.writes]
        block = tuple(
            LedgerWrite(record, submitter, f"tx-{n:08d}", T0 + timedelta(seconds=n), n + 1)
            for n, (submitter, record) in enumerate(writes)
        )
        opened.apply(LedgerBlock(0, block))
        yield opened


def service(
    tmp_path: Path, store: SupervisionStore, role: str = "regulator", member: str = "RegulatorMSP"
) -> SignedClient:
    registry = ApplicationRegistry(tmp_path / "applications.json")
    registry.add(
        Application.new("analyst", role=role, identity="client", public_key_pem=public_pem(ec_key()))
    )
    # The member's ledger holds only the products: every other answer can only come from the store.
    app = create_app(
        LedgerMember(LEDGER, member),
        registry,
        ServiceState(tmp_path / "state.sqlite"),
        AuditLog(tmp_path / "audit.jsonl"),
        supervision=store,
        portal=Portal(
            AccountStore(tmp_path / "accounts.json"),
            SessionStore(tmp_path / "sessions.sqlite"),
            public=("client", Role.HOSPITAL),
        ),
    )
    return SignedClient(TestClient(app), "analyst", ec_key(), "ecdsa-p256-sha256")


def test_the_report_comes_from_the_store_with_its_checkpoint(tmp_path: Path, store: SupervisionStore) -> None:
    client = service(tmp_path, store)
    answer = client.get("/v1/compliance-report")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Fabrx-Source"] == "supervision-store; checkpoint=0"
    ledger: InMemoryLedger = SAMPLE.ledger()
    expected = {(f.rule.value, f.subject, f.reason) for f in compliance_report(ledger)}
    assert {(f["rule"], f["subject"], f["reason"]) for f in answer.json()} == expected
    diversion = client.get("/v1/diversion-signals").json()
    assert all(
        f["rule"]
        in ("DIVERSION", "TRACE_CODE_REUSED", "TRACE_CODE_NOT_RECEIVED", "CONSERVATION", "BUYER_SELLER_MATCH")
        for f in diversion
    )


def test_traces_and_recall_scopes_come_from_the_store(tmp_path: Path, store: SupervisionStore) -> None:
    client = service(tmp_path, store)
    (trace,) = client.get(f"/v1/traces?prescription_id={PRESCRIPTION.prescription_id}").json()
    assert trace["prescription_id"] == PRESCRIPTION.prescription_id and trace["batch"]["raw_material_lots"]
    item = PRESCRIPTION.items[0]
    scope = client.get(f"/v1/recall-scope/{item.product_id}/{item.batch_number}").json()
    assert PRESCRIPTION.prescription_id in [p["prescription_id"] for p in scope["prescriptions"]]
    neither = client.get("/v1/traces")
    assert neither.status_code == 400 and neither.json()["field"] == "prescription_id"


def test_the_store_answers_only_the_regulator(tmp_path: Path, store: SupervisionStore) -> None:
    client = service(tmp_path, store, role="hospital")
    assert client.get("/v1/compliance-report").status_code == 403


def test_the_public_page_tells_a_package_from_the_store(tmp_path: Path, store: SupervisionStore) -> None:
    client = service(tmp_path, store, role="hospital", member="HospitalAMSP").client
    item = PRESCRIPTION.items[0]
    page = client.get(f"/portal/package?code={item.trace_codes[0]}&lang=en")
    assert page.status_code == 200, page.text
    assert item.batch_number in page.text and 'class="ok not-recalled"' in page.text
    assert PRESCRIPTION.prescription_id not in page.text and PRESCRIPTION.patient_pseudonym not in page.text


def signed_in_portal(tmp_path: Path, store: SupervisionStore, role: str, member: str) -> TestClient:
    """The portal of a service with ``store``, signed in with an account of ``role``."""
    client = service(tmp_path, store, role=role, member=member).client
    AccountStore(tmp_path / "accounts.json").add("someone", PASSWORD, role=role, identity="client")
    client.base_url = "https://testserver"  # type: ignore[assignment]
    form = client.get("/portal/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post(
        "/portal/login", data={"csrf": token.group(1), "name": "someone", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    return client


def test_a_pharmacist_sees_the_hospitals_purchases_from_every_supplier(
    tmp_path: Path, store: SupervisionStore
) -> None:
    client = signed_in_portal(tmp_path, store, "hospital", "HospitalAMSP")
    page = client.get("/portal/purchases")
    assert page.status_code == 200, page.text
    suppliers = set(re.findall(r"<tr><td>([A-Za-z]+MSP)</td>", page.text))
    expected = {
        r.seller for r in SAMPLE.records(Invoice) if isinstance(r, Invoice) and r.buyer == "HospitalAMSP"
    }
    assert suppliers == expected and suppliers


def test_the_regulators_pages_read_the_store_and_name_its_block(
    tmp_path: Path, store: SupervisionStore
) -> None:
    """The member's ledger holds only the products: findings, traces and recall scopes on the regulator's
    pages can only come from the store, and each page says so with the block the store applied last."""
    sold = next(r for r in SAMPLE.records(Invoice) if isinstance(r, Invoice) and r.buyer == "HospitalAMSP")
    unreceived = unreceived_sale(sold)
    store.apply(LedgerBlock(1, (LedgerWrite(unreceived, sold.seller, "tx-unreceived", T0, 1),)))
    client = signed_in_portal(tmp_path, store, "regulator", "RegulatorMSP")
    findings = client.get("/portal/findings?lang=en")
    assert findings.status_code == 200, findings.text
    assert "From this member&#39;s supervision store, current to block 1." in findings.text
    assert f"invoice {unreceived.number}" in findings.text, "a finding only the store can know of"
    assert "<code>RECEIPT_MISSING</code>" in findings.text
    trace = client.get(f"/portal/trace?lang=en&prescription_id={PRESCRIPTION.prescription_id}")
    assert trace.status_code == 200 and "<svg" in trace.text and "current to block 1" in trace.text
    item = PRESCRIPTION.items[0]
    scope = client.get(f"/portal/recall-scope?product_id={item.product_id}&batch_number={item.batch_number}")
    assert scope.status_code == 200 and PRESCRIPTION.prescription_id in scope.text
    assert "来源：本单位的监管库，已应用至区块 1。" in client.get("/portal/findings").text
