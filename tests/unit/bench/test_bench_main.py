from __future__ import annotations

import pytest
from bench.__main__ import DEFAULT_SUITES, TIME_BUDGET_S, _parse_args, estimate_seconds, main, parse_suites


def test_all_means_the_default_suites_without_blockcutting() -> None:
    assert parse_suites("all") == DEFAULT_SUITES
    assert "blockcutting" not in DEFAULT_SUITES


def test_named_suites_run_in_their_fixed_order() -> None:
    assert parse_suites("pharma, network") == ("network", "pharma")


def test_unknown_suite_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown suites"):
        parse_suites("client,speed")


def test_default_make_bench_fits_the_ten_minute_budget() -> None:
    args = _parse_args([])
    assert estimate_seconds(args, parse_suites(args.suite)) <= TIME_BUDGET_S


def test_a_plan_over_the_budget_is_refused_before_anything_runs() -> None:
    args = _parse_args(["--scale-duration", "600"])
    assert estimate_seconds(args, parse_suites(args.suite)) > TIME_BUDGET_S
    assert main(["--scale-duration", "600", "--dry-run"]) == 2


def test_a_long_run_named_on_purpose_passes_with_a_larger_budget() -> None:
    long_run = ["--suite", "projection", "--projection-lines", "1000000,10000000", "--dry-run"]
    assert main(long_run) == 2
    assert main([*long_run, "--budget-min", "120"]) == 0


def test_dry_run_of_a_bad_suite_exits_with_usage_status() -> None:
    assert main(["--suite", "nope", "--dry-run"]) == 2
    assert main(["--suite", "blockcutting", "--dry-run"]) == 0
