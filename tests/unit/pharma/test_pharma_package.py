from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import fabrx_pharma

PACKAGE = Path(fabrx_pharma.__file__).parent
REPO = Path(__file__).resolve().parents[3]
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


PURE_LIBRARY_MODULES = {"stdnum.cn.uscc", "stdnum.ean"}
"""Modules of pure-Python libraries the domain core may import besides the standard library (docs/install.md):
check-character arithmetic from python-stdnum, not its online checks (``stdnum.eu.vat.check_vies`` ...)."""


def test_domain_core_imports_the_standard_library_and_named_pure_python_modules_only() -> None:
    seen = set()
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                base = node.module or ""
                if base.split(".")[0] in sys.stdlib_module_names:
                    names = [base]
                else:
                    names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names:
                    assert name in PURE_LIBRARY_MODULES, f"{module.name} imports {name}"
                    seen.add(name)
    assert seen == PURE_LIBRARY_MODULES, "a module no longer used: drop it from the allowed ones"


def test_the_domain_core_s_library_is_a_declared_dependency_of_its_distribution() -> None:
    with (REPO / "distributions" / "fabrx-pharma" / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["dependencies"]
    assert [d for d in declared if d.startswith("python-stdnum")] == ["python-stdnum>=2.2,<3"]


def test_importing_the_package_loads_no_fabric_or_network_client_library() -> None:
    code = (
        "import sys, fabrx_pharma, fabrx_pharma.sample;"
        "bad = {'fabrx', 'fabrx_chaincode', 'grpc', 'google', 'cryptography', 'yaml', 'urllib3', 'requests',"
        " 'zeep', 'suds', 'sqlite3', 'sqlalchemy', 'asyncio', 'subprocess'};"
        "bad |= {'http.client', 'urllib.request', 'email'};"
        "print(sorted(m for m in sys.modules if m in bad or m.split('.')[0] in bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# Audit events (docs.python.org/3/library/audit_events.html) of every kind of I/O: sockets, files, processes.
_IO_AUDIT = """
import sys
events = []
NETWORK_OR_PROCESS = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                      "os.fork", "urllib.Request", "http.client.", "ftplib.", "smtplib.", "sqlite3.connect")
FILES = ("open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.mkdir", "shutil.")
def hook(event, args):
    # Importing reads modules (open, listdir): files count only once the domain core is in use.
    if event.startswith(NETWORK_OR_PROCESS) or (phase[0] == "use" and event.startswith(FILES)):
        events.append((phase[0], event, repr(args)[:120]))
phase = ["import"]
sys.addaudithook(hook)
import fabrx_pharma, fabrx_pharma.sample
from fabrx_pharma import compliance_report, validate_gtin, validate_uscc
phase[0] = "use"
scenario = fabrx_pharma.sample.build_sample_scenario()
findings = compliance_report(scenario.ledger())
assert validate_uscc("91350100m000100y43") == "91350100M000100Y43"
assert validate_gtin("6901234567892") == "06901234567892"
print(len(scenario.writes), len(findings), events)
"""


def test_importing_and_using_the_domain_core_does_no_io() -> None:
    # python-stdnum's utility module imports ssl (for online checks fabrx never calls), so the socket
    # module is loaded; what matters is that nothing opens a socket, a file or a process.
    result = subprocess.run([sys.executable, "-c", _IO_AUDIT], capture_output=True, text=True, check=True)
    writes, _, events = result.stdout.split(" ", 2)
    assert int(writes) > 10  # the sample's writes went through every rule
    assert events.strip() == "[]"
