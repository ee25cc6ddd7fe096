"""The distributor's ERP adapter (examples/erp_adapter.py), killed mid-import and run again.

The adapter runs as a real subprocess against the session's network. First at one chosen point: a test
hook makes it SIGKILL itself right after its second transaction commits and before it journals that
transaction; the second run must write exactly the rest. Then at random points, again and again: the
test sends SIGKILL from outside at a random moment of each run (a seeded draw, printed on failure), and
the run after the last kill must leave every row committed exactly once.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
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


def _export(clients: PharmaClients, path: Path, rows: int = ROWS, first_suffix: int = 50) -> list[str]:
    """An ERP export of ``rows`` one-package sales to HospitalA, drawn from a fresh scenario run's stock."""
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
    numbers = [second[:-2] + f"{first_suffix + i:02d}" for i in range(rows)]
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


def _adapter_command(
    network: ConsortiumNetwork, export: Path, *, batch_size: int = 2, in_flight: int = 1
) -> list[str]:
    config = network.run_dir.parent / "consortium.yaml"
    assert config.exists(), config
    command = [sys.executable, str(ADAPTER), "--org", "DistributorA", "--config", str(config)]
    command += ["--batch-size", str(batch_size), "--in-flight", str(in_flight)]
    return [*command, "--run-dir", str(network.run_dir), str(export)]


def _run_adapter(
    network: ConsortiumNetwork, export: Path, kill_after: int | None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("FABRX_ERP_KILL_AFTER", None)
    if kill_after is not None:
        env["FABRX_ERP_KILL_AFTER"] = str(kill_after)
    command = _adapter_command(network, export)
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


KILL_ROUNDS = 4
RANDOM_ROWS = 16


def _journaled(journal: Path) -> int:
    try:
        return len(json.loads(journal.read_text(encoding="utf-8"))["done"])
    except (OSError, ValueError):  # not written yet (replaced atomically, so never half-written)
        return 0


def _run_and_kill_at_random(command: list[str], journal: Path, rng: random.Random) -> str:
    """Start the adapter and SIGKILL it at a random point of its import; returns what happened.

    The point is drawn relative to the import's progress, not to the clock, so it lands inside the
    import however fast the machine is: after 0, 1 or 2 more transactions are journaled by this run (for
    0, at a random moment of start-up and the first writes), plus a random delay of up to about one block
    (the test network cuts a block every 20 ms), so the kill falls among transactions being endorsed,
    ordered, committed or journaled.
    """
    env = {k: v for k, v in os.environ.items() if k != "FABRX_ERP_KILL_AFTER"}
    before = _journaled(journal)
    target = before + rng.randint(0, 2)
    errors = journal.with_name("adapter.stderr")
    with errors.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        startup = time.monotonic() + rng.uniform(0.2, 2.0) if target == before else None
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            grown = _journaled(journal)
            if (startup is None and grown >= target) or (
                startup is not None and (grown > before or time.monotonic() > startup)
            ):
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        if process.poll() is not None:
            assert process.returncode == 0, errors.read_text(encoding="utf-8")
            return "finished"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        return f"killed after {_journaled(journal) - before} journaled"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_an_import_killed_at_random_points_again_and_again_commits_every_row_exactly_once(
    network: ConsortiumNetwork, clients: PharmaClients, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FABRX_ERP_KILL_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    export = tmp_path / "sales.csv"
    numbers = _export(clients, export, rows=RANDOM_ROWS, first_suffix=70)
    distributor = clients.distributor("DistributorAMSP")
    product_id, batch_number = _first_line(export)
    sold_before = distributor.read_stock(product_id, batch_number).sold
    journal = tmp_path / "sales.csv.journal.json"
    command = _adapter_command(network, export, batch_size=1, in_flight=2)

    rounds = [_run_and_kill_at_random(command, journal, rng) for _ in range(KILL_ROUNDS)]
    context = f"seed {seed} (FABRX_ERP_KILL_SEED={seed} draws the same points): {rounds}"
    # Each round takes at most a few of the 16 rows, so at least three of the four end in a kill.
    assert sum(r.startswith("killed") for r in rounds) >= KILL_ROUNDS - 1, context

    final = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, f"{context}\n{final.stderr}"
    summary = json.loads(final.stdout.strip().splitlines()[-1])
    assert summary["refused"] == [], context
    assert sorted(summary["written"] + summary["already_on_ledger"] + summary["skipped_journal"]) == sorted(
        numbers
    ), context
    assert sorted(json.loads(journal.read_text(encoding="utf-8"))["done"]) == sorted(numbers), context
    for number in numbers:
        assert distributor.read_anchor("invoice", number).submitter == "DistributorAMSP", context
    # One package per invoice: the stock counts every invoice exactly once, however often it was sent.
    assert distributor.read_stock(product_id, batch_number).sold == sold_before + RANDOM_ROWS, context


def _first_line(export: Path) -> tuple[str, str]:
    with export.open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    return row["product_id"], row["batch_number"]
