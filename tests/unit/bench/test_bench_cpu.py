from __future__ import annotations

import os
from pathlib import Path

import pytest
from bench import cpu

# A real line's shape, with a command name holding a space and parentheses (as `tmux: server (1)` would).
STAT_LINE = (
    "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1200 0 3 0 "
    "1234 567 89 10 20 0 12 0 98765 123456789 2048 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n"
)


def test_parse_proc_stat_counts_fields_after_the_last_parenthesis() -> None:
    stat = cpu.parse_proc_stat(STAT_LINE)
    assert stat.pid == 4242
    assert stat.comm == "my (odd) cmd"
    assert stat.state == "S"
    assert stat.ppid == 1
    assert (stat.utime, stat.stime, stat.cutime, stat.cstime) == (1234, 567, 89, 10)
    assert stat.ticks == 1234 + 567


@pytest.mark.parametrize("text", ["", "garbage", "12 (short) S 1 2"])
def test_parse_proc_stat_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError):
        cpu.parse_proc_stat(text)


def test_process_cpu_seconds_of_this_process_grows_with_work() -> None:
    before = cpu.process_cpu_seconds(os.getpid())
    total = 0
    deadline = before + 0.05
    while cpu.process_cpu_seconds(os.getpid()) < deadline:
        total += sum(range(10_000))
    assert cpu.process_cpu_seconds(os.getpid()) >= before + 0.05
    assert total > 0


def test_a_missing_process_raises_process_lookup_error(tmp_path: Path) -> None:
    with pytest.raises(ProcessLookupError, match="no process 99"):
        cpu.read_proc_stat(99, proc=tmp_path)


def _fake_proc(root: Path, processes: list[tuple[int, int, int, int]]) -> Path:
    """Write ``/proc/<pid>/stat`` files for (pid, ppid, utime, stime) tuples under ``root``."""
    for pid, ppid, utime, stime in processes:
        folder = root / str(pid)
        folder.mkdir()
        (folder / "stat").write_text(
            f"{pid} (p{pid}) S {ppid} 0 0 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0\n"
        )
    (root / "self").mkdir()  # non-numeric entries are ignored
    return root


def test_tree_cpu_seconds_adds_every_descendant_but_not_siblings(tmp_path: Path) -> None:
    proc = _fake_proc(
        tmp_path,
        [(10, 1, 100, 50), (11, 10, 30, 0), (12, 11, 0, 20), (20, 1, 999, 999)],
    )
    ticks = cpu.clock_ticks()
    assert cpu.tree_cpu_seconds(10, proc) == pytest.approx((150 + 30 + 20) / ticks)
    assert cpu.tree_cpu_seconds(11, proc) == pytest.approx(50 / ticks)
    both = cpu.trees_cpu_seconds({"a": 10, "b": 20}, proc)
    assert both == {"a": pytest.approx(200 / ticks), "b": pytest.approx(1998 / ticks)}


def test_machine_stat_counts_iowait_as_idle() -> None:
    earlier = cpu.parse_machine_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n")
    later = cpu.parse_machine_stat("cpu  250 0 100 850 100 0 0 0 0 0\n")
    assert earlier == cpu.MachineCpu(busy=150, idle=850)
    assert later.busy_fraction_since(earlier) == pytest.approx(200 / 300)


def test_machine_stat_without_cpu_line_is_rejected() -> None:
    with pytest.raises(ValueError, match="cpu"):
        cpu.parse_machine_stat("intr 1 2 3\n")
