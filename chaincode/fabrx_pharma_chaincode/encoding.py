"""JSON for transaction results: records, anchors, stock, verifications, findings, traces, scopes.

Records keep their own ``to_dict`` form (the same JSON clients send); result dataclasses become
objects of their fields; enums their values; dates and times ISO 8601; decimals strings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from fabrx_pharma import RecallScope, StockPosition, Trace
from fabrx_pharma.records import Part

from .verification import InvoiceVerification

__all__ = ["encode", "to_jsonable"]


def to_jsonable(value: object) -> object:
    """Turn a result into JSON-shaped data (dicts, lists, strings, numbers, booleans, ``None``).

    Raises ``TypeError`` for a value of a type it does not know.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Part):
        return value.to_dict()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_jsonable(to_dict())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [to_jsonable(item) for item in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        result.update(_derived(value))
        return result
    raise TypeError(f"cannot encode a {type(value).__name__} as JSON")


def _derived(value: object) -> dict[str, object]:
    """Properties worth sending along with a result's fields."""
    if isinstance(value, StockPosition):
        return {"on_hand": value.on_hand, "out": value.out}
    if isinstance(value, InvoiceVerification):
        return {"verified": value.verified}
    if isinstance(value, RecallScope):
        return {"patients": list(value.patients)}
    if isinstance(value, Trace):
        return {"distributors": list(value.distributors)}
    return {}


def encode(value: object) -> bytes:
    """The UTF-8 JSON of :func:`to_jsonable` (keys sorted, no ASCII escaping)."""
    return json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )
