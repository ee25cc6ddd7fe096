"""Identifiers of the pharma domain: validators that return the normalised value or raise.

Every validator takes the value and the path of the field it came from, and either returns the
normalised value or raises :class:`~fabrx_pharma.errors.ValidationError` naming that field. Normalising
rules, chosen once here so every writer and reader agrees:

- surrounding whitespace is stripped everywhere;
- unified social credit codes and approval-number letters are upper-cased (real registries hold some
  lowercase codes; the check characters are defined on upper case only);
- GTINs of 8, 12, 13 or 14 digits become GTIN-14 (left zero padding), so one product has one key;
- patient pseudonyms are lower-case hex.

The check characters are computed by python-stdnum (``stdnum.cn.uscc``, ``stdnum.ean``), a pure-Python
library; the format rules and the error messages are fabrx's own, because they differ from stdnum's where
the standards say so: GB 32100-2015 gives registration authorities letters (``A``, ``N``, ``Y``) that
stdnum's USCC format refuses, stdnum knows no GB 11714 organisation-code check, and stdnum reads a GTIN or a
USCC with spaces or hyphens inside, which a record's identifier field must not hold.

Traceability codes and GS1 element strings live in :mod:`fabrx_pharma.traceability`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from stdnum import ean
from stdnum.cn import uscc

from .errors import ValidationError

__all__ = [
    "APPROVAL_YEARS",
    "MIN_PSEUDONYM_KEY_BYTES",
    "USCC_ALPHABET",
    "InvoiceNumber",
    "approval_year",
    "gtin_check_digit",
    "org_code_check_char",
    "pseudonymise",
    "uscc_check_char",
    "validate_approval_number",
    "validate_gtin",
    "validate_invoice_number",
    "validate_msp_id",
    "validate_party_id",
    "validate_patient_pseudonym",
    "validate_record_id",
    "validate_uscc",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100-2015 (no I, O, S, V, Z); a character's value is its index."""

_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _text(value: object, field: str, rule_prefix: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{rule_prefix}_TYPE", field, f"must be a string, got {type(value).__name__}")
    return value.strip()


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character (position 18) for the first 17 characters.

    Weights 3^(i-1) mod 31 over the characters' values, check = 31 - (sum mod 31), 31 written ``0``
    (``stdnum.cn.uscc``). Raises ``ValueError`` if ``first17`` is not 17 characters of
    :data:`USCC_ALPHABET`.
    """
    if len(first17) != 17 or any(c not in _USCC_VALUES for c in first17):
        raise ValueError(f"expected 17 characters of {USCC_ALPHABET!r}, got {first17!r}")
    return uscc.calc_check_digit(first17)


def org_code_check_char(first8: str) -> str:
    """Return the GB 11714 organisation-code check character for its first 8 characters.

    Written here: python-stdnum has no GB 11714 module. Digits count their value and letters A-Z
    10-35; the check is ``11 - sum mod 11`` with 10 written ``X`` and 11 written ``0``. Raises
    ``ValueError`` if ``first8`` is not 8 digits or upper-case letters.
    """
    if len(first8) != 8 or not all(c.isascii() and (c.isdigit() or c.isupper()) for c in first8):
        raise ValueError(f"expected 8 digits or upper-case letters, got {first8!r}")
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def validate_uscc(value: object, field: str = "uscc") -> str:
    """Validate a unified social credit code (统一社会信用代码, GB 32100-2015); return it upper-cased.

    Checks, in order: 18 characters; every character in :data:`USCC_ALPHABET`; positions 3-8 (the
    administrative division) digits; position 17 the GB 11714 check of the organisation code at
    positions 9-16; position 18 the GB 32100 check character. Input is upper-cased first, because
    registries hold some codes in lower case and the check is defined on upper case.

    Raises :class:`ValidationError` with rule ``USCC_LENGTH``, ``USCC_CHARACTER``, ``USCC_DIVISION``,
    ``ORG_CODE_CHECK`` or ``USCC_CHECK``.
    """
    code = _text(value, field, "USCC").upper()
    if len(code) != 18:
        raise ValidationError("USCC_LENGTH", field, f"must have 18 characters, got {len(code)} in {code!r}")
    bad = sorted({c for c in code if c not in _USCC_VALUES})
    if bad:
        raise ValidationError(
            "USCC_CHARACTER", field, f"{code!r} contains {''.join(bad)!r}; allowed: {USCC_ALPHABET}"
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            "USCC_DIVISION", field, f"positions 3-8 (administrative division) must be digits in {code!r}"
        )
    expected_org = org_code_check_char(code[8:16])
    if code[16] != expected_org:
        raise ValidationError(
            "ORG_CODE_CHECK",
            field,
            f"organisation code {code[8:17]!r} has check {code[16]!r}, GB 11714 gives {expected_org!r}",
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValidationError(
            "USCC_CHECK",
            field,
            f"{code!r} ends in {code[17]!r}, the GB 32100 check character is {expected!r}",
        )
    return code


def gtin_check_digit(body: str) -> str:
    """Return the GS1 mod-10 check digit for the digits before it (weights 3, 1, 3, ... from the right).

    The same for every GTIN length (``stdnum.ean``). Raises ``ValueError`` if ``body`` is empty or not
    all ASCII digits.
    """
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(f"expected digits, got {body!r}")
    return ean.calc_check_digit(body)


def validate_gtin(value: object, field: str = "gtin") -> str:
    """Validate a GTIN-8, -12, -13 or -14 and return it as GTIN-14 (zero-padded on the left).

    Raises :class:`ValidationError` with rule ``GTIN_FORMAT`` (not 8/12/13/14 ASCII digits) or
    ``GTIN_CHECK`` (wrong check digit).
    """
    gtin = _text(value, field, "GTIN")
    if len(gtin) not in (8, 12, 13, 14) or not gtin.isascii() or not gtin.isdigit():
        raise ValidationError("GTIN_FORMAT", field, f"must be 8, 12, 13 or 14 digits, got {gtin!r}")
    expected = gtin_check_digit(gtin[:-1])
    if gtin[-1] != expected:
        raise ValidationError(
            "GTIN_CHECK", field, f"{gtin!r} ends in {gtin[-1]}, the check digit is {expected}"
        )
    return gtin.zfill(14)


_APPROVAL_PREFIX = "国药准字"
# Legacy: one category letter + 8 digits. Year-bearing: H/Z/S + C or J + 4-digit year + 4-digit sequence.
_APPROVAL_LEGACY = re.compile(r"[HZSJBTF]\d{8}")
_APPROVAL_WITH_YEAR = re.compile(r"[HZS][CJ](\d{4})\d{4}")
_IMPORT_LICENCE = re.compile(r"[HZS]C?\d{8}")
APPROVAL_YEARS = range(1949, 2100)
"""The years an approval number of the year-bearing form may carry: the product's original approval year,
from the founding of the national drug administration on. A number's form says nothing of today's date;
the chaincode refuses, at registration, a year after the transaction's (``TIME_ORDER``)."""


def validate_approval_number(value: object, field: str = "approval_number") -> str:
    """Validate a drug approval number (批准文号) and return it with spaces removed and letters upper-cased.

    Accepted forms:

    - ``国药准字`` + H/Z/S/J/B/T/F + 8 digits (legacy numbers, whose digits encode the issuing authority
      and a two-digit year in ways that changed over time, and the current form without C/J, whose
      4-digit year and 4-digit sequence are 8 digits too);
    - ``国药准字`` + H/Z/S + C (Hong Kong, Macao, Taiwan) or J (made abroad) + year + 4-digit sequence
      (HC, HJ, ZC, ZJ, SC, SJ). Re-registered products keep their original approval year, so any year of
      :data:`APPROVAL_YEARS` (1949–2099) is accepted, not only those since the form's introduction in
      2020;
    - an older import licence number (进口药品注册证 / 医药产品注册证): H/Z/S, optionally C, + 8 digits.

    Raises :class:`ValidationError` with rule ``APPROVAL_NUMBER_FORMAT``.
    """
    text = "".join(_text(value, field, "APPROVAL_NUMBER").split()).upper()
    if text.startswith(_APPROVAL_PREFIX):
        rest = text[len(_APPROVAL_PREFIX) :]
        if _APPROVAL_LEGACY.fullmatch(rest):
            return text
        match = _APPROVAL_WITH_YEAR.fullmatch(rest)
        if match and int(match.group(1)) in APPROVAL_YEARS:
            return text
    elif _IMPORT_LICENCE.fullmatch(text):
        return text
    raise ValidationError(
        "APPROVAL_NUMBER_FORMAT",
        field,
        f"{text!r} is not an approval number: expected 国药准字 + H/Z/S/J/B/T/F + 8 digits, "
        f"国药准字 + H/Z/S + C/J + year ({APPROVAL_YEARS.start}–{APPROVAL_YEARS.stop - 1}) + 4 digits, "
        "or an import licence H/Z/S[C] + 8 digits",
    )


def approval_year(number: str) -> int | None:
    """The approval year inside a valid approval number of the year-bearing form (HC/HJ/ZC/ZJ/SC/SJ), else
    ``None`` (the other forms do not say their year unambiguously)."""
    if not number.startswith(_APPROVAL_PREFIX):
        return None
    match = _APPROVAL_WITH_YEAR.fullmatch(number[len(_APPROVAL_PREFIX) :])
    return int(match.group(1)) if match else None


@dataclass(frozen=True, order=True)
class InvoiceNumber:
    """The identity of a VAT invoice.

    A fully digitalised e-invoice (数电票) is identified by its 20-digit number alone: 2 digits year,
    2 digits province-level tax authority, 1 digit issuing channel, 15 digits sequence; its two year
    digits must be the last two of the issue date's year (rule ``INVOICE_NUMBER_DATE``). An older VAT
    invoice is identified by its 10- or 12-digit invoice code together with its 8-digit number, written
    ``code-number``, the invoice's key on the ledger.

    ``code`` is ``None`` for a 20-digit number; ``str()`` gives the canonical text.
    """

    number: str
    code: str | None = None

    def __str__(self) -> str:
        return self.number if self.code is None else f"{self.code}-{self.number}"

    @property
    def fully_digital(self) -> bool:
        """Whether this is a 20-digit fully digitalised e-invoice number."""
        return self.code is None

    @property
    def year(self) -> int | None:
        """The two-digit issue year inside a fully digitalised number (e.g. 24), else ``None``."""
        return int(self.number[:2]) if self.code is None else None

    @property
    def province(self) -> str | None:
        """The two-digit tax-authority code inside a fully digitalised number, else ``None``."""
        return self.number[2:4] if self.code is None else None

    @classmethod
    def parse(cls, value: object, field: str = "number") -> InvoiceNumber:
        """Read an invoice number from its canonical text (see :func:`validate_invoice_number`)."""
        text = _text(value, field, "INVOICE_NUMBER")
        if len(text) == 20 and text.isascii() and text.isdigit():
            return cls(number=text)
        code, sep, number = text.partition("-")
        if (
            sep
            and len(code) in (10, 12)
            and len(number) == 8
            and (code + number).isascii()
            and (code + number).isdigit()
        ):
            return cls(number=number, code=code)
        raise ValidationError(
            "INVOICE_NUMBER_FORMAT",
            field,
            f"{text!r} is not an invoice number: expected 20 digits (fully digitalised e-invoice) "
            "or a 10- or 12-digit invoice code, '-', and the 8-digit invoice number",
        )


def validate_invoice_number(value: object, field: str = "number") -> str:
    """Validate an invoice number's text and return it in canonical form.

    Raises :class:`ValidationError` with rule ``INVOICE_NUMBER_FORMAT``.
    """
    return str(InvoiceNumber.parse(value, field))


MIN_PSEUDONYM_KEY_BYTES = 16
"""A shorter hospital key would make the pseudonym guessable by trying every patient id."""

_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def pseudonymise(key: bytes, patient_id: str) -> str:
    """Return the keyed pseudonym of a patient: HMAC-SHA256 over the trimmed id, as 64 hex digits.

    Only the holder of ``key`` (the hospital) can link the pseudonym back to the patient; anyone else
    sees an opaque value that is the same for every prescription of that patient. Raises ``ValueError``
    if the key is shorter than :data:`MIN_PSEUDONYM_KEY_BYTES` or the patient id is empty.
    """
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        raise ValueError(f"the pseudonym key must have at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
    patient = patient_id.strip()
    if not patient:
        raise ValueError("patient_id is empty")
    return hmac.new(key, patient.encode("utf-8"), hashlib.sha256).hexdigest()


def validate_patient_pseudonym(value: object, field: str = "patient_pseudonym") -> str:
    """Validate a patient pseudonym (64 hex digits from :func:`pseudonymise`); return it lower-cased.

    Raises :class:`ValidationError` with rule ``PSEUDONYM_FORMAT``: a clear patient id is never accepted.
    """
    text = _text(value, field, "PSEUDONYM").lower()
    if not _PSEUDONYM.fullmatch(text):
        raise ValidationError(
            "PSEUDONYM_FORMAT", field, "must be the 64 hex digits of a keyed pseudonym, never a patient id"
        )
    return text


_MSP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")


def validate_msp_id(value: object, field: str = "msp_id") -> str:
    """Validate a Fabric MSP id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.

    Raises :class:`ValidationError` with rule ``MSP_ID_FORMAT``.
    """
    text = _text(value, field, "MSP_ID")
    if not _MSP_ID.fullmatch(text):
        raise ValidationError(
            "MSP_ID_FORMAT", field, f"{text!r} is not an MSP id: 1-64 letters, digits, '.', '_' or '-'"
        )
    return text


def validate_party_id(value: object, field: str = "party_id") -> str:
    """Validate a party id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.

    A member organization's party id is its MSP id; a hosted party's is the id the regulator registered
    (its unified social credit code, say). Raises :class:`ValidationError` with rule ``PARTY_ID_FORMAT``.
    """
    text = _text(value, field, "PARTY_ID")
    if not _MSP_ID.fullmatch(text):
        raise ValidationError(
            "PARTY_ID_FORMAT", field, f"{text!r} is not a party id: 1-64 letters, digits, '.', '_' or '-'"
        )
    return text


def validate_record_id(value: object, field: str) -> str:
    """Validate a record id (product id, batch number, shipment, receipt, prescription or report id).

    1-64 letters, digits, '.', '_', '/' or '-', starting with a letter or digit: these ids become parts
    of ledger keys, so control characters and separators are excluded. Raises :class:`ValidationError`
    with rule ``RECORD_ID_FORMAT``.
    """
    text = _text(value, field, "RECORD_ID")
    if not _RECORD_ID.fullmatch(text):
        raise ValidationError(
            "RECORD_ID_FORMAT", field, f"{text!r} is not an id: 1-64 letters, digits, '.', '_', '/' or '-'"
        )
    return text
