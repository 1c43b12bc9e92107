"""How values are written: one definition for the cleaners that produce a format, the schemas
that check it and the settings that accept it, so that none of them imports another for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# Practical address syntax: a dot-atom local part, a domain of DNS labels and an alphabetic
# top-level domain. Quoted local parts and IP-literal domains are valid in RFC 5322 but not
# accepted by mailbox providers or by Listrak's import, so they are rejected.
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)

# Listrak's phone format: E.164 digits with the country code and no `+`.
E164_PATTERN = r"^[1-9]\d{7,14}$"

# Slashed and dashed day/month dates are ambiguous; the `date_order` setting decides.
DateOrder = Literal["MDY", "DMY"]


@dataclass(frozen=True)
class Country:
    """A national numbering plan: how a number written without `+` becomes E.164."""

    calling_code: str
    trunk_prefix: str  # dialled before national numbers inside the country
    national_lengths: tuple[int, ...]  # digits after the trunk prefix


# The countries a number without `+` can be read as (the `default_phone_country` setting).
# North America's numbering plan (US, CA and others) writes national numbers as 10 digits,
# optionally with a leading 1; most other plans use a leading 0 as trunk prefix.
COUNTRIES: dict[str, Country] = {
    "US": Country("1", "1", (10,)),
    "CA": Country("1", "1", (10,)),
    "GB": Country("44", "0", (9, 10)),
    "IE": Country("353", "0", (7, 8, 9)),
    "DE": Country("49", "0", tuple(range(6, 12))),
    "FR": Country("33", "0", (9,)),
    "ES": Country("34", "", (9,)),
    "IT": Country("39", "", tuple(range(6, 12))),
    "NL": Country("31", "0", (9,)),
    "BE": Country("32", "0", (8, 9)),
    "CH": Country("41", "0", (9,)),
    "AT": Country("43", "0", tuple(range(4, 14))),
    "SE": Country("46", "0", tuple(range(7, 10))),
    "AU": Country("61", "0", (9,)),
    "NZ": Country("64", "0", (8, 9, 10)),
    "MX": Country("52", "", (10,)),
    "BR": Country("55", "0", (10, 11)),
    "IN": Country("91", "0", (10,)),
    "JP": Country("81", "0", (9, 10)),
}

# OpenSSH's SHA256 host key fingerprint, as `ssh-keygen -lf` prints it (without `=` padding).
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def check_fingerprint(value: str) -> str:
    """`SHA256:<43 base64 characters>`, or ValueError; trailing `=` padding is dropped."""
    cleaned = value.strip().rstrip("=")
    if not _FINGERPRINT.fullmatch(cleaned):
        raise ValueError(
            f"'{value}' is not a SHA256 host key fingerprint (expected SHA256: followed by 43 "
            "base64 characters, as `ssh-keygen -lf` prints it)"
        )
    return cleaned
