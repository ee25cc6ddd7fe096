"""A run directory remembers its consensus variant: later commands act on it, and up refuses another."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fabrx_network import NetworkError
from fabrx_network.operations import open_network, recorded_consensus

DEFAULT_CONSORTIUM = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"


def test_a_fresh_run_directory_uses_the_files_default_variant(tmp_path: Path) -> None:
    net = open_network(DEFAULT_CONSORTIUM, tmp_path / "run")
    assert recorded_consensus(net.layout) is None
    assert net.consortium.orderer_org.consensus == "raft1"


def test_later_commands_open_the_variant_the_network_was_brought_up_with(tmp_path: Path) -> None:
    bft = open_network(DEFAULT_CONSORTIUM, tmp_path / "run", consensus="bft4")
    bft._write_state("up")  # what a finished `up --consensus bft4` leaves
    assert recorded_consensus(bft.layout) == "bft4"

    reopened = open_network(DEFAULT_CONSORTIUM, tmp_path / "run")
    assert reopened.consortium.orderer_org.consensus == "bft4"
    assert reopened.consortium.orderer_org.consensus_type == "BFT"
    assert len(reopened.consortium.orderer_org.orderers) == 4


def test_up_with_another_variant_on_a_used_run_directory_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    open_network(DEFAULT_CONSORTIUM, tmp_path / "run", consensus="bft4")._write_state("down")
    raft = open_network(DEFAULT_CONSORTIUM, tmp_path / "run", consensus="raft1")
    with pytest.raises(NetworkError, match=r"brought up with consensus bft4, not raft1.*down --purge"):
        raft.up()
    assert recorded_consensus(raft.layout) == "bft4"
    assert not raft.supervisor.processes


def test_a_damaged_state_file_records_no_variant(tmp_path: Path) -> None:
    net = open_network(DEFAULT_CONSORTIUM, tmp_path / "run")
    net.layout.root.mkdir(parents=True)
    net.layout.state_file.write_text("{not json")
    assert recorded_consensus(net.layout) is None


def test_a_step_retried_until_it_succeeds_logs_each_retry_and_raises_the_last_error_as_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fabrx_network.operations import _retry

    failures = [NetworkError("no Raft leader yet"), NetworkError("no Raft leader yet")]
    calls: list[int] = []

    def join() -> None:
        calls.append(1)
        if failures:
            raise failures.pop(0)

    with caplog.at_level(logging.INFO, logger="fabrx.network"):
        _retry(join, what="join orderer0 to pharma", delay=0)
    assert len(calls) == 3
    assert [r.getMessage() for r in caplog.records] == [
        "join orderer0 to pharma: attempt 1 of 20 failed (no Raft leader yet); trying again",
        "join orderer0 to pharma: attempt 2 of 20 failed (no Raft leader yet); trying again",
    ]

    def never() -> None:
        calls.append(1)
        raise NetworkError("refused")

    calls.clear()
    with pytest.raises(NetworkError, match=r"^refused$"):
        _retry(never, what="join", attempts=3, delay=0)
    assert len(calls) == 3

    def broken() -> None:
        calls.append(1)
        raise ValueError("a bug, not a network condition")

    calls.clear()
    with pytest.raises(ValueError):
        _retry(broken, what="join", delay=0)
    assert len(calls) == 1


def test_the_up_report_lists_each_step_with_its_seconds_aligned() -> None:
    from fabrx_network.operations import UpReport

    report = UpReport(
        run_dir="/run",
        seconds=42.0,
        steps=[("render", 0.31), ("start orderers", 12.0), ("deploy chaincodes", 7.5)],
        started=["orderer0.Orderer"],
        chaincodes={},
    )
    lines = report.render().splitlines()
    steps = lines[2:5]
    assert [line.split()[0] for line in steps] == ["render", "start", "deploy"]
    assert [line.split()[-2:] for line in steps] == [["0.31", "s"], ["12.00", "s"], ["7.50", "s"]]
    assert len({len(line) for line in steps}) == 1  # seconds right-aligned in one column
    assert all(line.startswith("  ") for line in steps)
