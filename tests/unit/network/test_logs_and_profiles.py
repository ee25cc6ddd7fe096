"""Node logs as operations read them (timestamps, colours, follow), status and profiles, no processes."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrx_cli.main import cli
from fabrx_network import NetworkError
from fabrx_network.operations import ConsortiumNetwork, log_line_time, open_network, strip_ansi

DEFAULT_CONSORTIUM = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"

PEER_LOG = (
    "\x1b[36m2026-12-04 09:00:01.100 UTC 0001 INFO\x1b[0m [nodeCmd] serve -> Starting peer\n"
    "\x1b[33m2026-12-04 09:10:00.000 UTC 0002 WARN\x1b[0m [gossip] a warning\n"
    "goroutine 1 [running]:\n"
    "\x1b[31m2026-12-04 09:20:00.500 UTC 0003 ERRO\x1b[0m [ledger] the last words\n"
)


@pytest.fixture
def net(tmp_path: Path) -> ConsortiumNetwork:
    network = open_network(DEFAULT_CONSORTIUM, tmp_path / "run")
    network.layout.logs_dir.mkdir(parents=True)
    network.layout.log_file("peer0.HospitalA").write_text(PEER_LOG)
    return network


def test_log_line_times_are_read_from_fabric_and_fabric_ca_lines() -> None:
    assert log_line_time("\x1b[34m2026-12-04 09:00:01.100 UTC 0001 INFO\x1b[0m x") == datetime(
        2026, 12, 4, 9, 0, 1, 100000, tzinfo=UTC
    )
    ca_time = log_line_time("2026/12/04 09:00:01 [INFO] Listening on https://127.0.0.1:7054")
    assert ca_time == datetime(2026, 12, 4, 9, 0, 1).astimezone()
    assert log_line_time("goroutine 1 [running]:") is None


def test_logs_since_keep_the_lines_from_then_with_their_continuations(net: ConsortiumNetwork) -> None:
    text = net.logs("peer0.HospitalA", since=datetime(2026, 12, 4, 9, 5, tzinfo=UTC))["peer0.HospitalA"]
    assert "Starting peer" not in text
    assert "a warning" in text and "goroutine 1" in text and "the last words" in text


def test_logs_without_colour_have_no_ansi_codes(net: ConsortiumNetwork) -> None:
    coloured = net.logs("peer0.HospitalA")["peer0.HospitalA"]
    plain = net.logs("peer0.HospitalA", colour=False)["peer0.HospitalA"]
    assert "\x1b[" in coloured and "\x1b" not in plain
    assert plain == strip_ansi(coloured)


def test_cli_json_logs_are_colourless_and_since_is_a_duration_or_a_time(net: ConsortiumNetwork) -> None:
    base = ["--config", str(DEFAULT_CONSORTIUM), "--run-dir", str(net.run_dir)]
    result = CliRunner().invoke(cli, [*base, "network", "logs", "peer0.HospitalA", "--json"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in json.loads(result.output)["peer0.HospitalA"]

    since = CliRunner().invoke(
        cli, [*base, "network", "logs", "peer0.HospitalA", "--since", "2026-12-04T09:15:00+00:00", "--json"]
    )
    assert json.loads(since.output)["peer0.HospitalA"].count("\n") == 1
    recent = CliRunner().invoke(
        cli, [*base, "network", "logs", "peer0.HospitalA", "--since", "10m", "--json"]
    )
    assert json.loads(recent.output)["peer0.HospitalA"] == ""  # the sample lines are older

    bad = CliRunner().invoke(cli, [*base, "network", "logs", "peer0.HospitalA", "--since", "yesterday"])
    assert bad.exit_code == 2 and "neither a duration" in bad.output
    no_node = CliRunner().invoke(cli, [*base, "network", "logs", "-f"])
    assert no_node.exit_code == 2 and "--follow needs a NODE" in no_node.output


def test_follow_yields_each_line_appended_after_it_started(net: ConsortiumNetwork) -> None:
    stop = threading.Event()
    lines = net.follow_log("peer0.HospitalA", stop=stop, poll=0.01)
    log = net.layout.log_file("peer0.HospitalA")
    with log.open("a") as out:
        out.write(
            "2026-12-04 09:30:00.000 UTC 0004 INFO [x] first new\n"
            "2026-12-04 09:30:01.000 UTC 0005 INFO [x] sec"
        )
    assert next(lines).endswith("first new")
    with log.open("a") as out:
        out.write("ond new\n")
    assert next(lines).endswith("second new")
    stop.set()
    assert list(lines) == []


def test_an_unknown_node_has_no_log(net: ConsortiumNetwork) -> None:
    with pytest.raises(NetworkError, match=r"no log for node 'peer9.Nowhere' \(known: peer0.HospitalA\)"):
        net.follow_log("peer9.Nowhere")


def _mark_started(net: ConsortiumNetwork) -> None:
    """What `network up` leaves in the run directory (and `network down` keeps)."""
    state = {"consortium": "pharma", "consensus": net.consortium.orderer_org.consensus, "phase": "down"}
    net.layout.state_file.write_text(json.dumps(state), encoding="utf-8")


def test_a_down_node_s_reason_is_its_last_log_line_and_status_has_a_header(net: ConsortiumNetwork) -> None:
    _mark_started(net)
    status = net.status()
    peer = {n.name: n for n in status.nodes}["peer0.HospitalA"]
    assert not peer.running
    assert peer.reason == "2026-12-04 09:20:00.500 UTC 0003 ERRO [ledger] the last words"
    assert peer.address == f"{net.consortium.host}:{net.consortium.org('HospitalA').peers[0].port}"
    rendered = status.render().splitlines()
    assert rendered[1].split() == ["NODE", "KIND", "STATE", "HEALTH", "VERSION", "ADDRESS", "HEIGHT", "(LAG)"]
    assert set(rendered[2].replace(" ", "")) == {"-"}  # the header's rule
    row = next(i for i, line in enumerate(rendered) if line.split()[:1] == ["peer0.HospitalA"])
    assert rendered[row].split() == ["peer0.HospitalA", "peer", "down", "-", "-", peer.address, "-"]
    assert rendered[row + 1] == (
        "      down; last log line: 2026-12-04 09:20:00.500 UTC 0003 ERRO [ledger] the last words"
    )
    # One row per node, each column starting where its header does.
    rows = [line for line in rendered[3:] if line.startswith("  ") and not line.startswith("      ")]
    assert len(rows) == len(status.nodes)
    starts = [rendered[1].index(word) for word in ("KIND", "STATE", "ADDRESS")]
    for line in rows:
        assert all(line[start - 1] == " " and line[start] != " " for start in starts), line


def test_the_status_of_a_network_never_started_is_one_line_in_text_and_every_node_in_json(
    net: ConsortiumNetwork,
) -> None:
    status = net.status()
    assert not status.started and not any(n.running for n in status.nodes)
    assert status.render() == (
        f"the network 'pharma' is not up: {net.run_dir} holds no network; start it with `fabrx network up` "
        "(with the same --config and --run-dir)"
    )
    data = status.as_dict()
    assert "started" not in data and data["healthy"] is False
    assert {n["name"] for n in data["nodes"]} >= {"peer0.HospitalA", "orderer0.Orderer"}


def test_no_connection_profile_before_the_network_was_up(net: ConsortiumNetwork) -> None:
    with pytest.raises(NetworkError, match=r"no CA certificate of HospitalA .*: is the network up"):
        net.connection_profile("HospitalA")
    with pytest.raises(NetworkError, match="no peer organization 'Orderer'"):
        net.connection_profile("Orderer")
