"""Every record type of the pharma ledger, canonical JSON and record hashes, in one namespace.

Records are frozen dataclasses. Each type (and each of its parts) reads itself with
``from_dict(data, path="")``, which reports every malformed field at once in a
:class:`~fabrx_pharma.errors.RecordError`, and writes itself with ``to_dict()``; ledger records also
have ``from_json(bytes)`` (the input boundary: size limit, UTF-8, strict JSON) and ``to_json()``
(canonical JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._base import MAX_RECORD_BYTES, Part, Record, canonical_json, decode_json, record_hash
from ._fields import MAX_ITEMS, MAX_TEXT_LENGTH, MAX_TRACE_CODES
from .care import AdverseEvent, Dispensing, Prescription
from .parties import Party, Product, Role
from .production import Batch, BatchKey, RawMaterialLot
from .recalls import Recall
from .trade import Exemption, GoodsLine, Invoice, InvoiceKind, InvoiceLine, Receipt, Shipment, quantities

__all__ = [
    "MAX_ITEMS",
    "MAX_RECORD_BYTES",
    "MAX_TEXT_LENGTH",
    "MAX_TRACE_CODES",
    "RECORD_TYPES",
    "AdverseEvent",
    "AnyRecord",
    "Batch",
    "BatchKey",
    "Dispensing",
    "Exemption",
    "GoodsLine",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "Part",
    "Party",
    "Prescription",
    "Product",
    "RawMaterialLot",
    "Recall",
    "Receipt",
    "Record",
    "Role",
    "Shipment",
    "canonical_json",
    "quantities",
    "record_from_json",
    "record_hash",
]

AnyRecord = Party | Product | Batch | Invoice | Receipt | Prescription | AdverseEvent | Recall
"""Any record written to the ledger."""

RECORD_TYPES: Mapping[str, type[AnyRecord]] = MappingProxyType(
    {
        cls.RECORD_TYPE: cls
        for cls in (Party, Product, Batch, Invoice, Receipt, Prescription, AdverseEvent, Recall)
    }
)
"""Record classes by their ledger type name (``party``, ``invoice``, ...)."""


def record_from_json(record_type: str, data: bytes | str) -> AnyRecord:
    """Read a record of the named type from JSON.

    Raises ``KeyError`` for an unknown type name and :class:`~fabrx_pharma.errors.RecordError` for bad
    input (see ``Record.from_json``).
    """
    try:
        cls = RECORD_TYPES[record_type]
    except KeyError:
        raise KeyError(
            f"unknown record type {record_type!r}; expected one of {', '.join(RECORD_TYPES)}"
        ) from None
    return cls.from_dict(decode_json(data, cls.__name__))
