"""Reading records from JSON-shaped data while collecting every problem with its field path.

A record's ``from_dict`` builds a :class:`FieldReader` over its data and asks it for each field. A bad
field adds a :class:`~fabrx_pharma.errors.ValidationError` to the shared problem list and yields a
placeholder, so reading goes on and the caller sees all problems at once (``lines[2].quantity: must be a
positive integer``) instead of only the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

from .errors import RecordError, ValidationError

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

Problems = list[ValidationError]
ItemParser = Callable[[object, str, Problems], T]

_DECIMAL = re.compile(r"\d{1,15}(\.\d{1,15})?")

MAX_TEXT_LENGTH = 2000
"""Longest free-text field (names, descriptions, reasons) in characters."""
MAX_ITEMS = 1000
"""Most lines, lots or items in one list of a record."""
MAX_TRACE_CODES = 10_000
"""Most traceability codes on one line (one per sales package)."""
MAX_QUANTITY = 1_000_000_000
"""Largest quantity of sales packages on one line or batch: larger ones are input errors, and bounding
them keeps every amount computed from them exact (``quantity × unit_price`` within 28 digits)."""


def decimal_text(value: Decimal, min_places: int = 0) -> str:
    """The canonical text of a decimal: by value, trailing zeros dropped, never an exponent, and at least
    ``min_places`` decimals (2 for money), so ``12.5``, ``12.50`` and ``12.500`` all read ``12.50``.

    Records write their decimals in this form, so two copies holding the same values have the same
    canonical JSON and hash however the amounts were typed. Exact for any finite decimal (no rounding).
    """
    whole, _, fraction = format(value, "f").partition(".")
    fraction = fraction.rstrip("0").ljust(min_places, "0")
    return f"{whole}.{fraction}" if fraction else whole


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class FieldReader:
    """Reads the fields of one JSON object; see the module docstring."""

    def __init__(self, data: object, path: str, problems: Problems, known: tuple[str, ...]) -> None:
        self._path = path
        self._problems = problems
        self._start = len(problems)
        # When the object itself is missing or not an object, that one problem is enough: its fields
        # are not reported as missing one by one.
        self._whole_bad = not isinstance(data, Mapping)
        self._data: Mapping[str, object]
        if isinstance(data, Mapping):
            self._data = data
            unknown = sorted(str(k) for k in data if k not in known)
            for name in unknown:
                self.problem(join(path, name), "unknown field; expected " + ", ".join(known), "UNKNOWN_FIELD")
        elif data is None:
            self._data = {}
            self.problem(path or "<record>", "is required", "REQUIRED")
        else:
            self._data = {}
            self.problem(path or "<record>", f"must be an object, got {type(data).__name__}", "TYPE")

    @property
    def clean(self) -> bool:
        """Whether no problem was found in this object (and its parts) so far: cross-field checks
        run only on clean values, so a bad field is not reported twice."""
        return len(self._problems) == self._start

    def mark(self) -> int:
        """A position in the problem list, for :meth:`clean_since`."""
        return len(self._problems)

    def clean_since(self, mark: int) -> bool:
        """Whether no problem was found since :meth:`mark` returned ``mark``."""
        return len(self._problems) == mark

    def at(self, name: str) -> str:
        return join(self._path, name)

    def problem(self, field: str, message: str, rule: str = "FORMAT") -> None:
        self._problems.append(ValidationError(rule, field, message))

    def raw(self, name: str, *, required: bool = True) -> object:
        value = self._data.get(name)
        if value is None and required and not self._whole_bad:
            self.problem(self.at(name), "is required", "REQUIRED")
        return value

    def _string(self, name: str, *, required: bool = True) -> str | None:
        value = self.raw(name, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(self.at(name), f"must be a string, got {type(value).__name__}", "TYPE")
            return None
        return value

    def text(self, name: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
        """A required non-empty free-text field, stripped."""
        value = self._string(name)
        if value is None:
            return ""
        value = value.strip()
        if not value:
            self.problem(self.at(name), "must not be empty", "REQUIRED")
        elif len(value) > max_length:
            self.problem(self.at(name), f"has {len(value)} characters; at most {max_length}", "LENGTH")
        return value

    def checked(self, name: str, validate: Callable[[object, str], str], *, required: bool = True) -> str:
        """A string field run through an identifier validator; '' when missing or invalid."""
        value = self.raw(name, required=required)
        if value is None:
            return ""
        try:
            return validate(value, self.at(name))
        except ValidationError as exc:
            self._problems.append(exc)
            return ""

    def optional_checked(self, name: str, validate: Callable[[object, str], str]) -> str | None:
        return self.checked(name, validate, required=False) or None

    def positive_int(self, name: str) -> int:
        value = self.raw(name)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.problem(self.at(name), f"must be a positive integer, got {value!r}", "TYPE")
            return 0
        if value > MAX_QUANTITY:
            self.problem(self.at(name), f"is {value}; at most {MAX_QUANTITY} are accepted", "RANGE")
            return 0
        return value

    def decimal(self, name: str, *, places: int) -> Decimal:
        """A non-negative decimal written as a string (never a float) with at most ``places`` decimals."""
        text = self._string(name)
        if text is None:
            return Decimal(0)
        text = text.strip()
        try:
            value = Decimal(text) if _DECIMAL.fullmatch(text) else Decimal("NaN")
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            self.problem(self.at(name), f"must be a non-negative decimal string, got {text!r}", "TYPE")
            return Decimal(0)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            self.problem(self.at(name), f"has more than {places} decimal places: {text!r}", "FORMAT")
        return value

    def date(self, name: str) -> date:
        text = self._string(name)
        if text is None:
            return date.min
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.problem(self.at(name), f"must be an ISO date YYYY-MM-DD, got {text!r}", "FORMAT")
            return date.min

    def timestamp(self, name: str) -> datetime:
        """An ISO 8601 timestamp with a UTC offset; naive times are ambiguous across provinces and nodes."""
        text = self._string(name)
        if text is None:
            return datetime.min
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.problem(self.at(name), f"must be an ISO 8601 timestamp, got {text!r}", "FORMAT")
            return datetime.min
        if value.utcoffset() is None:
            self.problem(self.at(name), f"must include a UTC offset (e.g. +08:00), got {text!r}", "FORMAT")
            return datetime.min
        return value

    def flag(self, name: str, *, default: bool = False) -> bool:
        value = self.raw(name, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(self.at(name), f"must be true or false, got {value!r}", "TYPE")
            return default
        return value

    def choice(self, name: str, enum_type: type[E], *, required: bool = True) -> E | None:
        value = self.raw(name, required=required)
        if value is None:
            return None
        for member in enum_type:
            if member.value == value:
                return member
        allowed = ", ".join(str(m.value) for m in enum_type)
        self.problem(self.at(name), f"must be one of {allowed}, got {value!r}", "CHOICE")
        return None

    def _list(self, name: str, *, max_items: int, min_items: int) -> list[object]:
        value = self.raw(name, required=min_items > 0)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(self.at(name), f"must be a list, got {type(value).__name__}", "TYPE")
            return []
        if len(value) < min_items:
            self.problem(self.at(name), f"must have at least {min_items} item(s)", "REQUIRED")
        if len(value) > max_items:
            self.problem(self.at(name), f"has {len(value)} items; at most {max_items}", "LENGTH")
            return []
        return value

    def objects(
        self, name: str, parse: ItemParser[T], *, max_items: int = MAX_ITEMS, min_items: int = 1
    ) -> tuple[T, ...]:
        items = self._list(name, max_items=max_items, min_items=min_items)
        return tuple(parse(item, f"{self.at(name)}[{i}]", self._problems) for i, item in enumerate(items))

    def strings(
        self,
        name: str,
        validate: Callable[[object, str], str],
        *,
        max_items: int = MAX_ITEMS,
        min_items: int = 0,
    ) -> tuple[str, ...]:
        items = self._list(name, max_items=max_items, min_items=min_items)
        result: list[str] = []
        for i, item in enumerate(items):
            try:
                result.append(validate(item, f"{self.at(name)}[{i}]"))
            except ValidationError as exc:
                self._problems.append(exc)
        return tuple(result)

    def nested(self, name: str, parse: ItemParser[T]) -> T:
        return parse(self._data.get(name), self.at(name), self._problems)


def finish(record_type: str, record: T, problems: Problems) -> T:
    """Return ``record`` if no problem was found; raise :class:`RecordError` listing them otherwise."""
    if problems:
        raise RecordError(record_type, problems)
    return record
