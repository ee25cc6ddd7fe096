"""The distributor's ERP adapter (examples/erp_adapter.py), killed mid-import and run again.

The adapter runs as a real subprocess against the session's network, two invoices per transaction; a
test hook makes it SIGKILL itself right after its second transaction commits and before it journals
that transaction. The second run must write exactly the rest: nothing twice, nothing missing.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from netsupport import REPO

from fabrx.pharma import PharmaClients, RecordNotFound
from fabrx.pharma.scenario import run_scenario
from fabrx_network import ConsortiumNetwork

ADAPTER = REPO / "examples" / "erp_adapter.py"
ROWS = 6


@pytest.fixture(scope="module")
def clients(network: ConsortiumNetwork) -> Iterator[PharmaClients]:
    with PharmaClients(network) as opened:
        yield opened


def _export(clients: PharmaClients, path: Path) -> list[str]:
    """An ERP export of ROWS one-package sales to HospitalA, drawn from a fresh scenario run's stock."""
    report = run_scenario(clients)
    second = next(
        a.key
        for actor, a in report.writes
        if a.record_type == "invoice"
        and actor == "DistributorAMSP"
        and a.public.get("buyer") == "HospitalAMSP"
    )
    model = clients.regulator.read_invoice(second)
    line = model.lines[0]
    numbers = [second[:-2] + f"{50 + i:02d}" for i in range(ROWS)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=[
                "number",
                "buyer",
                "issue_date",
                "shipped_at",
                "product_id",
                "batch_number",
                "quantity",
                "unit_price",
                "trace_codes",
            ],
        )
        writer.writeheader()
        for number in numbers:
            writer.writerow(
                {
                    "number": number,
                    "buyer": "HospitalAMSP",
                    "issue_date": model.issue_date.isoformat(),
                    "shipped_at": model.shipment.shipped_at.isoformat(),
                    "product_id": line.product_id,
                    "batch_number": line.batch_number,
                    "quantity": 1,
                    "unit_price": str(line.unit_price),
                    "trace_codes": "",
                }
            )
    return numbers


def _run_adapter(
    network: ConsortiumNetwork, export: Path, kill_after: int | None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("FABRX_ERP_KILL_AFTER", None)
    if kill_after is not None:
        env["FABRX_ERP_KILL_AFTER"] = str(kill_after)
    config = network.run_dir.parent / "consortium.yaml"
    assert config.exists(), config
    command = [sys.executable, str(ADAPTER), "--org", "DistributorA", "--config", str(config)]
    command += ["--batch-size", "2", "--in-flight", "1"]
    command += ["--run-dir", str(network.run_dir), str(export)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_an_import_killed_mid_way_resumes_without_writing_anything_twice(
    network: ConsortiumNetwork, clients: PharmaClients, tmp_path: Path
) -> None:
    export = tmp_path / "sales.csv"
    numbers = _export(clients, export)
    distributor = clients.distributor("DistributorAMSP")
    product_id, batch_number = _first_line(export)
    sold_before = distributor.read_stock(product_id, batch_number).sold

    killed = _run_adapter(network, export, kill_after=2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = json.loads((tmp_path / "sales.csv.journal.json").read_text(encoding="utf-8"))["done"]
    assert sorted(journal) == numbers[:2]  # the second transaction committed, but was never journaled

    resumed = _run_adapter(network, export, kill_after=None)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary == {
        "written": numbers[4:],
        "already_on_ledger": numbers[2:4],
        "skipped_journal": numbers[:2],
        "refused": [],
    }

    for number in numbers:
        assert distributor.read_anchor("invoice", number).submitter == "DistributorAMSP"
    # Each invoice sold one package: the stock counted every invoice exactly once.
    assert distributor.read_stock(product_id, batch_number).sold == sold_before + ROWS

    again = _run_adapter(network, export, kill_after=None)
    assert json.loads(again.stdout.strip().splitlines()[-1])["written"] == []


def test_the_adapter_sends_nothing_when_the_export_has_a_bad_row(
    network: ConsortiumNetwork, clients: PharmaClients, tmp_path: Path
) -> None:
    export = tmp_path / "bad.csv"
    numbers = _export(clients, export)
    rows = export.read_text(encoding="utf-8").splitlines()
    rows[-1] = rows[-1].replace(",1,", ",-1,")  # a negative quantity in the last invoice
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = _run_adapter(network, export, kill_after=None)
    assert result.returncode == 2 and "quantity" in result.stderr
    with pytest.raises(RecordNotFound):
        clients.distributor("DistributorAMSP").read_anchor("invoice", numbers[0])


def _first_line(export: Path) -> tuple[str, str]:
    with export.open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    return row["product_id"], row["batch_number"]
