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
    validate_party_id,
    validate_record_id,
    validate_uscc,
)
from .traceability import DRUG_ID_LENGTH

__all__ = ["Party", "Product", "Role"]


class Role(StrEnum):
    """What a party is allowed to record (see :mod:`fabrx_pharma.rules`)."""

    REGULATOR = "regulator"
    """The health commission: registers parties, reads everything, recalls batches, raises findings."""
    MANUFACTURER = "manufacturer"
    """Registers products, records production batches, issues first (or, in one-invoice mode, direct)
    invoices."""
    DISTRIBUTOR = "distributor"
    """Receives first invoices' goods, issues second (and exempted transfer) invoices."""
    HOSPITAL = "hospital"
    """Receives second invoices' goods, verifies invoices, records prescriptions and adverse events."""
    HOST = "host"
    """A member organization that runs nodes for hosted parties and trades nothing itself (a city
    hosting centre)."""


@dataclass(frozen=True)
class Party(Record):
    """A trading party (or the regulator, or a hosting member), registered by the regulator.

    A *member organization* runs its own peers: its ``party_id`` is its Fabric MSP id and
    ``host_msp_id`` equals it. A *hosted party* (节点账号: a small distributor, clinic or pharmacy) has no
    node of its own: it is an account on a member's node, ``host_msp_id`` names that member, and its
    users are enrolled by the member's Fabric CA with ``fabrx.party=<party_id>`` in their certificates.
    Every rule applies to both alike; where a record's private copy lives follows ``host_msp_id``.
    """

    RECORD_TYPE = "party"

    party_id: str
    """How records name the party (seller, buyer, holder, hospital ...): a member's MSP id, or the id
    the regulator gives a hosted party (its unified social credit code is a good choice)."""
    role: Role
    name: str
    uscc: str
    """Unified social credit code (统一社会信用代码)."""
    host_msp_id: str = ""
    """The member organization whose peers endorse and store the party's records; for a member
    organization itself, its own MSP id (the default when left empty)."""
    parent_party_id: str | None = None
    """The party this one is a wholly-owned or controlled subsidiary of (group relation)."""
    remote_area: bool = False
    """A facility (or a distributor serving facilities) in a remote township or village."""
    counts_as_manufacturer_of: tuple[str, ...] = ()
    """Manufacturers this party counts as for the invoice chain: a manufacturer's controlled sales
    company, or the sole general agent of an imported drug (domain rule 1)."""
    active: bool = True
    """Whether the party may still record: the regulator re-registers a party with ``active`` false when
    it leaves the consortium or loses its licence. Its records stay on the ledger and verifiable; it
    can write nothing more and nobody can invoice it (rule ``PARTY_INACTIVE``). Serialized only when
    false, so the records of active parties read as before."""

    def __post_init__(self) -> None:
        if not self.host_msp_id:
            object.__setattr__(self, "host_msp_id", self.party_id)

    @property
    def key(self) -> str:
        return self.party_id

    @property
    def is_member(self) -> bool:
        """Whether the party is a member organization of the channel (runs its own peers)."""
        return self.host_msp_id == self.party_id

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Party:
        f = FieldReader(data, path, problems, _PARTY_FIELDS)
        party = cls(
            party_id=f.checked("party_id", validate_party_id),
            role=f.choice("role", Role) or Role.DISTRIBUTOR,
            name=f.text("name", max_length=200),
            uscc=f.checked("uscc", validate_uscc),
            host_msp_id=f.optional_checked("host_msp_id", validate_msp_id) or "",
            parent_party_id=f.optional_checked("parent_party_id", validate_party_id),
            remote_area=f.flag("remote_area"),
            counts_as_manufacturer_of=f.strings("counts_as_manufacturer_of", validate_party_id, max_items=50),
            active=f.flag("active", default=True),
        )
        if party.parent_party_id is not None and party.parent_party_id == party.party_id:
            f.problem(f.at("parent_party_id"), "a party cannot be its own parent")
        if not party.is_member and party.role in (Role.REGULATOR, Role.HOST):
            f.problem(
                f.at("host_msp_id"),
                f"a {party.role.value} is a member organization: host_msp_id must be its own party_id",
            )
        if party.counts_as_manufacturer_of and party.role is not Role.DISTRIBUTOR:
            f.problem(
                f.at("counts_as_manufacturer_of"),
                "only a distributor (a sales company or general agent) can count as a manufacturer",
            )
        return party

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "party_id": self.party_id,
            "role": self.role.value,
            "name": self.name,
            "uscc": self.uscc,
            "host_msp_id": self.host_msp_id,
            "parent_party_id": self.parent_party_id,
            "remote_area": self.remote_area,
            "counts_as_manufacturer_of": list(self.counts_as_manufacturer_of),
        }
        if not self.active:
            data["active"] = False
        return data


_PARTY_FIELDS = (
    "party_id",
    "role",
    "name",
    "uscc",
    "host_msp_id",
    "parent_party_id",
    "remote_area",
    "counts_as_manufacturer_of",
    "active",
)


def _drug_id(value: object, field: str) -> str:
    """Validate a drug identification code (药品标识码): the 7 digits that start the product's 20-digit
    traceability codes. Raises :class:`ValidationError` with rule ``TRACE_PREFIX_FORMAT``."""
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
    """Party id of the manufacturer (the marketing authorisation holder)."""
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
            manufacturer=f.checked("manufacturer", validate_party_id),
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
