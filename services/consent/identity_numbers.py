"""Norwegian national identity numbers and organisation numbers.

Pure functions, no I/O. Used by the consent service to validate the identity numbers of
children and guardians, and the organisation numbers of agencies, and to make demo data.

National identity number (fødselsnummer), 11 digits ``DDMMYYIIIKK``:

* ``DDMMYY`` — date of birth. D-numbers add 40 to the day, H-numbers add 40 to the month,
  and synthetic test numbers (the Norwegian test-data convention used by Tenor) add 80 to
  the month.
* ``III`` — the individual number. Together with ``YY`` it decides the century; its last
  digit is even for women and odd for men.
* ``KK`` — two mod-11 check digits.

Privacy: neither the exceptions nor ``repr``/``str`` of :class:`IdentityNumber` ever contain
the number itself, so it cannot land in a log line by accident.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "InvalidIdentityNumber",
    "IdentityNumber",
    "KINDS",
    "parse",
    "generate_synthetic",
    "age_on",
    "InvalidOrganisationNumber",
    "validate_org_number",
    "generate_org_number",
]

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)

KINDS = ("ordinary", "d_number", "h_number", "synthetic")

_D_OFFSET = 40  # added to the day
_H_OFFSET = 40  # added to the month
_SYNTHETIC_OFFSET = 80  # added to the month


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit for ``digits``; ``None`` when no digit is possible (10)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(digits, weights)) % 11
    if remainder == 11:
        return 0
    if remainder == 10:
        return None
    return remainder


def _normalise(value: object, exc: type[ValueError], what: str, length: int) -> str:
    if not isinstance(value, str):
        raise exc(f"{what} must be given as a string")
    cleaned = value.replace(" ", "").strip()
    if not cleaned.isascii() or not cleaned.isdigit():
        raise exc(f"{what} must contain only digits")
    if len(cleaned) != length:
        raise exc(f"{what} must be exactly {length} digits")
    return cleaned


# --------------------------------------------------------------------------- identity


class InvalidIdentityNumber(ValueError):
    """A national identity number is malformed. The message never contains the number."""


def _century_year(yy: int, individual: int) -> int | None:
    """Four-digit year from the two-digit year and the individual number, or ``None``."""
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if yy <= 39:  # individual 500–999
        return 2000 + yy
    if individual >= 900:  # yy 40–99
        return 1900 + yy
    return None  # 500–749 with yy 40–53, 750–899 with yy 40–99: not allocated


def _individual_range(year: int) -> tuple[range, ...]:
    """Individual numbers that encode ``year``'s century."""
    if 1854 <= year <= 1899:
        return (range(500, 750),)
    if 1900 <= year <= 1939:
        return (range(0, 500),)
    if 1940 <= year <= 1999:
        return (range(0, 500), range(900, 1000))
    if 2000 <= year <= 2039:
        return (range(500, 1000),)
    raise ValueError("birth year must be between 1854 and 2039 to fit an identity number")


@dataclass(frozen=True, repr=False)
class IdentityNumber:
    """A validated national identity number. ``repr``/``str`` mask the number."""

    value: str
    kind: str
    birth_date: date = field(compare=False)

    @classmethod
    def parse(cls, value: str) -> "IdentityNumber":
        return parse(value)

    @property
    def individual_number(self) -> int:
        return int(self.value[6:9])

    @property
    def female(self) -> bool:
        """Legal sex as encoded in the number: the ninth digit is even for women."""
        return int(self.value[8]) % 2 == 0

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    def __repr__(self) -> str:
        return f"IdentityNumber(kind={self.kind!r}, ******)"

    __str__ = __repr__


def parse(value: str) -> IdentityNumber:
    """Validate a national identity number and derive its kind and date of birth.

    Spaces are ignored. Raises :class:`InvalidIdentityNumber` (never echoing the number)
    for wrong length, non-digits, wrong check digits, an individual number that belongs to
    no century for the year, or an impossible date.
    """
    number = _normalise(value, InvalidIdentityNumber, "identity number", 11)

    k1 = _mod11(number[:9], _K1_WEIGHTS)
    if k1 is None or k1 != int(number[9]):
        raise InvalidIdentityNumber("identity number has a wrong first check digit")
    k2 = _mod11(number[:10], _K2_WEIGHTS)
    if k2 is None or k2 != int(number[10]):
        raise InvalidIdentityNumber("identity number has a wrong second check digit")

    day, month, yy = int(number[0:2]), int(number[2:4]), int(number[4:6])
    individual = int(number[6:9])

    d_number = day > _D_OFFSET
    if d_number:
        day -= _D_OFFSET
    if month > _SYNTHETIC_OFFSET:
        kind = "synthetic"  # also covers synthetic D-numbers (day + 40, month + 80)
        month -= _SYNTHETIC_OFFSET
    elif month > _H_OFFSET:
        if d_number:
            raise InvalidIdentityNumber(
                "identity number cannot be both a D-number and an H-number"
            )
        kind = "h_number"
        month -= _H_OFFSET
    else:
        kind = "d_number" if d_number else "ordinary"

    year = _century_year(yy, individual)
    if year is None:
        raise InvalidIdentityNumber(
            "identity number has an individual number that is not used for its birth year"
        )
    try:
        birth = date(year, month, day)
    except ValueError:
        raise InvalidIdentityNumber("identity number contains an impossible date of birth") from None

    return IdentityNumber(value=number, kind=kind, birth_date=birth)


def generate_synthetic(
    birth_date: date,
    rng: random.Random | None = None,
    *,
    female: bool | None = None,
) -> str:
    """A valid synthetic (month + 80) identity number for ``birth_date``.

    Individual numbers are tried in random order until both check digits are valid. A
    synthetic number can never be mistaken for an ordinary one: its month is 81–92.
    ``female`` picks the parity of the ninth digit; ``None`` lets ``rng`` choose.
    """
    rng = rng or random.Random()
    ranges = _individual_range(birth_date.year)
    prefix = (
        f"{birth_date.day:02d}"
        f"{birth_date.month + _SYNTHETIC_OFFSET:02d}"
        f"{birth_date.year % 100:02d}"
    )
    candidates = [i for r in ranges for i in r]
    if female is not None:
        wanted = 0 if female else 1
        candidates = [i for i in candidates if i % 2 == wanted]
    rng.shuffle(candidates)
    for individual in candidates:
        base = f"{prefix}{individual:03d}"
        k1 = _mod11(base, _K1_WEIGHTS)
        if k1 is None:
            continue
        k2 = _mod11(f"{base}{k1}", _K2_WEIGHTS)
        if k2 is None:
            continue
        return f"{base}{k1}{k2}"
    raise ValueError("no valid synthetic identity number exists for this date")  # pragma: no cover


def age_on(birth_date: date, on_date: date) -> int:
    """Completed years of age on ``on_date``.

    Someone born on 29 February has their birthday on 1 March in common years (they are
    not a year older on 28 February).
    """
    if on_date < birth_date:
        raise ValueError("on_date is before birth_date")
    years = on_date.year - birth_date.year
    if (on_date.month, on_date.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# ---------------------------------------------------------------------- organisation


class InvalidOrganisationNumber(ValueError):
    """An organisation number is malformed."""


def validate_org_number(value: str) -> str:
    """Validate a 9-digit organisation number (mod 11); return it without spaces."""
    number = _normalise(value, InvalidOrganisationNumber, "organisation number", 9)
    check = _mod11(number[:8], _ORG_WEIGHTS)
    if check is None or check != int(number[8]):
        raise InvalidOrganisationNumber("organisation number has a wrong check digit")
    return number


def generate_org_number(rng: random.Random | None = None) -> str:
    """A valid organisation number starting with 8 or 9, for demo data."""
    rng = rng or random.Random()
    while True:
        base = str(rng.choice((8, 9))) + "".join(str(rng.randrange(10)) for _ in range(7))
        check = _mod11(base, _ORG_WEIGHTS)
        if check is not None:
            return f"{base}{check}"
