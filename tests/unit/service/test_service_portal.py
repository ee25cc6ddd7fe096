"""The portal: sign-in with Argon2id passwords, server-side sessions, CSRF, and the hospital
pharmacist's verification page over the real pharma contract on an in-memory ledger."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from service_fakes import ROLES, LedgerContract, LedgerMember, memory_ledger, unreceived_sale

from fabrx.pharma import RecordNotFound, Regulator
from fabrx_chaincode import MemoryLedger
from fabrx_pharma import (
    Invoice,
    Prescription,
    Receipt,
    Role,
    record_hash,
)
from fabrx_pharma.sample import build_sample_scenario
from fabrx_pharma_service import ApplicationRegistry, AuditLog, CredentialError, ServiceState, create_app
from fabrx_pharma_service.members import FACADES
from fabrx_pharma_service.portal import AccountStore, Portal, SessionStore
from fabrx_pharma_service.portal.invoices import invoice_status
from fabrx_pharma_supervision import LedgerBlock, LedgerWrite, SupervisionStore

SAMPLE = build_sample_scenario()
INVOICES = [r for r in SAMPLE.records(Invoice) if isinstance(r, Invoice)]
FIRST_A = next(i for i in INVOICES if i.seller == "ManufacturerMSP" and i.buyer == "DistributorAMSP")
SECOND_A = next(i for i in INVOICES if i.seller == "DistributorAMSP" and i.buyer == "HospitalAMSP")
FIRST_B = next(i for i in INVOICES if i.seller == "ManufacturerMSP" and i.buyer == "DistributorBMSP")
_LINE = SECOND_A.lines[0]
UNRECEIVED = unreceived_sale(SECOND_A)
PASSWORD = "correct horse battery staple"
PortalClient = tuple[TestClient, AccountStore, AuditLog]


WRITERS = {
    "party": "register_party",
    "product": "register_product",
    "batch": "record_batch",
    "invoice": "issue_invoice",
    "receipt": "record_receipt",
    "prescription": "record_prescription",
    "adverse_event": "report_adverse_event",
}


@pytest.fixture(scope="module")
def ledger() -> MemoryLedger:
    """The sample story written through the facades."""
    return _story_ledger()


def _story_ledger() -> MemoryLedger:
    ledger = memory_ledger()
    Regulator(LedgerContract(ledger, "RegulatorMSP", []), "RegulatorMSP").bootstrap(SAMPLE.regulator)
    for submitter, record in SAMPLE.writes:
        facade = FACADES[ROLES[submitter]](LedgerContract(ledger, submitter, []), submitter)
        getattr(facade, WRITERS[record.RECORD_TYPE])(record)
    # One more sale whose goods are never received: the report's RECEIPT_MISSING warning.
    FACADES[ROLES["DistributorAMSP"]](
        LedgerContract(ledger, "DistributorAMSP", []), "DistributorAMSP"
    ).issue_invoice(UNRECEIVED)
    return ledger


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> AccountStore:
    accounts = AccountStore(tmp_path_factory.mktemp("portal") / "portal_accounts.json")
    accounts.add("pharmacist", PASSWORD, role="hospital", identity="client")
    accounts.add("clerk", PASSWORD, role="distributor", identity="client")
    accounts.add("analyst", PASSWORD, role="regulator", identity="client")
    return accounts


def _portal(
    ledger: MemoryLedger,
    accounts: AccountStore,
    tmp_path: Path,
    msp_id: str,
    supervision: SupervisionStore | None = None,
) -> PortalClient:
    audit = AuditLog(tmp_path / "audit.jsonl")
    app = create_app(
        LedgerMember(ledger, msp_id),
        ApplicationRegistry(tmp_path / "applications.json"),
        ServiceState(tmp_path / "state.sqlite"),
        audit,
        supervision=supervision,
        portal=Portal(
            accounts, SessionStore(tmp_path / "portal_sessions.sqlite"), public=("client", Role.HOSPITAL)
        ),
    )
    return TestClient(app, base_url="https://testserver"), accounts, audit


@pytest.fixture
def portal_client(ledger: MemoryLedger, accounts: AccountStore, tmp_path: Path) -> PortalClient:
    return _portal(ledger, accounts, tmp_path, "HospitalAMSP")


@pytest.fixture
def regulator_portal(ledger: MemoryLedger, accounts: AccountStore, tmp_path: Path) -> PortalClient:
    return _portal(ledger, accounts, tmp_path, "RegulatorMSP")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def sign_in(client: TestClient, name: str = "pharmacist", password: str = PASSWORD) -> str:
    form = client.get("/portal/login")
    answer = client.post(
        "/portal/login",
        data={"csrf": _csrf(form.text), "name": name, "password": password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    home = client.get("/portal/")
    assert home.status_code == 200
    return _csrf(home.text)


def test_passwords_are_stored_as_argon2id_hashes_in_an_owner_only_file(tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "accounts.json")
    accounts.add("pharmacist", PASSWORD, role="hospital", identity="client")
    text = accounts.path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "$argon2id$" in text
    assert stat.S_IMODE(accounts.path.stat().st_mode) == 0o600
    assert accounts.authenticate("pharmacist", PASSWORD) is not None
    assert accounts.authenticate("pharmacist", PASSWORD + "!") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    with pytest.raises(CredentialError, match="at least 12"):
        accounts.add("short", "abc", role="hospital", identity="client")
    with pytest.raises(CredentialError, match="exists"):
        accounts.add("pharmacist", PASSWORD, role="hospital", identity="client")


def test_a_page_needs_a_session(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    answer = client.get("/portal/verify", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/login")


def test_a_wrong_password_is_refused_and_audited_without_the_password(portal_client: PortalClient) -> None:
    client, _, audit = portal_client
    form = client.get("/portal/login")
    assert "登录" in form.text and form.headers["cache-control"] == "no-store"
    assert "script-src" not in form.headers["content-security-policy"]
    answer = client.post(
        "/portal/login", data={"csrf": _csrf(form.text), "name": "pharmacist", "password": "wrong-password!"}
    )
    assert answer.status_code == 401 and "用户名或密码错误" in answer.text
    assert "fabrx_session" not in client.cookies
    assert [e.outcome for e in audit.entries()] == ["BAD_PASSWORD"]
    assert "wrong-password" not in audit.path.read_text(encoding="utf-8")


def test_sign_in_without_the_login_csrf_token_is_refused(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    client.get("/portal/login")
    answer = client.post("/portal/login", data={"csrf": "forged", "name": "pharmacist", "password": PASSWORD})
    assert answer.status_code == 403 and "fabrx_session" not in client.cookies


def test_the_session_cookie_is_http_only_secure_and_strict(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    form = client.get("/portal/login")
    answer = client.post(
        "/portal/login",
        data={"csrf": _csrf(form.text), "name": "pharmacist", "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("fabrx_session=")
    )
    assert (
        "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )


def test_the_pharmacist_sees_a_genuine_copy_verified_in_words(portal_client: PortalClient) -> None:
    client, _, audit = portal_client
    csrf = sign_in(client)
    page = client.post(
        "/portal/verify?lang=en",
        data={"csrf": csrf, "number": str(SECOND_A.number), "copy": json.dumps(FIRST_A.to_dict())},
    )
    assert page.status_code == 200, page.text
    assert "Verified: the invoice is genuine" in page.text and "copy-genuine" in page.text
    assert audit.entries()[-1].operation == "verify_invoices" and audit.entries()[-1].outcome == "ok"


def test_the_pharmacist_sees_a_tampered_copy_flagged(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    csrf = sign_in(client)
    tampered = dataclasses.replace(FIRST_A, issue_date=FIRST_A.issue_date).to_dict()
    tampered["shipment"]["shipment_id"] = "SHP-FORGED"
    page = client.post(
        "/portal/verify", data={"csrf": csrf, "number": str(SECOND_A.number), "copy": json.dumps(tampered)}
    )
    assert page.status_code == 200
    assert "核验未通过" in page.text and "被篡改" in page.text and "copy-tampered" in page.text
    assert f"<th>第一票复印件 1 ({FIRST_A.number})</th>" in page.text, "the copy's row is labelled"
    assert "HASH_MISMATCH" in page.text


def test_the_pharmacist_can_upload_the_copy_instead_of_pasting_it(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    csrf = sign_in(client)
    form = client.get("/portal/verify")
    assert 'enctype="multipart/form-data"' in form.text and 'type="file" id="copy_file"' in form.text
    number = str(SECOND_A.number)
    genuine = FIRST_A.to_json()
    page = client.post(
        "/portal/verify?lang=en",
        data={"csrf": csrf, "number": number, "copy": ""},
        files={"copy_file": ("first-invoice.json", genuine, "application/json")},
    )
    assert page.status_code == 200 and "copy-genuine" in page.text, page.text
    tampered = FIRST_A.to_dict()
    tampered["shipment"]["shipment_id"] = "SHP-FORGED"
    page = client.post(
        "/portal/verify?lang=en",
        data={"csrf": csrf, "number": number},
        files={"copy_file": ("first-invoice.json", json.dumps(tampered).encode(), "application/json")},
    )
    assert page.status_code == 200 and "copy-tampered" in page.text
    binary = client.post(
        "/portal/verify?lang=en",
        data={"csrf": csrf, "number": number},
        files={"copy_file": ("scan.pdf", b"%PDF-1.7\xff\xfe", "application/pdf")},
    )
    assert binary.status_code == 400 and "not UTF-8 text" in binary.text
    oversize = client.post(
        "/portal/verify?lang=en",
        data={"csrf": csrf, "number": number},
        files={"copy_file": ("big.json", b" " * (2 << 20), "application/json")},
    )
    assert oversize.status_code == 403  # the body beyond 1 MiB is not read: no form, no CSRF token


def test_a_post_without_the_session_csrf_token_is_refused(portal_client: PortalClient) -> None:
    client, _, audit = portal_client
    sign_in(client)
    before = len(audit.entries())
    page = client.post("/portal/verify", data={"csrf": "forged", "number": str(SECOND_A.number)})
    assert page.status_code == 403 and "表单已过期" in page.text
    assert len(audit.entries()) == before


def test_a_copy_that_is_not_an_invoice_is_named(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    csrf = sign_in(client)
    page = client.post(
        "/portal/verify", data={"csrf": csrf, "number": str(SECOND_A.number), "copy": "{not json"}
    )
    assert page.status_code == 400 and "第一票复印件不是有效的发票" in page.text


def test_another_role_cannot_use_the_verification_page(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    sign_in(client, "clerk")
    assert client.get("/portal/verify").status_code == 403


def test_sign_out_ends_the_session(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    csrf = sign_in(client)
    token = client.cookies["fabrx_session"]
    client.post("/portal/logout", data={"csrf": csrf}, follow_redirects=False)
    client.cookies.set("fabrx_session", token, domain="testserver", path="/portal")
    assert client.get("/portal/verify", follow_redirects=False).status_code == 303


def test_the_portal_is_not_part_of_the_api_document(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    document = client.get("/v1/openapi.json").json()
    assert not [path for path in document["paths"] if path.startswith("/portal")]


PRESCRIPTION = next(r for r in SAMPLE.records(Prescription) if isinstance(r, Prescription))


def test_the_regulator_filters_findings(regulator_portal: PortalClient) -> None:
    client, _, _ = regulator_portal
    sign_in(client, "analyst")
    every = client.get("/portal/findings?lang=en")
    assert every.status_code == 200 and "<code>RECEIPT_MISSING</code>" in every.text
    assert '<p class="note" id="source">From the chaincode on this member' in every.text
    warnings = client.get("/portal/findings?rule=RECEIPT_MISSING&severity=warning")
    codes = re.findall(r"<td><code>([A-Z_]+)</code>", warnings.text)
    assert codes and set(codes) == {"RECEIPT_MISSING"}
    violations = client.get("/portal/findings?rule=RECEIPT_MISSING&severity=violation")
    assert re.findall(r"<td><code>([A-Z_]+)</code>", violations.text) == []


def test_a_finding_opens_with_the_records_that_are_its_evidence(regulator_portal: PortalClient) -> None:
    client, _, audit = regulator_portal
    sign_in(client, "analyst")
    listed = client.get("/portal/findings?lang=en&rule=RECEIPT_MISSING")
    number = str(UNRECEIVED.number)
    link = f"/portal/finding?lang=en&amp;rule=RECEIPT_MISSING&amp;subject=invoice%20{number}"
    assert link in listed.text
    page = client.get(link.replace("&amp;", "&"))
    assert page.status_code == 200, page.text
    assert "<code>RECEIPT_MISSING</code>" in page.text and f"invoice {number}" in page.text
    sections = re.findall(r"<h4>([^<]+)</h4>", page.text)
    assert sections[:3] == ["anchor", "invoice", "receipt"]
    assert f"stock of DistributorAMSP: {_LINE.product_id}/{_LINE.batch_number}" in sections
    assert f"stock of HospitalAMSP: {_LINE.product_id}/{_LINE.batch_number}" in sections
    assert "DistributorAMSP → HospitalAMSP" in page.text  # the invoice's parties
    receipt = page.text.split("<h4>receipt</h4>", 1)[1].split("</section>", 1)[0]
    assert "not on the ledger" in receipt  # the evidence of a missing receipt: there is none
    assert audit.entries()[-1].operation == "finding" and audit.entries()[-1].outcome == "ok"


def test_a_finding_the_report_does_not_hold_is_not_found(regulator_portal: PortalClient) -> None:
    client, _, _ = regulator_portal
    sign_in(client, "analyst")
    page = client.get(f"/portal/finding?lang=en&rule=DIVERSION&subject=invoice%20{SECOND_A.number}")
    assert page.status_code == 404 and "no DIVERSION finding about invoice" in page.text
    assert "<h4>" not in page.text


def test_the_trace_of_an_adverse_event_is_drawn_as_a_picture(regulator_portal: PortalClient) -> None:
    client, _, _ = regulator_portal
    sign_in(client, "analyst")
    page = client.get(f"/portal/trace?prescription_id={PRESCRIPTION.prescription_id}")
    assert page.status_code == 200 and "<svg" in page.text
    kinds = re.findall(r'class="node node-([a-z]+)"', page.text)
    assert {"lot", "batch", "manufacturer", "distributor", "hospital", "prescription"} <= set(kinds)
    assert PRESCRIPTION.prescription_id in page.text and PRESCRIPTION.patient_pseudonym not in page.text
    assert page.text.count("<line") >= len(kinds) - 1
    assert "<script" not in page.text


def test_a_patients_prescriptions_are_traced_from_a_form_without_the_pseudonym_shown(
    regulator_portal: PortalClient,
) -> None:
    client, _, audit = regulator_portal
    csrf = sign_in(client, "analyst")
    form = client.get("/portal/trace?lang=en")
    assert 'id="by-patient"' in form.text and 'method="post"' in form.text
    page = client.post(
        "/portal/trace?lang=en", data={"csrf": csrf, "patient": PRESCRIPTION.patient_pseudonym}
    )
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and PRESCRIPTION.prescription_id in page.text
    assert PRESCRIPTION.patient_pseudonym not in page.text
    entry = audit.entries()[-1]
    assert (entry.operation, entry.record_key, entry.outcome) == ("trace", "patient", "ok")
    assert PRESCRIPTION.patient_pseudonym not in audit.path.read_text()
    nobody = client.post("/portal/trace?lang=en", data={"csrf": csrf, "patient": "no-such-patient"})
    assert nobody.status_code == 200 and 'id="no-traces"' in nobody.text and "<svg" not in nobody.text
    forged = client.post("/portal/trace", data={"csrf": "forged", "patient": PRESCRIPTION.patient_pseudonym})
    assert forged.status_code == 403 and "<svg" not in forged.text


def test_the_recall_scope_page_lists_holders_and_prescriptions(regulator_portal: PortalClient) -> None:
    client, _, _ = regulator_portal
    sign_in(client, "analyst")
    item = PRESCRIPTION.items[0]
    page = client.get(f"/portal/recall-scope?product_id={item.product_id}&batch_number={item.batch_number}")
    assert (
        page.status_code == 200 and PRESCRIPTION.prescription_id in page.text and 'id="holders"' in page.text
    )
    holders = page.text.split('id="holders"', 1)[1].split("</table>", 1)[0]
    assert f"<td>{PRESCRIPTION.hospital}</td>" in holders and "<td>DistributorAMSP</td>" in holders


def test_the_regulator_pages_are_for_the_regulator(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    sign_in(client)
    assert client.get("/portal/findings").status_code == 403
    assert client.get(f"/portal/trace?prescription_id={PRESCRIPTION.prescription_id}").status_code == 403
    finding = f"/portal/finding?rule=RECEIPT_MISSING&subject=invoice%20{UNRECEIVED.number}"
    answer = client.get(finding)
    assert answer.status_code == 403 and "<h4>" not in answer.text


def test_the_public_page_says_whether_a_package_was_dispensed_without_sign_in(
    portal_client: PortalClient,
) -> None:
    client, _, audit = portal_client
    dispensed = PRESCRIPTION.items[0].trace_codes[0]
    page = client.get(f"/portal/package?code={dispensed}")
    assert page.status_code == 200 and 'class="bad dispensed"' in page.text
    section = page.text.split('<section id="package">', 1)[1].split("</section>", 1)[0]
    assert PRESCRIPTION.prescription_id not in section and PRESCRIPTION.hospital not in section
    fresh = client.get("/portal/package?code=69012340000000099999&lang=en")
    assert fresh.status_code == 200 and 'class="ok not-dispensed"' in fresh.text
    assert "No shipment of this package is on the ledger" in fresh.text
    assert client.get("/portal/package?code=" + "9" * 101).status_code == 400
    assert {e.app_id for e in audit.entries()} == {"public"} and {e.record_key for e in audit.entries()} == {
        ""
    }


def test_a_name_is_locked_after_repeated_wrong_passwords(portal_client: PortalClient) -> None:
    client, _, audit = portal_client
    form = client.get("/portal/login")
    token = _csrf(form.text)
    for _ in range(5):
        wrong = client.post(
            "/portal/login", data={"csrf": token, "name": "clerk", "password": "not the password"}
        )
        assert wrong.status_code == 401
    locked = client.post("/portal/login", data={"csrf": token, "name": "clerk", "password": PASSWORD})
    assert locked.status_code == 429 and "fabrx_session" not in client.cookies
    assert [e.outcome for e in audit.entries()][-1] == "LOCKED"
    sign_in(client, "pharmacist")  # another name is not affected


# --- the supplier's invoices -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SupervisionStore]:
    """A supervision store fed with the sample story and the unreceived sale."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    writes = [(SAMPLE.regulator.party_id, SAMPLE.regulator), *SAMPLE.writes, ("DistributorAMSP", UNRECEIVED)]
    with SupervisionStore.open(f"sqlite:///{tmp_path / 'supervision.db'}") as opened:
        block = tuple(
            LedgerWrite(record, submitter, f"tx-{n:08d}", t0 + timedelta(seconds=n), n + 1)
            for n, (submitter, record) in enumerate(writes)
        )
        opened.apply(LedgerBlock(0, block))
        yield opened


def _statuses(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-number="(\d+)" data-status="([a-z_]+)">', html))


def test_a_distributor_sees_its_invoices_and_where_each_stands(
    ledger: MemoryLedger, accounts: AccountStore, tmp_path: Path, store: SupervisionStore
) -> None:
    client, _, audit = _portal(ledger, accounts, tmp_path, "DistributorAMSP", supervision=store)
    sign_in(client, "clerk")
    assert "/portal/invoices" in client.get("/portal/").text, "the home page links the page"
    page = client.get("/portal/invoices")
    assert page.status_code == 200, page.text
    assert _statuses(page.text) == {
        str(UNRECEIVED.number): "missing",
        str(SECOND_A.number): "verified",
        str(FIRST_A.number): "verified",
    }, "its sales and its purchase, newest first, nothing of DistributorB"
    assert "我的发票及核验状态" in page.text and "已核验：发票真实，票货相符" in page.text
    assert "发票真实，买方尚未入库" in page.text and "开出" in page.text and "收到" in page.text
    assert str(FIRST_B.number) not in page.text
    sales = client.get("/portal/invoices?side=sales&lang=en")
    assert set(_statuses(sales.text)) == {str(UNRECEIVED.number), str(SECOND_A.number)}
    assert "genuine, not received by the buyer yet" in sales.text and "HospitalAMSP" in sales.text
    assert audit.entries()[-1].operation == "invoices" and audit.entries()[-1].outcome == "ok"


def test_without_a_store_a_distributor_checks_one_invoice_by_number(
    ledger: MemoryLedger, accounts: AccountStore, tmp_path: Path
) -> None:
    client, _, _ = _portal(ledger, accounts, tmp_path, "DistributorAMSP")
    sign_in(client, "clerk")
    empty = client.get("/portal/invoices?lang=en")
    assert empty.status_code == 200 and 'id="no-store"' in empty.text and "data-number" not in empty.text
    page = client.get(f"/portal/invoices?number={SECOND_A.number}")
    assert _statuses(page.text) == {str(SECOND_A.number): "verified"}


def test_a_distributor_is_refused_other_parties_invoices(
    ledger: MemoryLedger, accounts: AccountStore, tmp_path: Path
) -> None:
    client, _, audit = _portal(ledger, accounts, tmp_path, "DistributorAMSP")
    sign_in(client, "clerk")
    page = client.get(f"/portal/invoices?number={FIRST_B.number}")
    assert page.status_code == 403 and "PRIVATE_DATA" in page.text and "data-number" not in page.text
    assert audit.entries()[-1].outcome == "PRIVATE_DATA"
    unknown = client.get("/portal/invoices?number=24352000000000009999")
    assert unknown.status_code == 404 and "NOT_FOUND" in unknown.text


def test_the_invoices_page_is_for_suppliers(portal_client: PortalClient) -> None:
    client, _, _ = portal_client
    sign_in(client)
    page = client.get("/portal/invoices")
    assert page.status_code == 403 and "此页面仅供经销企业和生产企业使用" in page.text


class _ReadsOf:
    """A facade reading fixed records: an invoice, its anchor's hash, and maybe a receipt."""

    def __init__(self, invoice: Invoice, anchor_hash: str, receipt: Receipt | None) -> None:
        self._invoice, self._hash, self._receipt = invoice, anchor_hash, receipt

    def read_invoice(self, number: str) -> Invoice:
        return self._invoice

    def read_anchor(self, record_type: str, key: str) -> SimpleNamespace:
        if record_type == "receipt" and self._receipt is not None:
            return SimpleNamespace(hash=record_hash(self._receipt))
        return SimpleNamespace(hash=self._hash)

    def read_receipt(self, number: str) -> Receipt:
        if self._receipt is None:
            raise RecordNotFound("NOT_FOUND", "invoice_number", "no receipt")
        return self._receipt


def test_an_invoice_that_differs_from_its_hash_is_not_genuine() -> None:
    status = invoice_status(_ReadsOf(SECOND_A, "0" * 64, None), str(SECOND_A.number))
    assert not status.genuine and status.receipt == "missing" and not status.verified
    assert status.problems == ("the invoice differs from its hash on the ledger",)


def test_a_receipt_short_of_the_shipment_is_a_mismatch() -> None:
    receipt = next(
        r for r in SAMPLE.records(Receipt) if isinstance(r, Receipt) and r.invoice_number == SECOND_A.number
    )
    line = receipt.lines[0]
    short = dataclasses.replace(
        receipt,
        lines=(
            dataclasses.replace(line, quantity=line.quantity - 1, trace_codes=line.trace_codes[1:]),
            *receipt.lines[1:],
        ),
    )
    status = invoice_status(_ReadsOf(SECOND_A, record_hash(SECOND_A), short), str(SECOND_A.number))
    assert status.genuine and status.receipt == "mismatch" and not status.verified
    assert any(f"received {line.quantity - 1}" in p for p in status.problems)
    assert any("1 shipped traceability code(s) not received" in p for p in status.problems)


# --- the pharmacist's receipt ------------------------------------------------------------------------------


@pytest.fixture
def receiving(accounts: AccountStore, tmp_path: Path) -> tuple[PortalClient, MemoryLedger]:
    """HospitalA's portal on a ledger of its own: the tests record receipts in it."""
    ledger = _story_ledger()
    return _portal(ledger, accounts, tmp_path, "HospitalAMSP"), ledger


def _regulator(ledger: MemoryLedger) -> Regulator:
    return Regulator(LedgerContract(ledger, "RegulatorMSP", []), "RegulatorMSP")


def test_the_pharmacist_records_a_receipt_as_counted(
    receiving: tuple[PortalClient, MemoryLedger],
) -> None:
    (client, _, audit), ledger = receiving
    sign_in(client)
    number = str(UNRECEIVED.number)
    form = client.get(f"/portal/receive?lang=en&number={number}")
    assert form.status_code == 200, form.text
    assert 'name="qty_0"' in form.text and 'value="1"' in form.text  # the shipped count, filled in
    assert f'value="RCV-{number}"' in form.text
    answer = client.post(
        "/portal/receive?lang=en",
        data={
            "csrf": _csrf(form.text),
            "number": number,
            "receipt_id": f"RCV-{number}",
            "qty_0": "1",
            "received_at": "2025-01-01T09:30",  # China Standard Time: 01:30 UTC, before the ledger's clock
        },
    )
    assert answer.status_code == 200, answer.text
    assert 'id="recorded"' in answer.text and "Receipt recorded" in answer.text
    receipt = _regulator(ledger).read_receipt(number)
    assert receipt.receiver == "HospitalAMSP" and receipt.receipt_id == f"RCV-{number}"
    assert receipt.received_at == datetime(2025, 1, 1, 1, 30, tzinfo=UTC)
    assert [(line.batch_number, line.quantity) for line in receipt.lines] == [(_LINE.batch_number, 1)]
    last = audit.entries()[-1]
    assert (last.operation, last.record_key, last.status, last.outcome) == (
        "record_receipt",
        number,
        201,
        "ok",
    )
    assert last.transaction_id and last.transaction_id in answer.text
    # The verification page now finds the receipt matching the invoice.
    verified = client.post("/portal/verify?lang=en", data={"csrf": _csrf(form.text), "number": number})
    assert "invoice, shipment and receipt agree" in verified.text


def test_a_wrong_count_is_named_and_nothing_is_recorded(
    receiving: tuple[PortalClient, MemoryLedger],
) -> None:
    (client, _, audit), ledger = receiving
    csrf = sign_in(client)
    number = str(UNRECEIVED.number)
    for count, named in (
        ("5", "5 packages counted, 1 shipped"),
        ("many", "is not a whole number"),
        ("0", "no packages counted"),
        ("-1", "-1 packages counted"),
    ):
        answer = client.post(
            "/portal/receive?lang=en",
            data={"csrf": csrf, "number": number, "receipt_id": "RCV-X", "qty_0": count},
        )
        assert answer.status_code == 400 and named in answer.text, (count, answer.text)
        assert audit.entries()[-1].outcome == "BAD_COUNT"
    with pytest.raises(RecordNotFound):
        _regulator(ledger).read_receipt(number)


def test_a_receipt_the_chaincode_refuses_is_shown_with_its_rule_and_nothing_is_recorded(
    receiving: tuple[PortalClient, MemoryLedger],
) -> None:
    (client, _, _), ledger = receiving
    csrf = sign_in(client)
    # The goods of SECOND_A were received already: a second receipt of the same invoice is refused.
    number = str(SECOND_A.number)
    before = _regulator(ledger).read_receipt(number)
    answer = client.post(
        "/portal/receive?lang=en",
        data={"csrf": csrf, "number": number, "receipt_id": "RCV-AGAIN", "qty_0": "10", "qty_1": "5"},
    )
    assert answer.status_code in (400, 409), answer.text
    assert "RCV-AGAIN" not in json.dumps(_regulator(ledger).read_receipt(number).to_dict())
    assert _regulator(ledger).read_receipt(number) == before
    # An invoice between two other parties is not this hospital's to read, nor to receive.
    other = client.get(f"/portal/receive?lang=en&number={FIRST_B.number}")
    assert other.status_code == 403, other.text


def test_the_receipt_page_is_for_hospitals_and_needs_the_session_token(
    receiving: tuple[PortalClient, MemoryLedger],
) -> None:
    (client, _, _), ledger = receiving
    sign_in(client, "clerk")
    assert client.get("/portal/receive").status_code == 403
    client.cookies.clear()
    sign_in(client)
    number = str(UNRECEIVED.number)
    forged = client.post(
        "/portal/receive", data={"csrf": "forged", "number": number, "receipt_id": "RCV-X", "qty_0": "1"}
    )
    assert forged.status_code == 403 and "表单已过期" in forged.text
    with pytest.raises(RecordNotFound):
        _regulator(ledger).read_receipt(number)


def test_a_whole_line_keeps_the_shipped_codes_a_short_one_carries_none_and_an_empty_one_is_left_out() -> None:
    from fabrx_pharma_service.portal.receiving import receipt_from_count

    now = datetime(2024, 4, 1, tzinfo=UTC)
    whole = receipt_from_count(SECOND_A, "HospitalAMSP", "RCV-1", ["10", "5"], received_at=now)
    assert [line.trace_codes for line in whole.lines] == [
        line.trace_codes for line in SECOND_A.shipment.lines
    ]
    short = receipt_from_count(SECOND_A, "HospitalAMSP", "RCV-1", ["9", "0"], received_at=now)
    assert [(line.batch_number, line.quantity, line.trace_codes) for line in short.lines] == [
        (SECOND_A.shipment.lines[0].batch_number, 9, ())
    ]
    with pytest.raises(ValueError, match="the form counts 1 lines, the shipment has 2"):
        receipt_from_count(SECOND_A, "HospitalAMSP", "RCV-1", ["10"], received_at=now)
