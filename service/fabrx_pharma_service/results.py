"""Results as JSON: records by their ``to_dict``, other results field by field with the same conventions."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fabrx.pharma import Anchor, InvoiceVerification
from fabrx_pharma import StockPosition

__all__ = ["anchor_json", "jsonable"]


def anchor_json(anchor: Anchor) -> dict[str, object]:
    return {**anchor.as_dict(), "order": anchor.order, "public": jsonable(dict(anchor.public))}


def jsonable(value: Any) -> Any:
    """``value`` in JSON form: a record (anything with ``to_dict``) as its ``to_dict``; other dataclasses
    field by field; dates and times as ISO 8601; decimals as strings; enums by value; tuples as lists."""
    if isinstance(value, Anchor):
        return anchor_json(value)
    if isinstance(value, StockPosition):
        return {**value.counters(), "on_hand": value.on_hand}
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return value.to_dict()
    if isinstance(value, InvoiceVerification):
        return {**_fields(value), "verified": value.verified}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _fields(value: Any) -> dict[str, Any]:
    return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
