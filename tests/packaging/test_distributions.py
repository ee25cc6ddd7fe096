"""The distributions `make dist` builds, installed into clean virtualenvs outside the repository.

Built once per session. The client is installed the way an integrator would (`pip install fabrx-*.whl`,
its dependencies resolved from the package index against its declared ranges, no lock); the network
tooling and the pharma application are installed with the lock (constraints.txt) as constraints, so only
what their metadata declares is installed, at CI's versions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import venv
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

USER_CODE = """\
import fabrx
from fabrx import Endpoint, FabrxError


def address(endpoint: Endpoint) -> str:
    return endpoint.address


version: str = fabrx.__version__
failure: type[Exception] = FabrxError
wrong: int = fabrx.__version__  # the one error mypy must report: fabrx is typed, not Any
"""


def _run(argv: Sequence[str | Path], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "FABRX_CONFIG")}
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]


def _ok(argv: Sequence[str | Path], cwd: Path) -> str:
    result = _run(argv, cwd)
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _commands(help_text: str) -> set[str]:
    """The command names listed under ``Commands:`` in click's help."""
    listing = help_text.split("Commands:", 1)[1]
    return {line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.split()}


class Env:
    """A fresh virtualenv outside the repository."""

    def __init__(self, root: Path) -> None:
        venv.create(root, with_pip=True)
        self.root = root
        self.bin = root / "bin"
        self.python = self.bin / "python"

    def pip(self, *args: str | Path) -> str:
        return _ok(
            [self.python, "-m", "pip", "--disable-pip-version-check", "install", "--quiet", *args], self.root
        )

    def code(self, source: str) -> str:
        return _ok([self.python, "-c", source], self.root)


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    _ok([sys.executable, REPO / "distributions" / "build.py", "--out", out], REPO)
    wheels = {p.name.split("-")[0].replace("_", "-"): p for p in out.glob("*.whl")}
    assert sorted(wheels) == ["fabrx", "fabrx-chaincode", "fabrx-network", "fabrx-pharma"]
    assert len(list(out.glob("*.tar.gz"))) == 4
    return wheels


@pytest.fixture(scope="session")
def client(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = Env(tmp_path_factory.mktemp("client-venv"))
    env.pip(dist["fabrx"])  # a real resolution against the declared ranges: no constraints
    return env


@pytest.fixture(scope="session")
def network(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = Env(tmp_path_factory.mktemp("network-venv"))
    env.pip("-c", REPO / "constraints.txt", dist["fabrx"], dist["fabrx-chaincode"], dist["fabrx-network"])
    return env


def test_the_client_installs_alone_with_no_network_tooling_or_cli_framework(client: Env) -> None:
    data = json.loads(
        client.code(
            "import importlib.util, json, fabrx, fabrx.admin, fabrx.aio, fabrx.ca, fabrx.wallet;"
            "print(json.dumps({'version': fabrx.__version__, 'file': fabrx.__file__, 'absent': ["
            "n for n in ('click', 'pydantic', 'pkcs11', 'tenacity', 'stdnum', 'tabulate', 'fabrx_network',"
            " 'fabrx_cli', 'fabrx_chaincode', 'fabrx_pharma')"
            " if importlib.util.find_spec(n) is None]}))"
        )
    )
    assert data["version"] == VERSION
    assert data["file"].startswith(str(client.root)), "imported from the repository, not the install"
    assert data["absent"] == [
        "click", "pydantic", "pkcs11", "tenacity", "stdnum", "tabulate",
        "fabrx_network", "fabrx_cli", "fabrx_chaincode", "fabrx_pharma",
    ]  # fmt: skip
    assert "fabrx/pharma" not in _ok([client.python, "-m", "pip", "show", "-f", "fabrx"], client.root)
    _ok([client.python, "-m", "pip", "check"], client.root)
    # The HSM signer is there, and says which extra brings its library.
    refusal = client.code(
        "from fabrx.errors import IdentityError\nfrom fabrx.pkcs11 import Pkcs11Key\n"
        "try:\n    Pkcs11Key.open('libsofthsm2.so', token_label='t', pin='p', label='k')\n"
        "except IdentityError as exc:\n    print(exc)"
    )
    assert "pip install 'fabrx[pkcs11]'" in refusal


def test_a_user_s_mypy_sees_the_client_s_types(client: Env, tmp_path: Path) -> None:
    user = tmp_path / "erp_adapter.py"
    user.write_text(USER_CODE, encoding="utf-8")
    result = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--python-executable",
            client.python,
            "--cache-dir",
            tmp_path / "mypy-cache",
            "--no-error-summary",
            "--show-error-codes",
            user,
        ],
        tmp_path,
    )
    assert "import-untyped" not in result.stdout and "import-not-found" not in result.stdout
    problems = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(problems) == 1 and "erp_adapter.py:11:" in problems[0], result.stdout
    assert "[assignment]" in problems[0]


def test_the_network_tooling_gives_the_fabrx_command_without_the_pharma_application(
    network: Env, tmp_path: Path
) -> None:
    fabrx = network.bin / "fabrx"
    assert _ok([fabrx, "--version"], tmp_path).strip() == f"fabrx, version {VERSION}"
    help_text = _ok([fabrx, "--help"], tmp_path)
    commands = _commands(help_text)
    assert {"network", "chaincode", "fabric", "doctor"} <= commands and "pharma" not in commands
    _ok([network.python, "-m", "pip", "check"], tmp_path)
    # The packaged default consortium file (the pharma consortium) loads without the application: the
    # tooling reads collections and policies as data. Nothing runs yet: a negative answer, exit 3.
    result = _run([fabrx, "--json", "network", "status"], tmp_path)
    assert result.returncode == 3, result.stderr
    assert "run_dir" in json.loads(result.stdout)


def test_the_pharma_application_adds_its_commands_to_the_installed_tooling(
    network: Env, dist: dict[str, Path], tmp_path: Path
) -> None:
    # Its own dependencies (python-stdnum) under the lock; fabrx and fabrx-chaincode are installed already.
    network.pip("-c", REPO / "constraints.txt", dist["fabrx-pharma"])
    _ok([network.python, "-m", "pip", "check"], tmp_path)
    assert network.code(
        "import fabrx_pharma, fabrx_pharma_chaincode, fabrx.pharma; print(fabrx_pharma.__version__)"
    )
    versions = network.code(
        "import fabrx_pharma, fabrx_pharma_chaincode, fabrx_network, fabrx_chaincode;"
        "print(fabrx_pharma.__version__, fabrx_pharma_chaincode.__version__, fabrx_network.__version__,"
        " fabrx_chaincode.__version__)"
    )
    assert versions.split() == [VERSION] * 4
    fabrx = network.bin / "fabrx"
    assert {"pharma", "demo", "serve"} <= _commands(_ok([fabrx, "--help"], tmp_path))
    # The HTTP service's libraries come with the `service` extra, which this install left out.
    served = _run([fabrx, "serve", "openapi"], tmp_path)
    assert served.returncode == 1 and "fastapi" in served.stderr and "extra" in served.stderr
    assert "--org" in _ok([fabrx, "pharma", "--help"], tmp_path)
    assert "FILE" in _ok([fabrx, "pharma", "issue-invoice", "--help"], tmp_path)
    # The default consortium file inside the installed package loads: status of a network never started.
    result = _run([fabrx, "--json", "--run-dir", tmp_path / "run", "network", "status"], tmp_path)
    assert result.returncode == 3, result.stderr
    status = json.loads(result.stdout)
    assert status["healthy"] is False and {n["name"] for n in status["nodes"]} >= {"peer0.HospitalA"}
