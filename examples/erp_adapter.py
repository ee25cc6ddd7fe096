"""ERP import adapter for a distributor: push sales (second) invoices from an ERP export to the ledger.

    .venv/bin/python examples/erp_adapter.py --org DistributorA examples/data/distributor_a_sales.csv

Reads a CSV export (one row per invoice line; columns below), groups rows into
``fabrx_pharma.Invoice`` records, validates them all with the domain code before sending anything, and
issues them through the :class:`fabrx.pharma.Distributor` facade.

Idempotent and resumable: a journal next to the input (``<input>.journal.json``, replaced atomically
after every write) lists the invoice numbers already on the ledger. An invoice missing from the journal
is first looked up on the ledger (its public anchor): a run killed after the ledger committed a write
but before journaling it skips that invoice instead of writing it twice. Re-run the same command after
any failure.

CSV columns: ``number, buyer, issue_date, shipped_at, product_id, batch_number, quantity, unit_price,
trace_codes`` (codes separated by spaces). Test hook: ``FABRX_ERP_KILL_AFTER=N`` makes the process
SIGKILL itself right after the N-th write commits, before journaling it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from fabrx_pharma import Invoice, InvoiceKind, RecordError

KILL_AFTER_VARIABLE = "FABRX_ERP_KILL_AFTER"


def invoices_from_rows(rows: Iterable[Mapping[str, str]], seller: str) -> list[Invoice]:
    """Group CSV rows by invoice number into second invoices of ``seller``, in first-seen order.

    Raises :class:`fabrx_pharma.RecordError` (every bad field of the first bad invoice)."""
    grouped: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["number"].strip(), []).append(row)
    invoices = []
    for number, lines in grouped.items():
        head = lines[0]
        shipped_at = datetime.fromisoformat(head["shipped_at"])
        raw = {
            "number": number,
            "kind": InvoiceKind.SECOND.value,
            "seller": seller,
            "buyer": head["buyer"],
            "issue_date": head["issue_date"],
            "exemption": None,
            "lines": [
                {
                    "product_id": r["product_id"],
                    "batch_number": r["batch_number"],
                    "quantity": int(r["quantity"]),
                    "unit_price": r["unit_price"],
                    "amount": str((Decimal(r["unit_price"]) * int(r["quantity"])).quantize(Decimal("0.01"))),
                }
                for r in lines
            ],
            "total": str(
                sum((Decimal(r["unit_price"]) * int(r["quantity"]) for r in lines), Decimal(0)).quantize(
                    Decimal("0.01")
                )
            ),
            "shipment": {
                "shipment_id": f"SHP-{number[-8:]}",
                "shipped_at": shipped_at.isoformat(),
                "lines": [
                    {
                        "product_id": r["product_id"],
                        "batch_number": r["batch_number"],
                        "quantity": int(r["quantity"]),
                        "trace_codes": r.get("trace_codes", "").split(),
                    }
                    for r in lines
                ],
            },
        }
        invoices.append(Invoice.from_dict(raw))
    return invoices


@dataclass
class Journal:
    """The invoice numbers known to be on the ledger, kept in a JSON file replaced atomically."""

    path: Path
    done: dict[str, str] = field(default_factory=dict)
    """Invoice number → transaction id (or ``"ledger"`` when found on the ledger after a crash)."""

    @classmethod
    def load(cls, path: Path) -> Journal:
        if not path.exists():
            return cls(path)
        return cls(path, dict(json.loads(path.read_text(encoding="utf-8"))["done"]))

    def record(self, number: str, transaction_id: str) -> None:
        """Add an entry and persist: write a temporary file, fsync it, rename it over the journal."""
        self.done[number] = transaction_id
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"done": self.done}, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


class InvoiceSink(Protocol):
    """What the import needs of :class:`fabrx.pharma.Distributor` (a fake in unit tests)."""

    def is_on_ledger(self, record_type: str, key: str) -> bool: ...
    def issue_invoice(self, invoice: Invoice) -> object: ...


@dataclass
class ImportResult:
    written: list[str] = field(default_factory=list)
    skipped_journal: list[str] = field(default_factory=list)
    skipped_ledger: list[str] = field(default_factory=list)


def import_invoices(invoices: list[Invoice], sink: InvoiceSink, journal: Journal) -> ImportResult:
    """Issue every invoice not yet on the ledger, journaling each one; see the module docstring."""
    kill_after = int(os.environ.get(KILL_AFTER_VARIABLE, "0") or 0)
    result = ImportResult()
    for invoice in invoices:
        number = str(invoice.number)
        if number in journal.done:
            result.skipped_journal.append(number)
            continue
        if sink.is_on_ledger("invoice", number):
            # Committed by an earlier run that died before journaling it.
            journal.record(number, "ledger")
            result.skipped_ledger.append(number)
            continue
        anchor = sink.issue_invoice(invoice)
        result.written.append(number)
        if kill_after and len(result.written) >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        journal.record(number, str(getattr(anchor, "transaction_id", "")))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="CSV export of sales invoices")
    parser.add_argument("--org", default="DistributorA", help="the distributor organization (name or MSP id)")
    parser.add_argument("--config", type=Path, help="consortium file (default: network/consortium.yaml)")
    parser.add_argument("--run-dir", type=Path, help="run directory of the network (default .fabrx/<name>)")
    args = parser.parse_args(argv)

    from fabrx.pharma import PharmaClients, PharmaError
    from fabrx_network import open_network

    with args.input.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    network = open_network(args.config, args.run_dir)
    with PharmaClients(network) as clients:
        distributor = clients.distributor(args.org)
        try:
            invoices = invoices_from_rows(rows, distributor.msp_id)
        except RecordError as exc:
            print(f"the export has a bad invoice, nothing was sent: {exc}", file=sys.stderr)
            return 2
        journal = Journal.load(args.input.with_name(args.input.name + ".journal.json"))
        try:
            result = import_invoices(invoices, distributor, journal)
        except PharmaError as exc:
            print(
                f"refused: {exc} (fix the export and re-run: written invoices are skipped)", file=sys.stderr
            )
            return 1
    print(
        json.dumps(
            {
                "written": result.written,
                "skipped_journal": result.skipped_journal,
                "skipped_ledger": result.skipped_ledger,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
