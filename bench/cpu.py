"""CPU time of processes and of the whole machine, read from Linux ``/proc``.

Benchmarks charge CPU to a process by sampling it before and after a measured window; a process's
figure includes all its threads (gRPC's and Go's runtime threads), and :func:`tree_cpu_seconds` adds
the children still running (a chaincode server started through a wrapper, for instance).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MachineCpu",
    "ProcStat",
    "clock_ticks",
    "machine_cpu",
    "parse_machine_stat",
    "parse_proc_stat",
    "process_cpu_seconds",
    "read_proc_stat",
    "tree_cpu_seconds",
    "trees_cpu_seconds",
]

PROC = Path("/proc")


def clock_ticks() -> int:
    """Clock ticks per second, the unit of ``/proc`` CPU counters (``getconf CLK_TCK``, usually 100)."""
    return os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` a benchmark needs; CPU times in clock ticks.

    ``utime``/``stime`` cover the process's own threads; ``cutime``/``cstime`` its waited-for children.
    """

    pid: int
    comm: str
    state: str
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        """User plus system time of the process itself, in clock ticks."""
        return self.utime + self.stime


def parse_proc_stat(text: str) -> ProcStat:
    """Parse one ``/proc/<pid>/stat`` line.

    The command name (field 2) is in parentheses and may itself hold spaces and parentheses, so fields
    are counted from the last ``)``.

    Raises:
        ValueError: the text is not a ``/proc/<pid>/stat`` line.
    """
    open_paren = text.find("(")
    close_paren = text.rfind(")")
    if open_paren < 0 or close_paren < open_paren:
        raise ValueError(f"not a /proc/<pid>/stat line: {text[:80]!r}")
    rest = text[close_paren + 1 :].split()
    if len(rest) < 15:
        raise ValueError(f"/proc/<pid>/stat line has {len(rest) + 2} fields, expected at least 17")
    # rest[0] is field 3 (state); utime is field 14, so rest[11]; stime, cutime, cstime follow.
    return ProcStat(
        pid=int(text[:open_paren]),
        comm=text[open_paren + 1 : close_paren],
        state=rest[0],
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        cutime=int(rest[13]),
        cstime=int(rest[14]),
    )


def read_proc_stat(pid: int, proc: Path = PROC) -> ProcStat:
    """Read and parse ``/proc/<pid>/stat``.

    Raises:
        ProcessLookupError: no process ``pid`` (it has exited).
    """
    try:
        text = (proc / str(pid) / "stat").read_text()
    except FileNotFoundError as exc:
        raise ProcessLookupError(f"no process {pid}: it has exited or never existed") from exc
    return parse_proc_stat(text)


def process_cpu_seconds(pid: int, proc: Path = PROC) -> float:
    """User plus system CPU seconds used so far by process ``pid`` (all its threads).

    Raises:
        ProcessLookupError: no process ``pid``.
    """
    return read_proc_stat(pid, proc).ticks / clock_ticks()


def _all_stats(proc: Path) -> Iterable[ProcStat]:
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield parse_proc_stat((entry / "stat").read_text())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # exited while we were looking


def tree_cpu_seconds(pid: int, proc: Path = PROC) -> float:
    """CPU seconds of process ``pid`` plus every running descendant.

    Raises:
        ProcessLookupError: no process ``pid``.
    """
    return trees_cpu_seconds({"": pid}, proc)[""]


def trees_cpu_seconds(pids: Mapping[str, int], proc: Path = PROC) -> dict[str, float]:
    """:func:`tree_cpu_seconds` of several named processes, from one scan of ``/proc``.

    Raises:
        ProcessLookupError: one of the processes does not exist.
    """
    roots = {name: read_proc_stat(pid, proc) for name, pid in pids.items()}
    children: dict[int, list[ProcStat]] = {}
    for stat in _all_stats(proc):
        children.setdefault(stat.ppid, []).append(stat)
    ticks = clock_ticks()
    totals: dict[str, float] = {}
    for name, root in roots.items():
        total = root.ticks
        seen = {root.pid}
        pending = [root.pid]
        while pending:
            for child in children.get(pending.pop(), ()):
                if child.pid not in seen:
                    seen.add(child.pid)
                    total += child.ticks
                    pending.append(child.pid)
        totals[name] = total / ticks
    return totals


@dataclass(frozen=True, slots=True)
class MachineCpu:
    """Machine-wide CPU counters from the first line of ``/proc/stat``, in clock ticks."""

    busy: int
    idle: int

    @property
    def total(self) -> int:
        return self.busy + self.idle

    def busy_fraction_since(self, earlier: MachineCpu) -> float:
        """Fraction of all CPU capacity that was busy between ``earlier`` and this sample (0 to 1)."""
        total = self.total - earlier.total
        return (self.busy - earlier.busy) / total if total > 0 else 0.0


def parse_machine_stat(text: str) -> MachineCpu:
    """Parse the aggregate ``cpu`` line of ``/proc/stat``; idle time includes I/O wait.

    Raises:
        ValueError: ``text`` has no aggregate ``cpu`` line.
    """
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
            values = [int(v) for v in fields[1:9]]
            idle = values[3] + values[4]
            return MachineCpu(busy=sum(values) - idle, idle=idle)
    raise ValueError("/proc/stat has no aggregate 'cpu' line")


def machine_cpu(proc: Path = PROC) -> MachineCpu:
    """Sample the machine-wide CPU counters."""
    return parse_machine_stat((proc / "stat").read_text())
