"""ERP import adapter for a distributor: push sales (second) invoices from an ERP export to the ledger.

    .venv/bin/python examples/erp_adapter.py --org DistributorA examples/data/distributor_a_sales.csv

A distributor hosted on a member's node runs it as its own client: ``--org HOST --party PARTY_ID
--client-msp DIR`` (the MSP folder of a client enrolled with ``fabrx.party=PARTY_ID``).

Reads a CSV export (one row per invoice line; columns below), groups rows into
``fabrx_pharma.Invoice`` records, validates them all with the domain code before sending anything, and
writes them through :meth:`fabrx.pharma.Distributor.write_records`: many invoices per transaction
(``--batch-size``), several transactions in flight (``--in-flight``). An invoice the chaincode refuses is
reported with its rule and field; the others are written.

Idempotent and resumable: a journal next to the input (``<input>.journal.json``, replaced atomically
after every committed transaction) lists the invoice numbers already on the ledger, and those are not
sent again. The others are sent whatever happened before: the chaincode answers an invoice already on
the ledger with the same content with its anchor instead of writing it again, so a run killed after a
transaction committed but before it was journaled writes nothing twice. Re-run the same command after
any failure.

CSV columns: ``number, buyer, issue_date, shipped_at, product_id, batch_number, quantity, unit_price,
trace_codes`` (codes separated by spaces). Test hook: ``FABRX_ERP_KILL_AFTER=N`` makes the process
SIGKILL itself right after the N-th transaction commits, before journaling it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from fabrx.pharma import Anchor, BulkResult
from fabrx.pharma._bulk import Written
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
        """Add an entry and persist (see :meth:`record_all`)."""
        self.record_all({number: transaction_id})

    def record_all(self, entries: Mapping[str, str]) -> None:
        """Add entries and persist: write a temporary file, fsync it, rename it over the journal."""
        self.done.update(entries)
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

    def write_records(
        self, records: Sequence[Invoice], *, batch_size: int, in_flight: int, on_written: Written
    ) -> BulkResult: ...


@dataclass
class ImportResult:
    written: list[str] = field(default_factory=list)
    """Written by this run."""
    already_on_ledger: list[str] = field(default_factory=list)
    """Found on the ledger (committed by a run that died before journaling them)."""
    skipped_journal: list[str] = field(default_factory=list)
    refused: list[dict[str, object]] = field(default_factory=list)
    """``{"number", "rule", "field", "message"}`` of each invoice the chaincode refused."""


def import_invoices(
    invoices: list[Invoice], sink: InvoiceSink, journal: Journal, *, batch_size: int = 50, in_flight: int = 4
) -> ImportResult:
    """Write every invoice not in the journal, journaling each committed transaction; see the module
    docstring."""
    kill_after = int(os.environ.get(KILL_AFTER_VARIABLE, "0") or 0)
    result = ImportResult()
    todo = []
    for invoice in invoices:
        if str(invoice.number) in journal.done:
            result.skipped_journal.append(str(invoice.number))
        else:
            todo.append(invoice)
    lock = threading.Lock()
    committed = 0

    def written(anchors: Mapping[int, Anchor]) -> None:
        nonlocal committed
        with lock:
            committed += 1
            if kill_after and committed >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            journal.record_all({str(todo[i].number): anchor.transaction_id for i, anchor in anchors.items()})

    bulk = sink.write_records(todo, batch_size=batch_size, in_flight=in_flight, on_written=written)
    for index in sorted(bulk.anchors):
        target = result.already_on_ledger if index in bulk.existing else result.written
        target.append(str(todo[index].number))
    result.refused = [
        {"number": str(todo[r.index].number), "rule": r.rule, "field": r.field, "message": r.message}
        for r in bulk.refused
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="CSV export of sales invoices")
    parser.add_argument("--org", default="DistributorA", help="the distributor organization (name or MSP id)")
    parser.add_argument("--party", help="party id of a distributor hosted by --org (needs --client-msp)")
    parser.add_argument("--client-msp", type=Path, help="MSP folder of the hosted distributor's client")
    parser.add_argument("--config", type=Path, help="consortium file (default: network/consortium.yaml)")
    parser.add_argument("--run-dir", type=Path, help="run directory of the network (default .fabrx/<name>)")
    parser.add_argument("--batch-size", type=int, default=50, help="invoices per transaction (default 50)")
    parser.add_argument("--in-flight", type=int, default=4, help="transactions in flight (default 4)")
    args = parser.parse_args(argv)
    if (args.party is None) != (args.client_msp is None):
        parser.error("--party and --client-msp go together")

    from fabrx.pharma import Distributor, PharmaClients, PharmaError
    from fabrx_network import open_network

    with args.input.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    network = open_network(args.config, args.run_dir)
    with PharmaClients(network) as clients:
        if args.party is None:
            distributor = clients.distributor(args.org)
        else:
            distributor = clients.hosted(Distributor, args.party, args.org, args.client_msp)
        try:
            invoices = invoices_from_rows(rows, distributor.party_id)
        except RecordError as exc:
            print(f"the export has a bad invoice, nothing was sent: {exc}", file=sys.stderr)
            return 2
        journal = Journal.load(args.input.with_name(args.input.name + ".journal.json"))
        try:
            result = import_invoices(
                invoices, distributor, journal, batch_size=args.batch_size, in_flight=args.in_flight
            )
        except PharmaError as exc:
            print(f"failed: {exc} (re-run: what was written is not written again)", file=sys.stderr)
            return 1
    print(
        json.dumps(
            {
                "written": result.written,
                "already_on_ledger": result.already_on_ledger,
                "skipped_journal": result.skipped_journal,
                "refused": result.refused,
            },
            ensure_ascii=False,
        )
    )
    for refusal in result.refused:
        print(
            f"refused: {refusal['number']} {refusal['rule']} {refusal['field']}: {refusal['message']}",
            file=sys.stderr,
        )
    return 1 if result.refused else 0


if __name__ == "__main__":
    sys.exit(main())
