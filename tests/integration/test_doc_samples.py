"""The code samples of README.md and docs/*.md run, as written, against the real consortium.

Convention (README.md, "Documentation"): every fenced Python or shell block says in its info string
whether it runs: ```` ```python run ```` or ```` ```python no-run <why> ````. A `run` sample is executed in a
fresh folder that looks like a fabrx checkout after `fabrx network up`: `network/` is the test
consortium's folder (its `consortium.yaml`) and `.fabrx/<name>` its run directory, so a sample written for
the defaults (`open_network()`, `fabrx network status`) reaches the test network. Python samples run with
this interpreter, shell samples with `bash -euo pipefail` and the virtualenv's `bin` first on `PATH`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from netsupport import REPO

from fabrx_network import ConsortiumNetwork

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LANGUAGES = {"python": "python", "py": "python", "sh": "shell", "bash": "shell", "shell": "shell"}
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Sample:
    document: Path
    line: int  # of the opening fence, 1-based
    language: str  # the info string's first word
    marker: str  # "run", "no-run" or "" (unmarked)
    code: str

    @property
    def id(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"


def samples(document: Path) -> list[Sample]:
    """Every fenced code block of ``document`` (indented blocks are not samples)."""
    found: list[Sample] = []
    lines = document.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        words = opening["info"].split()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(opening["fence"]):
            body.append(lines[j][len(opening["indent"]) :])
            j += 1
        marker = words[1].rstrip(":") if len(words) > 1 else ""
        marker = marker if marker in ("run", "no-run") else ""
        found.append(Sample(document, i + 1, words[0] if words else "", marker, "\n".join(body) + "\n"))
        i = j + 1
    return found


ALL = [s for document in DOCUMENTS for s in samples(document)]
RUNNABLE = [s for s in ALL if s.language in LANGUAGES and s.marker == "run"]


def test_every_python_and_shell_sample_says_whether_it_runs() -> None:
    unmarked = [s.id for s in ALL if s.language in LANGUAGES and not s.marker]
    assert unmarked == [], "mark each: ```python run, or ```python no-run <why> (README.md)"
    assert RUNNABLE, "no runnable sample found: the extraction is broken"


def test_a_sample_marked_no_run_gives_its_reason() -> None:
    for sample in ALL:
        if sample.marker == "no-run":
            text = sample.document.read_text(encoding="utf-8").splitlines()[sample.line - 1]
            assert len(text.split("no-run", 1)[1].strip()) > 3, f"{sample.id}: say why it cannot run"


@pytest.fixture(scope="module")
def checkout(network: ConsortiumNetwork, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the defaults name the test consortium and its run directory."""
    folder = tmp_path_factory.mktemp("doc-samples")
    (folder / "network").symlink_to(network.base_dir, target_is_directory=True)
    (folder / ".fabrx").mkdir()
    (folder / ".fabrx" / network.consortium.name).symlink_to(network.run_dir, target_is_directory=True)
    return folder


@pytest.mark.parametrize("sample", RUNNABLE, ids=[s.id for s in RUNNABLE])
def test_sample_runs(sample: Sample, checkout: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FABRX_CONFIG", "FABRX_RUN_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if LANGUAGES[sample.language] == "python":
        argv = [sys.executable, "-c", sample.code]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", sample.code]
    result = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"{sample.id} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
