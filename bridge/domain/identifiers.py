"""Danish identifiers: CPR numbers, municipality codes, GLN, SOR codes, ydernumre, ICD-10 codes.

Pure functions; each raises ``ValueError`` with a sentence a user can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_CPR_RE = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


@dataclass(frozen=True)
class Cpr:
    """A validated CPR number with what it tells: date of birth and sex."""

    digits: str
    birth_date: date
    sex: str  # "male" | "female"

    @property
    def masked(self) -> str:
        return mask_cpr(self.digits)


def _century(seventh: int, yy: int) -> int:
    # CPR's own rule: the first serial digit and the two-digit year together give the century.
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def parse_cpr(value: str) -> Cpr:
    """Validate a CPR number (DDMMYY-SSSS or 10 digits); modulus 11 is deliberately not required."""
    if not isinstance(value, str):
        raise ValueError("CPR number must be a string")
    m = _CPR_RE.match(value.strip())
    if not m:
        raise ValueError("CPR number must be 10 digits, written DDMMYYSSSS or DDMMYY-SSSS")
    dd, mm, yy, serial = m.groups()
    year = _century(int(serial[0]), int(yy)) + int(yy)
    try:
        born = date(year, int(mm), int(dd))
    except ValueError:
        raise ValueError("CPR number does not start with a real date of birth") from None
    if born > date.today():
        raise ValueError("CPR number gives a date of birth in the future")
    sex = "male" if int(serial[-1]) % 2 else "female"
    return Cpr(digits=f"{dd}{mm}{yy}{serial}", birth_date=born, sex=sex)


def mask_cpr(digits: str) -> str:
    """Show the date part only: DDMMYY-xxxx."""
    return f"{digits[:6]}-xxxx"


def normalise_municipality_code(value: str | int) -> str:
    """Municipality codes are written with or without the leading zero; store four digits."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= len(text) <= 4 or int(text) == 0:
        raise ValueError("municipality code must be 3 or 4 digits, e.g. 101 or 0101")
    return text.zfill(4)


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gln(value: str) -> str:
    """A GLN (EAN location number): 13 digits whose last is the GS1 check digit."""
    text = value.strip()
    if not re.fullmatch(r"\d{13}", text):
        raise ValueError("GLN must be exactly 13 digits")
    if gs1_check_digit(text[:12]) != int(text[12]):
        raise ValueError("GLN check digit is wrong")
    return text


def validate_sor_code(value: str) -> str:
    """A SOR code: the national organisation register's numeric id."""
    text = value.strip()
    if not re.fullmatch(r"\d{6,18}", text):
        raise ValueError("SOR code must be 6 to 18 digits")
    return text


def validate_ydernummer(value: str) -> str:
    """A GP practice's provider number (ydernummer)."""
    text = value.strip()
    if not re.fullmatch(r"\d{4,7}", text):
        raise ValueError("ydernummer must be 4 to 7 digits")
    return text


_ICD10_RE = re.compile(r"^D?([A-Z])(\d{2})\.?([0-9A-Z]{0,4})$")


def normalise_icd10(value: str) -> str:
    """ICD-10 codes as F20.0; the Danish SKS form (DF200) is accepted too."""
    text = value.strip().upper()
    m = _ICD10_RE.match(text)
    if not m:
        raise ValueError("diagnosis must be an ICD-10 code such as F20.0 (or SKS DF200)")
    letter, category, sub = m.groups()
    return f"{letter}{category}.{sub}" if sub else f"{letter}{category}"


def is_psychiatric(icd10: str) -> bool:
    """Chapter V (F00-F99) is mental and behavioural disorders."""
    return icd10.startswith("F")


# Schizophrenia, schizotypal and delusional disorders: F20-F29.
PSYCHOSIS_PREFIX = "F2"


def is_psychosis(icd10: str) -> bool:
    """Whether a (normalised) ICD-10 code is in F20-F29."""
    return icd10.startswith(PSYCHOSIS_PREFIX)
