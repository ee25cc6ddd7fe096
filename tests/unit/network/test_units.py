"""systemd units of an organization's nodes: what each unit says, and systemd's own verdict on it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fabrx_network.errors import NetworkError
from fabrx_network.render import ProcessSpec
from fabrx_network.units import systemd_units


def _spec(tmp_path: Path, name: str, kind: str, argv: tuple[str, ...], env: dict[str, str]) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        argv=argv,
        env=env,
        cwd=tmp_path / "run" / "nodes" / name,
        log_path=tmp_path / "run" / "logs" / f"{name}.log",
        health_url="",
        ports=(7051,),
        env_file=tmp_path / "run" / "nodes" / name / "env",
    )


def _units(tmp_path: Path) -> dict[str, str]:
    specs = [
        _spec(tmp_path, "ca.HospitalA", "ca", (sys.executable, "-c", "pass"), {"FABRIC_CA_HOME": "/srv/ca"}),
        _spec(
            tmp_path,
            "peer0.HospitalA",
            "peer",
            (sys.executable, "-c", 'print("50% $HOME")'),
            {"CORE_PEER_ID": "peer0.HospitalA", "NOTE": 'a "quoted" value with 100% and \\'},
        ),
    ]
    units = systemd_units(
        specs,
        prefix="fabrx-pharma-HospitalA",
        description="HospitalA (HospitalAMSP) in consortium pharma",
        user="fabrx",
        group="fabrx",
        path="/opt/fabrx/bin:/usr/bin:/bin",
    )
    assert units.target == "fabrx-pharma-HospitalA.target"
    return dict(units.files)


def _settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("[")]


def test_each_node_gets_a_service_that_restarts_on_failure_after_the_network_as_its_user(
    tmp_path: Path,
) -> None:
    files = _units(tmp_path)
    assert list(files) == [
        "fabrx-pharma-HospitalA.target",
        "fabrx-pharma-HospitalA-ca.HospitalA.service",
        "fabrx-pharma-HospitalA-peer0.HospitalA.service",
    ]
    peer = _settings(files["fabrx-pharma-HospitalA-peer0.HospitalA.service"])
    for setting in (
        "Description=fabrx peer peer0.HospitalA of HospitalA (HospitalAMSP) in consortium pharma",
        "After=network-online.target",
        "Wants=network-online.target",
        "PartOf=fabrx-pharma-HospitalA.target",
        "Type=simple",
        "User=fabrx",
        "Group=fabrx",
        f"WorkingDirectory={tmp_path}/run/nodes/peer0.HospitalA",
        "UMask=0077",
        "Restart=on-failure",
        "RestartSec=5",
        f"StandardOutput=append:{tmp_path}/run/logs/peer0.HospitalA.log",
        f"StandardError=append:{tmp_path}/run/logs/peer0.HospitalA.log",
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "WantedBy=fabrx-pharma-HospitalA.target",
        'Environment="CORE_PEER_ID=peer0.HospitalA"',
        'Environment="PATH=/opt/fabrx/bin:/usr/bin:/bin"',
        # quotes and backslashes escaped, % doubled (systemd specifiers)
        'Environment="NOTE=a \\"quoted\\" value with 100%% and \\\\"',
        # $ doubled (no variable expansion), % doubled, an argument with spaces quoted
        f'ExecStart={sys.executable} -c "print(\\"50%% $$HOME\\")"',
    ):
        assert setting in peer, setting
    target = _settings(files["fabrx-pharma-HospitalA.target"])
    assert (
        "Wants=fabrx-pharma-HospitalA-ca.HospitalA.service fabrx-pharma-HospitalA-peer0.HospitalA.service"
        in target
    )
    assert "WantedBy=multi-user.target" in target and "After=network-online.target" in target


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of Debian's systemd package, on every Debian host"
    files = _units(tmp_path)
    folder = tmp_path / "units"
    for name, text in files.items():
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *(str(folder / name) for name in files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
    )
    # The account need not exist on the machine that writes the units; anything else is a finding.
    findings = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 0 and findings == [], result.stderr


def test_written_units_are_readable_by_systemd_and_hold_no_secret(tmp_path: Path) -> None:
    specs = [_spec(tmp_path, "peer0.HospitalA", "peer", ("/usr/bin/peer", "node", "start"), {"A": "b"})]
    units = systemd_units(
        specs, prefix="fabrx-pharma-HospitalA", description="HospitalA", user="fabrx", path="/bin"
    )
    written = units.write(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(units.files)
    assert {p.stat().st_mode & 0o777 for p in written} == {0o644}
    assert "Group=" not in units.files["fabrx-pharma-HospitalA-peer0.HospitalA.service"]


@pytest.mark.parametrize(
    ("user", "group", "prefix", "message"),
    [
        ("root; rm -rf /", None, "fabrx-x", "is not a valid user name"),
        ("fabrx", "Bad Group", "fabrx-x", "is not a valid group name"),
        ("fabrx", None, "fabrx x", "cannot start a unit name"),
    ],
)
def test_bad_names_are_refused(
    tmp_path: Path, user: str, group: str | None, prefix: str, message: str
) -> None:
    specs = [_spec(tmp_path, "peer0.A", "peer", ("/bin/true",), {})]
    with pytest.raises(NetworkError, match=message):
        systemd_units(specs, prefix=prefix, description="A", user=user, group=group, path="/bin")


def test_no_node_no_units(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="no node"):
        systemd_units([], prefix="fabrx-x", description="A", user="fabrx", path="/bin")
