from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fabrx_pharma

PACKAGE = Path(fabrx_pharma.__file__).parent
EXPECTED_NAMES = """
DEFAULT_POLICY RECORD_TYPES AdverseEvent AnyRecord Batch Dispensing DomainError Entry Exemption
Finding GoodsLine Holding InMemoryLedger Invoice InvoiceHop InvoiceKind InvoiceLine InvoiceNumber
LedgerView Party PolicyHistory PolicyVersion Prescription PrescriptionHit Product RawMaterialLot Recall
RecallScope Receipt
RecordError Role RuleId RuleViolation Severity Shipment StockPosition Trace TwoInvoicePolicy
ValidationError canonical_json check_invoice check_record compliance_report parse_gs1_element_string
pseudonymise
recall_scope record_from_json record_hash render_findings render_recall_scope render_trace
stock_effects trace_prescription validate_approval_number validate_gtin validate_invoice_number
validate_patient_pseudonym validate_trace_code validate_uscc
"""


def test_public_names_are_pinned() -> None:
    assert sorted(fabrx_pharma.__all__) == sorted(EXPECTED_NAMES.split())
    for name in fabrx_pharma.__all__:
        assert hasattr(fabrx_pharma, name), name


def test_rule_codes_are_stable_strings() -> None:
    assert all(rule.value == rule.name for rule in fabrx_pharma.RuleId)


def test_domain_core_imports_only_the_standard_library() -> None:
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names, f"{module.name} imports {name}"


def test_importing_the_package_loads_no_fabric_or_io_library() -> None:
    code = (
        "import sys, fabrx_pharma, fabrx_pharma.sample;"
        "bad = {'fabrx', 'fabrx_chaincode', 'grpc', 'google', 'cryptography', 'yaml', 'socket', 'ssl'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
