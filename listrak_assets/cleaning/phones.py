"""Phone numbers to E.164 digits with the country code and no `+` (Listrak's format).

The `phonenumbers` library (Google's libphonenumber) is the judge: a number is parsed with
the default country as region, accepted when the library calls it valid (or, with
`phone_validation: possible`, when its length is possible for its country) and written as
E.164 without `+`. Plain national numbers, most of any export, take a vectorised path that
applies the library's own metadata (`phone_rules`); the rest go through the library, once
per distinct text.
"""

from __future__ import annotations

import phonenumbers
import polars as pl

from listrak_assets.cleaning.judged import Judged, judge
from listrak_assets.cleaning.phone_rules import PLAIN, region_plan
from listrak_assets.formats import E164_PATTERN, PhoneValidation

REASON = "invalid_phone"


def library_e164(text: str, region: str, validation: PhoneValidation = "valid") -> str | None:
    """One number judged by the library: E.164 digits without `+`, or None."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if validation == "valid":
        ok = phonenumbers.is_valid_number(number)
    else:
        reason = phonenumbers.is_possible_number_with_reason(number)
        ok = reason == phonenumbers.ValidationResult.IS_POSSIBLE
    if not ok:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _library(texts: pl.Series, region: str, validation: PhoneValidation) -> pl.Series:
    """`library_e164` over a batch of distinct texts."""
    return pl.Series(
        texts.name, [library_e164(t, region, validation) for t in texts], dtype=pl.String
    )


def fast_e164(texts: pl.Series, region: str, validation: PhoneValidation = "valid") -> pl.Series:
    """The vectorised path over distinct texts: E.164 digits, "" where it rejects, null where
    it leaves the text to the library."""
    plan = region_plan(region)
    out = pl.Series(texts.name, [None] * texts.len(), dtype=pl.String)
    if plan is None:
        return out
    digits = texts.str.replace_all(r"[^0-9]", "")
    covered = (texts.str.contains(PLAIN).fill_null(False) & plan.covers(digits)).arg_true()
    if covered.len() == 0:
        return out
    nsn = plan.national_number(digits.gather(covered))
    ok = plan.is_valid(nsn) if validation == "valid" else plan.is_possible(nsn)
    e164 = pl.select(
        pl.when(ok & nsn.is_not_null()).then(plan.calling_code + nsn).otherwise(pl.lit(""))
    ).to_series()
    return out.scatter(covered, e164)


def normalise_phone(
    text: pl.Series, default_country: str, validation: PhoneValidation = "valid"
) -> Judged:
    """E.164 digits without `+`; `invalid_phone` where the library rejects the number."""
    distinct = text.drop_nulls().unique().rename("text")
    fast = fast_e164(distinct, default_country, validation)
    frame = pl.DataFrame({"text": distinct, "fast": fast})
    todo = frame.filter(pl.col("fast").is_null()).select(
        "text",
        pl.col("text")
        .map_batches(lambda s: _library(s, default_country, validation), return_dtype=pl.String)
        .alias("slow"),
    )
    decided = (
        frame.join(todo, on="text", how="left")
        .select(
            "text",
            pl.coalesce(pl.col("fast"), pl.col("slow")).alias("e164"),
        )
        .with_columns(
            # Listrak's own pattern is the last word: a library answer outside it is rejected.
            pl.when(pl.col("e164").str.contains(E164_PATTERN)).then(pl.col("e164"))
        )
    )
    lookup = pl.DataFrame({"text": text}).join(
        decided, on="text", how="left", maintain_order="left"
    )
    return judge(text, lookup["e164"], REASON)


def library_share(text: pl.Series, default_country: str) -> float:
    """The share of distinct non-empty texts that the vectorised path leaves to the library."""
    distinct = text.drop_nulls().unique()
    if distinct.len() == 0:
        return 0.0
    return fast_e164(distinct, default_country).null_count() / distinct.len()
