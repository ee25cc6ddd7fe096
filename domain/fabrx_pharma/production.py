"""Production batches and the raw-material lots they consumed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ._base import Part, Record
from ._fields import FieldReader, Problems, decimal_text
from .identifiers import validate_party_id, validate_record_id

__all__ = ["Batch", "BatchKey", "RawMaterialLot"]

BatchKey = tuple[str, str]
"""A batch is identified by (product_id, batch_number)."""


@dataclass(frozen=True)
class RawMaterialLot(Part):
    """A lot of a raw material (active ingredient, excipient, packaging) consumed by a batch."""

    material: str
    lot: str
    supplier: str
    """The supplier's name or unified social credit code; suppliers need not be consortium members."""
    quantity: Decimal
    unit: str
    """Unit of ``quantity``, e.g. ``kg``."""

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> RawMaterialLot:
        f = FieldReader(data, path, problems, ("material", "lot", "supplier", "quantity", "unit"))
        lot = cls(
            material=f.text("material", max_length=200),
            lot=f.text("lot", max_length=64),
            supplier=f.text("supplier", max_length=200),
            quantity=f.decimal("quantity", places=6),
            unit=f.text("unit", max_length=16),
        )
        if f.raw("quantity", required=False) is not None and lot.quantity == 0:
            f.problem(f.at("quantity"), "must be greater than zero")
        return lot

    def to_dict(self) -> dict[str, object]:
        return {
            "material": self.material,
            "lot": self.lot,
            "supplier": self.supplier,
            "quantity": decimal_text(self.quantity),
            "unit": self.unit,
        }


@dataclass(frozen=True)
class Batch(Record):
    """A production batch released by its manufacturer; ``quantity`` counts sales packages."""

    RECORD_TYPE = "batch"

    product_id: str
    batch_number: str
    manufacturer: str
    """Party id of the manufacturer (the product's marketing authorisation holder)."""
    production_date: date
    expiry_date: date
    """The last day the batch may be sold or dispensed (有效期至)."""
    quantity: int
    raw_material_lots: tuple[RawMaterialLot, ...] = ()

    @property
    def batch_key(self) -> BatchKey:
        return (self.product_id, self.batch_number)

    @property
    def key(self) -> str:
        return f"{self.product_id}/{self.batch_number}"

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Batch:
        f = FieldReader(data, path, problems, _BATCH_FIELDS)
        batch = cls(
            product_id=f.checked("product_id", validate_record_id),
            batch_number=f.checked("batch_number", validate_record_id),
            manufacturer=f.checked("manufacturer", validate_party_id),
            production_date=f.date("production_date"),
            expiry_date=f.date("expiry_date"),
            quantity=f.positive_int("quantity"),
            raw_material_lots=f.objects("raw_material_lots", RawMaterialLot.read, min_items=0),
        )
        if date.min < batch.production_date and date.min < batch.expiry_date <= batch.production_date:
            f.problem(
                f.at("expiry_date"),
                f"must be after production_date {batch.production_date.isoformat()}",
                "TIME_ORDER",
            )
        return batch

    def to_dict(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "batch_number": self.batch_number,
            "manufacturer": self.manufacturer,
            "production_date": self.production_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat(),
            "quantity": self.quantity,
            "raw_material_lots": [lot.to_dict() for lot in self.raw_material_lots],
        }


_BATCH_FIELDS = (
    "product_id",
    "batch_number",
    "manufacturer",
    "production_date",
    "expiry_date",
    "quantity",
    "raw_material_lots",
)
