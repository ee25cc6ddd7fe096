"""Batch recalls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._base import Record
from ._fields import FieldReader, Problems
from .identifiers import validate_party_id, validate_record_id
from .production import BatchKey

__all__ = ["Recall"]


@dataclass(frozen=True)
class Recall(Record):
    """The recall of a batch, by the regulator or the batch's manufacturer.

    From ``recalled_at`` on, the batch can no longer be sold or dispensed.
    """

    RECORD_TYPE = "recall"

    product_id: str
    batch_number: str
    reason: str
    recalled_at: datetime
    by: str
    """Party id of the party that ordered the recall."""

    @property
    def batch_key(self) -> BatchKey:
        return (self.product_id, self.batch_number)

    @property
    def key(self) -> str:
        return f"{self.product_id}/{self.batch_number}"

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Recall:
        f = FieldReader(data, path, problems, ("product_id", "batch_number", "reason", "recalled_at", "by"))
        return cls(
            product_id=f.checked("product_id", validate_record_id),
            batch_number=f.checked("batch_number", validate_record_id),
            reason=f.text("reason"),
            recalled_at=f.timestamp("recalled_at"),
            by=f.checked("by", validate_party_id),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            "reason": self.reason,
            "recalled_at": self.recalled_at.isoformat(),
            "by": self.by,
        }
