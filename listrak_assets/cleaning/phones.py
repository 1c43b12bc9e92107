"""Phone numbers to E.164 digits with the country code and no `+` (Listrak's format).

The `phonenumbers` library (Google's libphonenumber) is the judge: a number is parsed with
the default country as region, accepted when the library calls it valid (or, with
`phone_validation: possible`, when its length is possible for its country) and written as
E.164 without `+`. Plain national numbers, most of any export, and `+` numbers whose calling
code's region has a plan take a vectorised path that applies the library's own metadata
(`phone_rules`); the rest go through the library, once per distinct text.
"""

from __future__ import annotations

import traceback
from functools import cache
from typing import NamedTuple, cast

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

from listrak_assets.cleaning.judged import Judged, judge, repeated
from listrak_assets.cleaning.phone_rules import INTERNATIONAL, PLAIN, digits_regex, region_plan
from listrak_assets.formats import E164_PATTERN, PhoneValidation

REASON = "invalid_phone"

# A plain or `+` number, then an extension the library sets apart (`717-555-9636 x12`): `x`
# takes at most nine digits. The number must end with a digit, so the library's "second
# number" cut (`/ x`) can't apply.
_EXTENSION = r"^(\+?[0-9 ().\-/]*[0-9]) *[xX] ?[0-9]{1,9}$"
_MAX_INPUT = 250  # the library refuses longer text before it looks for an extension
# Digits alone, as `PLAIN` takes them: plain, and no extension.
_DIGITS = r"^[0-9]{1,250}$"


def library_e164(text: str, region: str, validation: PhoneValidation = "valid") -> str | None:
    """One number judged by the library: E.164 digits without `+`, or None."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as err:
        # `parse` keeps the exception in a local of a frame its traceback holds: a reference
        # cycle that keeps every caller's locals (whole columns) alive until Python's cycle
        # collector happens to run. Clearing the frames frees them now.
        traceback.clear_frames(err.__traceback__)
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


def _nulls(like: pl.Series) -> pl.Series:
    """A null text for each value of `like`."""
    return repeated(None, like.len(), pl.String, like.name)


def fast_e164(texts: pl.Series, region: str, validation: PhoneValidation = "valid") -> pl.Series:
    """The vectorised path, text by text: E.164 digits, "" where it rejects, null where
    it leaves the text to the library."""
    out = _nulls(texts)
    read = _read(texts)
    plan = region_plan(region)
    if plan is not None:
        covered = read.plain & plan.covers(read.digits)
        if covered.any():
            nsn = plan.national_number(read.digits.filter(covered))
            ok = plan.accepts(nsn, validation) & nsn.text.is_not_null()
            e164 = pl.select(
                pl.when(ok).then(plan.calling_code + nsn.text).otherwise(pl.lit(""))
            ).to_series()
            out = out.scatter(covered.arg_true(), e164)
    # A number the plan covered is neither `+` nor after an exit code: only the rest (a
    # tenth of a typical export) is read for a calling code.
    rest = out.is_null().arg_true()
    if rest.len() == 0:
        return out
    abroad = _international(read.gather(rest), region, validation)
    return out.scatter(rest, abroad)


class _Texts(NamedTuple):
    """What the steps read of each text: its digits (the extension left out), and whether
    it is a plain number (`PLAIN`) or a `+` one (`INTERNATIONAL`)."""

    digits: pl.Series
    plain: pl.Series
    plus: pl.Series

    def gather(self, at: pl.Series) -> _Texts:
        return _Texts(self.digits.gather(at), self.plain.gather(at), self.plus.gather(at))


def _read(texts: pl.Series) -> _Texts:
    """`_Texts` of each text. Most are ASCII digits alone (`17175559636`): their own digits,
    plain, no extension. One test finds them; the regex steps read only the others."""
    simple = texts.str.contains(_DIGITS).fill_null(False)
    others = (~simple).arg_true()
    if others.len() == 0:
        return _Texts(texts, simple, ~simple)
    odd = _without_extension(texts.gather(others))
    return _Texts(
        texts.clone().scatter(others, odd.str.replace_all(r"[^0-9]", "")),
        simple.clone().scatter(others, odd.str.contains(PLAIN).fill_null(False)),
        (~simple).scatter(others, odd.str.contains(INTERNATIONAL).fill_null(False)),
    )


def _without_extension(texts: pl.Series) -> pl.Series:
    """Each text without the extension the library would set apart and drop from E.164:
    the number before it has at least three digits (the library's "viable number"). Only
    texts with an `x` are read for one (the pattern with its group is the slow kind)."""
    at = texts.str.contains("[xX]").fill_null(False).arg_true()
    if at.len() == 0:
        return texts
    some = texts.gather(at)
    number = some.str.extract(_EXTENSION, 1)
    viable = (number.str.count_matches(r"[0-9]").fill_null(0) >= 3) & (
        some.str.len_bytes() <= _MAX_INPUT
    )
    return texts.clone().scatter(at, number.zip_with(viable, some))


def _after_exit_code(read: _Texts, region: str) -> pl.Series:
    """The digits after the default region's international prefix (`011 44 20 7946 0958`
    from the US), where the library reads a calling code next as after `+`: a plain number
    whose digits start with that prefix. Null elsewhere. (The library does not strip the
    prefix when a 0 follows; no calling code starts with 0, so those stay with it.)"""
    digits = read.digits
    none = _nulls(digits)
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or not meta.international_prefix:
        return none
    try:
        exit_code = digits.str.extract(digits_regex(f"^({meta.international_prefix})"), 1)
    except pl.exceptions.ComputeError:
        return none  # a pattern polars can't compile: the library decides
    rest = digits.str.slice(exit_code.str.len_bytes().fill_null(0))
    after = read.plain & (exit_code.str.len_bytes() > 0)
    return pl.select(pl.when(after.fill_null(False)).then(rest)).to_series()


def _international(read: _Texts, region: str, validation: PhoneValidation) -> pl.Series:
    """`+` or the default region's international prefix, a calling code, then a plain number
    (`+44 (0)20 7946 0958`): whatever the default region, the calling code's main region
    reads the rest, as in the library. Only numbers it accepts are decided here; the rest
    (and regions without a plan) stay null for the library."""
    out = _nulls(read.digits)
    plus = read.plus
    after = pl.select(
        pl.when(plus).then(read.digits).otherwise(_after_exit_code(read, region))
    ).to_series()
    abroad = after.is_not_null().arg_true()
    if abroad.len() == 0:
        return out
    numbers = after.gather(abroad)
    codes = _calling_codes(numbers)
    unknown = (codes.is_null() & plus.gather(abroad)) & ~_read_from_default_region(numbers, region)
    out = out.scatter(abroad.filter(unknown), "")
    # The numbers of each calling code apart in one step, and their answers put in place in
    # one more: the steps of each code are a batch's fixed cost.
    by_code = pl.DataFrame({"at": abroad, "code": codes, "digits": numbers}).drop_nulls("code")
    places, answers = [], []
    for (code,), mine in by_code.partition_by("code", as_dict=True).items():
        plan = region_plan(phonenumbers.region_code_for_country_code(int(str(code))))
        if plan is None or plan.calling_code != code:
            continue
        places.append(mine["at"])
        answers.append(plan.abroad_e164(mine["digits"], validation))
    if not places:
        return out
    return out.scatter(pl.concat(places), pl.concat(answers))


def _read_from_default_region(digits: pl.Series, region: str) -> pl.Series:
    """Where the library, finding no calling code after a `+` (`+999 ...`), could still read
    a number: it drops the `+` and reads the digits again as dialled in the default region,
    after its international prefix or with its calling code. Everywhere else it refuses the
    text. True also where the region's prefix pattern is beyond polars."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return repeated(True, digits.len(), pl.Boolean)
    rescued = digits.str.starts_with(str(meta.country_code))
    if meta.international_prefix:
        try:
            rescued = rescued | digits.str.contains(
                digits_regex(f"^(?:{meta.international_prefix})")
            )
        except pl.exceptions.ComputeError:
            return repeated(True, digits.len(), pl.Boolean)
    return rescued.fill_null(True)


def _calling_codes(digits: pl.Series) -> pl.Series:
    """The calling code the library reads at the start of `digits` after a `+`: the shortest
    prefix of one to three digits that is a known code (none when it starts with 0)."""
    return digits.to_frame("x").select(_calling_code_test()).to_series()


@cache
def _calling_code_test() -> pl.Expr:
    """`_calling_codes` of column `x`, as one expression (built once)."""
    known = [str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    found: pl.Expr = pl.lit(None, dtype=pl.String)
    for length in (3, 2, 1):  # the shortest match wins: it is written last
        prefix = pl.col("x").str.slice(0, length)
        whole = prefix.str.len_bytes() == length
        hit = whole & prefix.is_in(known) & ~prefix.str.starts_with("0")
        found = pl.when(hit).then(prefix).otherwise(found)
    return found.alias("x")


def _decided(texts: pl.Series, region: str, validation: PhoneValidation) -> pl.Series:
    """E.164 digits for each text, null where it is null or rejected: the vectorised path,
    then the library once per distinct text it left."""
    e164 = fast_e164(texts, region, validation)
    left = (e164.is_null() & texts.is_not_null()).arg_true()
    if left.len():
        todo = texts.gather(left)
        distinct = todo.unique()
        slow = todo.replace_strict(
            distinct, _library(distinct, region, validation), default=None, return_dtype=pl.String
        )
        e164 = e164.scatter(left, slow)
    # Listrak's own pattern is the last word: a library answer outside it is rejected.
    return pl.select(pl.when(e164.str.contains(E164_PATTERN)).then(e164)).to_series()


def normalise_phone(
    text: pl.Series, default_country: str, validation: PhoneValidation = "valid"
) -> Judged:
    """E.164 digits without `+`; `invalid_phone` where the library rejects the number.

    A column with many repeats is judged once per distinct text and joined back. Most phone
    columns are nearly all distinct (one number per customer), and there the deduplication
    and the join back cost more than the vectorised path over every row. Both ways give
    each row the same answer, so an estimate of the distinct count (a fifth of the cost of
    the exact one) is enough to choose."""
    present = text.drop_nulls()
    if cast(int, present.approx_n_unique()) * 2 > present.len():
        return judge(text, _decided(text, default_country, validation).alias(text.name), REASON)
    distinct = present.unique().rename("text")
    decided = pl.DataFrame(
        {"text": distinct, "e164": _decided(distinct, default_country, validation)}
    )
    lookup = pl.DataFrame({"text": text}).join(
        decided, on="text", how="left", maintain_order="left"
    )
    return judge(text, lookup["e164"], REASON)
