"""The Fabric installer against a fake ``go`` on PATH: argv, environment, atomic install, sources, errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from fabrx_network.errors import InstallError
from fabrx_network.install import (
    FABRIC_BINARIES,
    FABRIC_CA_BINARIES,
    SAMPLE_CONFIG_FILES,
    FabricInstall,
    cache_root,
    doctor,
    ensure_fabric,
    find_fabric,
)

FAKE_GO = """#!{python}
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_GO_LOG"], "a") as log:
    recorded = {{k: os.environ.get(k) for k in ("GOFLAGS", "GOPROXY", "GOBIN", "CGO_ENABLED")}}
    log.write(json.dumps({{"argv": args, "cwd": os.getcwd(), "env": recorded}}) + "\\n")
if args[:1] == ["version"]:
    print("go version go1.99.0 linux/amd64")
    sys.exit(0)
if os.environ.get("FAKE_GO_FAIL"):
    for number in range(30):
        print(f"compiling package {{number}}", file=sys.stderr)
    print("link: write /cache/peer: no space left on device", file=sys.stderr)
    sys.exit(2)
if args[:2] == ["mod", "download"]:
    print(json.dumps({{"Path": "github.com/hyperledger/fabric-ca", "Dir": os.environ["FAKE_CA_DIR"]}}))
    sys.exit(0)
if args[:1] == ["install"]:
    version = os.environ["FAKE_CA_VERSION"]
    for arg in args:
        if "metadata.Version=" in arg:
            version = arg.split("metadata.Version=")[1].split()[0]
    gobin = Path(os.environ["GOBIN"])
    assert gobin.is_absolute()
    gobin.mkdir(parents=True, exist_ok=True)
    for arg in args:
        if arg.startswith("./cmd/"):
            name = arg[len("./cmd/"):]
            (gobin / name).write_text(f"#!/bin/sh\\necho '{{name}}:'\\necho ' Version: {{version}}'\\n")
            (gobin / name).chmod(0o755)
    sys.exit(0)
sys.exit(3)
"""


@pytest.fixture
def go_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``go`` first on PATH; returns the file where it logs each call as a JSON line."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(FAKE_GO.format(python=sys.executable))
    go.chmod(0o755)
    ca_dir = tmp_path / "modcache" / "fabric-ca@v1.5.21"
    ca_dir.mkdir(parents=True)
    (ca_dir / "go.mod").write_text("module github.com/hyperledger/fabric-ca\n\ngo 1.24\n")
    log = tmp_path / "go.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GO_LOG", str(log))
    monkeypatch.setenv("FAKE_CA_DIR", str(ca_dir))
    monkeypatch.setenv("FAKE_CA_VERSION", "1.5.21")
    for variable in ("FABRIC_BIN", "FABRIC_SRC", "FABRX_CACHE", "FABRX_SHARED_FABRIC"):
        monkeypatch.delenv(variable, raising=False)
    return log


def go_calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def builds(log: Path) -> list[dict[str, Any]]:
    return [call for call in go_calls(log) if call["argv"] != ["version"]]


def write_fabric_tree(root: Path, *, vendored: bool = True) -> Path:
    tree = root / "fabric-3.1.5"
    (tree / "cmd" / "peer").mkdir(parents=True)
    (tree / "go.mod").write_text("module github.com/hyperledger/fabric\n\ngo 1.26.4\n")
    (tree / "sampleconfig").mkdir()
    for name in SAMPLE_CONFIG_FILES:
        (tree / "sampleconfig" / name).write_text(f"# sample {name}\n")
    if vendored:
        (tree / "vendor").mkdir()
        (tree / "vendor" / "modules.txt").write_text("# vendored\n")
    return tree


def write_archive(tree: Path, archive: Path) -> Path:
    with (
        tarfile.open(archive, "w:xz")
        if archive.name.endswith(".xz")
        else tarfile.open(archive, "w:gz") as tar
    ):
        tar.add(tree, arcname=tree.name)
    return archive


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A shared folder like ../shared/fabric: the 3.1.5 bundle and a matching SHA256SUMS."""
    folder = tmp_path / "shared"
    folder.mkdir()
    archive = write_archive(write_fabric_tree(tmp_path / "bundle"), folder / "fabric-3.1.5-src.tar.xz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{'0' * 64}  fabric-2.5.16-src.tar.xz\n{digest}  {archive.name}\n")
    return folder


def write_release(
    root: Path, version: str, *, with_config: bool = True, ca_version: str | None = None
) -> Path:
    """An unpacked release: bin/ with scripts that print ``version``, and config/ beside it."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    names = [(name, version) for name in FABRIC_BINARIES]
    names += [(name, ca_version) for name in FABRIC_CA_BINARIES if ca_version]
    for name, reported in names:
        (bin_dir / name).write_text(f"#!/bin/sh\necho '{name}:'\necho ' Version: {reported}'\n")
        (bin_dir / name).chmod(0o755)
    if with_config:
        (root / "config").mkdir()
        for name in SAMPLE_CONFIG_FILES:
            (root / "config" / name).write_text(f"# release {name}\n")
    return bin_dir


def test_builds_from_shared_bundle_with_the_offline_go_commands(
    go_log: Path, shared: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    lines: list[str] = []

    installed = ensure_fabric(cache_dir=cache, shared_dir=shared, progress=lines.append)

    fabric_build, ca_download, ca_build = builds(go_log)
    assert fabric_build["argv"] == [
        "install",
        "-trimpath",
        "-ldflags",
        "-X github.com/hyperledger/fabric/common/metadata.Version=3.1.5 "
        "-X github.com/hyperledger/fabric/common/metadata.CommitSHA=86c1172",
        *(f"./cmd/{name}" for name in FABRIC_BINARIES),
    ]
    env = fabric_build["env"]
    assert env["GOFLAGS"] == "-mod=vendor"
    assert env["GOPROXY"] == "off"
    assert str(env["GOBIN"]).startswith(str(cache / ".fabric-3.1.5.staging-"))
    assert str(fabric_build["cwd"]).endswith("/src/fabric-3.1.5")
    assert ca_download["argv"] == ["mod", "download", "-json", "github.com/hyperledger/fabric-ca@v1.5.21"]
    assert ca_build["argv"] == ["install", "-trimpath", "./cmd/fabric-ca-server", "./cmd/fabric-ca-client"]
    assert ca_build["cwd"] == os.environ["FAKE_CA_DIR"]
    assert ca_build["env"] == {
        "GOFLAGS": "-mod=mod",
        "GOPROXY": os.environ.get("GOPROXY"),
        "GOBIN": ca_build["env"]["GOBIN"],
        "CGO_ENABLED": "1",
    }

    assert installed == FabricInstall(
        "3.1.5", cache / "fabric-3.1.5" / "bin", cache / "fabric-3.1.5" / "config", "1.5.21",
        cache / "fabric-ca-1.5.21" / "bin",
    )  # fmt: skip
    assert installed.binary("peer") == cache / "fabric-3.1.5" / "bin" / "peer"
    assert installed.binary("fabric-ca-server") == cache / "fabric-ca-1.5.21" / "bin" / "fabric-ca-server"
    assert (installed.config_dir / "core.yaml").read_text() == "# sample core.yaml\n"
    marker = json.loads((cache / "fabric-3.1.5" / "install.json").read_text())
    assert marker["version"] == "3.1.5"
    assert marker["source"] == str(shared / "fabric-3.1.5-src.tar.xz")
    assert marker["sha256"] == hashlib.sha256((shared / "fabric-3.1.5-src.tar.xz").read_bytes()).hexdigest()
    assert not (cache / "fabric-3.1.5" / "src").exists()
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [
        "fabric-3.1.5",
        "fabric-ca-1.5.21",
    ]
    assert lines[0] == "verifying sha256 of fabric-3.1.5-src.tar.xz"
    assert any(line.startswith("building peer orderer") for line in lines)
    assert find_fabric(cache_dir=cache) == installed


def test_second_call_skips_the_build_when_installed(go_log: Path, shared: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    ensure_fabric(cache_dir=cache, shared_dir=shared)
    calls = len(builds(go_log))
    lines: list[str] = []

    ensure_fabric(cache_dir=cache, shared_dir=shared, progress=lines.append)

    assert len(builds(go_log)) == calls
    assert lines == [
        f"Fabric 3.1.5 already installed in {cache / 'fabric-3.1.5'}",
        f"Fabric CA 1.5.21 already installed in {cache / 'fabric-ca-1.5.21'}",
    ]


def test_library_prints_nothing(
    go_log: Path, shared: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ensure_fabric(cache_dir=tmp_path / "cache", shared_dir=shared)

    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_checksum_mismatch_names_the_file_and_both_hashes(go_log: Path, shared: Path, tmp_path: Path) -> None:
    archive = shared / "fabric-3.1.5-src.tar.xz"
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    (shared / "SHA256SUMS").write_text(f"{'ab' * 32}  {archive.name}\n")
    cache = tmp_path / "cache"

    with pytest.raises(InstallError) as raised:
        ensure_fabric(cache_dir=cache, shared_dir=shared)

    message = str(raised.value)
    assert f"SHA-256 mismatch for {archive}" in message
    assert f"expected {'ab' * 32}, got {actual}" in message
    assert raised.value.step == "verify sha256"
    assert builds(go_log) == []
    assert find_fabric(cache_dir=cache) is None
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_archive_missing_from_sha256sums_is_refused(go_log: Path, shared: Path, tmp_path: Path) -> None:
    (shared / "SHA256SUMS").write_text(f"{'0' * 64}  other.tar.xz\n")

    with pytest.raises(InstallError, match=r"lists no checksum for fabric-3\.1\.5-src\.tar\.xz"):
        ensure_fabric(cache_dir=tmp_path / "cache", shared_dir=shared)


def test_failed_build_installs_nothing_and_reports_source_output_and_fix(
    go_log: Path, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GO_FAIL", "1")
    cache = tmp_path / "cache"

    with pytest.raises(InstallError) as raised:
        ensure_fabric(cache_dir=cache, shared_dir=shared)

    error = raised.value
    message = str(error)
    assert error.source == str(shared / "fabric-3.1.5-src.tar.xz")
    assert error.step == "go install (Fabric)"
    assert "go install (Fabric) failed with exit status 2" in message
    assert "GOFLAGS=-mod=vendor GOPROXY=off go install -trimpath" in message
    assert error.output[-1] == "link: write /cache/peer: no space left on device"
    assert len(error.output) == 20
    assert "Go >= 1.26.4" in error.hint and "FABRIC_BIN" in error.hint
    assert f"source: {shared / 'fabric-3.1.5-src.tar.xz'}" in message
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_half_finished_entry_is_replaced_not_trusted(go_log: Path, shared: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    leftover = cache / "fabric-3.1.5"
    write_release(leftover, "3.1.5")  # binaries and config, but no install.json
    (leftover / "bin.tmp").mkdir()
    (cache / ".fabric-3.1.5.staging-abc123").mkdir()  # an interrupted earlier build
    assert find_fabric(cache_dir=cache) is None

    ensure_fabric(cache_dir=cache, shared_dir=shared)

    assert len(builds(go_log)) == 3
    assert not (leftover / "bin.tmp").exists()
    assert (leftover / "install.json").is_file()
    assert not (cache / ".fabric-3.1.5.staging-abc123").exists()
    assert find_fabric(cache_dir=cache) is not None


def test_entry_with_a_missing_binary_is_not_installed(go_log: Path, shared: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    ensure_fabric(cache_dir=cache, shared_dir=shared)
    (cache / "fabric-3.1.5" / "bin" / "osnadmin").unlink()

    assert find_fabric(cache_dir=cache) is None


def test_fabric_bin_release_is_copied_and_version_checked(go_log: Path, tmp_path: Path) -> None:
    release = write_release(tmp_path / "release", "3.1.5")
    cache = tmp_path / "cache"

    installed = ensure_fabric(cache_dir=cache, fabric_bin=release)

    assert [call["argv"][0] for call in builds(go_log)] == ["mod", "install"]  # only Fabric CA was built
    assert not installed.binary("peer").is_symlink()
    assert installed.binary("peer").read_bytes() == (release / "peer").read_bytes()
    assert (installed.config_dir / "orderer.yaml").read_text() == "# release orderer.yaml\n"
    assert (
        json.loads((cache / "fabric-3.1.5" / "install.json").read_text())["source"] == f"FABRIC_BIN={release}"
    )


def test_fabric_bin_with_ca_binaries_needs_no_go(
    go_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = write_release(tmp_path / "release", "3.1.5", ca_version="1.5.21")
    monkeypatch.setenv("FABRIC_BIN", str(release))

    installed = ensure_fabric(cache_dir=tmp_path / "cache")

    assert builds(go_log) == []
    assert installed.binary("fabric-ca-client").is_file()


def test_fabric_bin_of_another_version_is_refused(go_log: Path, tmp_path: Path) -> None:
    release = write_release(tmp_path / "release", "2.5.4")

    with pytest.raises(InstallError) as raised:
        ensure_fabric(cache_dir=tmp_path / "cache", fabric_bin=release)

    assert "reports version 2.5.4, but Fabric 3.1.5 was requested" in str(raised.value)
    assert raised.value.source == f"FABRIC_BIN={release}"
    assert find_fabric(cache_dir=tmp_path / "cache") is None


def test_fabric_bin_without_sibling_config_is_refused(go_log: Path, tmp_path: Path) -> None:
    release = write_release(tmp_path / "release", "3.1.5", with_config=False)

    with pytest.raises(InstallError) as raised:
        ensure_fabric(cache_dir=tmp_path / "cache", fabric_bin=release)

    assert f"in {tmp_path / 'release' / 'config'}" in str(raised.value)
    assert "core.yaml" in str(raised.value)
    assert "unpack the whole Fabric release archive" in raised.value.hint


def test_fabric_bin_missing_a_binary_is_refused(go_log: Path, tmp_path: Path) -> None:
    release = write_release(tmp_path / "release", "3.1.5")
    (release / "cryptogen").unlink()

    with pytest.raises(InstallError, match="lacks the executable\\(s\\) cryptogen"):
        ensure_fabric(cache_dir=tmp_path / "cache", fabric_bin=release)


def test_fabric_src_tree_without_vendor_lets_go_use_its_proxy(
    go_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = write_fabric_tree(tmp_path / "upstream", vendored=False)
    monkeypatch.setenv("FABRIC_SRC", str(tree))
    monkeypatch.setenv("GOPROXY", "https://proxy.example")

    ensure_fabric(cache_dir=tmp_path / "cache")

    fabric_build = builds(go_log)[0]
    assert fabric_build["cwd"] == str(tree)
    assert fabric_build["env"]["GOFLAGS"] == "-mod=mod"
    assert fabric_build["env"]["GOPROXY"] == "https://proxy.example"
    # The commit of an arbitrary tree is unknown, so only the version is stamped.
    assert fabric_build["argv"][3] == "-X github.com/hyperledger/fabric/common/metadata.Version=3.1.5"


def test_fabric_src_archive_is_extracted_and_built_offline_when_vendored(
    go_log: Path, tmp_path: Path
) -> None:
    archive = write_archive(write_fabric_tree(tmp_path / "upstream"), tmp_path / "fabric-v3.1.5.tar.gz")
    cache = tmp_path / "cache"

    ensure_fabric(cache_dir=cache, fabric_src=archive)

    fabric_build = builds(go_log)[0]
    assert fabric_build["env"]["GOPROXY"] == "off"
    marker = json.loads((cache / "fabric-3.1.5" / "install.json").read_text())
    assert marker["source"] == f"FABRIC_SRC={archive}"
    assert marker["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_fabric_src_that_is_not_fabric_is_refused(go_log: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "go.mod").write_text("module example.com/other\n")

    with pytest.raises(InstallError, match="holds no Fabric source tree"):
        ensure_fabric(cache_dir=tmp_path / "cache", fabric_src=other)


def test_no_source_at_all_says_which_variables_to_set(go_log: Path, tmp_path: Path) -> None:
    with pytest.raises(InstallError) as raised:
        ensure_fabric(cache_dir=tmp_path / "cache", shared_dir=tmp_path / "nowhere")

    assert str(tmp_path / "nowhere" / "fabric-3.1.5-src.tar.xz") == raised.value.source
    assert "FABRIC_BIN" in raised.value.hint and "FABRIC_SRC" in raised.value.hint


def test_missing_go_is_reported_with_a_fix(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(InstallError) as raised:
        ensure_fabric(cache_dir=tmp_path / "cache", shared_dir=shared)

    assert "the go command is not on PATH" in str(raised.value)
    assert "install Go" in raised.value.hint


def test_cache_root_prefers_fabrx_cache_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root({"FABRX_CACHE": "/srv/fabrx", "XDG_CACHE_HOME": "/x"}) == Path("/srv/fabrx")
    assert cache_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/fabrx")
    assert cache_root({}) == tmp_path / ".cache" / "fabrx"


def test_binary_rejects_unknown_names(tmp_path: Path) -> None:
    installed = FabricInstall("3.1.5", tmp_path / "b", tmp_path / "c", "1.5.21", tmp_path / "ca")

    with pytest.raises(KeyError, match="unknown Fabric binary 'discover'"):
        installed.binary("discover")


def test_doctor_reports_each_binary_version_and_mismatches(
    go_log: Path, shared: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    ensure_fabric(cache_dir=cache, shared_dir=shared)
    report = doctor(cache_dir=cache)
    assert {status.name: status.version for status in report.binaries} == {
        **dict.fromkeys(FABRIC_BINARIES, "3.1.5"),
        **dict.fromkeys(FABRIC_CA_BINARIES, "1.5.21"),
    }
    assert all(status.problem is None for status in report.binaries)
    assert next(tool for tool in report.tools if tool.name == "go").version == "1.99.0"

    (cache / "fabric-3.1.5" / "bin" / "orderer").write_text("#!/bin/sh\necho ' Version: 2.5.16'\n")
    report = doctor(cache_dir=cache)

    assert "orderer: reports 2.5.16, expected 3.1.5" in report.problems
    assert not report.ok


def test_doctor_on_an_empty_cache_lists_what_is_missing(go_log: Path, tmp_path: Path) -> None:
    report = doctor(cache_dir=tmp_path / "empty")

    assert all(status.path is None for status in report.binaries)
    assert (
        f"peer: not installed (expected {tmp_path / 'empty' / 'fabric-3.1.5' / 'bin' / 'peer'})"
        in report.problems
    )
    assert any("fabrx fabric install" in problem for problem in report.problems)


def test_archive_members_escaping_the_folder_are_refused(go_log: Path, tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"x"
        member = tarfile.TarInfo("../escaped.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))

    with pytest.raises(InstallError, match="cannot extract"):
        ensure_fabric(cache_dir=tmp_path / "cache", fabric_src=archive)
    assert not (tmp_path / "cache" / "escaped.txt").exists()
