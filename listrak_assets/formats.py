"""How values are written: one definition for the cleaners that produce a format, the schemas
that check it and the settings that accept it, so that none of them imports another for it.
"""

from __future__ import annotations

import re
from typing import Literal

# Practical address syntax, in the one form Listrak receives: a lower-case dot-atom local part,
# a domain of lower-case ASCII DNS labels (international names in punycode) and an alphabetic
# or punycode top-level domain. `email-validator` decides what is an address; this is the
# shape its accepted addresses take once lower-cased, and what the schema checks.
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)

# Listrak's phone format: E.164 digits with the country code and no `+`.
E164_PATTERN = r"^[1-9]\d{7,14}$"

# Slashed and dashed day/month dates are ambiguous; the `date_order` setting decides.
DateOrder = Literal["MDY", "DMY"]

# Which numbers are phones: libphonenumber's `is_valid_number` (patterns of real number
# ranges) or `is_possible_number` (length only).
PhoneValidation = Literal["valid", "possible"]

# The character between whole units and cents; the other one may only group thousands.
DecimalSeparator = Literal[".", ","]

# What a two-digit year means: the latest such year up to the pivot year, or a reject.
TwoDigitYears = Literal["pivot", "reject"]

# An invalid value in an optional column: blank it and keep the row, or reject the row.
InvalidOptional = Literal["blank", "reject_row"]


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
