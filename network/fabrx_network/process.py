"""Start, watch and stop the node processes of a local Fabric network (Linux).

Each node runs as its own session (so a Ctrl-C in the terminal that started it does not reach it) with an
explicit argv and environment: only PATH, HOME, TMPDIR and LANG are taken from the caller, everything else
comes from the spec. Its stdout and stderr are appended to the spec's log file (mode 0600). It runs with
the file mode creation mask :data:`NODE_UMASK` (077), so every file it creates (keys, ledgers, CA
databases) is readable by its owner only.

Started processes are recorded in ``<run dir>/pids.json`` (replaced atomically, under a lock) with their
pid, executable, log file and the kernel's start time of the process (``/proc/<pid>/stat`` field 22). A
later command, even from another terminal, stops exactly the recorded processes: before any signal the
start time is compared again, so a pid the kernel has since handed to another program is never signalled.

Health comes from each node's operations endpoint: ``GET /healthz`` over HTTPS answering 200 with
``{"status": "OK"}``. A node without one (a chaincode server) counts as healthy once all its ports accept
connections.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from fabrx_network.errors import HealthError, ProcessError

__all__ = [
    "INHERITED_ENVIRONMENT",
    "NODE_UMASK",
    "ProcessSpecLike",
    "ProcessSupervisor",
    "RunningProcess",
    "check_ports",
    "port_holder",
    "port_in_use",
]

INHERITED_ENVIRONMENT = ("PATH", "HOME", "TMPDIR", "LANG")
"""The only variables a node process takes from the caller's environment."""

NODE_UMASK = 0o077
"""The file mode creation mask of every node process and Fabric tool fabrx runs: owner-only files."""

_REGISTRY = "pids.json"
_LOG_TAIL = 20


class ProcessSpecLike(Protocol):
    """What is needed to run one node; ``fabrx_network.render.ProcessSpec`` satisfies it."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def argv(self) -> Sequence[str]: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def cwd(self) -> Path: ...
    @property
    def log_path(self) -> Path: ...
    @property
    def health_url(self) -> str | None: ...
    @property
    def ports(self) -> Sequence[int]: ...


@dataclass(frozen=True)
class RunningProcess:
    """One started node process as recorded in the registry.

    ``start_ticks`` is the process start time in clock ticks since boot, which together with ``pid``
    identifies the process for its whole life. ``log_offset`` is where this run's output begins in the log.
    Only ``argv[0]`` is recorded, since later arguments may carry secrets (a CA's bootstrap password).
    """

    name: str
    kind: str
    pid: int
    start_ticks: int
    executable: str
    log_path: Path
    log_offset: int
    started_at: float

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "log_path": str(self.log_path)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RunningProcess:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            pid=int(str(data["pid"])),
            start_ticks=int(str(data["start_ticks"])),
            executable=str(data["executable"]),
            log_path=Path(str(data["log_path"])),
            log_offset=int(str(data["log_offset"])),
            started_at=float(str(data["started_at"])),
        )


@dataclass(frozen=True)
class _ProcStat:
    state: str
    process_group: int
    start_ticks: int


def _proc_stat(pid: int) -> _ProcStat | None:
    """The fields of ``/proc/<pid>/stat`` fabrx needs, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
    fields = raw[raw.rindex(")") + 2 :].split()
    return _ProcStat(state=fields[0], process_group=int(fields[2]), start_ticks=int(fields[19]))


class ProcessSupervisor:
    """Starts, tracks and stops the node processes of one run directory.

    Several supervisors (in different commands) may share one run directory: the registry is the source
    of truth, and a supervisor only keeps child handles so it can reap the processes it started itself.
    """

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def registry_path(self) -> Path:
        return self._run_dir / _REGISTRY

    @property
    def processes(self) -> dict[str, RunningProcess]:
        """Every recorded process, in start order, whether or not it still runs."""
        with self._locked():
            return self._read()

    def start(self, spec: ProcessSpecLike) -> RunningProcess:
        """Start ``spec`` in its own session and record it.

        Raises:
            ProcessError: a process of that name is already running, or the executable cannot be started.
        """
        with self._locked():
            registry = self._read()
            previous = registry.get(spec.name)
            if previous is not None and self._alive(previous):
                raise ProcessError(
                    f"{spec.name} is already running (pid {previous.pid}); stop it before starting it again"
                )
            record = self._spawn(spec)
            registry[spec.name] = record
            self._write(registry)
        return record

    def _spawn(self, spec: ProcessSpecLike) -> RunningProcess:
        env = {key: os.environ[key] for key in INHERITED_ENVIRONMENT if key in os.environ}
        env.update(spec.env)
        spec.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        executable = spec.argv[0]
        descriptor = os.open(spec.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(descriptor, "ab") as log:
            offset = log.seek(0, os.SEEK_END)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            log.write(f"--- fabrx: starting {spec.name} ({executable}) at {stamp} ---\n".encode())
            log.flush()
            try:
                child = subprocess.Popen(
                    list(spec.argv),
                    cwd=spec.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    umask=NODE_UMASK,
                )
            except OSError as exc:
                raise ProcessError(
                    f"cannot start {spec.name}: {executable}: {exc.strerror or exc} "
                    "(is Fabric installed? `fabrx fabric install`)"
                ) from exc
        stat = _proc_stat(child.pid)
        if stat is None:  # only where /proc is missing: fabrx supervises processes on Linux only
            child.kill()
            child.wait()
            raise ProcessError(
                f"cannot read /proc/{child.pid}/stat for {spec.name}: process supervision needs Linux"
            )
        self._children[spec.name] = child
        return RunningProcess(
            name=spec.name,
            kind=spec.kind,
            pid=child.pid,
            start_ticks=stat.start_ticks,
            executable=executable,
            log_path=spec.log_path,
            log_offset=offset,
            started_at=time.time(),
        )

    def is_running(self, name: str) -> bool:
        """Whether the process recorded as ``name`` still runs (the same process, not a recycled pid)."""
        record = self.processes.get(name)
        return record is not None and self._alive(record)

    def stop(self, name: str, *, timeout: float = 10.0) -> bool:
        """Stop the process recorded as ``name``: SIGTERM, then SIGKILL after ``timeout`` seconds.

        Returns whether a running process was stopped (False when none was recorded or it had already
        exited). The record is removed either way.

        Raises:
            ProcessError: the process could not be signalled or survived SIGKILL.
        """
        return name in self._stop([name], timeout)

    def stop_all(self, *, timeout: float = 10.0) -> list[str]:
        """Stop every recorded process together (SIGTERM to all, then SIGKILL to what remains).

        Returns the names of the processes that were running, in reverse start order.

        Raises:
            ProcessError: as :meth:`stop`.
        """
        return self._stop(list(reversed(self.processes)), timeout)

    def _stop(self, names: list[str], timeout: float) -> list[str]:
        with self._locked():
            registry = self._read()
            running = [registry[n] for n in names if n in registry and self._alive(registry[n])]
            for record in running:
                self._signal(record, signal.SIGTERM)
            survivors = self._wait_exit(running, timeout)
            for record in survivors:
                self._signal(record, signal.SIGKILL)
            stuck = self._wait_exit(survivors, 5.0)
            for name in names:
                if not any(record.name == name for record in stuck):
                    registry.pop(name, None)
                    self._children.pop(name, None)
            self._write(registry)
        if stuck:
            listed = ", ".join(f"{r.name} (pid {r.pid})" for r in stuck)
            raise ProcessError(f"{listed} still running after SIGKILL; check `ps -o pid,stat,cmd -p <pid>`")
        return [record.name for record in running]

    def _signal(self, record: RunningProcess, signum: signal.Signals) -> None:
        stat = _proc_stat(record.pid)
        if stat is None or stat.start_ticks != record.start_ticks:
            return  # gone, or the pid now belongs to someone else: never signal it
        try:
            # A session leader owns a process group: signal it whole so helpers it spawned go too.
            if stat.process_group == record.pid:
                os.killpg(record.pid, signum)
            else:
                os.kill(record.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            raise ProcessError(
                f"not allowed to signal {record.name} (pid {record.pid}): {exc.strerror}"
            ) from exc

    def _wait_exit(self, records: list[RunningProcess], timeout: float) -> list[RunningProcess]:
        deadline = time.monotonic() + timeout
        remaining = list(records)
        while remaining:
            remaining = [record for record in remaining if self._alive(record)]
            if not remaining or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        return remaining

    def _alive(self, record: RunningProcess) -> bool:
        child = self._children.get(record.name)
        if child is not None and child.pid == record.pid:
            child.poll()  # reap our own exited child, so it does not linger as a zombie
        stat = _proc_stat(record.pid)
        return (
            stat is not None and stat.start_ticks == record.start_ticks and stat.state not in ("Z", "X", "x")
        )

    def log_tail(self, name: str, lines: int = _LOG_TAIL) -> list[str]:
        """The last ``lines`` lines the process recorded as ``name`` wrote in its current run."""
        record = self.processes.get(name)
        return _log_tail(record, lines) if record is not None else []

    def wait_healthy(
        self,
        spec: ProcessSpecLike,
        *,
        timeout: float = 30.0,
        ca_file: Path | None = None,
        client_cert: tuple[Path, Path] | None = None,
    ) -> None:
        """Wait until the node reports healthy on ``spec.health_url`` (or, without one, listens on its ports).

        ``ca_file`` verifies the endpoint's TLS certificate; ``client_cert`` is a (certificate, key) pair for
        endpoints that require client authentication.

        Raises:
            ProcessError: the node was not started by this run directory, or exited while we waited; the
                message names its log file and quotes the log's last lines.
            HealthError: still not healthy after ``timeout`` seconds.
        """
        record = self.processes.get(spec.name)
        if record is None:
            raise ProcessError(f"{spec.name} was not started (no entry in {self.registry_path})")
        context = _tls_context(ca_file, client_cert) if spec.health_url else None
        deadline = time.monotonic() + timeout
        delay = 0.05
        problem = "no answer yet"
        while True:
            if not self._alive(record):
                raise ProcessError(
                    f"{spec.name} exited while starting; its log is {record.log_path}"
                    + _quoted(_log_tail(record, _LOG_TAIL))
                )
            # A node answers on its operations endpoint before its gRPC listeners are open, so both count.
            problem = _probe_health(spec.health_url, context) if spec.health_url else ""
            if not problem:
                closed = [port for port in spec.ports if not _accepts(port)]
                problem = f"port(s) {', '.join(map(str, closed))} not accepting connections" if closed else ""
            if not problem:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        target = spec.health_url or f"ports {', '.join(map(str, spec.ports))}"
        raise HealthError(
            f"{spec.name} not healthy after {timeout:g} s at {target}: {problem}; "
            f"its log is {record.log_path}" + _quoted(_log_tail(record, _LOG_TAIL))
        )

    # --- registry ---------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(
            os.open(self._run_dir / f".{_REGISTRY}.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w"
        ) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, RunningProcess]:
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ProcessError(
                f"cannot read the process registry {self.registry_path}: {exc}; "
                "stop leftover node processes by hand (`ps -ef`) and delete the file"
            ) from exc
        try:
            return {name: RunningProcess.from_json(entry) for name, entry in data["processes"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProcessError(f"the process registry {self.registry_path} is malformed ({exc!r})") from exc

    def _write(self, registry: Mapping[str, RunningProcess]) -> None:
        payload = {"version": 1, "processes": {name: record.to_json() for name, record in registry.items()}}
        descriptor, temporary = tempfile.mkstemp(prefix=f".{_REGISTRY}.", dir=self._run_dir)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump(payload, stream, indent=2)
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.registry_path)  # readers see the old file or the new, never half
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


# --- health ----------------------------------------------------------------------------------------------


def _tls_context(ca_file: Path | None, client_cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if client_cert is not None:
        context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    return context


def _probe_health(url: str, context: ssl.SSLContext | None) -> str:
    """One ``GET`` of a health URL; returns "" when healthy, else what was wrong."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, context=context, timeout=2.0)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=2.0)
    try:
        connection.request("GET", parts.path or "/healthz")
        response = connection.getresponse()
        body = response.read(4096)
    except ssl.SSLError as exc:
        return f"TLS failed: {exc.reason or exc} (check the CA file given for the operations endpoint)"
    except OSError as exc:
        return f"{exc.strerror or exc}"
    except http.client.HTTPException as exc:
        return f"bad HTTP answer: {exc!r}"
    finally:
        connection.close()
    try:
        status = json.loads(body).get("status")
    except (ValueError, AttributeError):
        status = None
    if response.status == 200 and status == "OK":
        return ""
    return f"HTTP {response.status}: {body.decode('utf-8', errors='replace').strip()[:300]}"


def _accepts(port: int) -> bool:
    """Whether a socket listens on ``port`` (the pre-flight found it free, so it is the node's).

    Read from the kernel's socket tables rather than by connecting: a probe connection that closes
    without a TLS handshake makes peers and orderers log a handshake error for every start.
    """
    return next(_listening_inodes(port), None) is not None


def _log_tail(record: RunningProcess, lines: int) -> list[str]:
    try:
        with open(record.log_path, "rb") as log:
            end = log.seek(0, os.SEEK_END)
            start = max(record.log_offset, end - 64 * 1024)  # the tail is all we need of a long log
            log.seek(start)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def _quoted(lines: list[str]) -> str:
    if not lines:
        return " (empty)"
    return "; last lines:\n" + "\n".join(f"  | {line}" for line in lines)


# --- ports -----------------------------------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """Whether a listener could not bind ``host:port`` now (the way Fabric's Go listeners bind)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Go sets SO_REUSEADDR, so sockets lingering in TIME_WAIT do not block it; probe the same way.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def port_holder(port: int) -> str | None:
    """Best effort: who holds TCP ``port`` on this machine, or None if unknown.

    ``"pid 4242 (peer)"`` for a listener; for a connection whose local end is that port (an outgoing
    connection the kernel gave an ephemeral port, say) ``"pid 4242 (python3), a connection to
    127.0.0.1:7051"``. Reads ``/proc/net/tcp{,6}`` and the socket links under ``/proc/*/fd``; processes
    of other users are invisible without privileges, and closed sockets lingering in TIME_WAIT belong
    to no process. Only the program name is given, never its arguments.
    """
    sockets = sorted(_bound_sockets(port), key=lambda s: not s.listening)
    for bound in sockets:
        wanted = f"socket:[{bound.inode}]"
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and wanted in _open_files(proc):
                holder = f"pid {proc.name} ({_program_name(proc)})"
                return holder if bound.listening else f"{holder}, a connection to {bound.remote}"
    return None


def _program_name(proc: Path) -> str:
    """The executable's file name (``comm`` is cut at 15 characters: ``fabric-ca-serve``)."""
    try:
        return Path(os.readlink(proc / "exe")).name
    except OSError:
        try:
            return (proc / "comm").read_text(encoding="utf-8").strip()
        except OSError:
            return "?"


def _open_files(proc: Path) -> set[str]:
    """Targets of a process's file descriptors; empty when it exited or is not ours to inspect."""
    targets: set[str] = set()
    try:
        descriptors = list((proc / "fd").iterdir())
    except OSError:
        return targets
    for descriptor in descriptors:
        try:
            targets.add(os.readlink(descriptor))
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor always is)
    return targets


@dataclass(frozen=True)
class _BoundSocket:
    inode: str
    listening: bool
    remote: str


def _bound_sockets(port: int) -> Iterator[_BoundSocket]:
    """Every TCP socket whose local end is ``port`` and that some process still owns (inode not 0)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text(encoding="utf-8").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # fields: sl, local_address (hex ip:hex port), rem_address, st (0A = LISTEN), ..., inode (9)
            if len(fields) <= 9 or int(fields[1].rsplit(":", 1)[1], 16) != port or fields[9] == "0":
                continue
            yield _BoundSocket(fields[9], fields[3] == "0A", _address(fields[2]))


def _address(hex_address: str) -> str:
    """``0100007F:1F90`` (as ``/proc/net/tcp`` writes it) → ``127.0.0.1:8080``."""
    host, port = hex_address.rsplit(":", 1)
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, raw[::-1])}:{int(port, 16)}"
    # IPv6: four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return f"[{socket.inet_ntop(socket.AF_INET6, words)}]:{int(port, 16)}"


def _listening_inodes(port: int) -> Iterator[str]:
    return (bound.inode for bound in _bound_sockets(port) if bound.listening)


def check_ports(specs: Iterable[ProcessSpecLike], host: str = "127.0.0.1") -> None:
    """Pre-flight: every port the specs listen on is free and claimed by one node only.

    Raises:
        ProcessError: listing every conflict at once, each with the node, the port, what holds it when
            that can be found out, and a fix.
    """
    problems: list[str] = []
    claimed: dict[int, str] = {}
    for spec in specs:
        for port in spec.ports:
            if port in claimed:
                problems.append(f"port {port} is configured for both {claimed[port]} and {spec.name}")
                continue
            claimed[port] = spec.name
            if port_in_use(host, port):
                holder = port_holder(port)
                held = f"held by {holder}" if holder else "in use"
                problems.append(f"{spec.name} needs {host}:{port}, which is {held}")
    if problems:
        raise ProcessError(
            "ports are not free:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\nstop what holds them (is a previous network still up? `fabrx network down`) "
            "or change the ports in the consortium definition (outside the kernel's ephemeral range "
            "in /proc/sys/net/ipv4/ip_local_port_range, which outgoing connections take ports from)"
        )
