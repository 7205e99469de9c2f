"""Unit tests for services.consent.identity_numbers.

Only synthetic (month + 80), D-/H-numbers or clearly invalid numbers appear as literals
here. Where a test needs an ordinary number it is built at run time from its parts, so no
real-looking national identity number is ever written into the repository.
"""

import logging
import random
from datetime import date, timedelta

import pytest

from services.consent.identity_numbers import (
    IdentityNumber,
    InvalidIdentityNumber,
    InvalidOrganisationNumber,
    age_on,
    generate_org_number,
    generate_synthetic,
    parse,
    validate_org_number,
)

# --- independent reference implementation of the check digits ---------------------------

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
WORG = (3, 2, 7, 6, 5, 4, 3, 2)


def ref_check(digits: str, weights) -> int | None:
    total = 0
    for i, weight in enumerate(weights):
        total += int(digits[i]) * weight
    k = 11 - (total % 11)
    if k == 11:
        return 0
    if k == 10:
        return None
    return k


def ref_valid(number: str) -> bool:
    k1 = ref_check(number, W1)
    if k1 is None or k1 != int(number[9]):
        return False
    k2 = ref_check(number, W2)
    return k2 is not None and k2 == int(number[10])


def complete(nine: str) -> str | None:
    """Append both check digits to nine digits, or None if impossible."""
    k1 = ref_check(nine, W1)
    if k1 is None:
        return None
    k2 = ref_check(nine + str(k1), W2)
    if k2 is None:
        return None
    return nine + str(k1) + str(k2)


def build(ddmmyy: str, start: int = 0, stop: int = 1000) -> str:
    """First valid number with this date part and an individual number in [start, stop)."""
    for individual in range(start, stop):
        number = complete(f"{ddmmyy}{individual:03d}")
        if number is not None:
            return number
    raise AssertionError("no valid number found")


def flip(number: str, position: int) -> str:
    digit = (int(number[position]) + 1) % 10
    return number[:position] + str(digit) + number[position + 1 :]


# Known-valid synthetic numbers (generated once, re-verified below by the reference code).
KNOWN_SYNTHETIC = {
    "17851057242": date(2010, 5, 17),
    "31928521551": date(1985, 12, 31),
    "01817051495": date(1870, 1, 1),
    "28823960796": date(2039, 2, 28),
    "15864519021": date(1945, 6, 15),
    "29821261617": date(2012, 2, 29),
}


# --- valid numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("number,birth", sorted(KNOWN_SYNTHETIC.items()))
def test_known_synthetic_numbers(number, birth):
    assert ref_valid(number)  # independently recomputed check digits
    assert int(number[2:4]) > 80  # synthetic convention
    parsed = parse(number)
    assert parsed.kind == "synthetic"
    assert parsed.birth_date == birth
    assert parsed.value == number


def test_spaces_are_stripped():
    parsed = parse(" 178510 57242 ")
    assert parsed.value == "17851057242"
    assert parsed.kind == "synthetic"


def test_ordinary_number_built_at_runtime():
    number = build("1705" + "10", 500, 1000)  # 17 May 2010, 21st-century individual number
    parsed = parse(number)
    assert parsed.kind == "ordinary"
    assert parsed.birth_date == date(2010, 5, 17)


def test_d_number():
    number = build("5705" + "10", 500, 1000)  # day 17 + 40
    parsed = parse(number)
    assert parsed.kind == "d_number"
    assert parsed.birth_date == date(2010, 5, 17)


def test_h_number():
    number = build("1745" + "10", 500, 1000)  # month 5 + 40
    parsed = parse(number)
    assert parsed.kind == "h_number"
    assert parsed.birth_date == date(2010, 5, 17)


def test_synthetic_d_number_counts_as_synthetic():
    number = build("5785" + "10", 500, 1000)  # day + 40 and month + 80
    parsed = parse(number)
    assert parsed.kind == "synthetic"
    assert parsed.birth_date == date(2010, 5, 17)


def test_d_and_h_together_rejected():
    number = build("5745" + "10", 500, 1000)
    with pytest.raises(InvalidIdentityNumber):
        parse(number)


def test_classmethod_parse_and_properties():
    parsed = IdentityNumber.parse("17851057242")
    assert parsed == parse("17851057242")
    assert parsed.individual_number == 572
    assert parsed.female is True  # ninth digit 2 is even
    assert parsed.synthetic


# --- invalid numbers ----------------------------------------------------------------------


def test_first_check_digit_wrong():
    number = flip("17851057242", 9)
    with pytest.raises(InvalidIdentityNumber, match="first check digit"):
        parse(number)


def test_second_check_digit_wrong():
    number = flip("17851057242", 10)
    with pytest.raises(InvalidIdentityNumber, match="second check digit"):
        parse(number)


def test_both_check_digits_wrong():
    number = flip(flip("17851057242", 9), 10)
    with pytest.raises(InvalidIdentityNumber, match="check digit"):
        parse(number)


def test_first_check_digit_impossible_rejected():
    # nine digits whose first check digit would be 10: no completion is valid
    for individual in range(1000):
        nine = f"178510{individual:03d}"
        if ref_check(nine, W1) is None:
            break
    else:  # pragma: no cover
        pytest.fail("no candidate found")
    for k1 in range(10):
        candidate = nine + str(k1) + "0"
        with pytest.raises(InvalidIdentityNumber):
            parse(candidate)


@pytest.mark.parametrize(
    "value", ["", "1785105724", "178510572420", "123", "1" * 12]
)
def test_wrong_length(value):
    with pytest.raises(InvalidIdentityNumber, match="11 digits|only digits"):
        parse(value)


@pytest.mark.parametrize("value", ["1785105724A", "abcdefghijk", "17851-57242", "١٧٨٥١٠٥٧٢٤٢"])
def test_non_digits(value):
    with pytest.raises(InvalidIdentityNumber, match="only digits"):
        parse(value)


def test_not_a_string():
    with pytest.raises(InvalidIdentityNumber):
        parse(17851057242)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ddmmyy",
    [
        "3182" + "10",  # 31 February (synthetic)
        "3082" + "10",  # 30 February
        "2982" + "11",  # 29 February in a common year
        "3184" + "10",  # 31 April
        "0093" + "10",  # month 13 (synthetic)
        "0080" + "10",  # month 0 (synthetic)
        "0081" + "10",  # day 0
        "3281" + "10",  # day 32
    ],
)
def test_impossible_dates(ddmmyy):
    number = build(ddmmyy, 500, 1000)
    with pytest.raises(InvalidIdentityNumber, match="impossible date"):
        parse(number)


def test_feb_29_in_leap_year_is_fine():
    assert parse(build("2982" + "12", 500, 1000)).birth_date == date(2012, 2, 29)
    # 1900 was not a leap year, 2000 was
    with pytest.raises(InvalidIdentityNumber, match="impossible date"):
        parse(build("2982" + "00", 0, 500))
    assert parse(build("2982" + "00", 500, 1000)).birth_date == date(2000, 2, 29)


def test_unallocated_individual_number_rejected():
    # 750–899 with year 40–99 is not used for any century
    number = build("0181" + "45", 750, 900)
    with pytest.raises(InvalidIdentityNumber, match="individual number"):
        parse(number)
    # 500–749 with year 40–53 neither
    number = build("0181" + "45", 500, 750)
    with pytest.raises(InvalidIdentityNumber, match="individual number"):
        parse(number)


def test_error_messages_never_echo_the_number():
    bad = [
        flip("17851057242", 10),
        "1785105724A",
        "178510572",
        build("3182" + "10", 500, 1000),
        build("0181" + "45", 750, 900),
    ]
    for value in bad:
        with pytest.raises(InvalidIdentityNumber) as info:
            parse(value)
        text = str(info.value) + repr(info.value)
        assert value not in text
        assert value[:6] not in text


# --- centuries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "yy,lo,hi,year",
    [
        ("00", 0, 500, 1900),
        ("99", 0, 500, 1999),
        ("99", 499, 500, 1999),  # upper edge of 000–499
        ("54", 500, 750, 1854),
        ("99", 500, 750, 1899),
        ("99", 740, 750, 1899),  # upper edge of 500–749
        ("00", 500, 1000, 2000),
        ("39", 500, 1000, 2039),
        ("39", 990, 1000, 2039),
        ("40", 900, 1000, 1940),
        ("99", 900, 1000, 1999),
        ("53", 900, 1000, 1953),
    ],
)
def test_century_boundaries(yy, lo, hi, year):
    number = build("0181" + yy, lo, hi)
    assert lo <= int(number[6:9]) < hi
    assert parse(number).birth_date == date(year, 1, 1)


def test_year_53_with_500_749_is_invalid_but_54_is_1854():
    with pytest.raises(InvalidIdentityNumber):
        parse(build("0181" + "53", 500, 750))
    assert parse(build("0181" + "54", 500, 750)).birth_date.year == 1854


def test_year_40_with_500_899_is_invalid():
    with pytest.raises(InvalidIdentityNumber):
        parse(build("0181" + "40", 500, 900))


# --- masking ------------------------------------------------------------------------------


def test_repr_and_str_mask_the_number(caplog):
    parsed = parse("17851057242")
    assert repr(parsed) == "IdentityNumber(kind='synthetic', ******)"
    assert str(parsed) == repr(parsed)
    assert f"{parsed}" == repr(parsed)
    for text in (repr(parsed), str(parsed), f"{parsed!r}", "%s" % (parsed,), repr([parsed])):
        assert "17851057242" not in text
        assert "178510" not in text
        assert "2010" not in text  # birth date is not shown either
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("parsed %s", parsed)
    assert "17851057242" not in caplog.text


def test_identity_number_is_frozen():
    parsed = parse("17851057242")
    with pytest.raises(Exception):
        parsed.value = "x"  # type: ignore[misc]


# --- generation ---------------------------------------------------------------------------


def test_generated_numbers_over_500_random_dates_parse_as_synthetic():
    rng = random.Random(20240601)
    start, end = date(1854, 1, 1), date(2039, 12, 31)
    span = (end - start).days
    for _ in range(500):
        birth = start + timedelta(days=rng.randrange(span + 1))
        number = generate_synthetic(birth, rng)
        assert len(number) == 11 and number.isdigit()
        assert ref_valid(number)
        assert 81 <= int(number[2:4]) <= 92  # never an ordinary month
        parsed = parse(number)
        assert parsed.kind == "synthetic"
        assert parsed.birth_date == birth


@pytest.mark.parametrize(
    "birth", [date(1854, 1, 1), date(1899, 12, 31), date(1900, 1, 1), date(1939, 12, 31),
              date(1940, 1, 1), date(1999, 12, 31), date(2000, 1, 1), date(2039, 12, 31),
              date(2000, 2, 29)]
)
def test_generate_at_century_edges(birth):
    for seed in range(20):
        number = generate_synthetic(birth, random.Random(seed))
        assert parse(number).birth_date == birth
        assert parse(number).kind == "synthetic"


@pytest.mark.parametrize("birth", [date(1853, 12, 31), date(2040, 1, 1)])
def test_generate_outside_representable_years(birth):
    with pytest.raises(ValueError):
        generate_synthetic(birth, random.Random(1))


def test_generate_respects_sex():
    rng = random.Random(3)
    for _ in range(50):
        birth = date(2015, 3, 9)
        assert parse(generate_synthetic(birth, rng, female=True)).female is True
        assert parse(generate_synthetic(birth, rng, female=False)).female is False


def test_generate_is_deterministic_with_seed():
    birth = date(2011, 11, 11)
    assert generate_synthetic(birth, random.Random(42)) == generate_synthetic(
        birth, random.Random(42)
    )


def test_generate_without_rng():
    assert parse(generate_synthetic(date(2016, 8, 1))).kind == "synthetic"


# --- age ----------------------------------------------------------------------------------


def test_age_at_15th_birthday_boundary():
    birth = date(2010, 5, 17)
    assert age_on(birth, date(2025, 5, 16)) == 14
    assert age_on(birth, date(2025, 5, 17)) == 15
    assert age_on(birth, date(2025, 5, 18)) == 15


def test_age_year_end_boundary():
    birth = date(2009, 12, 31)
    assert age_on(birth, date(2024, 12, 30)) == 14
    assert age_on(birth, date(2024, 12, 31)) == 15
    assert age_on(birth, date(2025, 1, 1)) == 15


def test_age_born_29_february():
    birth = date(2012, 2, 29)
    assert age_on(birth, date(2027, 2, 28)) == 14  # common year: not yet
    assert age_on(birth, date(2027, 3, 1)) == 15
    assert age_on(birth, date(2028, 2, 28)) == 15
    assert age_on(birth, date(2028, 2, 29)) == 16  # leap year: on the day


def test_age_on_birth_day_and_before():
    birth = date(2020, 1, 1)
    assert age_on(birth, birth) == 0
    with pytest.raises(ValueError):
        age_on(birth, date(2019, 12, 31))


# --- organisation numbers -----------------------------------------------------------------


def ref_org_valid(number: str) -> bool:
    k = ref_check(number, WORG)
    return k is not None and k == int(number[8])


def build_org(prefix: str) -> str:
    for tail in range(100):
        base = f"{prefix}{tail:02d}"
        k = ref_check(base, WORG)
        if k is not None:
            return base + str(k)
    raise AssertionError("no valid org number")


def test_org_number_valid():
    number = build_org("974000")
    assert ref_org_valid(number)
    assert validate_org_number(number) == number
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    assert validate_org_number(spaced) == number


def test_org_number_remainder_11_gives_zero():
    for n in range(10_000_000):
        base = f"9{n:07d}"
        if sum(int(d) * w for d, w in zip(base, WORG)) % 11 == 0:
            break
    assert validate_org_number(base + "0") == base + "0"


def test_org_number_wrong_check_digit():
    number = build_org("974000")
    wrong = number[:8] + str((int(number[8]) + 1) % 10)
    with pytest.raises(InvalidOrganisationNumber, match="check digit"):
        validate_org_number(wrong)
    with pytest.raises(InvalidOrganisationNumber, match="check digit"):
        validate_org_number("974000000")  # the placeholder used in deploy/ examples


def test_org_number_remainder_10_invalid():
    for n in range(10_000_000):
        base = f"9{n:07d}"
        if ref_check(base, WORG) is None:
            break
    for last in range(10):
        with pytest.raises(InvalidOrganisationNumber):
            validate_org_number(base + str(last))


@pytest.mark.parametrize("value", ["", "12345678", "1234567890", "97400000A", "abcdefghi"])
def test_org_number_malformed(value):
    with pytest.raises(InvalidOrganisationNumber):
        validate_org_number(value)


def test_org_number_not_a_string():
    with pytest.raises(InvalidOrganisationNumber):
        validate_org_number(974000000)  # type: ignore[arg-type]


def test_generate_org_numbers():
    rng = random.Random(99)
    numbers = {generate_org_number(rng) for _ in range(500)}
    assert len(numbers) > 450
    for number in numbers:
        assert len(number) == 9 and number[0] in "89"
        assert ref_org_valid(number)
        assert validate_org_number(number) == number
    assert validate_org_number(generate_org_number()) is not None
