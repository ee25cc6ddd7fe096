"""`fabrx network restart NODE` refuses what it cannot restart, naming why, and touches nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fabrx_cli.main import cli

DEFAULT = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"


def _restart(tmp_path: Path, node: str) -> tuple[int, str]:
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        cli, ["--config", str(DEFAULT), "--run-dir", str(run_dir), "network", "restart", node]
    )
    return result.exit_code, result.output


def test_restart_of_an_unknown_node_lists_the_nodes_there_are(tmp_path: Path) -> None:
    code, output = _restart(tmp_path, "peer9.Nowhere")
    assert code == 1
    assert "no node called 'peer9.Nowhere' in consortium pharma" in output
    assert "peer0.HospitalA" in output and "chaincode.pharma" in output and "ca.Orderer" in output
    assert "Traceback" not in output
    assert not (tmp_path / "run" / "orgs").exists()  # no secret or file was created


def test_restart_before_the_network_was_ever_up_says_to_bring_it_up(tmp_path: Path) -> None:
    code, output = _restart(tmp_path, "peer0.HospitalA")
    assert code == 1
    assert "holds no network; start it with `fabrx network up`" in output
    assert not (tmp_path / "run" / "orgs").exists()
