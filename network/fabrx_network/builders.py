"""fabrx's own chaincode-as-a-service (CCaaS) external builder for the peer.

The builder is a folder with ``bin/detect``, ``bin/build`` and ``bin/release`` (standard-library Python
run by ``python3`` from PATH), shipped as package data under ``builders/ccaas/``. A peer names it in
``CORE_CHAINCODE_EXTERNALBUILDERS``, e.g.
``[{name: ccaas, path: <folder>, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}]``.

What the executables do:

- ``detect SRC META``: claims a package whose ``metadata.json`` says ``"type": "ccaas"``.
- ``build SRC META OUT``: checks and copies ``connection.json`` (filling ``{{.name}}`` placeholders from
  ``CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG``) and ``META-INF/``.
- ``release OUT RELEASE``: puts ``connection.json`` where the peer dials from and ``META-INF/statedb``
  where it reads state database indexes.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from fabrx_network.errors import InstallError

__all__ = ["CCAAS_BUILDER_EXECUTABLES", "ccaas_builder_dir", "copy_ccaas_builder"]

CCAAS_BUILDER_EXECUTABLES = ("detect", "build", "release")

_PACKAGED = Path(__file__).resolve().parent / "builders" / "ccaas"
_EXECUTABLE = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def ccaas_builder_dir() -> Path:
    """The packaged builder folder (holding ``bin/``), with its executables marked executable.

    Some installers drop the executable bits of package data; they are restored here when the folder is
    writable.

    Raises:
        InstallError: an executable is missing, or is not executable and cannot be made so.
    """
    for name in CCAAS_BUILDER_EXECUTABLES:
        _make_executable(_PACKAGED / "bin" / name)
    return _PACKAGED


def copy_ccaas_builder(dest: Path) -> Path:
    """Copy the builder into ``dest`` (e.g. the run directory's ``builders/ccaas``) and return ``dest``.

    A copy keeps a run directory self-contained and usable when the package itself is read-only.

    Raises:
        InstallError: as :func:`ccaas_builder_dir`; OSError: ``dest`` cannot be written.
    """
    source = ccaas_builder_dir()
    (dest / "bin").mkdir(parents=True, exist_ok=True)
    for name in CCAAS_BUILDER_EXECUTABLES:
        target = dest / "bin" / name
        shutil.copyfile(source / "bin" / name, target)
        target.chmod(0o755)
    return dest


def _make_executable(path: Path) -> None:
    if not path.is_file():
        raise InstallError(
            f"the fabrx CCaaS builder is incomplete: {path} is missing",
            source=str(_PACKAGED),
            step="locate external builder",
            hint="reinstall fabrx (pip install --force-reinstall fabrx)",
        )
    if os.access(path, os.X_OK):
        return
    try:
        path.chmod(path.stat().st_mode | _EXECUTABLE)
    except OSError as exc:
        raise InstallError(
            f"{path} is not executable and cannot be made so: {exc.strerror}",
            source=str(_PACKAGED),
            step="locate external builder",
            hint="use copy_ccaas_builder() to place an executable copy in a writable folder",
        ) from exc
