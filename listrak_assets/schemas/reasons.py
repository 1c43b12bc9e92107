"""Why a row was rejected: stable codes for tables and tests, sentences for people."""

REASONS: dict[str, str] = {
    "missing_required": "a required value is empty",
    "invalid_email": "not an email address (expected name@domain.tld)",
    "invalid_phone": "not a phone number (expected a national number of the default country, "
    "or +country code and number)",
    "invalid_date": "not a date in a known format, or outside 1900-01-01..today",
    "invalid_datetime": "not a date and time in a known format",
    "invalid_boolean": "not a yes/no value (expected true/false, Y/N, yes/no or 1/0)",
    "invalid_number": "not a number",
    "negative_amount": "an amount below zero",
    "invalid_choice": "not one of the values Listrak accepts",
    "too_long": "longer than Listrak allows for this identifier (it can't be cut safely)",
    "line_break": "contains a line break",
    "duplicate_key": "the key appears more than once",
}
