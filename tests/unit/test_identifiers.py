from datetime import date

import pytest

from bridge.domain.identifiers import (
    gs1_check_digit,
    is_psychiatric,
    mask_cpr,
    normalise_icd10,
    normalise_municipality_code,
    parse_cpr,
    validate_gln,
)


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("0101651234", date(1965, 1, 1)),  # 7th digit 1: 1900s
        ("010165-3234", date(1965, 1, 1)),  # dash accepted
        ("0101054234", date(2005, 1, 1)),  # 4 and year <= 36: 2000s
        ("0101504234", date(1950, 1, 1)),  # 4 and year > 36: 1900s
        ("0101105234", date(2010, 1, 1)),  # 5-8 and year <= 57: 2000s
        ("0101655234", date(1865, 1, 1)),  # 5-8 and year > 57: 1800s
        ("0101369234", date(2036, 1, 1) if date.today().year >= 2036 else None),
        ("0101909234", date(1990, 1, 1)),  # 9 and year > 36: 1900s
        ("2902964234", date(1996, 2, 29)),  # a real leap day
    ],
)
def test_cpr_century_follows_the_seventh_digit(cpr, born):
    if born is None:
        with pytest.raises(ValueError, match="future"):
            parse_cpr(cpr)
        return
    assert parse_cpr(cpr).birth_date == born


@pytest.mark.parametrize(
    "bad",
    [
        "3102651234",
        "2902971234",
        "0013651234",
        "010165123",
        "01016512345",
        "01O1651234",
        "",
        "0101-651234",
    ],
)
def test_cpr_with_impossible_date_or_shape_is_rejected(bad):
    with pytest.raises(ValueError):
        parse_cpr(bad)


def test_cpr_modulus_11_is_not_required():
    # 0101651235 fails modulus 11, which numbers issued since 2007 may do.
    assert parse_cpr("0101651235").digits == "0101651235"


def test_cpr_sex_is_odd_for_men_even_for_women():
    assert parse_cpr("0101651233").sex == "male"
    assert parse_cpr("0101651234").sex == "female"


def test_masked_cpr_hides_the_serial():
    assert mask_cpr("0101651234") == "010165-xxxx"
    assert parse_cpr("010165-1234").masked == "010165-xxxx"


@pytest.mark.parametrize(("given", "stored"), [("101", "0101"), ("0101", "0101"), (851, "0851")])
def test_municipality_code_with_or_without_leading_zero(given, stored):
    assert normalise_municipality_code(given) == stored


@pytest.mark.parametrize("bad", ["0", "12345", "abc", ""])
def test_bad_municipality_code(bad):
    with pytest.raises(ValueError):
        normalise_municipality_code(bad)


def test_gln_check_digit():
    # GS1's own worked example: 629104150021 has check digit 3.
    assert gs1_check_digit("629104150021") == 3
    assert validate_gln("6291041500213") == "6291041500213"
    with pytest.raises(ValueError, match="check digit"):
        validate_gln("6291041500214")
    with pytest.raises(ValueError, match="13 digits"):
        validate_gln("12345")


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("F20.0", "F20.0"),
        ("f200", "F20.0"),
        ("DF200", "F20.0"),
        ("E11", "E11"),
        ("D50.9", "D50.9"),
        ("DD509", "D50.9"),
    ],
)
def test_icd10_codes_are_normalised(given, code):
    assert normalise_icd10(given) == code


@pytest.mark.parametrize("bad", ["20.0", "FF20", "F2", "F20.00000", "ÆF20"])
def test_bad_icd10_codes_are_rejected(bad):
    with pytest.raises(ValueError):
        normalise_icd10(bad)


def test_chapter_f_is_psychiatric():
    assert is_psychiatric("F32.2")
    assert not is_psychiatric("E11.9")
