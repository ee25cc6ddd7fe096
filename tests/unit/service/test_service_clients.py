"""The example clients (curl + openssl, Node, Java) against the service served by uvicorn over HTTPS, with
a member whose facades run on an in-memory ledger (tests/integration repeats this on the real network)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from service_fakes import LedgerContract, LedgerMember, memory_ledger, public_pem

from fabrx.pharma import Regulator
from fabrx_pharma.sample import build_sample_scenario
from fabrx_pharma_service import (
    Application,
    ApplicationRegistry,
    AuditLog,
    BackgroundServer,
    ServiceFiles,
    ServiceState,
    create_app,
    self_signed_tls,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "service" / "examples"
SAMPLE = build_sample_scenario()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("served")
    ledger = memory_ledger()
    Regulator(LedgerContract(ledger, "RegulatorMSP", []), "RegulatorMSP").bootstrap(SAMPLE.regulator)
    files = ServiceFiles(root / "service")
    registry = ApplicationRegistry(files.applications)
    keys: dict[str, Path] = {}
    for app_id, key in (
        ("curl-app", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("node-app", ec.generate_private_key(ec.SECP256R1())),
        ("java-app", ec.generate_private_key(ec.SECP384R1())),
        ("java-rsa", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ):
        registry.add(
            Application.new(app_id, role="regulator", identity="client", public_key_pem=public_pem(key))
        )
        keys[app_id] = root / f"{app_id}.pem"
        keys[app_id].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        keys[app_id].chmod(0o600)
    member = LedgerMember(ledger, "RegulatorMSP")
    app = create_app(member, registry, ServiceState(files.state), AuditLog(files.audit))
    tls = self_signed_tls(files.tls)
    with BackgroundServer(app, tls=tls) as server:
        yield {"url": server.url, "ca": tls.certificate, "keys": keys, "root": root, "member": member}


def _run(command: list[str], served: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "FABRX_SERVICE_CA": str(served["ca"]), **env}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120, check=False)


def curl(served: dict[str, Any], method: str, path: str, body: Any = None, **env: str) -> tuple[int, Any]:
    command = [
        str(EXAMPLES / "signed_request.sh"),
        method,
        served["url"] + path,
        "curl-app",
        str(served["keys"]["curl-app"]),
    ]
    if body is not None:
        file = served["root"] / "curl-body.json"
        file.write_text(json.dumps(body), encoding="utf-8")
        command.append(str(file))
    done = _run(command, served, **env)
    assert done.returncode == 0, done.stderr
    *text, status = done.stdout.rstrip("\n").split("\n")
    return int(status), json.loads("\n".join(text))


def node(served: dict[str, Any], method: str, path: str, body: Any = None, **env: str) -> tuple[int, Any]:
    command = [
        "node",
        str(EXAMPLES / "client.mjs"),
        method,
        served["url"] + path,
        "node-app",
        str(served["keys"]["node-app"]),
    ]
    if body is not None:
        file = served["root"] / "node-body.json"
        file.write_text(json.dumps(body), encoding="utf-8")
        command.append(str(file))
    done = _run(command, served, **env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return answer["status"], answer["body"]


def java(
    served: dict[str, Any], method: str, path: str, body: Any = None, app_id: str = "java-app", **env: str
) -> tuple[int, Any]:
    command = [
        "java",
        str(EXAMPLES / "Client.java"),
        method,
        served["url"] + path,
        app_id,
        str(served["keys"][app_id]),
    ]
    if body is not None:
        file = served["root"] / "java-body.json"
        file.write_text(json.dumps(body), encoding="utf-8")
        command.append(str(file))
    done = _run(command, served, **env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return answer["status"], answer["body"]


PARTIES = [record for submitter, record in SAMPLE.writes if record.RECORD_TYPE == "party"]


def test_curl_and_openssl_register_a_party_and_read_it_back(served: dict[str, Any]) -> None:
    status, anchor = curl(served, "POST", "/v1/parties", PARTIES[0].to_dict(), IDEMPOTENCY_KEY="curl-party-1")
    assert status == 201 and anchor["submitter"] == "RegulatorMSP", anchor
    again = curl(served, "POST", "/v1/parties", PARTIES[0].to_dict(), IDEMPOTENCY_KEY="curl-party-1")
    assert again == (201, anchor)
    status, party = curl(served, "GET", f"/v1/parties/{PARTIES[0].key}")
    assert status == 200 and party == PARTIES[0].to_dict()
    status, findings = curl(served, "GET", "/v1/compliance-report?as_of=2025-01-01T00:00:00%2B08:00")
    assert status == 200 and isinstance(findings, list)


def test_node_registers_a_party_and_reads_it_back(served: dict[str, Any]) -> None:
    status, anchor = node(served, "POST", "/v1/parties", PARTIES[1].to_dict(), IDEMPOTENCY_KEY="node-party-1")
    assert status == 201 and anchor["key"] == PARTIES[1].key, anchor
    status, party = node(served, "GET", f"/v1/parties/{PARTIES[1].key}")
    assert status == 200 and party == PARTIES[1].to_dict()


def test_the_clients_get_clear_errors(served: dict[str, Any]) -> None:
    status, error = node(served, "POST", "/v1/parties", {"msp_id": "X"})
    assert status == 400 and error["code"] == "RECORD" and error["problems"]
    status, error = curl(served, "GET", "/v1/parties/NobodyMSP")
    assert status == 404 and error["code"] == "NOT_FOUND"
    status, error = node(
        served, "POST", "/v1/parties", PARTIES[1].to_dict() | {"name": "x"}, IDEMPOTENCY_KEY="node-party-1"
    )
    assert status == 409 and error["code"] == "IDEMPOTENCY_CONFLICT"


def test_java_registers_a_party_retries_it_and_reads_it_back(served: dict[str, Any]) -> None:
    """ECDSA P-384 (r || s signatures) with an idempotency key and a body, then a read with a query."""
    status, anchor = java(served, "POST", "/v1/parties", PARTIES[2].to_dict(), IDEMPOTENCY_KEY="java-party-2")
    assert status == 201 and anchor["key"] == PARTIES[2].key, anchor
    again = java(served, "POST", "/v1/parties", PARTIES[2].to_dict(), IDEMPOTENCY_KEY="java-party-2")
    assert again == (201, anchor)
    status, party = java(served, "GET", f"/v1/parties/{PARTIES[2].key}", app_id="java-rsa")
    assert status == 200 and party == PARTIES[2].to_dict()
    status, findings = java(
        served, "GET", "/v1/compliance-report?as_of=2025-01-01T00:00:00%2B08:00", app_id="java-rsa"
    )
    assert status == 200 and isinstance(findings, list)


def test_java_gets_clear_errors(served: dict[str, Any]) -> None:
    status, error = java(served, "POST", "/v1/parties", {"msp_id": "X"}, app_id="java-rsa")
    assert status == 400 and error["code"] == "RECORD" and error["problems"]
    status, error = java(served, "GET", "/v1/parties/NobodyMSP")
    assert status == 404 and error["code"] == "NOT_FOUND"
    status, error = java(served, "GET", "/v1/parties/NobodyMSP", FABRX_SIGNATURE_ALG="ecdsa-p256-sha256")
    assert status == 401, "the registered algorithm is ECDSA P-384"
