"""No secret and no patient data in any log of the session.

Runs after the rest of the suite (the last module of ``tests/reliability``), so that what the session
did — the integration tests, the hostile input, the access matrix, the fault runs under
``make reliability`` — has been logged. It first sends its own private records and refusals that carry
a patient's clear id, a pseudonym and a marker word in the transient map, then reads every log: the
network's run directory (``logs/<node>.log``: peers, orderers, CAs, chaincode servers) and every text
log the session's other tests left under pytest's base folder (service audit logs, members' own run
directories, captured command output: ``*.log``, ``*.jsonl``, ``*.out``, ``*.err``). Ledger files (the
LevelDB ``000001.log`` journals) hold private data by design and are not logs.

What must appear in none of them:

- a private key: a PEM ``PRIVATE KEY`` block, or the body of any key file found in the run directory or
  under the base folder (its second base64 line, which holds the key's secret part);
- a password: each CA's bootstrap admin password and every enrollment secret derived from it (the
  identities registered in each CA's database);
- patient data and transient payloads: the patient's clear id, the pseudonym key, the pseudonym and the
  marker word that travel only in transient records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from relsupport import BUYER, CALL_TIMEOUT_S, CHANNEL, REGULATOR, supply

from fabrx.errors import GatewayError
from fabrx.pharma import PharmaClients
from fabrx_network import ConsortiumNetwork
from fabrx_pharma import AdverseEvent, Prescription, Receipt, canonical_json
from fabrx_pharma.care import Dispensing
from fabrx_pharma.identifiers import pseudonymise
from fabrx_pharma.sample import SAMPLE_PSEUDONYM_KEY

PATIENT_ID = "350102198805056789"
"""A patient's clear id: sent only where a refusal must not echo it."""
PSEUDONYM_KEY = b"secrets-in-logs-hospital-key-2f9a"
MARKER = "SECRETS-IN-LOGS-PRIVATE-9b4c"
"""A word that travels only in transient records."""
LOG_PATTERNS = ("*.log", "*.jsonl", "*.out", "*.err")
LEDGER_JOURNAL = re.compile(r"\d{6}\.log")
"""LevelDB's journal files (the peers' ledgers), named like logs."""
PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+(.*?)-----END", re.DOTALL)
MAX_KEY_FILE = 64 * 1024


@dataclasses.dataclass
class Secrets:
    """What must not be in a log: ``{label: text}``."""

    texts: dict[str, str] = dataclasses.field(default_factory=dict)
    keys: int = 0
    passwords: int = 0

    def add(self, label: str, text: str) -> None:
        if len(text) >= 8:  # shorter strings match by chance
            self.texts[label] = text


def _files(base: Path) -> Iterator[Path]:
    for path in base.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                yield path
        except OSError:
            continue


def _logs(network: ConsortiumNetwork, base: Path) -> list[Path]:
    found = set(network.layout.logs_dir.glob("*.log"))
    for root in {base, network.run_dir}:
        for pattern in LOG_PATTERNS:
            found |= {p for p in root.rglob(pattern) if p.is_file() and not LEDGER_JOURNAL.fullmatch(p.name)}
    return sorted(found)


def _private_keys(roots: set[Path], secrets: Secrets) -> None:
    for root in roots:
        for path in _files(root):
            try:
                if path.stat().st_size > MAX_KEY_FILE:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            for body in PEM_KEY.findall(data):
                lines = [
                    line.strip() for line in body.decode("ascii", "replace").splitlines() if line.strip()
                ]
                if len(lines) >= 2:
                    secrets.add(f"private key {path}", lines[1])
                    secrets.keys += 1


def _passwords(roots: set[Path], secrets: Secrets) -> None:
    """Each CA's bootstrap password and the enrollment secrets fabrx derives from it for the identities
    in the CA's database."""
    for root in roots:
        for secret_file in root.rglob("bootstrap-admin.secret"):
            password = secret_file.read_text(encoding="utf-8").strip()
            secrets.add(f"CA bootstrap password {secret_file}", password)
            secrets.passwords += 1
            database = secret_file.with_name("fabric-ca-server.db")
            if not database.exists():
                continue
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                ids = [row[0] for row in db.execute("SELECT id FROM users")]
            for enrollment_id in ids:
                derived = hmac.new(password.encode(), enrollment_id.encode(), hashlib.sha256).hexdigest()[:32]
                secrets.add(f"enrollment secret of {enrollment_id} ({database.parent.name})", derived)
                secrets.passwords += 1


def _send_patient_data(network: ConsortiumNetwork, pseudonym: str) -> tuple[str, ...]:
    """Private records carrying the marker and the pseudonym (committed), and refusals whose records carry
    the clear patient id, the marker, another pseudonym and dispensed traceability codes in private fields
    (refused: the peers log the refusal). Returns the codes of the refused dispensing."""
    with PharmaClients(network) as clients:
        workload = supply(clients, lanes=1, capacity=5)
        sold, elsewhere = workload.second_invoice(0, 0), workload.second_invoice(0, 1)
        hospital, distributor = clients.hospital(BUYER), clients.distributor(workload.distributor)
        distributor.issue_invoice(sold)
        distributor.issue_invoice(elsewhere)  # never received: its packages are not the hospital's
        line = sold.shipment.lines[0]
        received_at = sold.shipment.shipped_at + dt.timedelta(hours=1)
        hospital.record_receipt(
            Receipt(f"RCV-SL-{workload.tag}", sold.number, BUYER, received_at, sold.shipment.lines)
        )
        prescribed = received_at + dt.timedelta(hours=1)
        item = Dispensing(line.product_id, line.batch_number, 1, line.trace_codes[:1])
        prescription = Prescription(f"RX-SL-{workload.tag}", BUYER, pseudonym, prescribed, (item,))
        hospital.record_prescription(prescription)
        event = AdverseEvent(
            f"ADR-SL-{workload.tag}",
            BUYER,
            prescription.prescription_id,
            pseudonym,
            prescribed + dt.timedelta(hours=1),
            f"dizziness {MARKER}",
            line.product_id,
            line.batch_number,
        )
        hospital.report_adverse_event(event)
        # Refusals carrying private values: none may come back in a log line.
        contract = clients.gateway(BUYER.removesuffix("MSP")).get_network(CHANNEL).get_contract("pharma")
        again = dataclasses.replace(event, report_id=f"ADR-SL-{workload.tag}-2")
        other_patient = pseudonymise(PSEUDONYM_KEY, PATIENT_ID + "0")
        not_received = elsewhere.shipment.lines[0].trace_codes[0]

        def dispensing(code: str, number: int) -> Prescription:
            item = Dispensing(line.product_id, line.batch_number, 1, (code,))
            return dataclasses.replace(
                prescription, prescription_id=f"RX-SL-{workload.tag}-{number}", items=(item,)
            )

        refused: list[tuple[str, dict[str, object], str]] = [
            (
                "record_prescription",
                {**_fields(prescription), "patient_pseudonym": PATIENT_ID},
                "patient_pseudonym",
            ),
            (
                "report_adverse_event",
                {**_fields(again), "patient_pseudonym": PATIENT_ID},
                "patient_pseudonym",
            ),
            (
                "report_adverse_event",
                {**_fields(again), "patient_pseudonym": other_patient},
                "PATIENT_MISMATCH",
            ),
            (
                "report_adverse_event",
                {**_fields(again), "prescription_id": "RX-SL-NONE"},
                "UNKNOWN_PRESCRIPTION",
            ),
            ("record_prescription", _fields(dispensing(line.trace_codes[0], 2)), "TRACE_CODE_REUSED"),
            ("record_prescription", _fields(dispensing(not_received, 3)), "TRACE_CODE_NOT_RECEIVED"),
        ]
        for function, record, rule in refused:
            with pytest.raises(GatewayError, match=rule):
                contract.submit_transaction(
                    function,
                    transient={"record": json.dumps(record)},
                    endorsing_organizations=[BUYER, REGULATOR],
                    timeout=CALL_TIMEOUT_S,
                )
        with pytest.raises(GatewayError, match="ROLE"):
            contract.evaluate_transaction("trace", "", PATIENT_ID, timeout=CALL_TIMEOUT_S)
    return (line.trace_codes[0], not_received)


def _fields(record: object) -> dict[str, object]:
    fields: dict[str, object] = json.loads(canonical_json(record))  # type: ignore[arg-type]
    return fields


def test_no_log_of_the_session_holds_a_key_a_password_or_patient_data(
    network: ConsortiumNetwork, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.getbasetemp()
    pseudonym = pseudonymise(PSEUDONYM_KEY, PATIENT_ID)
    codes = _send_patient_data(network, pseudonym)

    secrets = Secrets()
    roots = {base, network.run_dir}
    _private_keys(roots, secrets)
    _passwords(roots, secrets)
    secrets.add("patient id", PATIENT_ID)
    secrets.add("pseudonym key", PSEUDONYM_KEY.decode())
    secrets.add("pseudonym key (hex)", PSEUDONYM_KEY.hex())
    secrets.add("sample pseudonym key", SAMPLE_PSEUDONYM_KEY.decode())
    secrets.add("pseudonym", pseudonym)
    secrets.add("transient marker", MARKER)
    for code in codes:
        secrets.add(f"dispensed traceability code {code}", code)
    organizations = len(network.consortium.orgs) + 1
    assert secrets.keys >= 3 * organizations, (
        f"only {secrets.keys} private keys found: is the run directory there?"
    )
    assert secrets.passwords > organizations, f"only {secrets.passwords} passwords found"

    logs = _logs(network, base)
    assert len(logs) >= organizations * 2, [str(p) for p in logs]
    found: list[str] = []
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        if "PRIVATE KEY-----" in text:
            found.append(f"{log}: a PEM private key")
        for label, secret in secrets.texts.items():
            if secret in text:
                line = next(n for n, row in enumerate(text.splitlines(), 1) if secret in row)
                found.append(f"{log}:{line}: {label}")
    assert not found, f"{len(found)} secret(s) in logs:\n" + "\n".join(found[:50])
    print(f"secrets in logs: {len(logs)} logs, {len(secrets.texts)} secrets, none found")
