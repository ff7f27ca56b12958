"""Made-up people and identifiers for demo, synthetic and test data: valid in form, never real."""

from __future__ import annotations

import random
from datetime import date, timedelta

from bridge.domain.identifiers import gs1_check_digit


def make_gln(seed: int) -> str:
    """A syntactically valid GLN in a made-up range (for demo and test data)."""
    body = f"579{seed:09d}"
    return body + str(gs1_check_digit(body))


def make_cpr(rng: random.Random, *, born: date | None = None, male: bool | None = None) -> str:
    """A CPR number with a real birth date and a serial giving the right century."""
    born = born or date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
    yy = born.year % 100
    first = rng.choice([0, 1, 2, 3]) if born.year < 2000 else 4 if yy <= 36 else 5
    serial = f"{first}{rng.randrange(0, 100):02d}"
    male = rng.random() < 0.5 if male is None else male
    last = rng.choice([1, 3, 5, 7, 9] if male else [0, 2, 4, 6, 8])
    return born.strftime("%d%m%y") + serial + str(last)


# A demo patient's first name matches the sex their CPR number gives (odd last digit: male):
# a nurse reading "Lars" beside a CPR ending in 4 would rightly distrust the whole record.
FEMALE_FIRST_NAMES = [
    "Anne",
    "Mette",
    "Hanne",
    "Sofie",
    "Ida",
    "Freja",
    "Karen",
    "Birgitte",
    "Louise",
]
MALE_FIRST_NAMES = [
    "Lars",
    "Jens",
    "Peter",
    "Mads",
    "Emil",
    "Noah",
    "Søren",
    "Niels",
    "Rasmus",
]
FIRST_NAMES = FEMALE_FIRST_NAMES + MALE_FIRST_NAMES


def first_name(rng: random.Random, sex: str) -> str:
    """A first name for a person of ``sex`` ("male" or "female", as parse_cpr gives it)."""
    return rng.choice(MALE_FIRST_NAMES if sex == "male" else FEMALE_FIRST_NAMES)


LAST_NAMES = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
]
DIAGNOSES = [
    ("F20.0", "Paranoid skizofreni"),
    ("F25.0", "Skizoaffektiv psykose, manisk type"),
    ("F31.1", "Bipolar affektiv sindslidelse"),
    ("F32.2", "Svær depression"),
    ("F10.2", "Alkoholafhængighed"),
    ("E11.9", "Type 2-diabetes"),
    ("I10", "Essentiel hypertension"),
    ("J44.9", "KOL"),
]
