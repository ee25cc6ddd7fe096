"""The membership suite's figures, its submit log and its report section."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.__main__ import DEFAULT_SUITES, _parse_args, estimate_seconds, parse_suites
from bench.cpu import MachineCpu
from bench.membership import (
    MEMBER_PORT_OFFSET,
    MEMBERSHIP_PORT_BASE,
    MembershipPlan,
    SubmitLog,
    _CpuMark,
    machine_share,
    membership_figures,
)
from bench.render_suites import render_membership_section

META = {
    "command": "python -m bench --suite membership",
    "date": "2026-12-05 08:00 UTC",
    "machine": {"nproc": 2, "cpu_model": "x", "memory_gib": 1.0, "kernel": "6"},
    "network": "default",
    "method": "threads",
}


def test_only_submits_that_ended_inside_the_join_window_count_for_it() -> None:
    log = SubmitLog()
    log.add(1.0, True)  # before the join request
    log.add(2.0, True)
    log.add(3.0, False, RuntimeError("MVCC_READ_CONFLICT"))
    log.add(4.0, True)
    log.add(9.0, False, RuntimeError("later"))  # after the first accepted invoice
    assert log.between(2.0, 4.0) == (2, 1)
    assert log.first_error == "RuntimeError: MVCC_READ_CONFLICT"
    figures = membership_figures(
        join_s=2.04, steps={"add-org": 0.5, "receipt": 1.5}, log=log, window=(2.0, 4.0), plan=MembershipPlan()
    )
    assert figures["join_s"] == 2.0
    assert (figures["submits_during_join"], figures["failed_during_join"]) == (2, 1)
    assert (figures["submits_total"], figures["failed_total"]) == (5, 2)
    assert figures["goals"] == {"join_s": 60.0, "failed_during_join": 0}


def test_the_section_shows_the_goals_the_steps_and_the_leave() -> None:
    log = SubmitLog()
    log.add(1.0, True)
    figures = membership_figures(
        join_s=75.0, steps={"add-org": 2.5, "sign": 4.0}, log=log, window=(0.0, 2.0), plan=MembershipPlan()
    )
    figures["member_up_s"] = 20.0
    figures.update(machine_busy=0.97, foreign_fraction=0.4)
    figures["leave"] = {
        "leave_s": 9.0,
        "own_submit_refused": "EndorseError: refused",
        "invoice_to_member_refused": "PharmaError: PARTY_INACTIVE",
        "member_peer_height": 120,
        "channel_height": [130, 150],
        "compliance_report_s": 1.2,
        "findings": 3,
    }
    section = render_membership_section(figures, META)
    row = "| join request to the new member's first accepted invoice | 75.0 s | ≤ 60 s (**missed**) |"
    assert row in section
    assert "| submits failed during the join | 0 | 0 (met) |" in section
    assert "- Steps of the join, seconds: add-org 2.5, sign 4" in section
    assert "its peer stayed at 120 blocks while the channel grew from 130 to 150" in section
    assert "PARTY_INACTIVE" in section
    assert "97% busy; programs other than this suite's used 40% of its capacity (a shared machine" in section


def test_the_suite_is_named_and_estimated_and_its_plan_checked() -> None:
    assert parse_suites("membership") == ("membership",)
    args = _parse_args(["--suite", "membership"])
    assert 0 < estimate_seconds(args, ("membership",)) < 5 * 60
    assert "membership" in DEFAULT_SUITES
    with pytest.raises(ValueError, match="concurrency"):
        MembershipPlan(concurrency=0)
    with pytest.raises(ValueError, match="lines"):
        MembershipPlan(lines=10)


def test_the_share_of_other_programs_is_the_machine_s_busy_time_less_the_suite_s_own() -> None:
    # 10 s on 2 cores: 20 CPU seconds of capacity; the machine was 90 % busy, the suite used 8 s (40 %).
    start = _CpuMark(at=100.0, machine=MachineCpu(busy=1000, idle=1000), own_s=50.0)
    end = _CpuMark(at=110.0, machine=MachineCpu(busy=1900, idle=1100), own_s=58.0)
    assert machine_share(start, end, cores=2) == {"machine_busy": 0.9, "foreign_fraction": 0.5}
    idle_others = _CpuMark(at=110.0, machine=MachineCpu(busy=1100, idle=1900), own_s=58.0)
    assert machine_share(start, idle_others, cores=2)["foreign_fraction"] == 0.0


def test_the_default_ports_of_the_consortium_and_the_new_member_are_valid_and_not_ephemeral() -> None:
    member_base = MEMBERSHIP_PORT_BASE + MEMBER_PORT_OFFSET
    # A member file takes a port_base up to 65535 and allocates its nodes' ports above it.
    assert member_base + 100 <= 65535, member_base
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert high < MEMBERSHIP_PORT_BASE or member_base + 100 < low
