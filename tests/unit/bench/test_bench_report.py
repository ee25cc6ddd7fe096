from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.report import DOCUMENT_TITLE, merge_results, replace_section, update_docs, update_results


def test_merge_keeps_other_clients_and_replaces_measured_leaves() -> None:
    existing = {
        "submit": {"fabrx": {"1": 30.0, "8": 190.0}, "node": {"1": 27.0}},
        "chaincode": {"node": {"cpu_ms_per_submit": 0.56}},
    }
    update = {"submit": {"fabrx": {"8": 200.0, "128": 400.0}}, "client_cpu_ms_per_submit": {"fabrx": 1.1}}

    merged = merge_results(existing, update)

    assert merged == {
        "submit": {"fabrx": {"1": 30.0, "8": 200.0, "128": 400.0}, "node": {"1": 27.0}},
        "chaincode": {"node": {"cpu_ms_per_submit": 0.56}},
        "client_cpu_ms_per_submit": {"fabrx": 1.1},
    }
    assert existing["submit"]["fabrx"] == {"1": 30.0, "8": 190.0}, "the input must not be modified"


def test_merge_replaces_lists_and_scalars_wholesale() -> None:
    merged = merge_results(
        {"details": {"client": [1, 2, 3]}, "x": {"a": 1}}, {"details": {"client": [4]}, "x": 5}
    )
    assert merged == {"details": {"client": [4]}, "x": 5}


def test_update_results_creates_then_merges_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bench" / "results.json"
    update_results(path, {"submit": {"node": {"1": 27.0}}})
    update_results(
        path, {"submit": {"fabrx": {"1": 31.0}}, "chaincode": {"fabrx": {"cpu_ms_per_submit": 0.4}}}
    )

    on_disk = json.loads(path.read_text())
    assert on_disk["submit"] == {"node": {"1": 27.0}, "fabrx": {"1": 31.0}}
    assert on_disk["chaincode"] == {"fabrx": {"cpu_ms_per_submit": 0.4}}
    assert [p.name for p in path.parent.iterdir()] == ["results.json"], "no temporary file may be left"


def test_a_replaced_section_keeps_no_figure_of_the_earlier_run(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    update_results(path, {"scale": {"cpu": {"old window": 1.0}, "ratio": 0.6}, "submit": {"node": 1}})
    update_results(path, {"scale": {"cpu": {"bulk": 0.4}}}, replace=("scale",))
    on_disk = json.loads(path.read_text())
    assert on_disk["scale"] == {"cpu": {"bulk": 0.4}}
    assert on_disk["submit"] == {"node": 1}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_update_results_refuses_a_damaged_file_and_leaves_it_alone(tmp_path: Path, content: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"results\.json"):
        update_results(path, {"submit": {}})
    assert path.read_text() == content


def test_replace_section_appends_a_missing_section() -> None:
    document = replace_section("# Benchmarks\n", "client", "## Clients\nfigures")
    assert document == "# Benchmarks\n\n<!-- bench:client -->\n## Clients\nfigures\n<!-- /bench:client -->\n"


def test_replace_section_replaces_only_its_own_section() -> None:
    document = (
        "# Benchmarks\n\nintro\n\n<!-- bench:client -->\nold client\n<!-- /bench:client -->\n\n"
        "<!-- bench:chaincode -->\nchaincode figures\n<!-- /bench:chaincode -->\n\nnotes\n"
    )
    updated = replace_section(document, "client", "new client")
    assert updated == document.replace("old client", "new client")
    assert replace_section(updated, "client", "new client") == updated, "replacing is idempotent"


@pytest.mark.parametrize(
    "document",
    [
        "<!-- bench:client -->\nno end\n",
        "<!-- /bench:client -->\n<!-- bench:client -->\n",
        "<!-- bench:client -->\n<!-- /bench:client -->\n<!-- bench:client -->\n<!-- /bench:client -->\n",
    ],
)
def test_replace_section_refuses_broken_markers(document: str) -> None:
    with pytest.raises(ValueError, match="markers of 'client' are broken"):
        replace_section(document, "client", "x")


def test_update_docs_creates_the_document_with_a_title(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "benchmarks.md"
    update_docs(path, "chaincode", "table")
    update_docs(path, "client", "other table")
    text = path.read_text()
    assert text.startswith(DOCUMENT_TITLE)
    assert text.index("<!-- bench:chaincode -->") < text.index("<!-- bench:client -->")
    assert "table\n<!-- /bench:chaincode -->" in text
