"""The result of a hospital's invoice verification (验票), shared by the chaincode that computes it and
the clients that read it.

A second invoice verifies when it is genuine (its private copy, the public anchor's hash and Fabric's
private data hash agree), matches the receipt (票货同行), and every first-invoice copy the distributor
handed over is, in canonical form, the invoice the ledger holds under its number (a hash check: the
hospital needs no read access to the manufacturer-distributor trade).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .trade import InvoiceKind

__all__ = ["CopyCheck", "Discrepancy", "InvoiceVerification"]


@dataclass(frozen=True)
class Discrepancy:
    """Something that does not verify: a rule code (or ``HASH_MISMATCH``), the field and why."""

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class CopyCheck:
    """One first-invoice copy the distributor handed over: is it the invoice on the ledger?"""

    index: int
    number: str | None
    """The number on the copy, ``None`` if it could not be read."""
    genuine: bool
    """The copy is, byte for byte in canonical form, the invoice the ledger holds under its number."""


@dataclass(frozen=True)
class InvoiceVerification:
    """The verification of one invoice; :attr:`verified` if no discrepancy was found."""

    number: str
    kind: InvoiceKind
    seller: str
    buyer: str
    genuine: bool
    """The private copy, its anchor hash and Fabric's private data hash agree."""
    receipt_matches: bool | None
    """Invoice, shipment and receipt agree (票货同行); ``None`` before a receipt is recorded."""
    first_invoices: tuple[CopyCheck, ...]
    discrepancies: tuple[Discrepancy, ...]

    @property
    def verified(self) -> bool:
        return not self.discrepancies

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> InvoiceVerification:
        """Read the JSON form the chaincode returns (``KeyError``/``ValueError`` on a malformed one)."""
        return cls(
            number=str(raw["number"]),
            kind=InvoiceKind(raw["kind"]),
            seller=str(raw["seller"]),
            buyer=str(raw["buyer"]),
            genuine=bool(raw["genuine"]),
            receipt_matches=raw.get("receipt_matches"),
            first_invoices=tuple(
                CopyCheck(int(c["index"]), c.get("number"), bool(c["genuine"])) for c in raw["first_invoices"]
            ),
            discrepancies=tuple(
                Discrepancy(str(d["code"]), str(d["field"]), str(d["message"])) for d in raw["discrepancies"]
            ),
        )
