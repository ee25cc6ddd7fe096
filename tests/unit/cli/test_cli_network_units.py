"""`fabrx network units` refuses what it cannot write units for, naming why, and writes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fabrx_cli.main import cli

DEFAULT = Path(__file__).resolve().parents[3] / "network" / "consortium.yaml"


def _units(tmp_path: Path, *args: str) -> tuple[int, str]:
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(DEFAULT),
            "--run-dir",
            str(run_dir),
            "network",
            "units",
            "-o",
            str(tmp_path / "out"),
            *args,
        ],
    )
    return result.exit_code, result.output


def test_units_of_an_unknown_organization_list_the_organizations(tmp_path: Path) -> None:
    code, output = _units(tmp_path, "--org", "HospitalZ")
    assert code == 1
    assert "no organization 'HospitalZ' in consortium pharma" in output and "HospitalA" in output
    assert not (tmp_path / "out").exists()


def test_units_before_the_network_was_ever_up_say_to_bring_it_up(tmp_path: Path) -> None:
    code, output = _units(tmp_path, "--org", "HospitalA")
    assert code == 1
    assert "holds no network; start it with `fabrx network up`" in output
    assert not (tmp_path / "out").exists()


def test_units_need_an_organization(tmp_path: Path) -> None:
    code, output = _units(tmp_path)
    assert code == 2 and "--org" in output
