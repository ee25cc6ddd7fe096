"""The fenced code samples of README.md and docs/*.md, and whether each says it runs.

Convention (README.md, "Documentation"): every fenced Python or shell block says in its info string
whether it runs: ```` ```python run ```` or ```` ```python no-run: <why> ````. The unit test in this folder
checks the marks; tests/integration/test_doc_samples.py runs the `run` samples on the test consortium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
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
