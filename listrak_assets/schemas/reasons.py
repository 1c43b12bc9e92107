"""Why a row was rejected: stable codes for tables and tests, sentences for people."""

REASONS: dict[str, str] = {
    "missing_required": "a required value is empty",
    "invalid_email": "not an email address (expected name@domain.tld)",
    "non_ascii_email": "the part before @ has non-ASCII characters, which Listrak can't take",
    "invalid_phone": "not a valid phone number (a number of the default country, or +country "
    "code and number, as libphonenumber knows them)",
    "invalid_date": "not a date in a known format, or outside the column's plausible range "
    "(settings: dates)",
    "invalid_datetime": "not a date and time in a known format, or outside the column's "
    "plausible range (settings: dates)",
    "two_digit_year": "a two-digit year, which the setting dates.two_digit_years rejects",
    "invalid_boolean": "not a yes/no value (expected true/false, Y/N, yes/no or 1/0)",
    "invalid_number": "not a number (the decimal_separator setting says which of . and , "
    "separates cents; the other may only group thousands)",
    "invalid_quantity": "below the smallest allowed (an order quantity is at least 1, stock at "
    "least 0)",
    "negative_amount": "an amount below zero",
    "invalid_choice": "not one of the values Listrak accepts",
    "too_long": "longer than Listrak allows for this identifier (it can't be cut safely)",
    "line_break": "contains a line break",
    "duplicate_key": "the key appears more than once",
    "forgotten": "the person asked to be forgotten (an erasure request): never sent again",
}
