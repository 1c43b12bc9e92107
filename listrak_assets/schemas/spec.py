"""Column specifications: the single description of each Listrak table.

Cleaning reads a spec to know how to normalise a column; the Pandera schema and the Dagster
table schema are both built from it, so the three can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """How a column is normalised and what type it has once clean."""

    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    CHOICE = "choice"  # text with a closed list of values (gender, discount type)
    STATUS = "status"  # Listrak's order status: name or number in, number out


class Overflow(StrEnum):
    """What to do with text longer than Listrak allows."""

    CUT = "cut"  # free text: cutting a description loses little
    REJECT = "reject"  # identifiers: a cut key would point at the wrong record


class Span(StrEnum):
    """Which plausible range a date or timestamp column is held to (the `dates` settings)."""

    BIRTHDAYS = "birthdays"  # 1900-01-01 .. today
    EVENTS = "events"  # order, ship and update times: 1990-01-01 .. tomorrow
    SCHEDULES = "schedules"  # product sale start and end: may be set a year ahead


@dataclass(frozen=True)
class DateRange:
    """From `earliest` to `days_ahead` days after the run's date, both included."""

    earliest: dt.date
    days_ahead: int

    def bounds(self, today: dt.date) -> tuple[dt.date, dt.date]:
        return self.earliest, today + dt.timedelta(days=self.days_ahead)


DEFAULT_RANGES: dict[Span, DateRange] = {
    Span.BIRTHDAYS: DateRange(dt.date(1900, 1, 1), 0),
    Span.EVENTS: DateRange(dt.date(1990, 1, 1), 1),
    Span.SCHEDULES: DateRange(dt.date(1990, 1, 1), 366),
}


@dataclass(frozen=True)
class Col:
    """One Listrak column."""

    name: str
    kind: Kind = Kind.TEXT
    max_len: int | None = None
    required: bool = False
    overflow: Overflow = Overflow.CUT
    choices: tuple[str, ...] = ()
    # Other spellings of the choices, in lower case, and the choice each one means (None: no
    # value). The choices themselves match whatever their case.
    spellings: Mapping[str, str | None] = field(default_factory=dict)
    description: str = ""
    pii: bool = False  # masked in rejects, previews and metadata when PII is restricted
    span: Span | None = None  # date and timestamp columns: their plausible range
    minimum: int | None = None  # whole numbers: the smallest allowed
    # An invalid optional value may be blanked and the row kept (`invalid_optional: blank`);
    # False where a blank would change what Listrak does (an opt-out read as "not opted out").
    blankable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """One Listrak table: its columns in Listrak's order and the key that identifies a row."""

    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]
    description: str
    # Source columns outside the spec are kept (as text) when True: audience attributes
    # become profile fields; the commerce files carry only Listrak's columns.
    keep_extra_columns: bool = False
    # Columns filled from another column when empty, before anything else (Listrak's own rule
    # for `alternateordernumber`).
    fallbacks: dict[str, str] = field(default_factory=dict)
    # Maximum length of extra (attribute) text columns.
    extra_max_len: int = 500
    # Boolean columns where true in any duplicate row of a key wins over newer rows: an
    # opt-out is never undone by an older export's "no".
    sticky_true: tuple[str, ...] = ()
    # At least one of these columns has a value in every row (an erasure request names an
    # email, a phone or both); a row with none is rejected as `missing_required`.
    any_required: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def col(self, name: str) -> Col:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


DISCOUNT_TYPES: tuple[str, ...] = (
    "PriceOverride",
    "PriceRule",
    "Promotion",
    "SeniorCitizen",
    "Markdown",
    "Coupon",
    "QuantityDiscount",
    "Rebate",
    "CashDiscount",
    "TradeDiscount",
    "TradeInKind",
    "PromptPaymentDiscount",
    "GeneralDiscount",
    "GiftVoucher",
    "FlexibleDiscount",
    "RewardProgram",
    "ManufacturerReward",
    "CreditCardReward",
)

ORDER_STATUSES: tuple[str, ...] = (
    "NotSet",
    "Misc",
    "PreOrder",
    "BackOrder",
    "Pending",
    "Hold",
    "Processing",
    "Shipped",
    "Completed",
    "Returned",
    "Canceled",
    "Unknown",
)

# An unset code: Listrak's own word for it, and the words exports use instead.
NOT_SET: dict[str, str | None] = dict.fromkeys(("null", "none", "notset"), None)

GENDERS: tuple[str, ...] = ("M", "F", "N")

GENDER_SPELLINGS: dict[str, str | None] = {
    "male": "M",
    "man": "M",
    "female": "F",
    "woman": "F",
    "neither": "N",
    "other": "N",
    "non-binary": "N",
    "nonbinary": "N",
    "x": "N",
    # Listrak guesses the gender from the first name when it is blank.
    **dict.fromkeys(("u", "unknown", "na", "n/a", "prefer not to say"), None),
}
