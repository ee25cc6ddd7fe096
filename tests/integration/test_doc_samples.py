"""The `run` code samples of README.md and docs/*.md run, as written, against the real consortium.

Each runs in a fresh folder that looks like a fabrx checkout after `fabrx network up`: `network/` is the
test consortium's folder (its `consortium.yaml`) and `.fabrx/<name>` its run directory, so a sample
written for the defaults (`open_network()`, `fabrx network status`) reaches the test network. Python
samples run with this interpreter, shell samples with `bash -euo pipefail` and the virtualenv's `bin`
first on `PATH`. Which blocks are samples and how they are marked: tests/unit/docs/docsamples.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from netsupport import REPO

from fabrx_network import ConsortiumNetwork


def _docsamples() -> ModuleType:
    if "docsamples" in sys.modules:  # imported by the unit tests of the same session
        return sys.modules["docsamples"]
    spec = importlib.util.spec_from_file_location(
        "docsamples", REPO / "tests" / "unit" / "docs" / "docsamples.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


docsamples = _docsamples()
RUNNABLE = docsamples.RUNNABLE


@pytest.fixture(scope="module")
def checkout(network: ConsortiumNetwork, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the defaults name the test consortium and its run directory."""
    folder = tmp_path_factory.mktemp("doc-samples")
    (folder / "network").symlink_to(network.base_dir, target_is_directory=True)
    (folder / ".fabrx").mkdir()
    (folder / ".fabrx" / network.consortium.name).symlink_to(network.run_dir, target_is_directory=True)
    return folder


@pytest.mark.parametrize("sample", RUNNABLE, ids=[s.id for s in RUNNABLE])
def test_sample_runs(sample: docsamples.Sample, checkout: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FABRX_CONFIG", "FABRX_RUN_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if docsamples.LANGUAGES[sample.language] == "python":
        argv = [sys.executable, "-c", sample.code]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", sample.code]
    result = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"{sample.id} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
