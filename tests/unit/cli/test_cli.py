"""The `fabrx` command's boundary: errors become one message and an exit code; --json stays parseable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrx_cli.chaincode import result_data
from fabrx_cli.main import cli, problems_of

DEFAULT = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"


def test_broken_consortium_file_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    text = (
        DEFAULT.read_text(encoding="utf-8")
        .replace("port_base: 7050", "port_base: 70")
        .replace("role: hospital", "role: head clinic", 1)
    )
    bad = tmp_path / "consortium.yaml"
    bad.write_text(text, encoding="utf-8")

    result = CliRunner().invoke(cli, ["--config", str(bad), "network", "status"])

    assert result.exit_code == 1
    assert "port_base" in result.output
    assert "orgs[4].role" in result.output
    assert "Traceback" not in result.output


def test_json_mode_reports_errors_as_json(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = CliRunner().invoke(cli, ["--json", "--config", str(missing), "network", "status"])
    assert result.exit_code == 1
    error = json.loads(result.stderr)
    assert [p["path"] for p in error["problems"]] == [str(missing)]
    assert "cannot read the file" in error["problems"][0]["message"]


def test_json_errors_list_every_problem_of_the_consortium_file_with_its_path(tmp_path: Path) -> None:
    text = (
        DEFAULT.read_text(encoding="utf-8")
        .replace("port_base: 7050", "port_base: 70")
        .replace("role: hospital", "role: head clinic", 1)
    )
    bad = tmp_path / "consortium.yaml"
    bad.write_text(text, encoding="utf-8")

    result = CliRunner().invoke(cli, ["--config", str(bad), "network", "status", "--json"])

    assert result.exit_code == 1
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["error"].startswith(f"{bad}: 2 errors")
    by_path = {p["path"]: p for p in error["problems"]}
    assert set(by_path) >= {"port_base", "orgs[4].role"}
    assert "clinic" in by_path["orgs[4].role"]["message"]
    assert all(p["severity"] in ("error", "warning") for p in error["problems"])


def test_json_is_accepted_after_any_command_and_group(tmp_path: Path) -> None:
    run = str(tmp_path / "run")
    for argv in (
        ["--json", "--run-dir", run, "network", "status"],
        ["--run-dir", run, "network", "--json", "status"],
        ["--run-dir", run, "network", "status", "--json"],
    ):
        result = CliRunner().invoke(cli, ["--config", str(DEFAULT), *argv])
        assert result.exit_code == 3, argv
        assert json.loads(result.stdout)["healthy"] is False, argv


def test_a_wrong_command_line_in_json_mode_is_a_json_error_naming_the_option() -> None:
    result = CliRunner().invoke(cli, ["network", "status", "--bogus", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stderr)
    assert error["problems"][0]["path"] == "--bogus"

    result = CliRunner().invoke(cli, ["--json", "--no-such-root-option"])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["problems"][0]["path"] == "--no-such-root-option"


def test_help_of_a_command_works_without_the_options_its_group_requires(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["pharma", "issue-invoice", "--help"])
    assert result.exit_code == 0, result.output
    assert "FILE" in result.stdout

    result = CliRunner().invoke(cli, ["--run-dir", str(tmp_path), "pharma", "report"])
    assert result.exit_code == 2
    assert "Missing option '--org'" in result.stderr


def test_a_command_on_a_network_never_started_says_the_network_is_not_up(tmp_path: Path) -> None:
    run = tmp_path / "run"
    for argv in (
        ["chaincode", "query", "--org", "HospitalA", "pharma", "ReadParty", "x"],
        ["pharma", "--org", "HospitalA", "stock", "P1", "B1"],
    ):
        result = CliRunner().invoke(cli, ["--config", str(DEFAULT), "--run-dir", str(run), *argv])
        assert result.exit_code == 1, argv
        assert "is not up" in result.stderr and "fabrx network up" in result.stderr, result.stderr
        assert "signcerts" not in result.stderr.split("(")[0]
        assert not run.exists(), "a read command must not create the run directory"


def test_chaincode_results_are_encoded_once_for_json() -> None:
    assert result_data(b'{"id": "a1", "size": 5}') == {"format": "json", "result": {"id": "a1", "size": 5}}
    assert result_data("批号 B1".encode()) == {"format": "text", "result": "批号 B1"}
    assert result_data(b"\xff\x00") == {"format": "base64", "result": "/wA="}


def test_status_of_a_network_never_started_says_every_node_is_down(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--json", "--config", str(DEFAULT), "--run-dir", str(tmp_path / "run"), "network", "status"]
    )
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["healthy"] is False
    assert {n["name"] for n in data["nodes"] if not n["running"]} >= {"peer0.Regulator", "orderer0.Orderer"}


def test_chaincode_serve_without_ccaas_environment_names_the_variables(monkeypatch) -> None:
    monkeypatch.delenv("CHAINCODE_ID", raising=False)
    monkeypatch.delenv("CHAINCODE_SERVER_ADDRESS", raising=False)
    result = CliRunner().invoke(cli, ["chaincode", "serve", "examples.chaincode.asset:AssetContract"])
    assert result.exit_code == 1
    assert "CHAINCODE_ID" in result.output and "CHAINCODE_SERVER_ADDRESS" in result.output


def test_a_refusal_s_rule_and_fields_become_problems_with_a_code() -> None:
    from fabrx.pharma import PharmaError, RecordInvalid

    _, problems = problems_of(
        PharmaError("INVOICE_REUSED", "number", "invoice 2435 is already on the ledger")
    )
    assert [(p.path, p.code) for p in problems] == [("number", "INVOICE_REUSED")]
    assert problems[0].message == "invoice 2435 is already on the ledger"

    invalid = RecordInvalid(
        "lines[0].quantity",
        "2 problems",
        problems=(("lines[0].quantity", "must be > 0"), ("issue_date", "is required")),
    )
    _, problems = problems_of(invalid)
    assert [(p.path, p.message, p.code) for p in problems] == [
        ("lines[0].quantity", "must be > 0", "RECORD"),
        ("issue_date", "is required", "RECORD"),
    ]

    _, problems = problems_of(RuntimeError("peer unreachable"))
    assert [(p.path, p.message, p.code) for p in problems] == [(None, "peer unreachable", None)]


@pytest.mark.parametrize("as_of", ["yesterday", "2025-06-30T00:00:00"])
def test_a_report_as_of_a_time_that_is_not_iso_with_an_offset_is_a_usage_error(
    tmp_path: Path, as_of: str
) -> None:
    argv = ["--run-dir", str(tmp_path), "pharma", "--org", "Regulator", "report", "--as-of", as_of]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert "--as-of" in result.stderr and as_of in result.stderr
    assert isinstance(result.exception, SystemExit)  # a usage error, no traceback


def test_a_binary_config_file_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "consortium.yaml"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    result = CliRunner().invoke(
        cli, ["--config", str(binary), "--run-dir", str(tmp_path / "run"), "network", "status"]
    )
    assert result.exit_code == 1, result.output
    assert "not UTF-8" in result.stderr and str(binary) in result.stderr
    assert isinstance(result.exception, SystemExit)


def test_a_channel_command_loads_no_application_command_and_help_lists_them_all() -> None:
    # In a fresh interpreter: the application's commands (service, supervision store, pharma) load only
    # when called or listed, so an admin's script of `fabrx channel ...` steps starts fast.
    script = (
        "import sys\n"
        "from fabrx_cli.main import cli\n"
        "try:\n"
        "    cli.main(['channel', 'update', '--help'], prog_name='fabrx')\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('fastapi', 'alembic', 'fabrx_cli.pharma', 'fabrx_cli.serve')\n"
        "loaded = [m for m in names if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr

    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0
    for name in ("channel", "member", "pharma", "serve", "supervision", "demo"):
        assert f"\n  {name} " in listed.output
    called = CliRunner().invoke(cli, ["pharma", "--help"])
    assert called.exit_code == 0 and "as one organization" in called.output


def test_doctor_shows_binaries_and_tools_as_tables_with_headers_and_json_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fabrx_cli import fabric as fabric_commands
    from fabrx_network.install import BinaryStatus, DoctorReport, ToolStatus

    report = DoctorReport(
        fabric_version="3.1.5",
        ca_version="1.5.21",
        cache_dir=Path("/cache"),
        python="3.11.7",
        binaries=(
            BinaryStatus("peer", Path("/cache/bin/peer"), "3.1.5"),
            BinaryStatus("fabric-ca-server", None, None, problem="missing"),
        ),
        tools=(ToolStatus("go", Path("/usr/bin/go"), "1.26.8", "builds Fabric and Fabric CA"),),
        problems=("fabric-ca-server is missing",),
    )
    monkeypatch.setattr(fabric_commands, "doctor", lambda: report)
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 3
    lines = result.output.splitlines()
    header = lines.index("  BINARY            VERSION    PATH")
    assert set(lines[header + 1].replace(" ", "")) == {"-"}
    assert lines[header + 2].split() == ["peer", "3.1.5", "/cache/bin/peer"]
    assert lines[header + 3].split() == ["fabric-ca-server", "-", "missing"]
    assert lines[header + 2].index("3.1.5") == lines[header].index("VERSION")
    assert any(line.split()[:2] == ["TOOL", "VERSION"] for line in lines)
    assert lines[-1] == "problem: fabric-ca-server is missing"
    data = json.loads(CliRunner().invoke(cli, ["--json", "doctor"]).output)
    assert data["ok"] is False and data["binaries"][0]["name"] == "peer"
    assert set(data) == {
        "fabric_version",
        "ca_version",
        "cache_dir",
        "python",
        "binaries",
        "tools",
        "problems",
        "ok",
    }


class _DeployingNetwork:
    """A network at the seam the deploy command uses: it reports each step through ``progress``."""

    def __init__(self) -> None:
        self.asked: list[str] | None = None

    def require_up(self) -> None:
        pass

    def deploy_chaincodes(
        self, names: list[str] | None, *, progress: Callable[[str], None]
    ) -> dict[str, str]:
        self.asked = names
        for line in (
            "chaincode pharma ...",
            "pharma: install on 127.0.0.1:7086 (HospitalAMSP)",
            "pharma: approve for HospitalAMSP",
            "pharma: commit on pharma (sequence 1)",
        ):
            progress(line)
        return {"chaincode.pharma.HospitalA": "pharma:ab12"}


def test_chaincode_deploy_prints_each_step_on_stderr_and_its_result_on_stdout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fabrx_cli import chaincode as chaincode_commands

    net = _DeployingNetwork()
    monkeypatch.setattr(chaincode_commands, "open_network", lambda *_: net)
    result = CliRunner().invoke(cli, ["chaincode", "deploy", "pharma"])
    assert result.exit_code == 0, result.output
    assert net.asked == ["pharma"]
    assert result.stderr.splitlines() == [
        "chaincode pharma ...",
        "pharma: install on 127.0.0.1:7086 (HospitalAMSP)",
        "pharma: approve for HospitalAMSP",
        "pharma: commit on pharma (sequence 1)",
    ]
    assert result.stdout == "chaincode.pharma.HospitalA: pharma:ab12\n"
    as_json = CliRunner().invoke(cli, ["--json", "chaincode", "deploy"])
    assert net.asked is None  # every chaincode of the consortium file
    assert json.loads(as_json.stdout) == {"chaincode.pharma.HospitalA": "pharma:ab12"}  # steps stay on stderr
    assert "pharma: approve for HospitalAMSP" in as_json.stderr
