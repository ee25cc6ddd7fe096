"""docs/records.md is the field reference generated from the record types (fabrx.pharma.reference)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Self

import pytest
from click.testing import CliRunner

from fabrx.pharma.reference import FieldReferenceError, record_reference, render_markdown
from fabrx_cli.main import cli
from fabrx_pharma import RECORD_TYPES
from fabrx_pharma._base import Part
from fabrx_pharma._fields import FieldReader, Problems

PAGE = Path(__file__).resolve().parents[3] / "docs" / "records.md"


def test_the_checked_in_page_is_the_reference_of_the_current_record_types() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_markdown(), (
        "docs/records.md is stale: regenerate it with `fabrx pharma fields > docs/records.md`"
    )


def test_fabrx_pharma_fields_prints_the_page_without_a_network_or_an_org() -> None:
    result = CliRunner().invoke(cli, ["pharma", "fields"])
    assert result.exit_code == 0, result.output
    assert result.output == PAGE.read_text(encoding="utf-8")


def test_every_field_of_every_record_type_and_part_is_described() -> None:
    reference = record_reference()
    assert [r.record_type for r in reference.records] == list(RECORD_TYPES)
    described = {doc.name: [f.name for f in doc.fields] for doc in (*reference.records, *reference.parts)}
    for cls in RECORD_TYPES.values():
        assert described[cls.__name__] == [f.name for f in fields(cls)]
    assert {"InvoiceLine", "Shipment", "GoodsLine", "Dispensing", "RawMaterialLot"} <= set(described)
    invoice = next(r for r in reference.records if r.record_type == "invoice")
    by_name = {f.name: f for f in invoice.fields}
    assert by_name["total"].required and "at most 2 after" in by_name["total"].form
    assert not by_name["exemption"].required and by_name["exemption"].choices == "Exemption"
    assert by_name["lines"].part == "InvoiceLine"
    assert ("total", "is …, but the line amounts add up to …") in invoice.checks


def test_the_json_form_lists_the_same_records() -> None:
    result = CliRunner().invoke(cli, ["pharma", "fields", "--json"])
    data = json.loads(result.output)
    assert [r["record_type"] for r in data["records"]] == list(RECORD_TYPES)
    assert any(rule[0] == "INVOICE_REUSED" for rule in data["rules"])


@dataclass(frozen=True)
class _Odd(Part):
    """A part read in a way the reference cannot describe."""

    when: str

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Self:
        f = FieldReader(data, path, problems, ("when",))
        return cls(when=str(f.raw("when")))


def test_a_field_the_reference_cannot_describe_is_an_error_not_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    import fabrx.pharma.reference as reference

    monkeypatch.setattr(reference, "RECORD_TYPES", {"odd": _Odd})
    with pytest.raises(FieldReferenceError, match="reads no field when"):
        reference.record_reference()
