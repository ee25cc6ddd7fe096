from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from bench.benchnet import DEFAULT_CONSORTIUM, load_template
from bench.load import LoopOutcome
from bench.pharma import PHARMA_PORT_BASE, PharmaPlan, pharma_consortium, pharma_figures
from bench.pharma_workload import PharmaWorkload, sample_parties
from bench.render_suites import render_pharma_section
from bench.runner import BenchError
from bench.threaded import threaded_loop

from fabrx_pharma import InMemoryLedger
from fabrx_pharma.policy import CHINA_STANDARD_TIME

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=CHINA_STANDARD_TIME)


def _workload(lanes: int = 2, lines: int = 5, capacity: int = 4) -> PharmaWorkload:
    return PharmaWorkload(
        manufacturer="ManufacturerMSP",
        distributor="DistributorAMSP",
        hospital="HospitalAMSP",
        now=NOW,
        lanes=lanes,
        lines=lines,
        capacity=capacity,
    )


def test_workload_records_obey_every_rule_of_the_domain() -> None:
    workload = _workload()
    regulator, parties = sample_parties()
    ledger = InMemoryLedger()
    ledger.bootstrap(regulator)
    for party in parties:
        ledger.submit(party, submitter="RegulatorMSP")
    ledger.submit(workload.product, submitter="ManufacturerMSP")
    for lane in workload.lanes:
        for batch in lane.batches:
            ledger.submit(batch, submitter="ManufacturerMSP")
        ledger.submit(lane.first_invoice, submitter="ManufacturerMSP")
        ledger.submit(lane.receipt, submitter="DistributorAMSP")
    for index in range(2):
        for sequence in range(4):
            ledger.submit(workload.second_invoice(index, sequence), submitter="DistributorAMSP")


def test_second_invoices_have_the_lines_and_unique_numbers_and_codes() -> None:
    workload = _workload(lanes=3, lines=4)
    invoices = [workload.second_invoice(lane, seq) for lane in range(3) for seq in range(4)]
    assert all(len(invoice.lines) == 4 for invoice in invoices)
    assert len({str(invoice.number) for invoice in invoices}) == 12
    codes = [code for invoice in invoices for line in invoice.shipment.lines for code in line.trace_codes]
    assert len(codes) == len(set(codes)) == 12 * 4 * 2
    lane_batches = [{b.batch_number for b in lane.batches} for lane in workload.lanes]
    assert not lane_batches[0] & lane_batches[1]  # two workers never sell from one batch


def test_second_invoice_past_the_lane_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="stock for 4 invoices"):
        _workload().second_invoice(0, 4)


def test_workload_refuses_a_naive_clock() -> None:
    with pytest.raises(ValueError, match="timezone"):
        PharmaWorkload(
            manufacturer="M", distributor="D", hospital="H", now=datetime(2026, 1, 1), lanes=1, lines=1
        )


def _outcome(count: int, elapsed: float = 2.0, errors: int = 0) -> LoopOutcome:
    return LoopOutcome(latencies_ms=[1.0] * count, errors=errors, elapsed_s=elapsed)


def test_pharma_figures_take_each_workload_at_its_best_concurrency() -> None:
    figures = pharma_figures(
        {
            8: {"bare": _outcome(400), "invoice": _outcome(200)},
            32: {"bare": _outcome(600), "invoice": _outcome(160)},
        },
        lines=5,
    )
    assert figures["bare_tx_per_s"] == 300.0 and figures["bare_concurrency"] == 32
    assert figures["invoice_tx_per_s"] == 100.0 and figures["invoice_concurrency"] == 8
    assert figures["invoice_lines_per_s"] == 500.0
    assert figures["ratio_to_bare"] == pytest.approx(0.333)
    assert figures["by_concurrency"]["8"]["invoice"]["count"] == 200


def test_pharma_consortium_adds_the_bare_chaincode_under_the_pharma_policy() -> None:
    template = load_template(DEFAULT_CONSORTIUM)
    data = pharma_consortium(template)
    pharma = next(c for c in data["chaincodes"] if c["name"] == "pharma")
    bare = next(c for c in data["chaincodes"] if c["name"] == "asset-py")
    assert bare["endorsement_policy"] == pharma["endorsement_policy"]
    assert bare["channel"] == pharma["channel"]
    assert data["port_base"] == PHARMA_PORT_BASE


def test_pharma_consortium_needs_the_pharma_chaincode() -> None:
    with pytest.raises(BenchError, match="pharma"):
        pharma_consortium({"chaincodes": []})


def test_pharma_plan_refuses_more_lines_than_the_numbering_allows() -> None:
    with pytest.raises(ValueError):
        PharmaPlan(lines=10)


def test_pharma_section_shows_both_rates_and_the_ratio() -> None:
    figures = pharma_figures({8: {"bare": _outcome(400), "invoice": _outcome(300)}}, lines=5)
    meta = {
        "command": "python -m bench --suite pharma",
        "date": "2026-11-25 22:00 UTC",
        "machine": {"nproc": 2, "cpu_model": "x", "memory_gib": 1.0, "kernel": "6"},
        "network": "default",
        "method": "threads",
    }
    text = render_pharma_section(figures, meta)
    assert "| 8 | 200.0 | |" in text
    assert "| 8 | 150.0 | 750.0 |" in text
    assert "Pharma/bare: 0.75" in text


def test_threaded_loop_counts_completions_and_errors_inside_its_window() -> None:
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def operation(worker: int, sequence: int) -> None:
        with lock:
            seen.append((worker, sequence))
        time.sleep(0.01)
        if sequence % 2:
            raise RuntimeError("odd")

    outcome = threaded_loop(operation, concurrency=3, duration_s=0.3, warmup_s=0.05)
    assert outcome.elapsed_s == pytest.approx(0.3, abs=0.05)
    assert outcome.latencies_ms and outcome.errors
    assert outcome.first_error == "RuntimeError: odd"
    assert {worker for worker, _ in seen} == {0, 1, 2}
    assert len(outcome.latencies_ms) + outcome.errors <= len(seen)


def test_pharma_section_lists_server_cpu_per_transaction_at_the_reported_concurrency() -> None:
    figures = {
        **pharma_figures({8: {"bare": _outcome(400), "invoice": _outcome(300)}}, lines=5),
        "cpu_ms_per_tx": {"8": {"invoice": {"chaincode pharma": 40.5, "orderer": None}}},
    }
    meta = {
        "command": "c",
        "date": "d",
        "machine": {"nproc": 2, "cpu_model": "x", "memory_gib": 1.0, "kernel": "6"},
        "method": "m",
    }
    text = render_pharma_section(figures, meta)
    assert "- CPU ms per invoice transaction at C=8, per process: chaincode pharma 40.5" in text
    assert "orderer" not in text


def test_threaded_loop_calls_the_window_edge_hook_twice() -> None:
    edges: list[float] = []
    threaded_loop(
        lambda w, s: None, concurrency=1, duration_s=0.05, on_window_edge=lambda: edges.append(time.time())
    )
    assert len(edges) == 2 and edges[1] >= edges[0]
