from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import ean as stdnum_ean
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc as stdnum_uscc

from fabrx_pharma import ValidationError
from fabrx_pharma.identifiers import (
    USCC_ALPHABET,
    InvoiceNumber,
    gtin_check_digit,
    org_code_check_char,
    pseudonymise,
    uscc_check_char,
    validate_approval_number,
    validate_gtin,
    validate_invoice_number,
    validate_msp_id,
    validate_party_id,
    validate_patient_pseudonym,
    validate_record_id,
    validate_uscc,
)
from fabrx_pharma.sample import sample_uscc


def rejected(rule: str, field: str, call: object, *args: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call(*args)  # type: ignore[operator]
    assert (caught.value.rule, caught.value.field) == (rule, field), str(caught.value)
    return caught.value


# --- unified social credit code ---------------------------------------------------------------------------


def reference_uscc_check(code17: str) -> str:
    """GB 32100-2015 written out longhand, independently of the implementation under test."""
    values = {c: i for i, c in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY")}
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    remainder = sum(values[c] * w for c, w in zip(code17, weights, strict=True)) % 31
    check = 31 - remainder
    return "0123456789ABCDEFGHJKLMNPQRTUWXY"[0 if check == 31 else check]


def reference_org_check(body8: str) -> str:
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = 0
    for c, w in zip(body8, weights, strict=True):
        total += w * (int(c) if c.isdigit() else ord(c) - ord("A") + 10)
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def test_uscc_accepts_the_worked_example_of_gb_32100() -> None:
    # The standard's annex works through 91350100M000100Y4Z, shows the check character must be 3.
    assert validate_uscc("91350100M000100Y43") == "91350100M000100Y43"
    assert uscc_check_char("91350100M000100Y4") == "3"


def test_uscc_accepts_a_published_real_company_code() -> None:
    # Huawei Technologies Co., Ltd., as printed in its public registration.
    assert validate_uscc("914403001922038216") == "914403001922038216"


def test_uscc_check_matches_an_independent_implementation() -> None:
    bodies = [
        "91350100M000100Y4",
        "12350100488001237",
        "9144030019220382X",
        "Y1110000ABCDEFGH0",
        "A0000000000000000",
    ]
    for body in bodies:
        assert uscc_check_char(body) == reference_uscc_check(body)
    for org in ["M000100Y", "19220382", "MA2XK7Q1", "00000000", "ZZZZZZZZ"]:
        assert org_code_check_char(org) == reference_org_check(org)


def test_uscc_weights_are_powers_of_three_mod_31() -> None:
    # Changing one character at position i shifts the sum by 3^(i-1) mod 31 times the value delta.
    base = "91350100M000100Y4"
    for i in range(17):
        if base[i] == "0":
            changed = base[:i] + "1" + base[i + 1 :]
            delta = USCC_ALPHABET.index(uscc_check_char(base)) - USCC_ALPHABET.index(uscc_check_char(changed))
            assert delta % 31 == pow(3, i, 31) % 31


def test_uscc_upper_cases_and_strips_input() -> None:
    assert validate_uscc("  91350100m000100y43 ") == "91350100M000100Y43"


def test_uscc_sample_builder_produces_valid_codes() -> None:
    for registration, division, org in [("91", "350100", "MA2XK7Q1"), ("12", "350824", "48801546")]:
        assert validate_uscc(sample_uscc(registration, division, org))


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("91350100M000100Y4", "USCC_LENGTH"),
        ("91350100M000100Y433", "USCC_LENGTH"),
        ("91350100M000100Y4Z", "USCC_CHARACTER"),  # Z is not in the alphabet
        ("91350100M00010OY43", "USCC_CHARACTER"),  # letter O
        ("9135A100M000100Y43", "USCC_DIVISION"),
        ("91350100M000100Y53", "ORG_CODE_CHECK"),
        ("91350100M000100Y44", "USCC_CHECK"),
        (18, "USCC_TYPE"),
    ],
)
def test_uscc_rejects_each_kind_of_error_naming_the_field(value: object, rule: str) -> None:
    rejected(rule, "parties[0].uscc", validate_uscc, value, "parties[0].uscc")


@pytest.mark.parametrize(
    ("registration", "division", "org_body"),
    [
        ("N2", "350100", "MA2XK7Q1"),  # a village collective economic organisation (agriculture department)
        ("A1", "110000", "00301234"),  # a military public institution
        ("Y1", "350000", "48801546"),  # registered by another authority
    ],
)
def test_uscc_accepts_the_lettered_registration_authorities_of_gb_32100(
    registration: str, division: str, org_body: str
) -> None:
    # GB 32100-2015 codes registration authorities 1-9, A, N and Y: a letter in position 1 is valid
    # (python-stdnum's USCC format wants 8 digits first and refuses these; fabrx follows the standard).
    code = sample_uscc(registration, division, org_body)
    assert validate_uscc(code) == code
    with pytest.raises(stdnum_exceptions.InvalidFormat):
        stdnum_uscc.validate(code)


@pytest.mark.parametrize("value", ["9 1350100M000100Y43", "91350100-M000100Y43", "91350100M000100Y4-3"])
def test_uscc_refuses_separators_inside_the_code(value: str) -> None:
    # A record's identifier is the code itself; stdnum reads these as the code with separators removed.
    assert stdnum_uscc.validate(value) == "91350100M000100Y43"
    error = rejected("USCC_LENGTH", "uscc", validate_uscc, value)
    assert repr(value) in error.message


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_uscc_check_agrees_with_python_stdnum_and_the_longhand_formula(first17: str) -> None:
    assert uscc_check_char(first17) == reference_uscc_check(first17) == stdnum_uscc.calc_check_digit(first17)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8),
    st.sampled_from(USCC_ALPHABET),
)
def test_uscc_validation_accepts_exactly_the_codes_with_both_checks_right(
    head: str, org_body: str, last: str
) -> None:
    first17 = head + org_body + reference_org_check(org_body)  # its check (0-9 or X) is in the alphabet
    code = first17 + last
    if last == reference_uscc_check(first17):
        assert validate_uscc(code) == code
        assert stdnum_uscc.validate(code) == code  # digits first: stdnum agrees
    else:
        rejected("USCC_CHECK", "uscc", validate_uscc, code)


def test_uscc_error_says_what_the_check_should_be() -> None:
    error = rejected("USCC_CHECK", "uscc", validate_uscc, "91350100M000100Y44")
    assert "'3'" in error.message


# --- GTIN ------------------------------------------------------------------------------------------------


def test_gtin_13_is_normalised_to_gtin_14() -> None:
    assert validate_gtin("6901234567892") == "06901234567892"


@pytest.mark.parametrize("gtin", ["96385074", "036000291452", "4006381333931", "10614141000415"])
def test_gtin_accepts_every_length_with_correct_check(gtin: str) -> None:
    assert validate_gtin(gtin) == gtin.zfill(14)
    assert gtin_check_digit(gtin[:-1]) == gtin[-1]


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("6901234567893", "GTIN_CHECK"),
        ("690123456789", "GTIN_CHECK"),
        ("69012345678", "GTIN_FORMAT"),
        ("69O1234567892", "GTIN_FORMAT"),
        ("６９０１２３４５６７８９２", "GTIN_FORMAT"),
    ],
)
def test_gtin_rejects_bad_values_naming_the_field(value: str, rule: str) -> None:
    rejected(rule, "products[1].gtin", validate_gtin, value, "products[1].gtin")


@pytest.mark.parametrize("value", ["690-1234567892", "690 1234567892"])
def test_gtin_refuses_separators_inside_the_number(value: str) -> None:
    # GS1 data carries a GTIN as bare digits; stdnum.ean reads "690-1234567892" as a valid EAN-13.
    rejected("GTIN_FORMAT", "gtin", validate_gtin, value)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=16))
def test_gtin_validation_agrees_with_python_stdnum_on_digit_strings(digits: str) -> None:
    # Same lengths (GS1's GTIN-8, -12, -13, -14) and check digit as stdnum.ean; only the error differs.
    try:
        expected: str | None = stdnum_ean.validate(digits)
    except stdnum_exceptions.ValidationError as exc:
        rule = "GTIN_CHECK" if isinstance(exc, stdnum_exceptions.InvalidChecksum) else "GTIN_FORMAT"
        error = rejected(rule, "gtin", validate_gtin, digits)
        assert repr(digits) in error.message
        if rule == "GTIN_CHECK":
            assert f"the check digit is {stdnum_ean.calc_check_digit(digits[:-1])}" in error.message
    else:
        assert expected is not None
        assert validate_gtin(digits) == expected.zfill(14)


# --- approval numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "国药准字H20003263",  # legacy chemical
        "国药准字Z20093122",  # legacy traditional Chinese medicine
        "国药准字S10980012",  # biological
        "国药准字J20150123",  # imported, repackaged
        "国药准字HC20200001",  # 2020+, Hong Kong / Macao / Taiwan
        "国药准字SJ20230017",  # 2020+, made abroad
        "国药准字HJ20190001",  # year-bearing form, original approval year before 2020
        "国药准字ZC19490001",  # the earliest approval year
        "H20150123",  # old import licence
        "HC20150123",  # old 医药产品注册证
    ],
)
def test_approval_number_accepts_every_published_form(value: str) -> None:
    assert validate_approval_number(value) == value


def test_approval_number_is_upper_cased_and_spaces_removed() -> None:
    assert validate_approval_number(" 国药准字 h20003263 ") == "国药准字H20003263"


@pytest.mark.parametrize(
    "value",
    [
        "国药准字X20003263",
        "国药准字H2000326",
        "国药准字HJ19480001",  # before 1949
        "国药准字SC21000001",  # after 2099
        "国药准字TC20200001",
        "药准字H20003263",
        "J20150123",
        "",
    ],
)
def test_approval_number_rejects_malformed_values(value: str) -> None:
    rejected("APPROVAL_NUMBER_FORMAT", "approval_number", validate_approval_number, value)


# --- invoice numbers ---------------------------------------------------------------------------------------


def test_fully_digital_invoice_number_exposes_its_parts() -> None:
    number = InvoiceNumber.parse("24352000000000001001")
    assert (number.fully_digital, number.year, number.province, number.code) == (True, 24, "35", None)
    assert str(number) == "24352000000000001001"


def test_legacy_invoice_is_identified_by_code_and_number() -> None:
    number = InvoiceNumber.parse("3500221130-04567890")
    assert (number.code, number.number, number.fully_digital, number.year) == (
        "3500221130",
        "04567890",
        False,
        None,
    )
    assert validate_invoice_number("035002200111-04567890") == "035002200111-04567890"
    assert InvoiceNumber.parse("3500221130-04567890") != InvoiceNumber.parse("3500221131-04567890")


@pytest.mark.parametrize(
    "value",
    [
        "2435200000000000100",
        "243520000000000010011",
        "350022113-04567890",
        "3500221130-4567890",
        "3500221130 04567890",
        "2435200000000000100A",
    ],
)
def test_invoice_number_rejects_other_forms(value: str) -> None:
    rejected("INVOICE_NUMBER_FORMAT", "lines", validate_invoice_number, value, "lines")


# --- pseudonyms and ids ------------------------------------------------------------------------------------


def test_pseudonym_is_hmac_sha256_of_the_trimmed_patient_id() -> None:
    key = b"k" * 32
    expected = hmac.new(key, b"350102198001011234", hashlib.sha256).hexdigest()
    assert pseudonymise(key, " 350102198001011234 ") == expected
    assert pseudonymise(b"j" * 32, "350102198001011234") != expected
    assert validate_patient_pseudonym(expected.upper()) == expected


def test_pseudonym_refuses_short_keys_and_empty_ids() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonymise(b"short", "patient")
    with pytest.raises(ValueError, match="empty"):
        pseudonymise(b"k" * 16, "  ")


def test_patient_id_in_clear_is_not_a_pseudonym() -> None:
    error = rejected(
        "PSEUDONYM_FORMAT", "patient_pseudonym", validate_patient_pseudonym, "350102198001011234"
    )
    assert "350102198001011234" not in error.message  # the clear id is not echoed into logs


def test_msp_party_and_record_ids_exclude_separators_and_control_characters() -> None:
    assert validate_msp_id("Org1MSP") == "Org1MSP"
    assert validate_party_id("Org1MSP", "seller") == "Org1MSP"
    assert validate_record_id("AMOX-0.25G/24", "product_id") == "AMOX-0.25G/24"
    rejected("MSP_ID_FORMAT", "host_msp_id", validate_msp_id, "Org 1", "host_msp_id")
    rejected("PARTY_ID_FORMAT", "seller", validate_party_id, "Org 1", "seller")
    rejected("RECORD_ID_FORMAT", "batch_number", validate_record_id, "A1\x00B", "batch_number")
    rejected("RECORD_ID_FORMAT", "batch_number", validate_record_id, "x" * 65, "batch_number")


def test_a_party_id_may_be_a_uscc_and_is_refused_when_malformed() -> None:
    uscc = sample_uscc("52", "350102", "MJ000001")  # a hosted clinic's id: its unified social credit code
    assert validate_party_id(uscc) == uscc
    assert validate_party_id(f" {uscc} ", "buyer") == uscc
    for bad in ("", "Org 1", "-Org1", "Org1/MSP", "医院", "x" * 65):
        rejected("PARTY_ID_FORMAT", "buyer", validate_party_id, bad, "buyer")
    rejected("PARTY_ID_TYPE", "buyer", validate_party_id, 42, "buyer")
    assert validate_party_id("x" * 64) == "x" * 64
