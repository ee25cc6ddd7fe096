"""`fabrx pharma --member-file` acts from a member's own deployment: as its own organization only."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from fabrx_cli.main import cli
from fabrx_pharma import Party
from fabrx_pharma.sample import build_sample_scenario


def _member_file(tmp_path: Path) -> Path:
    (tmp_path / "orderer.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "HospitalA.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "HospitalA",
                "msp_id": "HospitalAMSP",
                "role": "hospital",
                "peers": [{"name": "peer0"}],
                "channel": {"name": "pharma", "orderers": [{"address": "h:1", "tls_ca_cert": "orderer.pem"}]},
            }
        )
    )
    return path


def _pharma(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["--run-dir", str(tmp_path / "run"), "pharma", "--member-file", str(_member_file(tmp_path)), *args],
    )
    return result.exit_code, result.output


def test_another_organization_than_the_members_own_is_refused_by_name(tmp_path: Path) -> None:
    code, output = _pharma(tmp_path, "--org", "DistributorA", "read-invoice", "123")
    assert code == 2
    assert "'DistributorA' is not the organization of" in output and "not on this host" in output
    assert not (tmp_path / "run").exists()


def test_a_member_without_identities_is_told_to_init_its_deployment(tmp_path: Path) -> None:
    code, output = _pharma(tmp_path, "read-invoice", "123")  # --org defaults to the member's own
    assert code == 1
    assert "run `fabrx member init`" in output


def test_the_members_role_decides_which_commands_it_may_run(tmp_path: Path) -> None:
    msp = tmp_path / "run" / "orgs" / "HospitalA" / "users" / "client" / "msp" / "signcerts"
    msp.mkdir(parents=True)
    (msp / "cert.pem").write_text("")
    party = next(p for p in build_sample_scenario().records(Party) if isinstance(p, Party))
    record = tmp_path / "party.json"
    record.write_bytes(party.to_json())
    code, output = _pharma(tmp_path, "--org", "HospitalAMSP", "register-party", str(record))
    assert code == 2
    assert "HospitalA is a hospital; this command is for a regulator" in output
