"""The reliability figures recorder: results.json's section and the docs section it renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench import reliability

FIGURES = {
    "acked": 12,
    "lost": 0,
    "duplicates": 0,
    "failed_but_committed": 0,
    "hostile_cases": 250,
    "unclear": 1,
    "unauthorized": 0,
    "details": {
        "access_attempts": 40,
        "access_forbidden": 30,
        "hostile": {"chaincode": {"cases": 130, "unclear": 1}, "cli": {"cases": 120, "unclear": 0}},
        "faults": [
            {
                "scenario": "gateway peer",
                "node": "peer0.DistributorA",
                "consensus": "raft1",
                "submitted": 20,
                "acked": 12,
                "failed": 8,
                "failure_kinds": {"ConnectionFailure": 8},
                "unknown_outcomes": 1,
                "lost": 0,
                "duplicates": 0,
                "failed_but_committed": 0,
                "events_missing": 0,
                "events_duplicated": 0,
            }
        ],
    },
}


def test_the_section_shows_the_summary_every_fault_run_and_every_category() -> None:
    meta = {"command": "make reliability", "date": "2026-12-04 19:00 UTC", "duration_s": 40.0, "machine": {}}
    text = reliability.render_reliability_section(FIGURES, meta)
    assert "| 12 | 0 | 0 | 0 | 250 | 1 | 0 |" in text
    assert (
        "| gateway peer | peer0.DistributorA | raft1 | 20 | 12 | 8 (8 ConnectionFailure) | 1 "
        "| 0 | 0 | 0 | 0 / 0 |" in text
    )
    assert "| chaincode | 130 | 1 |" in text and "| cli | 120 | 0 |" in text
    assert "Access matrix: 40 cells" in text and "30 of them forbidden; unauthorized" in text
    assert "shared with other engineers' test runs" in text


def test_main_records_results_and_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "bench" / "results.json").write_text(
        json.dumps({"reliability": {"stale": 1}, "pharma": {"x": 1}})
    )
    (tmp_path / "docs" / "reliability.md").write_text("# Reliability\n\nprose\n")
    source = tmp_path / "figures.json"
    source.write_text(json.dumps(FIGURES))
    monkeypatch.setattr(reliability, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(reliability, "machine_info", lambda: {"nproc": 2})
    assert reliability.main([str(source)]) == 0
    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert results["reliability"] == FIGURES and results["pharma"] == {"x": 1}
    assert results["meta"]["reliability"]["command"] == "make reliability"
    document = (tmp_path / "docs" / "reliability.md").read_text()
    assert document.startswith("# Reliability\n\nprose\n") and "<!-- bench:reliability -->" in document
    assert reliability.main([str(tmp_path / "missing.json")]) == 1
