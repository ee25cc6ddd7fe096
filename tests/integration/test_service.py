"""The members' HTTP services (`fabrx_pharma_service`) served over HTTPS against the real consortium.

A scenario run gives the ledger its parties, batches and a first and second invoice; then DistributorA's
ERP issues a new second invoice through its service (the Node client), HospitalA's system records the
receipt (curl + openssl), reads the invoice (Java) and verifies it with a genuine and a tampered first-
invoice copy, and the regulator queries through its own service. Bad input — wrong key, replayed nonce,
clock skew, another hospital's trade, an oversize body, malformed JSON — is refused with a clear error
and leaves the ledger as it was. In a real browser (Debian's chromium through Playwright,
``browser.py``) the pharmacist sees a tampered first-invoice copy flagged, the regulator the trace
picture, and a patient a package on the public page; screenshots in ``.fabrx/test-artifacts/browser``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from browser import chromium, page_of, screenshot
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from netsupport import REPO, TEST_PORT_BASE, caught_up
from playwright.sync_api import Browser, Page

from fabrx.pharma import PharmaClients
from fabrx.pharma.scenario import run_scenario
from fabrx_network import ConsortiumNetwork
from fabrx_pharma import GoodsLine, Invoice, InvoiceLine, InvoiceNumber, Party, Receipt, Role, Shipment
from fabrx_pharma.sample import sample_uscc
from fabrx_pharma_service import (
    Application,
    ApplicationRegistry,
    AuditLog,
    BackgroundServer,
    GatewayMember,
    ServiceFiles,
    ServiceState,
    create_app,
    msp_users,
    self_signed_tls,
    sign_request,
)
from fabrx_pharma_service.portal import AccountStore, Portal, SessionStore
from fabrx_pharma_supervision import LedgerFeed, SupervisionStore

EXAMPLES = REPO / "service" / "examples"
ORGS = ("Regulator", "DistributorA", "HospitalA", "HospitalB")


@dataclasses.dataclass
class Service:
    """One member's running service and the application registered with it."""

    org: str
    msp_id: str
    url: str
    ca: Path
    app_id: str
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key_file: Path
    algorithm: str
    audit: AuditLog
    registry: ApplicationRegistry | None = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
        created: datetime | None = None,
        nonce: str | None = None,
    ) -> httpx2.Response:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        sent = dict(headers or {})
        if data:
            sent["Content-Type"] = "application/json"
        sent.update(
            sign_request(
                method,
                self.url + path,
                sent,
                data,
                key_id=self.app_id,
                private_key=key or self.key,
                algorithm=self.algorithm,
                created=created,
                nonce=nonce,
            )
        )
        with httpx2.Client(verify=ssl.create_default_context(cafile=self.ca), timeout=120) as client:
            return client.request(method, self.url + path, content=data, headers=sent)


@pytest.fixture(scope="module")
def services(
    network: ConsortiumNetwork, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Service]]:
    root = tmp_path_factory.mktemp("services")
    with ExitStack() as stack:
        running: dict[str, Service] = {}
        for name in ORGS:
            org = network.consortium.org(name)
            files = ServiceFiles(root / name)
            key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
                rsa.generate_private_key(public_exponent=65537, key_size=2048)
                if name == "HospitalA"
                else ec.generate_private_key(ec.SECP256R1())
            )
            public = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            role = str(getattr(org.role, "value", org.role))
            application = Application.new(f"erp-{name}", role=role, identity="client", public_key_pem=public)
            registry = ApplicationRegistry(files.applications)
            registry.add(application)
            key_file = root / f"{name}.key.pem"
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_file.chmod(0o600)
            member = GatewayMember(
                org.msp_id,
                network.peer_endpoint(org, org.peers[0]),
                msp_users(org.msp_id, network.layout.org_dir(org.name) / "users"),
            )
            stack.callback(member.close)
            audit = AuditLog(files.audit)
            tls = self_signed_tls(files.tls)
            app = create_app(member, registry, ServiceState(files.state), audit)
            server = stack.enter_context(BackgroundServer(app, tls=tls))
            running[name] = Service(
                name,
                org.msp_id,
                server.url,
                tls.certificate,
                application.app_id,
                key,
                key_file,
                application.algorithm,
                audit,
                registry,
            )
        yield running


@pytest.fixture(scope="module")
def trade(network: ConsortiumNetwork) -> dict[str, Any]:
    """A scenario run's first and second invoice (DistributorA) and the regulator's copies of both."""
    with PharmaClients(network) as clients:
        report = run_scenario(clients)
        numbers = [
            (actor, anchor.key, anchor.public.get("buyer"))
            for actor, anchor in report.writes
            if anchor.record_type == "invoice"
        ]
        first = next(
            n for actor, n, buyer in numbers if actor == "ManufacturerMSP" and buyer == "DistributorAMSP"
        )
        second = next(
            n for actor, n, buyer in numbers if actor == "DistributorAMSP" and buyer == "HospitalAMSP"
        )
        (trace,) = report.traces
        return {
            "first": clients.regulator.read_invoice(first),
            "second": clients.regulator.read_invoice(second),
            "tag": report.tag,
            "trace": trace,
            "prescription": clients.regulator.read_prescription(trace.prescription_id),
        }


def _new_sale(model: Invoice, suffix: str) -> Invoice:
    """A one-package second invoice like ``model`` under a fresh number (the scenario leaves stock)."""
    line = model.lines[0]
    number = InvoiceNumber.parse(str(model.number)[:-2] + suffix)
    return dataclasses.replace(
        model,
        number=number,
        lines=(InvoiceLine(line.product_id, line.batch_number, 1, line.unit_price, line.unit_price),),
        total=line.unit_price,
        shipment=Shipment(
            shipment_id=f"SHP-{number}",
            shipped_at=model.shipment.shipped_at,
            lines=(GoodsLine(line.product_id, line.batch_number, 1),),
        ),
    )


def _node(service: Service, method: str, path: str, body: Any, tmp: Path, **env: str) -> tuple[int, Any]:
    file = tmp / "node-body.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    done = subprocess.run(
        [
            "node",
            str(EXAMPLES / "client.mjs"),
            method,
            service.url + path,
            service.app_id,
            str(service.key_file),
            str(file),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "FABRX_SERVICE_CA": str(service.ca), **env},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return answer["status"], answer["body"]


def _java(service: Service, method: str, path: str, tmp: Path, **env: str) -> tuple[int, Any]:
    done = subprocess.run(
        [
            "java",
            str(EXAMPLES / "Client.java"),
            method,
            service.url + path,
            service.app_id,
            str(service.key_file),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "FABRX_SERVICE_CA": str(service.ca), **env},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return answer["status"], answer["body"]


def _curl(service: Service, method: str, path: str, body: Any, tmp: Path, **env: str) -> tuple[int, Any]:
    command = [
        str(EXAMPLES / "signed_request.sh"),
        method,
        service.url + path,
        service.app_id,
        str(service.key_file),
    ]
    if body is not None:
        file = tmp / "curl-body.json"
        file.write_text(json.dumps(body), encoding="utf-8")
        command.append(str(file))
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "FABRX_SERVICE_CA": str(service.ca), **env},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *text, status = done.stdout.rstrip("\n").split("\n")
    return int(status), json.loads("\n".join(text))


def test_an_erp_sells_a_hospital_receives_and_verifies_through_their_services(
    network: ConsortiumNetwork, services: dict[str, Service], trade: dict[str, Any], tmp_path: Path
) -> None:
    distributor, hospital, regulator = services["DistributorA"], services["HospitalA"], services["Regulator"]
    sale = _new_sale(trade["second"], "71")
    # DistributorA's ERP (Node) issues the second invoice, then retries blindly with the same key.
    status, anchor = _node(
        distributor, "POST", "/v1/invoices", sale.to_dict(), tmp_path, IDEMPOTENCY_KEY=f"inv-{sale.number}"
    )
    assert status == 201, anchor
    assert (anchor["record_type"], anchor["key"], anchor["submitter"]) == (
        "invoice",
        str(sale.number),
        "DistributorAMSP",
    )
    again = _node(
        distributor, "POST", "/v1/invoices", sale.to_dict(), tmp_path, IDEMPOTENCY_KEY=f"inv-{sale.number}"
    )
    assert again == (201, anchor)
    committed = distributor.call("GET", f"/v1/transactions/{anchor['transaction_id']}").json()
    assert committed["valid"] and committed["validation_code"] == "VALID" and committed["block_number"] > 0

    caught_up(network, "HospitalA", "DistributorA")
    # HospitalA's system (curl + openssl) records the receipt of the goods.
    receipt = Receipt(
        receipt_id=f"RCV-{sale.number}",
        invoice_number=sale.number,
        receiver="HospitalAMSP",
        received_at=datetime.now(UTC) - timedelta(minutes=1),
        lines=sale.shipment.lines,
    )
    status, receipt_anchor = _curl(
        hospital, "POST", "/v1/receipts", receipt.to_dict(), tmp_path, IDEMPOTENCY_KEY=receipt.receipt_id
    )
    assert status == 201, receipt_anchor
    assert hospital.call("GET", f"/v1/receipts/{sale.number}").json() == receipt.to_dict()
    # The hospital's Java system (RSA-PSS) reads the invoice it received.
    assert _java(hospital, "GET", f"/v1/invoices/{sale.number}", tmp_path) == (200, sale.to_dict())

    # One-place verification with the first-invoice copy the distributor handed over, and a tampered one.
    copy = trade["first"].to_dict()
    tampered = json.loads(json.dumps(copy))
    tampered["shipment"]["shipment_id"] = "SHP-FORGED"
    answer = hospital.call(
        "POST",
        "/v1/verifications",
        {"invoices": [{"number": str(sale.number), "first_invoices": [copy, tampered]}]},
    )
    assert answer.status_code == 200, answer.text
    (verification,) = answer.json()
    assert verification["genuine"] and verification["receipt_matches"] is True
    assert [c["genuine"] for c in verification["first_invoices"]] == [True, False]
    assert not verification["verified"]
    assert any(d["code"] == "HASH_MISMATCH" for d in verification["discrepancies"])

    caught_up(network, "Regulator", "HospitalA")
    regulator_copy = regulator.call("GET", f"/v1/invoices/{sale.number}")
    assert regulator_copy.status_code == 200 and regulator_copy.json() == sale.to_dict()
    audit = [e for e in hospital.audit.entries() if e.operation == "record_receipt"]
    assert (
        audit and audit[-1].transaction_id == receipt_anchor["transaction_id"] and audit[-1].outcome == "ok"
    )


def test_the_regulator_supervises_through_its_service(
    services: dict[str, Service], trade: dict[str, Any]
) -> None:
    regulator = services["Regulator"]
    findings = regulator.call("GET", "/v1/compliance-report")
    assert findings.status_code == 200 and {"rule", "severity", "subject", "reason"} <= set(
        findings.json()[0]
    )
    assert regulator.call("GET", "/v1/diversion-signals").status_code == 200
    line = trade["first"].lines[0]
    scope = regulator.call("GET", f"/v1/recall-scope/{line.product_id}/{line.batch_number}")
    assert scope.status_code == 200 and scope.json()["manufacturer"] == "ManufacturerMSP"
    batch = regulator.call("GET", f"/v1/batches/{line.product_id}/{line.batch_number}").json()
    assert batch["raw_material_lots"], "the regulator reads the raw-material lots"
    public = services["HospitalB"].call("GET", f"/v1/batches/{line.product_id}/{line.batch_number}").json()
    assert public["raw_material_lots"] == []


def test_a_hospital_cannot_read_or_verify_another_hospitals_trade(
    services: dict[str, Service], trade: dict[str, Any]
) -> None:
    other = services["HospitalB"]
    number = str(trade["second"].number)
    read = other.call("GET", f"/v1/invoices/{number}")
    assert read.status_code == 403 and read.json()["code"] == "PRIVATE_DATA", read.text
    verify = other.call("POST", "/v1/verifications", {"invoices": [{"number": number}]})
    assert verify.status_code == 403, verify.text


def test_a_hosted_partys_application_acts_for_that_party_through_its_hosts_service(
    network: ConsortiumNetwork, services: dict[str, Service], trade: dict[str, Any], tmp_path: Path
) -> None:
    """A clinic hosted on HospitalA's node: its system signs with its own key, the service acts through the
    client HospitalA's CA enrolled with fabrx.party=<clinic>, so its receipt is the clinic's; it cannot
    read HospitalA's own trade."""
    hospital, distributor, regulator = services["HospitalA"], services["DistributorA"], services["Regulator"]
    clinic = f"CLINIC-SVC-{trade['tag'][-6:]}"
    party = Party(
        clinic, Role.HOSPITAL, "clinic", sample_uscc("12", "350100", "48830001"), host_msp_id="HospitalAMSP"
    )
    registered = regulator.call("POST", "/v1/parties", party.to_dict())
    assert registered.status_code == 201, registered.text
    user = clinic.lower()
    network.enroll_client("HospitalA", user, {"fabrx.party": clinic, "fabrx.role": "hospital"})
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert hospital.registry is not None
    application = Application.new(f"his-{user}", role="hospital", identity=user, public_key_pem=public)
    hospital.registry.add(application)
    clinic_app = dataclasses.replace(
        hospital, app_id=application.app_id, key=key, algorithm=application.algorithm
    )

    sale = dataclasses.replace(_new_sale(trade["second"], "73"), buyer=clinic)
    sold = distributor.call("POST", "/v1/invoices", sale.to_dict())
    assert sold.status_code == 201, sold.text
    caught_up(network, "HospitalA", "DistributorA")
    receipt = Receipt(
        receipt_id=f"RCV-{sale.number}",
        invoice_number=sale.number,
        receiver=clinic,
        received_at=datetime.now(UTC) - timedelta(minutes=1),
        lines=sale.shipment.lines,
    )
    answer = clinic_app.call("POST", "/v1/receipts", receipt.to_dict())
    assert answer.status_code == 201, answer.text
    assert answer.json()["submitter"] == clinic, "the receipt is the clinic's, not HospitalA's"
    line = sale.lines[0]
    stock = clinic_app.call("GET", f"/v1/stock/{line.product_id}/{line.batch_number}")
    assert stock.status_code == 200 and stock.json()["received"] == 1, stock.text
    hospitals_own = clinic_app.call("GET", f"/v1/invoices/{trade['second'].number}")
    assert hospitals_own.status_code == 403 and hospitals_own.json()["code"] == "PRIVATE_DATA"


def test_bad_requests_are_refused_and_write_nothing(
    services: dict[str, Service], trade: dict[str, Any]
) -> None:
    distributor = services["DistributorA"]
    sale = _new_sale(trade["second"], "72")
    path = f"/v1/anchors/invoice/{sale.number}"
    stranger = ec.generate_private_key(ec.SECP256R1())
    wrong_key = distributor.call("POST", "/v1/invoices", sale.to_dict(), key=stranger)
    assert wrong_key.status_code == 401 and wrong_key.json()["code"] == "SIGNATURE"
    skewed = distributor.call(
        "POST", "/v1/invoices", sale.to_dict(), created=datetime.now(UTC) + timedelta(minutes=5)
    )
    assert skewed.status_code == 401 and skewed.json()["code"] == "CLOCK_SKEW"
    oversize = distributor.call("POST", "/v1/invoices", raw=b'{"x": "' + b"a" * (3 << 20) + b'"}')
    assert oversize.status_code == 413 and oversize.json()["code"] == "TOO_LARGE"
    malformed = distributor.call("POST", "/v1/invoices", raw=b'{"number": "1", ')
    assert malformed.status_code == 422 and malformed.json()["code"] == "MALFORMED_JSON"
    assert distributor.call("GET", path).status_code == 404, "nothing was written"

    # A replayed request: the first is answered (a read), the copy refused.
    first = distributor.call("GET", path, nonce="replay-me-once")
    replay = distributor.call("GET", path, nonce="replay-me-once")
    assert first.status_code == 404 and replay.status_code == 401 and replay.json()["code"] == "REPLAYED"
    refused = [e for e in distributor.audit.entries() if e.status == 401]
    assert {e.outcome for e in refused} >= {"SIGNATURE", "CLOCK_SKEW", "REPLAYED"}


def _fabrx_serve(network: ConsortiumNetwork, org: str, state_dir: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "fabrx"),
        "--config",
        str(network.run_dir.parent / "consortium.yaml"),
        "--run-dir",
        str(network.run_dir),
        "serve",
        "--org",
        org,
        "--state-dir",
        str(state_dir),
    ]


def _application(fabrx: list[str], tmp_path: Path, app_id: str) -> tuple[rsa.RSAPrivateKey, Path, str]:
    """Register a fresh RSA application with ``fabrx serve app add``: its key, key file and the output."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file, public_file = tmp_path / f"{app_id}.pem", tmp_path / f"{app_id}.pub.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    added = subprocess.run(
        [*fabrx, "app", "add", app_id, "--public-key", str(public_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    return key, key_file, added.stdout


@contextmanager
def _served(command: list[str], ca: Path, port: int) -> Iterator[str]:
    """Run ``fabrx serve`` until its health check answers; stop it on leaving."""
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            if ca.exists():
                try:
                    with httpx2.Client(verify=ssl.create_default_context(cafile=ca)) as client:
                        if client.get(url + "/v1/health").status_code == 200:
                            break
                except httpx2.TransportError:
                    pass
            assert time.monotonic() < deadline, "fabrx serve did not answer within 120 s"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_fabrx_serve_runs_the_service_from_the_run_directory(
    network: ConsortiumNetwork, tmp_path: Path
) -> None:
    """The command line as docs/service.md shows it: register an application and an account, serve,
    call the API with the curl + openssl client, open the portal's sign-in page."""
    fabrx = _fabrx_serve(network, "HospitalA", tmp_path / "svc")
    key, key_file, added = _application(fabrx, tmp_path, "cli-app")
    assert "role hospital" in added
    user = subprocess.run(
        [*fabrx, "user", "add", "pharmacist", "--password-stdin"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert user.returncode == 0, user.stderr
    unmigrated = subprocess.run(
        [*fabrx, "--supervision-store", f"sqlite:///{tmp_path / 'none.db'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unmigrated.returncode != 0 and "supervision store" in unmigrated.stderr, unmigrated.stderr
    ca = tmp_path / "svc" / "tls" / "server.crt"
    with _served(fabrx, ca, TEST_PORT_BASE + 800) as url:
        audit = AuditLog(tmp_path / "svc" / "audit.jsonl")
        service = Service(
            "HospitalA", "HospitalAMSP", url, ca, "cli-app", key, key_file, "rsa-pss-sha512", audit
        )
        status, policy = _curl(service, "GET", "/v1/policy", None, tmp_path)
        assert status == 200 and "one_invoice_mode" in policy
        with httpx2.Client(verify=ssl.create_default_context(cafile=ca)) as client:
            login = client.get(url + "/portal/login")
        assert login.status_code == 200 and "登录" in login.text
        assert service.audit.entries()[-1].operation == "read_policy"


def test_the_regulators_service_feeds_a_supervision_store_and_answers_from_it(
    network: ConsortiumNetwork, trade: dict[str, Any], tmp_path: Path
) -> None:
    """fabrx serve --supervision-store URL --feed: the store follows the regulator's peer, and the report
    it answers equals the chaincode's."""
    fabrx = _fabrx_serve(network, "Regulator", tmp_path / "svc")
    key, key_file, _ = _application(fabrx, tmp_path, "analyst")
    store = f"sqlite:///{tmp_path / 'supervision.db'}"
    ca = tmp_path / "svc" / "tls" / "server.crt"
    with _served([*fabrx, "--supervision-store", store, "--feed"], ca, TEST_PORT_BASE + 801) as url:
        audit = AuditLog(tmp_path / "svc" / "audit.jsonl")
        service = Service(
            "Regulator", "RegulatorMSP", url, ca, "analyst", key, key_file, "rsa-pss-sha512", audit
        )
        org = network.consortium.org("Regulator")
        with network.peer_admin(org, org.peers[0]) as admin:
            last_block = admin.chain_info("pharma").height - 1
        deadline = time.monotonic() + 180
        # Both reports as of one moment: a receipt may fall due between two calls.
        moment = datetime.now(UTC)
        while True:
            answer = service.call("GET", f"/v1/compliance-report?as_of={quote(moment.isoformat(), safe='')}")
            assert answer.status_code == 200, answer.text
            checkpoint = answer.headers["Fabrx-Source"].rsplit("=", 1)[-1]
            if checkpoint != "none" and int(checkpoint) >= last_block:
                break
            assert time.monotonic() < deadline, f"the store is at block {checkpoint} of {last_block}"
            time.sleep(0.5)
        with PharmaClients(network) as clients:
            report = clients.regulator.compliance_report(as_of=moment)
            expected = {(f.rule.value, f.subject, f.reason) for f in report}
        assert {(f["rule"], f["subject"], f["reason"]) for f in answer.json()} == expected
        line = trade["first"].lines[0]
        scope = service.call("GET", f"/v1/recall-scope/{line.product_id}/{line.batch_number}")
        assert scope.status_code == 200 and scope.headers["Fabrx-Source"].startswith("supervision-store")


PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def portals(
    network: ConsortiumNetwork, trade: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """HospitalA's, DistributorA's and the regulator's services with their portals: a pharmacist, a
    clerk and an analyst account; the regulator's and DistributorA's services with a supervision store
    fed from their own peer up to the scenario's last block (for the public package page and the
    distributor's invoices)."""
    root = tmp_path_factory.mktemp("portals")
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for name, account in (
            ("HospitalA", "pharmacist"),
            ("DistributorA", "clerk"),
            ("Regulator", "analyst"),
        ):
            org = network.consortium.org(name)
            role = Role(str(getattr(org.role, "value", org.role)))
            files = ServiceFiles(root / name)
            accounts = AccountStore(files.accounts)
            accounts.add(account, PASSWORD, role=role.value, identity="client")
            member = GatewayMember(
                org.msp_id,
                network.peer_endpoint(org, org.peers[0]),
                msp_users(org.msp_id, network.layout.org_dir(org.name) / "users"),
            )
            stack.callback(member.close)
            store = None
            if name in ("Regulator", "DistributorA"):
                store = SupervisionStore.open(f"sqlite:///{root / name / 'supervision.db'}", migrate=True)
                stack.callback(store.close)
                with network.peer_admin(org, org.peers[0]) as admin:
                    last_block = admin.chain_info("pharma").height - 1
                feed = LedgerFeed(store, member.gateway("client").get_network("pharma"))
                feed.run(until_block=last_block, timeout=120)
            sessions = SessionStore(files.sessions)
            stack.callback(sessions.close)
            app = create_app(
                member,
                ApplicationRegistry(files.applications),
                ServiceState(files.state),
                AuditLog(files.audit),
                portal=Portal(accounts, sessions, public=("client", role)),
                supervision=store,
            )
            server = stack.enter_context(BackgroundServer(app, tls=self_signed_tls(files.tls)))
            urls[name] = server.url
        yield urls


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url + "/portal/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/portal/?lang=zh")
    assert name in page.inner_text("body")


def test_the_pharmacist_sees_a_tampered_first_invoice_copy_flagged_in_the_browser(
    portals: dict[str, str], browser: Browser, trade: dict[str, Any]
) -> None:
    url = portals["HospitalA"]
    tampered = trade["first"].to_dict()
    tampered["shipment"]["shipment_id"] = "SHP-FORGED"
    with page_of(browser) as page:
        _sign_in(page, url, "pharmacist")
        page.goto(url + "/portal/verify")
        page.fill("#number", str(trade["second"].number))
        page.fill("#copy", json.dumps(tampered, ensure_ascii=False))
        page.click("form[action^='/portal/verify'] button[type=submit]")
        page.wait_for_selector("#result")
        screenshot(page, "hospital-verify-tampered")
        verdict = page.inner_text("#result .verdict")
        assert verdict == "核验未通过，请看下面的问题。"
        assert page.inner_text("#result .copy-tampered") == "被篡改（与账本上的第一票不一致）"
        copy_row = page.locator("#result tr", has=page.locator(".copy-tampered")).locator("th")
        assert copy_row.inner_text() == f"第一票复印件 1 ({trade['first'].number})"
        assert "HASH_MISMATCH" in page.inner_text("#result ul")
        # The genuine copy uploaded as a file, in English: the copy is genuine.
        page.goto(url + "/portal/verify?lang=en")
        page.fill("#number", str(trade["second"].number))
        page.set_input_files(
            "#copy_file",
            files=[
                {
                    "name": "first-invoice.json",
                    "mimeType": "application/json",
                    "buffer": trade["first"].to_json(),
                }
            ],
        )
        page.click("form[action^='/portal/verify'] button[type=submit]")
        page.wait_for_selector("#result")
        screenshot(page, "hospital-verify-genuine")
        assert page.inner_text("#result .copy-genuine") == "genuine"
        assert page.locator("#result .copy-tampered").count() == 0


def test_the_distributor_sees_its_invoices_and_their_status_in_the_browser(
    portals: dict[str, str], browser: Browser, trade: dict[str, Any]
) -> None:
    url = portals["DistributorA"]
    sale, purchase = str(trade["second"].number), str(trade["first"].number)
    with page_of(browser) as page:
        _sign_in(page, url, "clerk")
        page.click("a[href^='/portal/invoices']")
        page.wait_for_selector("#invoices")
        screenshot(page, "distributor-invoices")
        assert page.inner_text("h2") == "我的发票及核验状态"
        rows = page.locator("#invoices tr[data-number]")
        listed = {
            rows.nth(i).get_attribute("data-number"): rows.nth(i).get_attribute("data-status")
            for i in range(rows.count())
        }
        assert listed and set(listed.values()) <= {"verified", "missing", "mismatch", "not_genuine"}
        # From its own store: only DistributorA's invoices, each either sold by it or bought by it.
        directions = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
        assert directions <= {"开出", "收到"}
        # The scenario's sale (received by HospitalA) and purchase (received by DistributorA), by number.
        for number in (sale, purchase):
            page.fill("#number", number)
            page.click("form[action='/portal/invoices'] button[type=submit]")
            page.wait_for_selector(f"#invoices tr[data-number='{number}']")
            row = page.locator(f"#invoices tr[data-number='{number}']")
            assert row.get_attribute("data-status") == "verified"
            assert row.locator("td").last.inner_text().strip() == "已核验：发票真实，票货相符"
        assert page.locator("#invoices tr[data-number]").count() == 1
        # In English.
        page.goto(url + f"/portal/invoices?lang=en&number={sale}")
        page.wait_for_selector("#invoices")
        screenshot(page, "distributor-invoice-en")
        row = page.locator(f"#invoices tr[data-number='{sale}']")
        assert row.locator("td").nth(2).inner_text() == "issued"
        assert row.locator("td").nth(3).inner_text() == "HospitalAMSP"
        assert row.locator("td").last.inner_text().strip() == "verified: genuine, goods and receipt agree"


def test_the_regulator_sees_the_trace_of_an_adverse_event_as_a_picture_in_the_browser(
    portals: dict[str, str], browser: Browser, trade: dict[str, Any]
) -> None:
    url = portals["Regulator"]
    trace = trade["trace"]
    with page_of(browser) as page:
        _sign_in(page, url, "analyst")
        page.goto(url + "/portal/trace")
        page.fill("#prescription_id", trace.prescription_id)
        page.click("form[action='/portal/trace'] button[type=submit]")
        page.wait_for_selector("section.trace svg")
        screenshot(page, "regulator-trace")
        nodes = page.locator("section.trace svg g.node")
        drawn = {
            nodes.nth(i).get_attribute("data-key"): nodes.nth(i).text_content() or ""
            for i in range(nodes.count())
        }
        expected_keys = {
            *(f"lot:{lot.lot}" for lot in trace.raw_material_lots),
            "batch",
            "manufacturer",
            *(f"dist:{d}" for d in trace.distributors),
            "hospital",
            "rx",
        }
        assert set(drawn) == expected_keys and trace.raw_material_lots and trace.distributors
        assert trace.batch_number in drawn["batch"] and trace.hospital in drawn["hospital"]
        assert trace.prescription_id in drawn["rx"]
        assert all(d in drawn[f"dist:{d}"] for d in trace.distributors)
        assert page.locator("section.trace svg line").count() >= len(drawn) - 1
        boxes = {key: nodes.nth(i).bounding_box() for i, key in enumerate(drawn)}
        # Drawn left to right: raw lots, batch, manufacturer, distributors, hospital, prescription.
        order = ["batch", "manufacturer", f"dist:{trace.distributors[0]}", "hospital", "rx"]
        xs = [boxes[key]["x"] for key in order if boxes[key]]  # type: ignore[index]
        assert xs == sorted(xs) and len(set(xs)) == len(order)
        assert trade["prescription"].patient_pseudonym not in page.inner_text("body")


def test_a_patient_checks_a_package_on_the_public_page_in_the_browser(
    portals: dict[str, str], browser: Browser, trade: dict[str, Any]
) -> None:
    url = portals["Regulator"]
    prescription = trade["prescription"]
    code = prescription.items[0].trace_codes[0]
    with page_of(browser) as page:
        page.goto(url + "/portal/package?lang=en")
        page.fill("#code", code)
        page.click("form[action='/portal/package'] button[type=submit]")
        page.wait_for_selector("#package")
        screenshot(page, "public-package")
        shown = page.inner_text("#package")
        trace = trade["trace"]
        assert trace.batch_number in shown and trace.batch.expiry_date.isoformat() in shown
        assert trace.manufacturer.name in shown
        assert "This package was already dispensed" in page.inner_text("#package .dispensed")
        for private in (prescription.prescription_id, prescription.patient_pseudonym, trace.hospital):
            assert private not in page.inner_text("body")
