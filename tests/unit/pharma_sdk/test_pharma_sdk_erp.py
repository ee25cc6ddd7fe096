"""The ERP adapter example's import logic: grouping rows, the atomic journal, resuming after a crash."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fabrx.pharma import Anchor, BulkResult, Refused
from fabrx_pharma import Invoice, RecordError

ADAPTER_PATH = Path(__file__).resolve().parents[3] / "examples" / "erp_adapter.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("erp_adapter", ADAPTER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["erp_adapter"] = module
    spec.loader.exec_module(module)
    return module


erp = _load()


def _row(number: str, batch: str = "A240301", quantity: str = "2") -> dict[str, str]:
    return {
        "number": number,
        "buyer": "HospitalAMSP",
        "issue_date": "2024-05-20",
        "shipped_at": "2024-05-20T09:00:00+08:00",
        "product_id": "AMOX-0.25G-24",
        "batch_number": batch,
        "quantity": quantity,
        "unit_price": "13.80",
        "trace_codes": "",
    }


NUMBERS = [f"2435200000000000{n}" for n in range(3001, 3005)]


class FakeSink:
    """Writes records in transactions of ``batch_size`` as the facade does: a record already on the
    ledger comes back with its earlier transaction's anchor."""

    def __init__(self, on_ledger: set[str] | None = None, refuse: set[str] | None = None) -> None:
        self.on_ledger = {number: "tx-earlier" for number in on_ledger or ()}
        self.refuse = set(refuse or ())
        self.sent: list[str] = []
        self.transactions = 0

    def write_records(
        self, records: Sequence[Invoice], *, batch_size: int, in_flight: int, on_written: Any
    ) -> BulkResult:
        anchors: dict[int, Anchor] = {}
        refused: list[Refused] = []
        for start in range(0, len(records), batch_size):
            self.transactions += 1
            chunk: dict[int, Anchor] = {}
            for i in range(start, min(start + batch_size, len(records))):
                number = str(records[i].number)
                self.sent.append(number)
                if number in self.refuse:
                    refused.append(Refused(i, "CONSERVATION", "lines[0].quantity", "too many"))
                    continue
                tx = self.on_ledger.setdefault(number, f"tx-{self.transactions}")
                chunk[i] = _anchor(number, tx)
            on_written(chunk)
            anchors.update(chunk)
        existing = frozenset(i for i, a in anchors.items() if a.transaction_id == "tx-earlier")
        return BulkResult(
            anchors=anchors, refused=tuple(refused), existing=existing, transactions=self.transactions
        )


def _anchor(number: str, transaction_id: str) -> Anchor:
    return Anchor(
        record_type="invoice",
        key=number,
        submitter="DistributorAMSP",
        transaction_id=transaction_id,
        timestamp=datetime(2024, 5, 20, tzinfo=UTC),
        hash="0" * 64,
        collections=(),
        parties=(),
        order=1,
    )


def test_rows_of_one_number_become_one_invoice_with_every_line() -> None:
    rows = [_row(NUMBERS[0]), _row(NUMBERS[0], batch="A240415", quantity="3"), _row(NUMBERS[1])]
    first, second = erp.invoices_from_rows(rows, "DistributorAMSP")
    assert [line.batch_number for line in first.lines] == ["A240301", "A240415"]
    assert str(first.total) == "69.00" and first.seller == "DistributorAMSP"
    assert str(second.number) == NUMBERS[1]


def test_a_bad_row_fails_the_whole_export_before_anything_is_sent() -> None:
    with pytest.raises(RecordError):
        erp.invoices_from_rows([_row(NUMBERS[0]), _row(NUMBERS[1], quantity="-1")], "DistributorAMSP")


def test_the_journal_is_replaced_atomically_and_read_back(tmp_path: Path) -> None:
    journal = erp.Journal.load(tmp_path / "x.journal.json")
    journal.record(NUMBERS[0], "tx1")
    journal.record(NUMBERS[1], "tx2")
    assert erp.Journal.load(tmp_path / "x.journal.json").done == {NUMBERS[0]: "tx1", NUMBERS[1]: "tx2"}
    assert [p.name for p in tmp_path.iterdir()] == ["x.journal.json"]  # no temporary file left


def test_a_resumed_import_skips_journaled_and_already_committed_invoices(tmp_path: Path) -> None:
    invoices = erp.invoices_from_rows([_row(n) for n in NUMBERS], "DistributorAMSP")
    journal = erp.Journal.load(tmp_path / "j.json")
    journal.record(NUMBERS[0], "tx")
    # NUMBERS[1] committed in the run that crashed, but was never journaled: sent again, found.
    sink = FakeSink(on_ledger={NUMBERS[0], NUMBERS[1]})
    result = erp.import_invoices(invoices, sink, journal, batch_size=2, in_flight=1)
    assert sink.sent == NUMBERS[1:]
    assert (result.skipped_journal, result.already_on_ledger, result.written) == (
        NUMBERS[:1],
        NUMBERS[1:2],
        NUMBERS[2:],
    )
    assert set(erp.Journal.load(tmp_path / "j.json").done) == set(NUMBERS)
    again = erp.import_invoices(invoices, sink, erp.Journal.load(tmp_path / "j.json"))
    assert again.written == [] and again.skipped_journal == NUMBERS


def test_a_refused_invoice_is_reported_and_the_others_are_written(tmp_path: Path) -> None:
    invoices = erp.invoices_from_rows([_row(n) for n in NUMBERS], "DistributorAMSP")
    sink = FakeSink(refuse={NUMBERS[2]})
    result = erp.import_invoices(invoices, sink, erp.Journal.load(tmp_path / "j.json"), batch_size=3)
    assert result.written == [NUMBERS[0], NUMBERS[1], NUMBERS[3]]
    assert result.refused == [
        {"number": NUMBERS[2], "rule": "CONSERVATION", "field": "lines[0].quantity", "message": "too many"}
    ]
    assert NUMBERS[2] not in erp.Journal.load(tmp_path / "j.json").done
