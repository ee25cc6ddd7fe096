"""The process supervisor with tiny Python child processes: start, stop, pid safety, health, ports."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import random
import signal
import socket
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fabrx_network.errors import HealthError, ProcessError
from fabrx_network.process import ProcessSupervisor, check_ports, port_holder, port_in_use


@dataclass(frozen=True)
class Spec:
    name: str
    argv: list[str]
    log_path: Path
    cwd: Path
    kind: str = "peer"
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None
    ports: list[int] = field(default_factory=list)


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


SLEEPER = "import time; print('ready', flush=True); time.sleep(60)"

HEALTH_SERVER = """
import http.server, json, ssl, sys, time
certificate, key, port, status = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
time.sleep(0.2)  # not healthy at once, like a node that is still starting

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "OK"} if status == 200 else
                          {"status": "Service Unavailable", "failed_checks": [{"component": "ledger"}]})
        self.send_response(status if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

server = http.server.HTTPServer(("127.0.0.1", port), Health)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(certificate, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("serving", flush=True)
server.serve_forever()
"""


def free_port() -> int:
    """A free port from this test suite's range (22000-22999)."""
    for _ in range(200):
        port = random.randint(22000, 22999)
        if not port_in_use("127.0.0.1", port):
            return port
    raise AssertionError("no free port in 22000-22999")


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[ProcessSupervisor]:
    run = ProcessSupervisor(tmp_path / "run")
    yield run
    run.stop_all(timeout=2.0)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "operations")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "ops.crt", tmp_path / "ops.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def start_ticks(pid: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return int(raw[raw.rindex(")") + 2 :].split()[19])


def test_start_records_the_process_and_stop_ends_it(supervisor: ProcessSupervisor, tmp_path: Path) -> None:
    spec = Spec("peer0.org1", python(SLEEPER), tmp_path / "logs" / "peer0.log", tmp_path)

    started = supervisor.start(spec)

    registry = json.loads(supervisor.registry_path.read_text())
    entry = registry["processes"]["peer0.org1"]
    assert entry["pid"] == started.pid
    assert entry["start_ticks"] == start_ticks(started.pid)
    assert entry["executable"] == sys.executable
    assert entry["log_path"] == str(spec.log_path)
    assert supervisor.is_running("peer0.org1")
    assert os.getsid(started.pid) == started.pid  # its own session: a Ctrl-C of the CLI does not reach it

    assert supervisor.stop("peer0.org1", timeout=2.0) is True

    assert not supervisor.is_running("peer0.org1")
    assert not Path(f"/proc/{started.pid}").exists()
    assert json.loads(supervisor.registry_path.read_text())["processes"] == {}


def test_child_gets_only_the_spec_environment_plus_basics(
    supervisor: ProcessSupervisor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FABRX_TEST_PARENT_ONLY", "leak")
    monkeypatch.setenv("LANG", "C.UTF-8")
    code = "import json, os; print(json.dumps(dict(os.environ)), flush=True)"
    spec = Spec(
        "orderer0",
        python(code),
        tmp_path / "orderer0.log",
        tmp_path,
        env={"ORDERER_GENERAL_LISTENPORT": "7050"},
    )

    supervisor.start(spec)
    deadline = time.monotonic() + 5
    while supervisor.is_running("orderer0") and time.monotonic() < deadline:
        time.sleep(0.02)

    environment = json.loads(supervisor.log_tail("orderer0")[-1])
    assert environment["ORDERER_GENERAL_LISTENPORT"] == "7050"
    assert environment["PATH"] == os.environ["PATH"]
    assert environment["LANG"] == "C.UTF-8"
    assert "FABRX_TEST_PARENT_ONLY" not in environment
    assert (
        set(environment) - {"ORDERER_GENERAL_LISTENPORT", "PATH", "HOME", "TMPDIR", "LANG", "LC_CTYPE"}
        == set()
    )


def test_log_is_appended_and_the_tail_covers_the_current_run_only(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    log = tmp_path / "peer.log"
    log.write_text("old run line\n")
    spec = Spec("peer", python("print('new run line')"), log, tmp_path)

    supervisor.start(spec)
    deadline = time.monotonic() + 30
    while "new run line" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # the child writes its line when the machine gets to it

    assert log.read_text().startswith("old run line\n")
    tail = supervisor.log_tail("peer")
    assert tail[-1] == "new run line"
    assert "old run line" not in tail
    assert tail[0].startswith(f"--- fabrx: starting peer ({sys.executable})")


def test_starting_a_running_name_again_is_refused(supervisor: ProcessSupervisor, tmp_path: Path) -> None:
    spec = Spec("ca.org1", python(SLEEPER), tmp_path / "ca.log", tmp_path, kind="ca")
    first = supervisor.start(spec)

    with pytest.raises(ProcessError, match=f"ca.org1 is already running \\(pid {first.pid}\\)"):
        supervisor.start(spec)


def test_missing_executable_is_a_process_error(supervisor: ProcessSupervisor, tmp_path: Path) -> None:
    spec = Spec("peer", [str(tmp_path / "no-such-peer"), "node", "start"], tmp_path / "p.log", tmp_path)

    with pytest.raises(ProcessError, match=r"cannot start peer: .*no-such-peer"):
        supervisor.start(spec)
    assert supervisor.processes == {}


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    spec = Spec("stubborn", python(code), tmp_path / "s.log", tmp_path)
    started = supervisor.start(spec)
    time.sleep(0.3)  # let it install the handler

    begun = time.monotonic()
    assert supervisor.stop("stubborn", timeout=0.3) is True

    assert time.monotonic() - begun < 3
    assert not Path(f"/proc/{started.pid}").exists()


def test_a_recycled_pid_is_never_signalled(supervisor: ProcessSupervisor, tmp_path: Path) -> None:
    spec = Spec("peer", python(SLEEPER), tmp_path / "p.log", tmp_path)
    started = supervisor.start(spec)
    registry = json.loads(supervisor.registry_path.read_text())
    # Pretend the recorded process was an earlier one that had the same pid.
    registry["processes"]["peer"]["start_ticks"] = started.start_ticks - 1
    supervisor.registry_path.write_text(json.dumps(registry))

    assert supervisor.is_running("peer") is False
    assert supervisor.stop("peer", timeout=0.5) is False

    assert start_ticks(started.pid) == started.start_ticks  # still alive: not signalled
    os.kill(started.pid, signal.SIGKILL)


def test_another_supervisor_on_the_same_run_directory_stops_the_processes(tmp_path: Path) -> None:
    starter = ProcessSupervisor(tmp_path / "run")
    first = starter.start(Spec("orderer", python(SLEEPER), tmp_path / "o.log", tmp_path))
    second = starter.start(Spec("peer", python(SLEEPER), tmp_path / "p.log", tmp_path))

    stopped = ProcessSupervisor(tmp_path / "run").stop_all(timeout=2.0)

    assert stopped == ["peer", "orderer"]  # reverse start order
    assert not starter.is_running("orderer") and not starter.is_running("peer")
    for pid in (first.pid, second.pid):
        os.waitpid(pid, 0)  # the starter is their parent: reap them
    assert starter.processes == {}


def test_wait_healthy_polls_the_https_operations_endpoint(
    supervisor: ProcessSupervisor, tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    port = free_port()
    certificate, key = tls_files
    spec = Spec(
        "peer0",
        python(HEALTH_SERVER, str(certificate), str(key), str(port), "200"),
        tmp_path / "peer0.log",
        tmp_path,
        health_url=f"https://127.0.0.1:{port}/healthz",
        ports=[port],
    )
    supervisor.start(spec)

    supervisor.wait_healthy(spec, timeout=10.0, ca_file=certificate)

    assert supervisor.is_running("peer0")


def test_unhealthy_endpoint_times_out_with_the_answer_and_log(
    supervisor: ProcessSupervisor, tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    port = free_port()
    certificate, key = tls_files
    spec = Spec(
        "peer0",
        python(HEALTH_SERVER, str(certificate), str(key), str(port), "503"),
        tmp_path / "peer0.log",
        tmp_path,
        health_url=f"https://127.0.0.1:{port}/healthz",
    )
    supervisor.start(spec)

    with pytest.raises(HealthError) as raised:
        supervisor.wait_healthy(spec, timeout=1.5, ca_file=certificate)

    message = str(raised.value)
    assert f"peer0 not healthy after 1.5 s at https://127.0.0.1:{port}/healthz: HTTP 503" in message
    assert "failed_checks" in message
    assert f"its log is {tmp_path / 'peer0.log'}" in message


def test_endpoint_with_an_untrusted_certificate_reports_tls(
    supervisor: ProcessSupervisor, tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    port = free_port()
    certificate, key = tls_files
    spec = Spec(
        "peer0",
        python(HEALTH_SERVER, str(certificate), str(key), str(port), "200"),
        tmp_path / "peer0.log",
        tmp_path,
        health_url=f"https://127.0.0.1:{port}/healthz",
    )
    supervisor.start(spec)
    # A CA file that does not hold the server's certificate.
    other_ca = tmp_path / "other.pem"
    key_other = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")])
    now = datetime.datetime.now(datetime.UTC)
    unrelated = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key_other.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key_other, hashes.SHA256())
    )
    other_ca.write_bytes(unrelated.public_bytes(serialization.Encoding.PEM))
    # The server listens before the check starts, so the only failure left is the certificate's.
    deadline = time.monotonic() + 30
    while "serving" not in spec.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)

    with pytest.raises(HealthError, match="TLS failed: CERTIFICATE_VERIFY_FAILED"):
        supervisor.wait_healthy(spec, timeout=1.0, ca_file=other_ca)


def test_a_node_dying_while_starting_raises_with_the_last_log_lines(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    code = "import sys\nfor n in range(30): print(f'line {n}')\nsys.exit(1)"
    spec = Spec(
        "orderer1",
        python(code),
        tmp_path / "orderer1.log",
        tmp_path,
        health_url="https://127.0.0.1:1/healthz",
    )
    supervisor.start(spec)

    with pytest.raises(ProcessError) as raised:
        supervisor.wait_healthy(spec, timeout=10.0)

    message = str(raised.value)
    assert message.startswith(f"orderer1 exited while starting; its log is {tmp_path / 'orderer1.log'}")
    assert "  | line 29" in message and "  | line 10" in message
    assert "line 9\n" not in message  # only the last 20 lines


def test_without_health_url_ports_accepting_connections_mean_healthy(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    port = free_port()
    code = (
        "import socket, sys, time; time.sleep(0.2); s = socket.socket(); "
        "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)"
    )
    spec = Spec(
        "chaincode", python(code, str(port)), tmp_path / "cc.log", tmp_path, kind="chaincode", ports=[port]
    )
    supervisor.start(spec)

    supervisor.wait_healthy(spec, timeout=5.0)

    assert not port_in_use("127.0.0.1", free_port())
    assert port_in_use("127.0.0.1", port)


def test_wait_healthy_for_an_unknown_node_is_refused(supervisor: ProcessSupervisor, tmp_path: Path) -> None:
    spec = Spec("ghost", python(SLEEPER), tmp_path / "g.log", tmp_path)

    with pytest.raises(ProcessError, match="ghost was not started"):
        supervisor.wait_healthy(spec, timeout=0.1)


def test_check_ports_names_node_port_holder_and_fix(tmp_path: Path) -> None:
    busy = free_port()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", busy))
        listener.listen()
        free = free_port()
        specs = [
            Spec("peer0.org1", [], tmp_path / "p.log", tmp_path, ports=[free, busy]),
            Spec("peer0.org2", [], tmp_path / "q.log", tmp_path, ports=[free]),
        ]

        program = Path(os.readlink(f"/proc/{os.getpid()}/exe")).name
        assert port_holder(busy) == f"pid {os.getpid()} ({program})"
        with pytest.raises(ProcessError) as raised:
            check_ports(specs)

    message = str(raised.value)
    assert f"peer0.org1 needs 127.0.0.1:{busy}, which is held by pid {os.getpid()} ({program})" in message
    assert f"port {free} is configured for both peer0.org1 and peer0.org2" in message
    assert "change the ports in the consortium definition" in message


def test_check_ports_passes_when_everything_is_free(tmp_path: Path) -> None:
    check_ports([Spec("peer", [], tmp_path / "p.log", tmp_path, ports=[free_port()])])

    assert port_holder(free_port()) is None


def test_a_port_taken_by_an_outgoing_connection_is_named_with_its_program_and_peer(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        target = server.getsockname()[1]
        with socket.socket() as client:
            # What the kernel does for an outgoing connection when the node's port is in its ephemeral range.
            client.bind(("127.0.0.1", 0))
            taken = client.getsockname()[1]
            client.connect(("127.0.0.1", target))
            accepted, _ = server.accept()
            with accepted:
                program = Path(os.readlink(f"/proc/{os.getpid()}/exe")).name
                holder = f"pid {os.getpid()} ({program}), a connection to 127.0.0.1:{target}"
                assert port_holder(taken) == holder
                with pytest.raises(ProcessError) as raised:
                    check_ports([Spec("chaincode.asset", [], tmp_path / "c.log", tmp_path, ports=[taken])])
    message = str(raised.value)
    assert f"chaincode.asset needs 127.0.0.1:{taken}, which is held by {holder}" in message
    assert "ephemeral range" in message


def test_a_node_creates_owner_only_files_and_its_log_is_owner_only(
    supervisor: ProcessSupervisor, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    code = (
        "import os, sys, time; d = sys.argv[1]; os.makedirs(d + '/chains'); "
        "open(d + '/chains/blockfile_000000', 'w').write('trade prices'); "
        "print('ready', flush=True); time.sleep(60)"
    )
    spec = Spec("peer0.org1", python(code, str(ledger)), tmp_path / "logs" / "peer0.log", tmp_path)

    supervisor.start(spec)
    deadline = time.monotonic() + 10
    while not (ledger / "chains" / "blockfile_000000").exists():
        assert time.monotonic() < deadline, "the node did not write its ledger file"
        time.sleep(0.02)

    assert oct(stat.S_IMODE((ledger / "chains" / "blockfile_000000").stat().st_mode)) == oct(0o600)
    assert oct(stat.S_IMODE((ledger / "chains").stat().st_mode)) == oct(0o700)
    assert oct(stat.S_IMODE(spec.log_path.stat().st_mode)) == oct(0o600)
    assert oct(stat.S_IMODE(supervisor.registry_path.parent.stat().st_mode)) == oct(0o700)
