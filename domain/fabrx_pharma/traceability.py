"""Drug traceability codes (药品追溯码) and the GS1 element strings some of them are written in.

A traceability code identifies one sales package. Two forms exist (NMPAB/T 1002-2019):

- 20 digits whose first 7 are the drug identification code (药品标识码, one per product and package
  level), followed by a production part with the item serial and a check digit. The check algorithm is
  not public, so structure and the 7-digit prefix are validated and the check is pluggable
  (:data:`TraceCodeCheck`).
- a GS1 element string (common on imported drugs) carrying at least the GTIN (01) and the serial (21),
  usually also the batch (10) and expiry (17).

Codes are stored as text of at most :data:`TRACE_CODE_MAX_LENGTH` characters (the national insurance
interfaces' limit). GS1 codes are normalised to the bracketed human-readable form with the AIs in a
fixed order, so the same package scanned as raw or as printed text has one code.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .errors import ValidationError
from .identifiers import validate_gtin

__all__ = [
    "DRUG_ID_LENGTH",
    "GS1_SEPARATOR",
    "TRACE_CODE_MAX_LENGTH",
    "GS1Elements",
    "TraceCodeCheck",
    "parse_gs1_element_string",
    "trace_code_product_key",
    "validate_trace_code",
]

TRACE_CODE_MAX_LENGTH = 100
DRUG_ID_LENGTH = 7
"""Digits of the drug identification code at the start of a 20-digit traceability code."""
GS1_SEPARATOR = "\x1d"
"""FNC1 as transmitted by scanners (ASCII GS): ends a variable-length element in a raw element string."""

TraceCodeCheck = Callable[[str], bool]
"""A check of a 20-digit traceability code, returning whether its check digit is right."""

_FIXED_LENGTH = {"01": 14, "11": 6, "17": 6}
_VARIABLE_MAX = {"10": 20, "21": 20}
_ORDER = ("01", "11", "17", "10", "21")
# GS1 AI encodable character set 82 (minus the brackets, which delimit the human-readable form).
_GS1_VALUE = re.compile(r"[!\"%&'*+,\-./0-9:;<=>?A-Z_a-z]+")
_BRACKETED = re.compile(r"\((\d{2})\)([^()]*)")


@dataclass(frozen=True)
class GS1Elements:
    """The elements of a GS1 element string that drug packages carry."""

    gtin: str | None = None
    """(01), as GTIN-14."""
    batch: str | None = None
    """(10) batch or lot number."""
    production_date: date | None = None
    """(11)"""
    expiry_date: date | None = None
    """(17); a day of 00 in the code means the last day of that month."""
    serial: str | None = None
    """(21) the package serial number."""
    raw: tuple[tuple[str, str], ...] = ()
    """Every (AI, value) pair as written, in canonical order."""

    @property
    def text(self) -> str:
        """The canonical bracketed form, e.g. ``(01)06912345678906(17)261231(10)B1(21)0001``."""
        return "".join(f"({ai}){value}" for ai, value in self.raw)


def _gs1_date(value: str, field: str, ai: str) -> date:
    if not (len(value) == 6 and value.isdigit()):
        raise ValidationError("GS1_DATE", field, f"AI ({ai}) must be YYMMDD, got {value!r}")
    # GS1 resolves the century with a sliding window; without a clock here, 20YY is the only sane reading.
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12:
        raise ValidationError("GS1_DATE", field, f"AI ({ai}) has month {month:02d} in {value!r}")
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        day = last
    if day > last:
        raise ValidationError("GS1_DATE", field, f"AI ({ai}) has day {day:02d} in {value!r}")
    return date(year, month, day)


def _split_raw(text: str, field: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    pos = 1 if text.startswith(GS1_SEPARATOR) else 0
    while pos < len(text):
        ai = text[pos : pos + 2]
        pos += 2
        if ai in _FIXED_LENGTH:
            end = pos + _FIXED_LENGTH[ai]
            if end > len(text):
                raise ValidationError("GS1_FORMAT", field, f"AI ({ai}) needs {_FIXED_LENGTH[ai]} characters")
            pairs.append((ai, text[pos:end]))
            pos = end + (1 if text[end : end + 1] == GS1_SEPARATOR else 0)
        elif ai in _VARIABLE_MAX:
            end = text.find(GS1_SEPARATOR, pos)
            end = len(text) if end < 0 else end
            pairs.append((ai, text[pos:end]))
            pos = end + 1
        else:
            raise ValidationError(
                "GS1_AI", field, f"application identifier ({ai}) is not supported; expected one of {_ORDER}"
            )
    return pairs


def parse_gs1_element_string(value: object, field: str = "gs1") -> GS1Elements:
    """Parse a GS1 element string with AIs (01), (10), (11), (17) and (21).

    Accepts the bracketed human-readable form ``(01)…(17)…(10)…(21)…`` and the raw scanner form where
    variable-length elements end with :data:`GS1_SEPARATOR` or the end of the text. Each AI may occur
    once. Raises :class:`ValidationError` with rule ``GS1_FORMAT``, ``GS1_AI``, ``GS1_DATE`` or a GTIN
    rule for (01).
    """
    if not isinstance(value, str):
        raise ValidationError("GS1_FORMAT", field, f"must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValidationError("GS1_FORMAT", field, "is empty")
    if text.startswith("("):
        pairs = [(m.group(1), m.group(2)) for m in _BRACKETED.finditer(text)]
        if "".join(f"({ai}){v}" for ai, v in pairs) != text:
            raise ValidationError("GS1_FORMAT", field, f"{text!r} is not a sequence of (AI)value elements")
        for ai, _ in pairs:
            if ai not in _FIXED_LENGTH and ai not in _VARIABLE_MAX:
                raise ValidationError(
                    "GS1_AI",
                    field,
                    f"application identifier ({ai}) is not supported; expected one of {_ORDER}",
                )
    else:
        pairs = _split_raw(text, field)
    found: dict[str, str] = {}
    for ai, element in pairs:
        if ai in found:
            raise ValidationError("GS1_FORMAT", field, f"application identifier ({ai}) occurs twice")
        if ai in _FIXED_LENGTH and not (len(element) == _FIXED_LENGTH[ai] and element.isdigit()):
            raise ValidationError(
                "GS1_FORMAT", field, f"AI ({ai}) must be {_FIXED_LENGTH[ai]} digits, got {element!r}"
            )
        if ai in _VARIABLE_MAX and not (len(element) <= _VARIABLE_MAX[ai] and _GS1_VALUE.fullmatch(element)):
            raise ValidationError(
                "GS1_FORMAT",
                field,
                f"AI ({ai}) must be 1-{_VARIABLE_MAX[ai]} GS1 characters, got {element!r}",
            )
        found[ai] = element
    gtin = validate_gtin(found["01"], f"{field}(01)") if "01" in found else None
    if gtin is not None:
        found["01"] = gtin
    return GS1Elements(
        gtin=gtin,
        batch=found.get("10"),
        production_date=_gs1_date(found["11"], field, "11") if "11" in found else None,
        expiry_date=_gs1_date(found["17"], field, "17") if "17" in found else None,
        serial=found.get("21"),
        raw=tuple((ai, found[ai]) for ai in _ORDER if ai in found),
    )


def validate_trace_code(
    value: object, field: str = "trace_code", *, check: TraceCodeCheck | None = None
) -> str:
    """Validate a drug traceability code and return its canonical text.

    A 20-digit code is returned as is, after ``check`` (when given) accepts it. Anything else must be a
    GS1 element string with a GTIN (01) and a serial (21), returned in canonical bracketed form. Raises
    :class:`ValidationError` with rule ``TRACE_CODE_FORMAT``, ``TRACE_CODE_CHECK`` or a GS1 rule.
    """
    if not isinstance(value, str):
        raise ValidationError("TRACE_CODE_FORMAT", field, f"must be a string, got {type(value).__name__}")
    text = value.strip()
    if len(text) > TRACE_CODE_MAX_LENGTH:
        raise ValidationError(
            "TRACE_CODE_FORMAT", field, f"has {len(text)} characters; at most {TRACE_CODE_MAX_LENGTH}"
        )
    if text.isascii() and text.isdigit() and len(text) == 20:
        if check is not None and not check(text):
            raise ValidationError("TRACE_CODE_CHECK", field, f"{text!r} fails the traceability-code check")
        return text
    if text.isascii() and text.isdigit() and not text.startswith("01"):
        raise ValidationError(
            "TRACE_CODE_FORMAT", field, f"a numeric traceability code has 20 digits, got {len(text)}"
        )
    if not (text.startswith("(") or text.startswith("01") or text.startswith(GS1_SEPARATOR)):
        raise ValidationError(
            "TRACE_CODE_FORMAT",
            field,
            f"{text!r} is neither a 20-digit traceability code nor a GS1 element string starting with (01)",
        )
    elements = parse_gs1_element_string(text, field)
    if elements.gtin is None or elements.serial is None:
        raise ValidationError(
            "TRACE_CODE_FORMAT", field, "a GS1 traceability code needs a GTIN (01) and a serial number (21)"
        )
    return elements.text


def trace_code_product_key(code: str) -> str:
    """Return what a canonical traceability code says about its product.

    For a 20-digit code, its first 7 digits (the drug identification code, compared with
    ``Product.trace_prefix``); for a GS1 code, its GTIN-14 (compared with ``Product.gtin``).
    """
    if code.isdigit():
        return code[:DRUG_ID_LENGTH]
    elements = parse_gs1_element_string(code)
    return elements.gtin or ""
