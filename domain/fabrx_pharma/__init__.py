"""fabrx_pharma: the pure domain core of two-invoice (两票制) drug-distribution supervision.

Records, identifiers with their validation, and the two-invoice rules, written once and used by both
the pharma chaincode and the ``fabrx`` SDK. No I/O, no Fabric imports: the standard library, and
python-stdnum's check-character modules (docs/install.md, "The two layers").

- :mod:`~fabrx_pharma.identifiers`, :mod:`~fabrx_pharma.traceability`: validators returning the
  normalised value or raising :class:`ValidationError` naming the field.
- :mod:`~fabrx_pharma.records`: frozen record dataclasses with ``from_dict``/``to_dict``, canonical JSON
  and record hashes.
- :mod:`~fabrx_pharma.rules`: ``check_*`` functions raising :class:`RuleViolation`, over a
  :class:`LedgerView` and a :class:`TwoInvoicePolicy`; :mod:`~fabrx_pharma.stock` counts stock.
- :mod:`~fabrx_pharma.ledger`: :class:`InMemoryLedger`.
- :mod:`~fabrx_pharma.analysis`, :mod:`~fabrx_pharma.render`: the regulator's report, traces and recall
  scope.
- :mod:`~fabrx_pharma.sample`: sample data (invented parties and codes) for demos and tests.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:
    __version__: str
else:

    def __getattr__(name: str) -> str:
        # Resolved on first use: importlib.metadata loads socket and email, which importing the pure domain
        # core must not.
        if name != "__version__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("fabrx-pharma")
        except PackageNotFoundError:  # the development install: one distribution, fabrx, holds every package
            return version("fabrx")


from .analysis import (
    Finding,
    Holding,
    InvoiceHop,
    PrescriptionHit,
    RecallScope,
    Severity,
    Trace,
    compliance_report,
    recall_scope,
    trace_prescription,
)
from .errors import DomainError, RecordError, RuleId, RuleViolation, ValidationError
from .identifiers import (
    InvoiceNumber,
    pseudonymise,
    validate_approval_number,
    validate_gtin,
    validate_invoice_number,
    validate_patient_pseudonym,
    validate_uscc,
)
from .ledger import Entry, InMemoryLedger
from .policy import DEFAULT_POLICY, PolicyHistory, PolicyVersion, TwoInvoicePolicy
from .records import (
    RECORD_TYPES,
    AdverseEvent,
    AnyRecord,
    Batch,
    Dispensing,
    Exemption,
    GoodsLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Party,
    Prescription,
    Product,
    RawMaterialLot,
    Recall,
    Receipt,
    Role,
    Shipment,
    canonical_json,
    record_from_json,
    record_hash,
)
from .render import render_findings, render_recall_scope, render_trace
from .rules import check_invoice, check_record
from .stock import StockPosition, stock_effects
from .traceability import parse_gs1_element_string, validate_trace_code
from .view import LedgerView

__all__ = [
    "DEFAULT_POLICY",
    "RECORD_TYPES",
    "AdverseEvent",
    "AnyRecord",
    "Batch",
    "Dispensing",
    "DomainError",
    "Entry",
    "Exemption",
    "Finding",
    "GoodsLine",
    "Holding",
    "InMemoryLedger",
    "Invoice",
    "InvoiceHop",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceNumber",
    "LedgerView",
    "Party",
    "PolicyHistory",
    "PolicyVersion",
    "Prescription",
    "PrescriptionHit",
    "Product",
    "RawMaterialLot",
    "Recall",
    "RecallScope",
    "Receipt",
    "RecordError",
    "Role",
    "RuleId",
    "RuleViolation",
    "Severity",
    "Shipment",
    "StockPosition",
    "Trace",
    "TwoInvoicePolicy",
    "ValidationError",
    "canonical_json",
    "check_invoice",
    "check_record",
    "compliance_report",
    "parse_gs1_element_string",
    "pseudonymise",
    "recall_scope",
    "record_from_json",
    "record_hash",
    "render_findings",
    "render_recall_scope",
    "render_trace",
    "stock_effects",
    "trace_prescription",
    "validate_approval_number",
    "validate_gtin",
    "validate_invoice_number",
    "validate_patient_pseudonym",
    "validate_trace_code",
    "validate_uscc",
]
