"""The regulator's queries answered from a supervision store, when the service is given one.

The chaincode answers the regulator's report, diversion signals, traces and recall scopes by reading the
whole ledger on every call; a supervision store (``fabrx_pharma_supervision``) answers the same from its
relational projection, kept current by its feed. :class:`StoreQueries` has the regulator facade's
method names, so the routes call either; answers from the store carry the header
``Fabrx-Source: supervision-store; checkpoint=<last block applied>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fabrx.pharma import PharmaError
from fabrx_pharma import Finding, RecallScope, Trace
from fabrx_pharma_chaincode.supervision import DIVERSION_RULES

__all__ = ["SOURCE_HEADER", "StoreQueries", "SupervisionLike"]

SOURCE_HEADER = "Fabrx-Source"


class SupervisionLike(Protocol):
    """What the service reads of a ``fabrx_pharma_supervision.SupervisionStore``."""

    def checkpoint(self) -> int | None: ...
    def compliance_report(self, *, as_of: datetime | None = None) -> list[Finding]: ...
    def trace_prescription(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]: ...
    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope: ...


class StoreQueries:
    """The regulator facade's queries over a supervision store."""

    def __init__(self, store: SupervisionLike) -> None:
        self._store = store

    def source(self) -> str:
        """The value of the :data:`SOURCE_HEADER` of an answer from the store."""
        checkpoint = self._store.checkpoint()
        return f"supervision-store; checkpoint={'none' if checkpoint is None else checkpoint}"

    def compliance_report(self, *, as_of: datetime | None = None) -> list[Finding]:
        return self._store.compliance_report(as_of=as_of)

    def diversion_signals(self, *, as_of: datetime | None = None) -> list[Finding]:
        return [f for f in self._store.compliance_report(as_of=as_of) if f.rule in DIVERSION_RULES]

    def trace(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]:
        if (prescription_id is None) == (patient_pseudonym is None):
            raise PharmaError(
                "RECORD", "prescription_id", "give exactly one of prescription_id and patient_pseudonym"
            )
        return self._store.trace_prescription(
            prescription_id=prescription_id, patient_pseudonym=patient_pseudonym
        )

    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope:
        return self._store.recall_scope(product_id, batch_number)
