"""Every fenced Python or shell sample of the docs says whether it runs (docsamples.py)."""

from __future__ import annotations

from docsamples import ALL, LANGUAGES, RUNNABLE


def test_every_python_and_shell_sample_says_whether_it_runs() -> None:
    unmarked = [s.id for s in ALL if s.language in LANGUAGES and not s.marker]
    assert unmarked == [], "mark each: ```python run, or ```python no-run: <why> (README.md)"
    assert RUNNABLE, "no runnable sample found: the extraction is broken"


def test_a_sample_marked_no_run_gives_its_reason() -> None:
    for sample in ALL:
        if sample.marker == "no-run":
            text = sample.document.read_text(encoding="utf-8").splitlines()[sample.line - 1]
            assert len(text.split("no-run", 1)[1].strip(" :")) > 3, f"{sample.id}: say why it cannot run"
