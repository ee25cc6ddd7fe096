"""The `fabrx` command's boundary: errors become one message and an exit code; --json stays parseable."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fabrx_cli.main import cli

DEFAULT = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"


def test_broken_consortium_file_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    text = (
        DEFAULT.read_text(encoding="utf-8")
        .replace("port_base: 7050", "port_base: 70")
        .replace("role: hospital", "role: clinic", 1)
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
    assert "cannot read the file" in json.loads(result.output.strip().splitlines()[-1])["error"]


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
