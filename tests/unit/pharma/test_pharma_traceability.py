from __future__ import annotations

from datetime import date

import pytest

from fabrx_pharma import ValidationError
from fabrx_pharma.traceability import (
    GS1_SEPARATOR,
    TRACE_CODE_MAX_LENGTH,
    parse_gs1_element_string,
    trace_code_product_key,
    validate_trace_code,
)

GS1_TEXT = "(01)04006381333931(17)261231(10)B2024X(21)SN000123"
GS1_RAW = "010400638133393117261231" + "10B2024X" + GS1_SEPARATOR + "21SN000123"


def rejected(rule: str, field: str, value: object, **kwargs: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_trace_code(value, field, **kwargs)  # type: ignore[arg-type]
    assert (caught.value.rule, caught.value.field) == (rule, field), str(caught.value)
    return caught.value


def test_gs1_bracketed_string_is_parsed_into_its_elements() -> None:
    elements = parse_gs1_element_string("(01)04006381333931(10)B2024X(11)240301(17)261200(21)SN000123")
    assert elements.gtin == "04006381333931"
    assert elements.batch == "B2024X"
    assert elements.production_date == date(2024, 3, 1)
    assert elements.expiry_date == date(2026, 12, 31)  # day 00 means the end of the month
    assert elements.serial == "SN000123"


def test_gs1_raw_and_bracketed_forms_normalise_to_the_same_text() -> None:
    assert parse_gs1_element_string(GS1_RAW).text == parse_gs1_element_string(GS1_TEXT).text
    assert parse_gs1_element_string(GS1_TEXT).text == "(01)04006381333931(17)261231(10)B2024X(21)SN000123"


def test_gs1_gtin_13_inside_ai_01_is_checked() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_gs1_element_string("(01)04006381333932(21)1", "codes[0]")
    assert caught.value.rule == "GTIN_CHECK" and caught.value.field == "codes[0](01)"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("(01)04006381333931(99)X", "GS1_AI"),
        ("(01)04006381333931(21)A(21)B", "GS1_FORMAT"),
        ("(01)04006381333931(17)261301", "GS1_DATE"),
        ("(01)04006381333931(17)260231", "GS1_DATE"),
        ("(01)04006381333931junk", "GS1_FORMAT"),
        ("(01)04006381333931(21)" + "X" * 21, "GS1_FORMAT"),
        ("0104006381", "GS1_FORMAT"),
        ("", "GS1_FORMAT"),
    ],
)
def test_gs1_rejects_malformed_strings(value: str, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_gs1_element_string(value, "code")
    assert (caught.value.rule, caught.value.field) == (rule, "code")


def test_twenty_digit_code_is_kept_and_keyed_by_its_drug_id() -> None:
    assert validate_trace_code(" 81234010000000000001 ") == "81234010000000000001"
    assert trace_code_product_key("81234010000000000001") == "8123401"


def test_gs1_trace_code_is_canonical_and_keyed_by_gtin() -> None:
    code = validate_trace_code(GS1_RAW)
    assert code == "(01)04006381333931(17)261231(10)B2024X(21)SN000123"
    assert trace_code_product_key(code) == "04006381333931"


def test_twenty_digit_check_is_pluggable() -> None:
    def last_digit_is_parity(code: str) -> bool:
        return int(code[-1]) == sum(map(int, code[:-1])) % 10

    good = "8123401000000000000" + str(sum(map(int, "8123401000000000000")) % 10)
    assert validate_trace_code(good, check=last_digit_is_parity) == good
    rejected("TRACE_CODE_CHECK", "items[0].trace_codes[1]", good[:-1] + "0", check=last_digit_is_parity)


@pytest.mark.parametrize(
    "value",
    ["8123401000000000001", "812340100000000000012", "ABCDEFG0000000000001", "(01)04006381333931(10)B1", 20],
)
def test_trace_code_rejects_wrong_structure(value: object) -> None:
    rejected("TRACE_CODE_FORMAT", "trace_codes[0]", value)


def test_trace_code_longer_than_the_insurance_limit_is_refused() -> None:
    error = rejected("TRACE_CODE_FORMAT", "trace_codes[0]", "(01)04006381333931(21)" + "9" * 90)
    assert str(TRACE_CODE_MAX_LENGTH) in error.message
