"""The scale suite's figures and report section, and the CA certificates of node-less members."""

from __future__ import annotations

import pytest
from bench.load import LoopOutcome
from bench.render_suites import render_scale_section
from bench.scale import ScalePlan, _self_signed_ca, scale_figures
from cryptography import x509

from fabrx.admin import JoinRequest


def _outcome(transactions: int, seconds: float) -> LoopOutcome:
    return LoopOutcome(latencies_ms=[10.0] * transactions, elapsed_s=seconds)


def test_figures_count_lines_per_transaction_and_divide_the_province_by_the_default() -> None:
    plan = ScalePlan(bulk_invoices=50, lines=5)
    figures = scale_figures(
        single=_outcome(100, 10.0),
        bulk=[_outcome(40, 10.0), _outcome(20, 10.0), _outcome(44, 10.0)],
        bulk_with_members=_outcome(39, 10.0),
        bulk_with_parties=[_outcome(38, 10.0), _outcome(10, 10.0), _outcome(50, 10.0)],
        plan=plan,
        join_s=1.234,
        cpu_ms_per_line={"bulk": {"peer Regulator": 0.4}},
    )
    assert figures["lines_per_s_single"] == 50.0  # 100 invoices of 5 lines in 10 s
    # the median round: 40 transactions of 50 invoices of 5 lines in 10 s
    assert figures["lines_per_s_bulk"] == 1000.0
    assert figures["lines_per_s_bulk_rounds"] == [1000.0, 500.0, 1100.0]
    assert figures["lines_per_s_bulk_members"] == 975.0
    assert figures["lines_per_s_bulk_province"] == 950.0
    assert figures["members_ratio"] == 0.95 and figures["join_s"] == 1.23
    meta = {
        "command": "python -m bench --suite scale",
        "date": "2026-12-04 18:00 UTC",
        "machine": {"nproc": 2, "cpu_model": "x", "memory_gib": 1.0, "kernel": "6"},
        "network": "default",
        "method": "threads",
    }
    section = render_scale_section(figures, meta)
    assert "| invoice lines/s, many invoices per transaction | 1,000.0 | ≥ 1,500.0 |" in section
    assert "- CPU ms per invoice line, bulk window, per process: peer Regulator 0.4" in section
    assert (
        "- Bulk rounds, lines/s: default 1,000.0, 500.0, 1,100.0; province-sized 950.0, 250.0, 1,250.0"
        in section
    )


def test_a_round_with_errors_is_counted_and_its_first_error_kept() -> None:
    failed = LoopOutcome(latencies_ms=[10.0], errors=2, first_error="BenchError: refused", elapsed_s=1.0)
    figures = scale_figures(
        single=_outcome(1, 1.0),
        bulk=[_outcome(1, 1.0), failed],
        bulk_with_parties=[_outcome(1, 1.0)],
        plan=ScalePlan(),
        join_s=None,
        cpu_ms_per_line={},
    )
    assert figures["errors"]["bulk"] == 2 and figures["first_error"] == "BenchError: refused"


def test_a_plan_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        ScalePlan(bulk_invoices=0)
    with pytest.raises(ValueError):
        ScalePlan(single_concurrency=0)
    with pytest.raises(ValueError):
        ScalePlan(rounds=0)


def test_a_node_less_members_ca_certificate_makes_a_valid_join_request() -> None:
    pem = _self_signed_ca("ca.member00.bench")
    certificate = x509.load_pem_x509_certificate(pem)
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    request = JoinRequest(name="Member00", msp_id="Member00MSP", root_certs=(pem,), tls_root_certs=(pem,))
    assert request.msp_id == "Member00MSP"
