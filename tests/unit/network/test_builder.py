"""fabrx's CCaaS external builder, run as the peer runs it: subprocesses with a pruned environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fabrx_network.builders import CCAAS_BUILDER_EXECUTABLES, ccaas_builder_dir, copy_ccaas_builder

BUILDER = ccaas_builder_dir()
CONNECTION = {
    "address": "127.0.0.1:22100",
    "dial_timeout": "10s",
    "tls_required": True,
    "client_auth_required": False,
    "root_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


def run(
    step: str, *args: Path, config: str | None = None, builder: Path = BUILDER
) -> subprocess.CompletedProcess[str]:
    # The peer passes only PATH, LD_LIBRARY_PATH, LIBPATH, TMPDIR and the propagated variables.
    env = {"PATH": os.environ["PATH"]}
    if config is not None:
        env["CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"] = config
    return subprocess.run(
        [str(builder / "bin" / step), *map(str, args)], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, Path]:
    """An unpacked ccaas package as the peer hands it over: (source dir, metadata dir)."""
    source, metadata = tmp_path / "src", tmp_path / "meta"
    source.mkdir()
    metadata.mkdir()
    (metadata / "metadata.json").write_text(json.dumps({"type": "ccaas", "label": "pharma_1.0"}))
    (source / "connection.json").write_text(json.dumps(CONNECTION))
    return source, metadata


def test_the_packaged_builder_is_executable() -> None:
    for name in CCAAS_BUILDER_EXECUTABLES:
        assert os.access(BUILDER / "bin" / name, os.X_OK), name


@pytest.mark.parametrize("kind", ["ccaas", "CCaaS", "CCAAS"])
def test_detect_claims_ccaas_packages_in_any_case(package: tuple[Path, Path], kind: str) -> None:
    source, metadata = package
    (metadata / "metadata.json").write_text(json.dumps({"type": kind, "label": "x"}))

    assert run("detect", source, metadata).returncode == 0


def test_detect_declines_other_packages_silently(package: tuple[Path, Path]) -> None:
    source, metadata = package
    (metadata / "metadata.json").write_text(json.dumps({"type": "golang", "label": "x", "path": "y"}))

    result = run("detect", source, metadata)

    assert (result.returncode, result.stderr) == (1, "")


def test_detect_reports_unreadable_metadata(package: tuple[Path, Path]) -> None:
    source, metadata = package
    (metadata / "metadata.json").write_text("{not json")

    result = run("detect", source, metadata)

    assert result.returncode == 1
    assert f"cannot read {metadata / 'metadata.json'}" in result.stderr


def test_build_then_release_put_connection_and_indexes_where_the_peer_reads_them(
    package: tuple[Path, Path], tmp_path: Path
) -> None:
    source, metadata = package
    index = source / "META-INF" / "statedb" / "couchdb" / "indexes" / "byOwner.json"
    index.parent.mkdir(parents=True)
    index.write_text('{"index": {"fields": ["owner"]}}')
    output, release = tmp_path / "out", tmp_path / "release"
    output.mkdir()
    release.mkdir()

    built = run("build", source, metadata, output)
    released = run("release", output, release)

    assert (built.returncode, built.stderr) == (0, "")
    assert (released.returncode, released.stderr) == (0, "")
    assert json.loads((output / "connection.json").read_text()) == CONNECTION
    assert json.loads((release / "chaincode" / "server" / "connection.json").read_text()) == CONNECTION
    assert (release / "statedb" / "couchdb" / "indexes" / "byOwner.json").read_text() == index.read_text()


def test_release_without_meta_inf_writes_only_the_connection(
    package: tuple[Path, Path], tmp_path: Path
) -> None:
    source, metadata = package
    output, release = tmp_path / "out", tmp_path / "release"

    assert run("build", source, metadata, output).returncode == 0
    assert run("release", output, release).returncode == 0

    assert sorted(str(p.relative_to(release)) for p in release.rglob("*")) == [
        "chaincode",
        "chaincode/server",
        "chaincode/server/connection.json",
    ]


def test_build_fills_placeholders_from_the_builder_config(package: tuple[Path, Path], tmp_path: Path) -> None:
    source, metadata = package
    (source / "connection.json").write_text(
        json.dumps({**CONNECTION, "address": "{{.peername}}-cc:{{ .port }}", "dial_timeout": "10s"})
    )

    result = run(
        "build", source, metadata, tmp_path / "out", config='{"peername": "peer0-hospital-a", "port": 22101}'
    )

    assert result.returncode == 0, result.stderr
    connection = json.loads((tmp_path / "out" / "connection.json").read_text())
    assert connection["address"] == "peer0-hospital-a-cc:22101"
    assert connection["root_cert"] == CONNECTION["root_cert"]


def test_build_names_a_placeholder_missing_from_the_config(
    package: tuple[Path, Path], tmp_path: Path
) -> None:
    source, metadata = package
    (source / "connection.json").write_text(json.dumps({**CONNECTION, "address": "{{.peername}}:7052"}))

    missing_key = run("build", source, metadata, tmp_path / "out", config='{"port": 1}')
    no_config = run("build", source, metadata, tmp_path / "out2")

    assert missing_key.returncode == 1
    assert "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG has no key 'peername'" in missing_key.stderr
    assert no_config.returncode == 1
    assert "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG is not set" in no_config.stderr
    assert not (tmp_path / "out" / "connection.json").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{broken", "cannot read"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({"dial_timeout": "10s"}), 'has no "address"'),
        (json.dumps({"address": "  "}), 'has no "address"'),
    ],
)
def test_build_rejects_a_bad_connection_json(
    package: tuple[Path, Path], tmp_path: Path, content: str, expected: str
) -> None:
    source, metadata = package
    (source / "connection.json").write_text(content)

    result = run("build", source, metadata, tmp_path / "out")

    assert result.returncode == 1
    assert result.stderr.startswith("fabrx ccaas build: ")
    assert expected in result.stderr
    assert str(source / "connection.json") in result.stderr


def test_build_without_connection_json_explains_the_package_layout(
    package: tuple[Path, Path], tmp_path: Path
) -> None:
    source, metadata = package
    (source / "connection.json").unlink()

    result = run("build", source, metadata, tmp_path / "out")

    assert result.returncode == 1
    assert "code.tar.gz must contain connection.json" in result.stderr


def test_build_rejects_an_invalid_builder_config(package: tuple[Path, Path], tmp_path: Path) -> None:
    source, metadata = package

    result = run("build", source, metadata, tmp_path / "out", config="[1]")

    assert result.returncode == 1
    assert "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG must be a JSON object" in result.stderr


def test_release_before_build_fails_clearly(tmp_path: Path) -> None:
    result = run("release", tmp_path / "out", tmp_path / "release")

    assert result.returncode == 1
    assert f"{tmp_path / 'out' / 'connection.json'} not found; did build run?" in result.stderr


@pytest.mark.parametrize("step", CCAAS_BUILDER_EXECUTABLES)
def test_wrong_argument_count_prints_usage(step: str) -> None:
    result = run(step)

    assert result.returncode == 1
    assert result.stderr.startswith(f"usage: {step} ")


def test_copied_builder_works_from_its_new_folder(package: tuple[Path, Path], tmp_path: Path) -> None:
    copy = copy_ccaas_builder(tmp_path / "run" / "builders" / "ccaas")

    assert copy == tmp_path / "run" / "builders" / "ccaas"
    assert sorted(p.name for p in (copy / "bin").iterdir()) == sorted(CCAAS_BUILDER_EXECUTABLES)
    assert run("detect", *package, builder=copy).returncode == 0
