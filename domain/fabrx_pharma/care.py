"""The hospital side: prescriptions with what was dispensed, and adverse-event reports.

Patients appear only as keyed pseudonyms (:func:`fabrx_pharma.identifiers.pseudonymise`); the hospital
holds the key and is the only party that can resolve one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._base import Record
from ._fields import FieldReader, Problems
from .identifiers import validate_party_id, validate_patient_pseudonym, validate_record_id
from .trade import GoodsLine

__all__ = ["AdverseEvent", "Dispensing", "Prescription"]


@dataclass(frozen=True)
class Dispensing(GoodsLine):
    """What one prescription item dispensed: product, batch, quantity, and the packages' codes."""


@dataclass(frozen=True)
class Prescription(Record):
    """A prescription (or e-prescription) and its dispensing at one hospital."""

    RECORD_TYPE = "prescription"

    prescription_id: str
    hospital: str
    """Party id of the hospital (or clinic) that prescribed and dispensed."""
    patient_pseudonym: str
    prescribed_at: datetime
    items: tuple[Dispensing, ...]

    @property
    def key(self) -> str:
        return self.prescription_id

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Prescription:
        f = FieldReader(
            data,
            path,
            problems,
            ("prescription_id", "hospital", "patient_pseudonym", "prescribed_at", "items"),
        )
        return cls(
            prescription_id=f.checked("prescription_id", validate_record_id),
            hospital=f.checked("hospital", validate_party_id),
            patient_pseudonym=f.checked("patient_pseudonym", validate_patient_pseudonym),
            prescribed_at=f.timestamp("prescribed_at"),
            items=f.objects("items", Dispensing.read),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "prescription_id": self.prescription_id,
            "hospital": self.hospital,
            "patient_pseudonym": self.patient_pseudonym,
            "prescribed_at": self.prescribed_at.isoformat(),
            "items": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True)
class AdverseEvent(Record):
    """A suspected adverse drug reaction reported by the hospital that dispensed the drug."""

    RECORD_TYPE = "adverse_event"

    report_id: str
    hospital: str
    """Party id of the hospital that dispensed and reports."""
    prescription_id: str
    patient_pseudonym: str
    reported_at: datetime
    description: str
    product_id: str
    batch_number: str

    @property
    def key(self) -> str:
        return self.report_id

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> AdverseEvent:
        f = FieldReader(data, path, problems, _EVENT_FIELDS)
        return cls(
            report_id=f.checked("report_id", validate_record_id),
            hospital=f.checked("hospital", validate_party_id),
            prescription_id=f.checked("prescription_id", validate_record_id),
            patient_pseudonym=f.checked("patient_pseudonym", validate_patient_pseudonym),
            reported_at=f.timestamp("reported_at"),
            description=f.text("description"),
            product_id=f.checked("product_id", validate_record_id),
            batch_number=f.checked("batch_number", validate_record_id),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "report_id": self.report_id,
            "hospital": self.hospital,
            "prescription_id": self.prescription_id,
            "patient_pseudonym": self.patient_pseudonym,
            "reported_at": self.reported_at.isoformat(),
            "description": self.description,
            "product_id": self.product_id,
            "batch_number": self.batch_number,
        }


_EVENT_FIELDS = (
    "report_id",
    "hospital",
    "prescription_id",
    "patient_pseudonym",
    "reported_at",
    "description",
    "product_id",
    "batch_number",
)
