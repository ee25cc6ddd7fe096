"""`fabrx supervision`: thin commands over the supervision store (an SQLite file here)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from fabrx_cli.main import cli
from fabrx_pharma_supervision.province import Province, ProvinceSpec
from fabrx_pharma_supervision.schema import dispensed

SMALL = ["--lines", "600", "--products", "12", "--distributors", "4", "--hospitals", "12", "--seed", "5"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_generate_then_report_findings_export_and_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, out, _ = run("--json", "supervision", "--store", url, "generate", *SMALL)
    assert code == 0, out
    generated = json.loads(out)
    spec = ProvinceSpec(
        invoice_lines=600, products=12, distributors=4, hospitals=12, seed=5, manufacturers=12
    )
    province = Province(spec)
    for _ in province.writes():
        pass
    assert generated["expected_findings"] == {r.value: n for r, n in province.expected_findings.items()}

    code, out, _ = run("--json", "supervision", "--store", url, "report")
    assert code == 0
    assert Counter(f["rule"] for f in json.loads(out)) == Counter(generated["expected_findings"])

    code, out, _ = run("supervision", "--store", url, "findings", "--rule", "RECEIPT_MISSING", "--json")
    assert code == 0
    assert {f["rule"] for f in json.loads(out)} <= {"RECEIPT_MISSING"}

    target = tmp_path / "stock.csv"
    code, out, _ = run("supervision", "--store", url, "export", "stock", "--out", str(target))
    assert code == 0 and "rows to" in out
    assert "on_hand" in next(csv.reader(target.open(encoding="utf-8")))

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        some_code = connection.execute(sa.select(dispensed.c.trace_code).limit(1)).scalar_one()
    engine.dispose()
    code, out, _ = run("--json", "supervision", "--store", url, "code", some_code)
    assert code == 0
    chain = json.loads(out)
    assert chain["trace_code"] == some_code and chain["dispensings"] and chain["raw_material_lots"]


def test_bad_input_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run("supervision", "--store", url, "upgrade")[0] == 0
    code, _, err = run("supervision", "report")
    assert code == 2 and "--store" in err
    code, _, err = run("supervision", "--store", url, "findings", "--since", "2025-01-01")
    assert code == 2 and "--since" in err and "offset" in err
    code, _, err = run("supervision", "--store", url, "findings", "--rule", "NOPE")
    assert code == 2 and "--rule" in err
    code, _, err = run("supervision", "--store", url, "code", "99999990000000000000")
    assert code == 1 and "on no shipment and no prescription" in err
    code, _, err = run("supervision", "--store", url, "export", "sales", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "--party" in err
    code, _, err = run("supervision", "--store", "mysql://x/y", "report")
    assert code == 1 and "only sqlite:// and postgresql://" in err


def test_generate_refuses_a_store_with_writes_unless_checked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run("supervision", "--store", url, "generate", *SMALL)[0] == 0
    with sa.create_engine(url).connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM ledger_write")).scalar()
    code, _, err = run("supervision", "--store", url, "generate", *SMALL)
    assert code == 2
    assert "needs an empty store" in err and "--checked" in err
    with sa.create_engine(url).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM ledger_write")).scalar() == before
