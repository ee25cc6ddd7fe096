"""Install Hyperledger Fabric and Fabric CA binaries into a per-user cache, and report what is installed.

Cache layout (root: ``$FABRX_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/fabrx``)::

    fabric-<version>/bin/        peer orderer configtxgen configtxlator osnadmin cryptogen
    fabric-<version>/config/     core.yaml orderer.yaml configtx.yaml (Fabric's sample configuration)
    fabric-<version>/install.json
    fabric-ca-<version>/bin/     fabric-ca-server fabric-ca-client
    fabric-ca-<version>/install.json

The cache lives outside any clone, so every clone and CI run on the machine reuses one install. An entry
counts as installed only when its ``install.json`` names the version and every binary and config file is
there. Each entry is assembled in a staging folder inside the cache and renamed into place as a whole, so
an interrupted build never looks installed; a lock file serialises concurrent installers.

Fabric sources, first match wins:

1. ``FABRIC_BIN``: a folder of prebuilt Fabric release binaries, with the release's ``config/`` folder
   beside it. Its ``peer version`` must report the requested version. The binaries are *copied* into the
   cache so the install stays valid when that folder moves or goes away. If the folder also holds
   ``fabric-ca-server`` and ``fabric-ca-client`` of the requested CA version, they are used too.
2. ``FABRIC_SRC``: an upstream Fabric source archive (``.tar.gz``/``.tgz``/``.tar.xz``) or source tree.
   With a ``vendor/`` folder it builds offline; without one Go fetches modules through its proxy.
3. The project's shared source bundle ``fabric-<version>-src.tar.xz`` (``$FABRX_SHARED_FABRIC``, else
   ``<project root>/../shared/fabric``), checked against its ``SHA256SUMS`` before extraction.

Fabric CA is built with ``go install`` from the module that ``go mod download`` fetches from the Go module
proxy (``go install module@version`` cannot be used: it asks the proxy for the version list, which some
proxies refuse).

Nothing here prints: progress lines go to the ``progress`` callback, failures raise :class:`InstallError`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fabrx_network.errors import InstallError

__all__ = [
    "FABRIC_BINARIES",
    "FABRIC_CA_BINARIES",
    "FABRIC_CA_VERSION",
    "FABRIC_VERSION",
    "SAMPLE_CONFIG_FILES",
    "BinaryStatus",
    "DoctorReport",
    "FabricInstall",
    "InstallError",
    "ProgressFn",
    "ToolStatus",
    "cache_root",
    "doctor",
    "ensure_fabric",
    "find_fabric",
    "shared_fabric_dir",
]

FABRIC_VERSION = "3.1.5"
FABRIC_CA_VERSION = "1.5.21"
FABRIC_BINARIES = ("peer", "orderer", "configtxgen", "configtxlator", "osnadmin", "cryptogen")
FABRIC_CA_BINARIES = ("fabric-ca-server", "fabric-ca-client")
SAMPLE_CONFIG_FILES = ("core.yaml", "orderer.yaml", "configtx.yaml")

ProgressFn = Callable[[str], None]
"""Receives one human-readable progress line at a time (steps, and Go's output when verbose)."""

_MARKER = "install.json"
_FABRIC_MODULE = "github.com/hyperledger/fabric"
_FABRIC_CA_MODULE = "github.com/hyperledger/fabric-ca"
_METADATA_PKG = "github.com/hyperledger/fabric/common/metadata"
# Commits of the shared source bundles (../shared/fabric/README.md), stamped into `peer version`.
_BUNDLE_COMMITS = {"3.1.5": "86c1172", "2.5.16": "f871cf9"}
_OUTPUT_TAIL = 20
_VERSION_LINE = re.compile(r"^\s*Version:\s*(\S+)", re.MULTILINE)
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar")


@dataclass(frozen=True)
class FabricInstall:
    """Where one installed Fabric + Fabric CA pair lives."""

    version: str
    bin_dir: Path
    config_dir: Path
    ca_version: str
    ca_bin_dir: Path

    def binary(self, name: str) -> Path:
        """Path of a Fabric or Fabric CA binary, e.g. ``binary("peer")``.

        Raises:
            KeyError: ``name`` is not one of :data:`FABRIC_BINARIES` or :data:`FABRIC_CA_BINARIES`.
        """
        if name in FABRIC_BINARIES:
            return self.bin_dir / name
        if name in FABRIC_CA_BINARIES:
            return self.ca_bin_dir / name
        raise KeyError(
            f"unknown Fabric binary {name!r}; known: {', '.join(FABRIC_BINARIES + FABRIC_CA_BINARIES)}"
        )


# --- locations -------------------------------------------------------------------------------------------


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder: ``$FABRX_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/fabrx``."""
    env = os.environ if environ is None else environ
    if env.get("FABRX_CACHE"):
        return Path(env["FABRX_CACHE"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "fabrx"


def shared_fabric_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder holding the shared Fabric source bundles, or None when there is none to look at.

    ``$FABRX_SHARED_FABRIC`` wins; otherwise, when this package runs from a clone (its folder sits in
    ``<project root>/network/``), ``<project root>/../shared/fabric``.
    """
    env = os.environ if environ is None else environ
    if env.get("FABRX_SHARED_FABRIC"):
        return Path(env["FABRX_SHARED_FABRIC"]).expanduser()
    package_dir = Path(__file__).resolve().parent
    if package_dir.parent.name != "network":
        return None
    return package_dir.parent.parent.parent / "shared" / "fabric"


@dataclass(frozen=True)
class _Entry:
    """One versioned cache entry, e.g. ``<cache>/fabric-3.1.5``."""

    cache: Path
    name: str
    version: str
    binaries: tuple[str, ...]
    config_files: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return self.cache / f"{self.name}-{self.version}"

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"

    @property
    def config_dir(self) -> Path:
        return self.path / "config"

    def marker(self) -> dict[str, object] | None:
        try:
            data = json.loads((self.path / _MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def is_installed(self) -> bool:
        marker = self.marker()
        if marker is None or marker.get("version") != self.version:
            return False
        binaries_ok = all(os.access(self.bin_dir / name, os.X_OK) for name in self.binaries)
        return binaries_ok and all((self.config_dir / name).is_file() for name in self.config_files)


def _entries(cache: Path, version: str, ca_version: str) -> tuple[_Entry, _Entry]:
    return (
        _Entry(cache, "fabric", version, FABRIC_BINARIES, SAMPLE_CONFIG_FILES),
        _Entry(cache, "fabric-ca", ca_version, FABRIC_CA_BINARIES),
    )


def find_fabric(
    version: str = FABRIC_VERSION, ca_version: str = FABRIC_CA_VERSION, *, cache_dir: Path | None = None
) -> FabricInstall | None:
    """The installed Fabric ``version`` and Fabric CA ``ca_version``, or None if either is missing.

    Never builds or downloads anything.
    """
    fabric, ca = _entries(cache_dir or cache_root(), version, ca_version)
    if not (fabric.is_installed() and ca.is_installed()):
        return None
    return FabricInstall(version, fabric.bin_dir, fabric.config_dir, ca_version, ca.bin_dir)


# --- ensure ----------------------------------------------------------------------------------------------


def ensure_fabric(
    version: str = FABRIC_VERSION,
    ca_version: str = FABRIC_CA_VERSION,
    *,
    cache_dir: Path | None = None,
    shared_dir: Path | None = None,
    fabric_bin: Path | None = None,
    fabric_src: Path | None = None,
    progress: ProgressFn | None = None,
    verbose: bool = False,
) -> FabricInstall:
    """Install Fabric ``version`` and Fabric CA ``ca_version`` into the cache unless already there.

    ``fabric_bin`` and ``fabric_src`` default to the ``FABRIC_BIN`` and ``FABRIC_SRC`` environment
    variables, ``shared_dir`` to :func:`shared_fabric_dir`, ``cache_dir`` to :func:`cache_root`; the module
    docstring gives the order in which sources are tried. With ``verbose``, Go lists each package it
    builds through ``progress``.

    Raises:
        InstallError: no usable source, a checksum mismatch, a version mismatch, or a failed build; the
            message names the source tried, what failed (with the tool's last output lines) and what to do.
    """
    report: ProgressFn = progress or (lambda _line: None)
    cache = cache_dir or cache_root()
    if fabric_bin is None and os.environ.get("FABRIC_BIN"):
        fabric_bin = Path(os.environ["FABRIC_BIN"]).expanduser()
    if fabric_src is None and os.environ.get("FABRIC_SRC"):
        fabric_src = Path(os.environ["FABRIC_SRC"]).expanduser()
    fabric, ca = _entries(cache, version, ca_version)

    if fabric.is_installed():
        report(f"Fabric {version} already installed in {fabric.path}")
    elif fabric_bin is not None:
        _install(
            fabric, f"FABRIC_BIN={fabric_bin}", report, lambda out: _copy_release(fabric_bin, out, version)
        )
    else:
        source, build = _fabric_source(version, fabric_src, shared_dir, report, verbose)
        _install(fabric, source, report, build)

    if ca.is_installed():
        report(f"Fabric CA {ca_version} already installed in {ca.path}")
    elif fabric_bin is not None and all((fabric_bin / name).is_file() for name in FABRIC_CA_BINARIES):
        _install(
            ca, f"FABRIC_BIN={fabric_bin}", report, lambda out: _copy_ca_release(fabric_bin, out, ca_version)
        )
    else:
        _install(
            ca,
            f"Go module {_FABRIC_CA_MODULE}@v{ca_version}",
            report,
            lambda out: _build_ca(ca_version, out, report, verbose),
        )

    return FabricInstall(version, fabric.bin_dir, fabric.config_dir, ca_version, ca.bin_dir)


_Fill = Callable[[Path], dict[str, object]]
"""Fills a staging folder (``bin/`` and ``config/``) and returns extra fields for ``install.json``."""


def _fabric_source(
    version: str, fabric_src: Path | None, shared_dir: Path | None, report: ProgressFn, verbose: bool
) -> tuple[str, _Fill]:
    """Pick the Fabric source to build from: FABRIC_SRC, else the shared bundle."""
    if fabric_src is not None:
        src = fabric_src

        def from_src(out: Path) -> dict[str, object]:
            return _build_fabric_from(
                src,
                out,
                version,
                source=f"FABRIC_SRC={src}",
                digest=None,
                commit=None,
                report=report,
                verbose=verbose,
            )

        return f"FABRIC_SRC={src}", from_src

    folder = shared_dir or shared_fabric_dir()
    archive = folder / f"fabric-{version}-src.tar.xz" if folder else None
    if archive is None or not archive.is_file():
        raise InstallError(
            f"no source for Fabric {version}: the shared source bundle was not found",
            source=str(archive) if archive else "shared source bundle (FABRX_SHARED_FABRIC not set)",
            step="locate source",
            hint="set FABRIC_BIN to a folder of prebuilt Fabric release binaries (with its config/ folder "
            "beside it), or FABRIC_SRC to an upstream Fabric source archive or tree, or FABRX_SHARED_FABRIC "
            "to the folder holding fabric-<version>-src.tar.xz and SHA256SUMS",
        )
    bundle = archive

    def from_bundle(out: Path) -> dict[str, object]:
        report(f"verifying sha256 of {bundle.name}")
        digest = _verify_sha256(bundle)
        return _build_fabric_from(
            bundle,
            out,
            version,
            source=str(bundle),
            digest=digest,
            commit=_BUNDLE_COMMITS.get(version),
            report=report,
            verbose=verbose,
        )

    return str(archive), from_bundle


@contextmanager
def _locked(entry: _Entry) -> Iterator[None]:
    """Hold an exclusive lock on one cache entry, so concurrent installers build it once."""
    entry.cache.mkdir(parents=True, exist_ok=True)
    with open(entry.cache / f".{entry.path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install(entry: _Entry, source: str, report: ProgressFn, fill: _Fill) -> None:
    """Assemble ``entry`` in a staging folder with ``fill`` and rename it into place."""
    with _locked(entry):
        if entry.is_installed():  # another installer finished while we waited for the lock
            report(f"{entry.path.name} already installed in {entry.path}")
            return
        for leftover in entry.cache.glob(f".{entry.path.name}.staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # an interrupted earlier run
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.path.name}.staging-", dir=entry.cache))
        staging.chmod(0o755)  # mkdtemp makes it private; the installed entry is ordinary readable files
        try:
            (staging / "bin").mkdir()
            details = fill(staging)
            missing = [name for name in entry.binaries if not os.access(staging / "bin" / name, os.X_OK)]
            missing += [
                f"config/{name}" for name in entry.config_files if not (staging / "config" / name).is_file()
            ]
            if missing:
                raise InstallError(
                    f"{entry.path.name}: the install produced no {', '.join(missing)}",
                    source=source,
                    step="check result",
                    hint="make sure the source is a complete upstream release of that version",
                )
            marker = {
                "name": entry.name,
                "version": entry.version,
                "source": source,
                "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **details,
            }
            (staging / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            _replace_dir(staging, entry.path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    report(f"installed {entry.path.name} into {entry.path}")


def _replace_dir(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, first moving aside whatever half-finished folder is there."""
    if target.exists() or target.is_symlink():
        stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale-", dir=target.parent))
        target.rename(stale / target.name)
        shutil.rmtree(stale, ignore_errors=True)
    staging.rename(target)


# --- Fabric from source ----------------------------------------------------------------------------------


def _verify_sha256(archive: Path) -> str:
    """Check ``archive`` against the ``SHA256SUMS`` beside it; returns the digest."""
    sums = archive.parent / "SHA256SUMS"
    expected = None
    try:
        for line in sums.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[1].lstrip("*") == archive.name:
                expected = fields[0].lower()
    except OSError as exc:
        raise InstallError(
            f"cannot read {sums}: {exc.strerror}",
            source=str(archive),
            step="verify sha256",
            hint="restore SHA256SUMS beside the archive",
        ) from exc
    if expected is None:
        raise InstallError(
            f"{sums} lists no checksum for {archive.name}",
            source=str(archive),
            step="verify sha256",
            hint="restore the SHA256SUMS that came with the archive",
        )
    actual = _sha256_file(archive)
    if actual != expected:
        raise InstallError(
            f"SHA-256 mismatch for {archive}: expected {expected}, got {actual}",
            source=str(archive),
            step="verify sha256",
            hint="the archive is corrupt or was replaced: restore it from the shared folder, "
            "or set FABRIC_BIN or FABRIC_SRC to another source",
        )
    return actual


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _build_fabric_from(
    src: Path,
    out: Path,
    version: str,
    *,
    source: str,
    digest: str | None,
    commit: str | None,
    report: ProgressFn,
    verbose: bool,
) -> dict[str, object]:
    """Build the Fabric binaries from an archive or tree ``src`` into ``out/bin``, config into ``out/config``.

    ``commit`` (short hash) is stamped into ``peer version`` when the source's commit is known.
    """
    if src.is_dir():
        tree = _fabric_tree(src, source)
    elif src.is_file() and src.name.endswith(_ARCHIVE_SUFFIXES):
        report(f"extracting {src.name}")
        digest = digest or _sha256_file(src)
        tree = _fabric_tree(_extract(src, out / "src", source), source)
    else:
        raise InstallError(
            f"{src} is neither a directory nor a .tar.gz/.tgz/.tar.xz archive",
            source=source,
            step="locate source",
            hint="point FABRIC_SRC at an upstream Fabric source archive or source tree",
        )
    vendored = (tree / "vendor").is_dir()
    ldflags = f"-X {_METADATA_PKG}.Version={version}"
    if commit is not None:
        ldflags += f" -X {_METADATA_PKG}.CommitSHA={commit}"
    env = {"GOBIN": str(out / "bin"), "GOFLAGS": "-mod=vendor" if vendored else "-mod=mod"}
    if vendored:
        env["GOPROXY"] = "off"  # everything is in vendor/: never touch the network
    names = " ".join(FABRIC_BINARIES)
    report(
        f"building {names} from Fabric {version} source (about 90 s on 2 cores, faster with a warm Go cache)"
    )
    started = time.monotonic()
    _run_go(
        [
            "install",
            *(["-v"] if verbose else []),
            "-trimpath",
            "-ldflags",
            ldflags,
            *(f"./cmd/{name}" for name in FABRIC_BINARIES),
        ],
        cwd=tree,
        env=env,
        source=source,
        step="go install (Fabric)",
        hint=_go_hint(tree, f"set FABRIC_BIN to a folder of prebuilt Fabric {version} binaries"),
        report=report,
        verbose=verbose,
    )
    report(f"built Fabric {version} in {time.monotonic() - started:.0f} s")
    config = out / "config"
    config.mkdir()
    for name in SAMPLE_CONFIG_FILES:
        sample = tree / "sampleconfig" / name
        if not sample.is_file():
            raise InstallError(
                f"the source has no sampleconfig/{name}",
                source=source,
                step="copy sample config",
                hint="use a complete upstream Fabric source tree (it ships sampleconfig/)",
            )
        shutil.copy2(sample, config / name)
    if (out / "src").exists():
        shutil.rmtree(out / "src")
    return {"sha256": digest, "vendored": vendored, "go": _go_version()}


def _extract(archive: Path, dest: Path, source: str) -> Path:
    dest.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(dest, filter="data")  # refuses absolute paths, links out of dest, device files
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InstallError(
            f"cannot extract {archive}: {exc}",
            source=source,
            step="extract",
            hint="check the archive is complete and that the cache has about 2 GB free",
        ) from exc
    return dest


def _fabric_tree(folder: Path, source: str) -> Path:
    """The Fabric module root: ``folder`` itself or its single top-level subfolder holding go.mod."""
    candidates = ([folder, *sorted(p for p in folder.iterdir() if p.is_dir())]) if folder.is_dir() else []
    for candidate in candidates:
        go_mod = candidate / "go.mod"
        if go_mod.is_file():
            first = go_mod.read_text(encoding="utf-8").splitlines()[:1]
            if first == [f"module {_FABRIC_MODULE}"] and (candidate / "cmd" / "peer").is_dir():
                return candidate
    raise InstallError(
        f"{folder} holds no Fabric source tree (a go.mod for module {_FABRIC_MODULE} with cmd/peer)",
        source=source,
        step="locate source",
        hint="point FABRIC_SRC at an upstream Fabric source archive or tree",
    )


# --- Fabric from prebuilt binaries -----------------------------------------------------------------------


def _copy_release(bin_dir: Path, out: Path, version: str) -> dict[str, object]:
    """Copy a release's binaries and its sibling ``config/`` folder into ``out``, checking the version."""
    source = f"FABRIC_BIN={bin_dir}"
    missing = [name for name in FABRIC_BINARIES if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        raise InstallError(
            f"{bin_dir} lacks the executable(s) {', '.join(missing)}",
            source=source,
            step="check binaries",
            hint=f"point FABRIC_BIN at the bin/ folder of an unpacked Fabric {version} release",
        )
    reported = _reported_version(bin_dir / "peer", ["version"])
    if reported != version:
        raise InstallError(
            f"{bin_dir / 'peer'} reports version {reported or 'unknown'}, but Fabric {version} was requested",
            source=source,
            step="check version",
            hint=f"point FABRIC_BIN at Fabric {version} binaries, or ask for version {reported}",
        )
    config = bin_dir.parent / "config"
    absent = [name for name in SAMPLE_CONFIG_FILES if not (config / name).is_file()]
    if absent:
        raise InstallError(
            f"no {', '.join(absent)} in {config}: Fabric's sample configuration must sit in a config/ folder "
            "beside the bin/ folder, as in release archives",
            source=source,
            step="copy sample config",
            hint="unpack the whole Fabric release archive (bin/ and config/), point FABRIC_BIN at its bin/",
        )
    for name in FABRIC_BINARIES:
        shutil.copy2(bin_dir / name, out / "bin" / name)
    (out / "config").mkdir()
    for name in SAMPLE_CONFIG_FILES:
        shutil.copy2(config / name, out / "config" / name)
    return {"sha256": None}


def _copy_ca_release(bin_dir: Path, out: Path, ca_version: str) -> dict[str, object]:
    reported = _reported_version(bin_dir / "fabric-ca-server", ["version"])
    if reported != ca_version:
        raise InstallError(
            f"{bin_dir / 'fabric-ca-server'} reports version {reported or 'unknown'}, "
            f"but Fabric CA {ca_version} was requested",
            source=f"FABRIC_BIN={bin_dir}",
            step="check version",
            hint=f"put Fabric CA {ca_version} binaries there, or remove them so fabrx builds the CA with Go",
        )
    for name in FABRIC_CA_BINARIES:
        shutil.copy2(bin_dir / name, out / "bin" / name)
    return {"sha256": None}


# --- Fabric CA from the Go module proxy ------------------------------------------------------------------


def _build_ca(ca_version: str, out: Path, report: ProgressFn, verbose: bool) -> dict[str, object]:
    module = f"{_FABRIC_CA_MODULE}@v{ca_version}"
    source = f"Go module {module}"
    report(f"downloading {module} through the Go module proxy")
    listing = _run_go(
        # GOFLAGS cleared: a user's -mod=vendor would make go refuse to download outside a module.
        ["mod", "download", "-json", module],
        cwd=out,
        env={"GOFLAGS": ""},
        source=source,
        step="go mod download",
        hint="check that Go can reach its module proxy (GOPROXY) and that the version exists",
        report=report,
        verbose=False,
    )
    try:
        module_dir = Path(json.loads(listing)["Dir"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InstallError(
            "go mod download printed no module folder",
            source=source,
            step="go mod download",
            output=tuple(listing.splitlines()[-_OUTPUT_TAIL:]),
            hint="run the same go mod download by hand",
        ) from exc
    report("building fabric-ca-server fabric-ca-client (about 70 s on 2 cores, faster with a warm Go cache)")
    started = time.monotonic()
    # The CA server's sqlite driver needs cgo; -mod=mod lets go resolve the module's own requirements.
    _run_go(
        [
            "install",
            *(["-v"] if verbose else []),
            "-trimpath",
            *(f"./cmd/{name}" for name in FABRIC_CA_BINARIES),
        ],
        cwd=module_dir,
        env={"CGO_ENABLED": "1", "GOFLAGS": "-mod=mod", "GOBIN": str(out / "bin")},
        source=source,
        step="go install (Fabric CA)",
        hint=_go_hint(
            module_dir,
            "check that a C compiler (gcc) is installed, since the CA needs cgo, "
            "or put prebuilt fabric-ca-server and fabric-ca-client into FABRIC_BIN",
        ),
        report=report,
        verbose=verbose,
    )
    report(f"built Fabric CA {ca_version} in {time.monotonic() - started:.0f} s")
    return {"module": module, "go": _go_version()}


# --- running go ------------------------------------------------------------------------------------------


def _run_go(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    source: str,
    step: str,
    hint: str,
    report: ProgressFn,
    verbose: bool,
) -> str:
    """Run ``go args`` with ``env`` on top of ours; returns stdout. Go's stderr is forwarded when verbose.

    Raises:
        InstallError: go is missing or exits non-zero (with its last output lines).
    """
    go = shutil.which("go")
    if go is None:
        raise InstallError(
            "the go command is not on PATH",
            source=source,
            step=step,
            hint="install Go (https://go.dev/dl/) and put it on PATH, or set FABRIC_BIN to prebuilt binaries",
        )
    tail: deque[str] = deque(maxlen=_OUTPUT_TAIL)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stdout:
        process = subprocess.Popen(
            [go, *args],
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        with process.stderr:
            for line in process.stderr:
                tail.append(line.rstrip())
                if verbose:
                    report(f"  {line.rstrip()}")
        status = process.wait()
        stdout.seek(0)
        output = stdout.read()
    if status != 0:
        command = " ".join(f"{k}={v}" for k, v in env.items() if k != "GOBIN") + f" go {' '.join(args)}"
        raise InstallError(
            f"{step} failed with exit status {status} ({command.strip()} in {cwd})",
            source=source,
            step=step,
            hint=hint,
            output=tuple(tail) or tuple(output.splitlines()[-_OUTPUT_TAIL:]),
        )
    return output


def _go_hint(module_dir: Path, alternative: str) -> str:
    wanted = ""
    try:
        match = re.search(r"^go (\S+)", (module_dir / "go.mod").read_text(encoding="utf-8"), re.MULTILINE)
        wanted = f" >= {match.group(1)}" if match else ""
    except OSError:
        pass
    return (
        f"check that Go{wanted} is installed (go version), that the cache folder has about 2 GB free "
        f"(df -h), or {alternative}"
    )


def _go_version() -> str | None:
    return _tool_version(["go", "version"], r"go version (go\S+)")


# --- reporting -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BinaryStatus:
    """One Fabric or Fabric CA binary as found in the cache."""

    name: str
    path: Path | None
    version: str | None
    problem: str | None = None


@dataclass(frozen=True)
class ToolStatus:
    """A program fabrx relies on (go, gcc, python3, node) and the version it reports."""

    name: str
    path: Path | None
    version: str | None
    purpose: str
    problem: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    """What :func:`doctor` found; ``problems`` is empty when everything needed is in place."""

    fabric_version: str
    ca_version: str
    cache_dir: Path
    python: str
    binaries: tuple[BinaryStatus, ...]
    tools: tuple[ToolStatus, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def doctor(
    version: str = FABRIC_VERSION, ca_version: str = FABRIC_CA_VERSION, *, cache_dir: Path | None = None
) -> DoctorReport:
    """Report the installed binaries with the version each prints, the tools around them, and problems.

    Never raises for a missing or broken install: that is reported as a problem.
    """
    cache = cache_dir or cache_root()
    fabric, ca = _entries(cache, version, ca_version)
    binaries = [_binary_status(fabric, name) for name in FABRIC_BINARIES]
    binaries += [_binary_status(ca, name) for name in FABRIC_CA_BINARIES]
    problems = [f"{b.name}: {b.problem}" for b in binaries if b.problem]
    needs_build = not (fabric.is_installed() and ca.is_installed())
    tools = [
        _tool_status(
            "go", ["go", "version"], r"go version go(\S+)", "builds Fabric and Fabric CA", needs_build
        ),
        _tool_status(
            "gcc", ["gcc", "--version"], r"(\d+\.\d+\.\d+)", "cgo for fabric-ca-server", not ca.is_installed()
        ),
        _tool_status(
            "python3",
            ["python3", "--version"],
            r"Python (\S+)",
            "runs the fabrx chaincode-as-a-service external builder for the peer",
            True,
        ),
        _tool_status(
            "node", ["node", "--version"], r"v(\S+)", "Node.js chaincode and reference clients", False
        ),
    ]
    problems += [f"{t.name}: {t.problem}" for t in tools if t.problem]
    if needs_build:
        problems.append(
            f"Fabric {version} / Fabric CA {ca_version} are not (fully) installed in {cache}: "
            "run `fabrx fabric install`"
        )
    return DoctorReport(
        version, ca_version, cache, sys.version.split()[0], tuple(binaries), tuple(tools), tuple(problems)
    )


def _binary_status(entry: _Entry, name: str) -> BinaryStatus:
    path = entry.bin_dir / name
    if not os.access(path, os.X_OK):
        return BinaryStatus(name, None, None, f"not installed (expected {path})")
    if name == "osnadmin":
        # osnadmin has no version command, and -trimpath builds carry no ldflags: trust install.json.
        marker = entry.marker() or {}
        recorded = marker.get("version")
        return BinaryStatus(
            name,
            path,
            str(recorded) if recorded else None,
            None if recorded == entry.version else "no install.json for this version",
        )
    reported = _reported_version(path, ["-version"] if name == "configtxgen" else ["version"])
    if reported is None:
        return BinaryStatus(name, path, None, f"`{name} version` printed no version")
    if reported != entry.version:
        return BinaryStatus(name, path, reported, f"reports {reported}, expected {entry.version}")
    return BinaryStatus(name, path, reported)


def _reported_version(binary: Path, args: list[str]) -> str | None:
    """The ``Version:`` line a Fabric binary prints for ``args``, or None."""
    try:
        done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_LINE.search(done.stdout + done.stderr)
    return match.group(1) if match else None


def _tool_version(argv: list[str], pattern: str) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(pattern, done.stdout + done.stderr)
    return match.group(1) if match else None


def _tool_status(name: str, argv: list[str], pattern: str, purpose: str, required: bool) -> ToolStatus:
    found = shutil.which(argv[0])
    if found is None:
        return ToolStatus(
            name, None, None, purpose, f"not found on PATH; needed: {purpose}" if required else None
        )
    return ToolStatus(name, Path(found), _tool_version([found, *argv[1:]], pattern), purpose)
