"""Parties registered by the regulator, and the products manufacturers register."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ._base import Record
from ._fields import FieldReader, Problems
from .errors import ValidationError
from .identifiers import (
    validate_approval_number,
    validate_gtin,
    validate_msp_id,
    validate_record_id,
    validate_uscc,
)
from .traceability import DRUG_ID_LENGTH

__all__ = ["Party", "Product", "Role"]


class Role(StrEnum):
    """What a party is allowed to record (see :mod:`fabrx_pharma.rules`)."""

    REGULATOR = "regulator"
    MANUFACTURER = "manufacturer"
    DISTRIBUTOR = "distributor"
    HOSPITAL = "hospital"


@dataclass(frozen=True)
class Party(Record):
    """An organisation of the consortium, registered by the regulator under its Fabric MSP id."""

    RECORD_TYPE = "party"

    msp_id: str
    role: Role
    name: str
    uscc: str
    """Unified social credit code (统一社会信用代码)."""
    parent_msp_id: str | None = None
    """The party this one is a wholly-owned or controlled subsidiary of (group relation)."""
    remote_area: bool = False
    """A facility (or a distributor serving facilities) in a remote township or village."""
    counts_as_manufacturer_of: tuple[str, ...] = ()
    """Manufacturers this party counts as for the invoice chain: a manufacturer's controlled sales
    company, or the sole general agent of an imported drug (domain rule 1)."""

    @property
    def key(self) -> str:
        return self.msp_id

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Party:
        f = FieldReader(data, path, problems, _PARTY_FIELDS)
        party = cls(
            msp_id=f.checked("msp_id", validate_msp_id),
            role=f.choice("role", Role) or Role.DISTRIBUTOR,
            name=f.text("name", max_length=200),
            uscc=f.checked("uscc", validate_uscc),
            parent_msp_id=f.optional_checked("parent_msp_id", validate_msp_id),
            remote_area=f.flag("remote_area"),
            counts_as_manufacturer_of=f.strings("counts_as_manufacturer_of", validate_msp_id, max_items=50),
        )
        if party.parent_msp_id is not None and party.parent_msp_id == party.msp_id:
            f.problem(f.at("parent_msp_id"), "a party cannot be its own parent")
        if party.counts_as_manufacturer_of and party.role is not Role.DISTRIBUTOR:
            f.problem(
                f.at("counts_as_manufacturer_of"),
                "only a distributor (a sales company or general agent) can count as a manufacturer",
            )
        return party

    def to_dict(self) -> dict[str, object]:
        return {
            "msp_id": self.msp_id,
            "role": self.role.value,
            "name": self.name,
            "uscc": self.uscc,
            "parent_msp_id": self.parent_msp_id,
            "remote_area": self.remote_area,
            "counts_as_manufacturer_of": list(self.counts_as_manufacturer_of),
        }


_PARTY_FIELDS = (
    "msp_id",
    "role",
    "name",
    "uscc",
    "parent_msp_id",
    "remote_area",
    "counts_as_manufacturer_of",
)


def _drug_id(value: object, field: str) -> str:
    if not (isinstance(value, str) and len(value.strip()) == DRUG_ID_LENGTH and value.strip().isdigit()):
        raise ValidationError(
            "TRACE_PREFIX_FORMAT", field, f"must be the {DRUG_ID_LENGTH}-digit drug identification code"
        )
    return value.strip()


@dataclass(frozen=True)
class Product(Record):
    """A drug product at one package level, as its manufacturer registers it.

    At least one of ``gtin`` and ``trace_prefix`` is required: they tie traceability codes to the
    product (a 20-digit code starts with ``trace_prefix``; a GS1 code carries ``gtin``).
    """

    RECORD_TYPE = "product"

    product_id: str
    name: str
    manufacturer: str
    """MSP id of the manufacturer (the marketing authorisation holder)."""
    approval_number: str
    """批准文号."""
    gtin: str | None = None
    """GTIN-14 of the sales package."""
    trace_prefix: str | None = None
    """The 7-digit drug identification code (药品标识码) that starts its 20-digit traceability codes."""

    @property
    def key(self) -> str:
        return self.product_id

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Product:
        f = FieldReader(data, path, problems, _PRODUCT_FIELDS)
        product = cls(
            product_id=f.checked("product_id", validate_record_id),
            name=f.text("name", max_length=200),
            manufacturer=f.checked("manufacturer", validate_msp_id),
            approval_number=f.checked("approval_number", validate_approval_number),
            gtin=f.optional_checked("gtin", validate_gtin),
            trace_prefix=f.optional_checked("trace_prefix", _drug_id),
        )
        if f.raw("gtin", required=False) is None and f.raw("trace_prefix", required=False) is None:
            f.problem(f.at("trace_prefix"), "a product needs a trace_prefix, a gtin, or both", "REQUIRED")
        return product

    def to_dict(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "manufacturer": self.manufacturer,
            "approval_number": self.approval_number,
            "gtin": self.gtin,
            "trace_prefix": self.trace_prefix,
        }


_PRODUCT_FIELDS = ("product_id", "name", "manufacturer", "approval_number", "gtin", "trace_prefix")
