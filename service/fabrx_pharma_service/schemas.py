"""JSON Schemas of the records and results, for the OpenAPI document, derived from their dataclasses.

The service reads and writes records exactly as their ``from_dict``/``to_dict`` do: field names as in
the dataclasses, dates and times as ISO 8601 text, decimals as strings (``"12.50"``), tuples as arrays,
enums by value. The schemas describe that shape; the domain's validation stays the authority (a record
the schema allows may still be refused with ``RECORD`` and every bad field).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fabrx.pharma import Anchor, CopyCheck, Discrepancy, InvoiceVerification, TraceCodeStatus
from fabrx_pharma import (
    AdverseEvent,
    Batch,
    Finding,
    Invoice,
    InvoiceNumber,
    Party,
    Prescription,
    Product,
    Recall,
    RecallScope,
    Receipt,
    StockPosition,
    Trace,
)

__all__ = ["RECORDS", "component_schemas"]

RECORDS: tuple[type[Any], ...] = (Party, Product, Batch, Invoice, Receipt, Prescription, AdverseEvent, Recall)
RESULTS: tuple[type[Any], ...] = (
    InvoiceVerification,
    CopyCheck,
    Discrepancy,
    TraceCodeStatus,
    Finding,
    Trace,
    RecallScope,
)

_ERROR = {
    "type": "object",
    "description": "A refusal: the HTTP status, the rule or service code, the field, why, and the Fabric "
    "transaction id when a transaction was proposed.",
    "required": ["status", "code", "field", "message", "transaction_id"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string", "examples": ["CONSERVATION", "RECORD", "SIGNATURE", "REPLAYED"]},
        "field": {"type": "string", "examples": ["lines[0].quantity"]},
        "message": {"type": "string"},
        "transaction_id": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_ANCHOR = {
    "type": "object",
    "description": "The public anchor a write leaves (who wrote what, when, the record's hash, where the "
    "private copies are).",
    "properties": {
        "record_type": {"type": "string"},
        "key": {"type": "string"},
        "submitter": {"type": "string"},
        "transaction_id": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "hash": {"type": "string"},
        "collections": {"type": "array", "items": {"type": "string"}},
        "parties": {"type": "array", "items": {"type": "string"}},
        "order": {"type": "integer"},
        "public": {"type": "object"},
    },
}
_POLICY = {
    "type": "object",
    "description": "The two-invoice policy in force (fabrx_pharma.policy JSON form).",
    "properties": {
        "one_invoice_mode": {"type": "boolean"},
        "allow_group_transfer": {"type": "boolean"},
        "allow_remote_delivery": {"type": "boolean"},
        "max_invoice_shipment_days": {"type": "integer"},
        "utc_offset_minutes": {"type": "integer"},
    },
}
_CHANGE = {
    "type": "object",
    "description": "One committed change of a ledger key, from the peer's history database: the policy "
    "a change set (in force from its timestamp), or the anchor a party's registration or a record's write "
    "left.",
    "properties": {
        "transaction_id": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "is_delete": {"type": "boolean"},
        "value": {"type": "object"},
    },
}
_STOCK = {
    "type": "object",
    "description": "A holder's counters of one batch, in sales packages, and what is on hand.",
    "properties": {
        name: {"type": "integer"}
        for name in (*(f.name for f in dataclasses.fields(StockPosition)), "on_hand")
    },
}
_TRANSACTION = {
    "type": "object",
    "properties": {
        "transaction_id": {"type": "string"},
        "validation_code": {"type": "string", "examples": ["VALID", "MVCC_READ_CONFLICT"]},
        "valid": {"type": "boolean"},
        "block_number": {"type": "integer"},
    },
}
_VERIFY_REQUEST = {
    "type": "object",
    "required": ["invoices"],
    "properties": {
        "invoices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["number"],
                "properties": {
                    "number": {"type": "string"},
                    "first_invoices": {
                        "type": "array",
                        "description": "The first-invoice copies the seller handed over (hospitals only).",
                        "items": {"$ref": "#/components/schemas/Invoice"},
                    },
                },
            },
        }
    },
}


_BULK_REQUEST = {
    "type": "object",
    "required": ["writes"],
    "properties": {
        "writes": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["operation", "record"],
                "properties": {
                    "operation": {
                        "type": "string",
                        "enum": [
                            "register_party",
                            "register_product",
                            "record_batch",
                            "issue_invoice",
                            "record_receipt",
                            "record_prescription",
                            "report_adverse_event",
                            "recall_batch",
                        ],
                    },
                    "record": {"type": "object", "description": "the record, as for the single write"},
                    "idempotency_key": {"type": "string"},
                },
            },
        }
    },
}
_BULK_RESULT = {
    "type": "object",
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "status"],
                "properties": {
                    "index": {"type": "integer"},
                    "status": {"type": "integer", "description": "what the single write would answer"},
                    "anchor": {"$ref": "#/components/schemas/Anchor"},
                    "error": {"$ref": "#/components/schemas/Error"},
                },
            },
        }
    },
}


def component_schemas() -> dict[str, Any]:
    """Every schema the OpenAPI document refers to, by name."""
    schemas: dict[str, Any] = {}
    for cls in (*RECORDS, *RESULTS):
        _dataclass_schema(cls, schemas)
    schemas.update(
        Error=_ERROR,
        Anchor=_ANCHOR,
        Change=_CHANGE,
        Policy=_POLICY,
        StockPosition=_STOCK,
        TransactionStatus=_TRANSACTION,
        VerificationRequest=_VERIFY_REQUEST,
        BulkRequest=_BULK_REQUEST,
        BulkResult=_BULK_RESULT,
    )
    schemas["InvoiceVerification"]["properties"]["verified"] = {"type": "boolean"}
    return dict(sorted(schemas.items()))


def _dataclass_schema(cls: type[Any], schemas: dict[str, Any]) -> dict[str, Any]:
    if cls is Anchor:
        return {"$ref": "#/components/schemas/Anchor"}
    name = cls.__name__
    if name not in schemas:
        schemas[name] = {}  # placeholder against recursion
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in dataclasses.fields(cls):
            properties[field.name] = _type_schema(hints[field.name], schemas)
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                required.append(field.name)
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        schemas[name] = {"type": "object", "description": doc, "required": required, "properties": properties}
    return {"$ref": f"#/components/schemas/{name}"}


def _type_schema(hint: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inner = _type_schema(options[0], schemas) if len(options) == 1 else {}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin in (tuple, list):
        return {"type": "array", "items": _type_schema(args[0], schemas) if args else {}}
    if (origin is not None and origin.__name__ == "Mapping") or hint is dict:
        return {"type": "object"}
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return {"type": "string", "enum": [member.value for member in hint]}
        if hint is bool:
            return {"type": "boolean"}
        if hint is int:
            return {"type": "integer"}
        if hint is datetime:
            return {"type": "string", "format": "date-time"}
        if hint is date:
            return {"type": "string", "format": "date"}
        if hint is Decimal:
            return {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
        if hint in (str, InvoiceNumber):
            return {"type": "string"}
        if dataclasses.is_dataclass(hint):
            return _dataclass_schema(hint, schemas)
    return {}
