"""libphonenumber's own rules for plain national numbers, as whole-column polars steps.

`phonenumbers` decides one number at a time in Python (tens of microseconds each). For text
made only of ASCII digits and the usual separators (no `+`, no letters, no extension), what
it decides depends on the digits alone, through a few steps driven by the region's metadata:
strip the default country's calling code when written without `+`, strip the national
prefix, then look the national number up in the patterns of each region sharing the calling
code. This module runs those same steps, with the same metadata, over whole columns.

It covers a region only where every step is a pattern test or a regex replace polars can run
(patterns it compiles, a national-prefix transform rule made only of group references, as
Japan's and Brazil's) and leaves out any number that starts like the region's international
prefix; everything else goes to the library. The differential tests hold it to the library's
answer on generated numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from typing import NamedTuple

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

from listrak_assets.cleaning.judged import repeated
from listrak_assets.formats import PhoneValidation

# ASCII digits with the separators people type; anything else is for the library.
PLAIN = r"^[0-9 ().\-/]{1,250}$"
# `+`, then a plain number: the international form, read after its calling code.
INTERNATIONAL = r"^\+[0-9 ().\-/]{1,250}$"
_MIN_NSN, _MAX_NSN = 2, 17  # the library's bounds on a national significant number

_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip


def _false(like: pl.Series) -> pl.Series:
    """False for each value of `like`."""
    return repeated(False, like.len(), pl.Boolean)


def digits_regex(pattern: str) -> str:
    """A pattern of the library's metadata for polars, matched against digit strings (ASCII
    alone, as every step here reads them): without Unicode, `\\d` is `[0-9]` and the regex
    compiles in a quarter of the time. A table is judged a slice of rows at a time, and polars
    keeps only a few compiled regexes per thread, so the metadata's are compiled again for
    each slice."""
    return f"(?-u){pattern}"


def _full(pattern: str) -> str:
    return digits_regex(f"^(?:{pattern})$")


def _replacement(rule: str) -> str | None:
    """A national-prefix transform rule in polars' replacement syntax (`\\1` -> `${1}`), or
    None when it holds anything but group references and digits."""
    if not re.fullmatch(r"(?:\\[0-9]|[0-9])*", rule):
        return None
    return re.sub(r"\\([0-9])", r"${\1}", rule)


@dataclass(frozen=True)
class _Rules:
    """One region's metadata as the tests the library applies."""

    general: str | None  # national number pattern (fullmatch)
    general_lengths: tuple[int, ...]
    local_lengths: tuple[int, ...]
    # Number-type patterns grouped by their possible lengths (one regex per group).
    types: tuple[tuple[tuple[int, ...], str], ...]
    leading_digits: str | None

    @staticmethod
    def of(meta: PhoneMetadata) -> _Rules:
        general = meta.general_desc
        assert general is not None  # every region's metadata has its general description
        by_lengths: dict[tuple[int, ...], list[str]] = {}
        for name in _TYPES:
            desc = getattr(meta, name)
            if desc is not None and desc.national_number_pattern:
                by_lengths.setdefault(tuple(desc.possible_length), []).append(
                    desc.national_number_pattern
                )
        return _Rules(
            general=general.national_number_pattern or None,
            general_lengths=tuple(general.possible_length),
            local_lengths=tuple(general.possible_length_local_only),
            types=tuple((k, "|".join(f"(?:{p})" for p in v)) for k, v in by_lengths.items()),
            leading_digits=meta.leading_digits,
        )

    def matches_general(self, x: pl.Series) -> pl.Series:
        """`_match_national_number(x, general_desc)`: the pattern alone, no lengths."""
        return _on(x, self.general_test)

    # The tests as expressions over a column `x`, built once: building one costs about what
    # running it over the few thousand numbers of one calling code costs.

    @cached_property
    def general_test(self) -> pl.Expr:
        """`matches_general` of column `x`."""
        return self.general_expr(pl.col("x"))

    @cached_property
    def valid_type_test(self) -> pl.Expr:
        """`is_valid_type` of column `x`."""
        return self.valid_type_expr(pl.col("x"))

    @cached_property
    def valid_type_given_general_test(self) -> pl.Expr:
        """`is_valid_type` of column `x`, whose general match is column `general`."""
        return self.valid_type_expr(pl.col("x"), pl.col("general"))

    @cached_property
    def refused_test(self) -> pl.Expr:
        """`refused_expr` of the length of column `x`."""
        return self.refused_expr(pl.col("x").str.len_bytes())

    @cached_property
    def possible_test(self) -> pl.Expr:
        """`possible_expr` of the length of column `x`."""
        return self.possible_expr(pl.col("x").str.len_bytes())

    def general_expr(self, x: pl.Expr) -> pl.Expr:
        """`matches_general` as an expression."""
        if self.general is None:
            return pl.lit(False)
        return x.str.contains(_full(self.general)).fill_null(False)

    def is_valid_type(self, x: pl.Series) -> pl.Series:
        """`_number_type_helper(x) != UNKNOWN`: the general description (lengths and
        pattern), then any number type. One select: a few thousand numbers of one calling
        code cost what its steps cost, not what a dozen separate calls cost."""
        return _on(x, self.valid_type_test)

    def valid_type_expr(self, x: pl.Expr, general: pl.Expr | None = None) -> pl.Expr:
        """`is_valid_type` as an expression (`general`: `matches_general`, when known)."""
        n = x.str.len_bytes()
        out = self.general_expr(x) if general is None else general
        if self.general_lengths:
            out = out & n.is_in(self.general_lengths)
        any_type = pl.lit(False)
        for lengths, pattern in self.types:
            hit = x.str.contains(_full(pattern)).fill_null(False)
            if lengths:
                hit = hit & n.is_in(lengths)
            any_type = any_type | hit
        return out & any_type

    def length(self, x: pl.Series) -> pl.Series:
        """`_test_number_length(x)` for an unknown type: local, possible, short, long or
        invalid."""
        n = x.str.len_bytes()
        return n.to_frame("n").select(self.length_expr(pl.col("n"))).to_series()

    def length_expr(self, n: pl.Expr) -> pl.Expr:
        """`length` of numbers with `n` digits, as an expression."""
        lengths = sorted(self.general_lengths)
        return (
            pl.when(n.is_in(self.local_lengths))
            .then(pl.lit("local"))
            .when(n == lengths[0])
            .then(pl.lit("possible"))
            .when(n < lengths[0])
            .then(pl.lit("short"))
            .when(n > lengths[-1])
            .then(pl.lit("long"))
            .when(n.is_in(lengths[1:]))
            .then(pl.lit("possible"))
            .otherwise(pl.lit("invalid"))
        )

    def possible_expr(self, n: pl.Expr) -> pl.Expr:
        """`length` is "possible" for numbers with `n` digits: a test on the numbers alone,
        a tenth of the cost of building the words."""
        return (~n.is_in(self.local_lengths) & n.is_in(self.general_lengths)).fill_null(False)

    def long_expr(self, n: pl.Expr) -> pl.Expr:
        """`length` is "long" for numbers with `n` digits."""
        return (~n.is_in(self.local_lengths) & (n > max(self.general_lengths))).fill_null(False)

    def refused_expr(self, n: pl.Expr) -> pl.Expr:
        """`length` is "short", "local" or "invalid": neither possible nor long."""
        return ~self.possible_expr(n) & ~self.long_expr(n)


def _frame(x: pl.Series, **exprs: pl.Expr) -> pl.DataFrame:
    """Expressions of a series (column `x`) computed together: one select."""
    return x.to_frame("x").select(**exprs)


def _on(x: pl.Series, expr: pl.Expr) -> pl.Series:
    """`expr` of a series (column `x`) as one select (a literal answer is repeated for each
    value)."""
    return x.to_frame("x").with_columns(expr.alias("_out"))["_out"]


class _Read(NamedTuple):
    """A candidate national number, and whether the general pattern matches it (carried
    along, so that no step matches the same text twice)."""

    text: pl.Series
    general: pl.Series


class _Stripped(NamedTuple):
    """Where a national prefix is stripped: the positions, what is left there, and whether
    the general pattern matches that."""

    at: pl.Series
    text: pl.Series
    general: pl.Series

    @staticmethod
    def nowhere(text: pl.Series, general: pl.Series) -> _Stripped:
        return _Stripped(pl.Series(dtype=pl.get_index_type()), text.clear(), general.clear())

    def applied(self, read: _Read) -> _Read:
        """`read` with these numbers in their places (as it is when there are none)."""
        if self.at.len() == 0:
            return read
        return _Read(
            read.text.clone().scatter(self.at, self.text),
            read.general.clone().scatter(self.at, self.general),
        )


@dataclass(frozen=True)
class RegionPlan:
    """How a plain national number of one default region becomes E.164, the library's way."""

    calling_code: str
    international_prefix: str | None
    national_prefix: str | None  # national_prefix_for_parsing (a pattern)
    # national_prefix_transform_rule in polars' syntax (`${1}`), and the number of groups of
    # the national prefix pattern: the rule applies only when its last group took part.
    transform: str | None
    prefix_groups: int
    rules: _Rules
    # The regions sharing the calling code, in the library's order, for validity.
    regions: tuple[_Rules, ...]

    def _general(self, x: pl.Series) -> pl.Series:
        """`matches_general` of a series (the one regex pass of each step below)."""
        return self.rules.matches_general(x)

    @property
    def _literal_prefix(self) -> bool:
        """The national prefix is digits alone (`0`, `1`, `8`) and rewrites nothing: a text
        test and a cut, no regex."""
        prefix = self.national_prefix
        return prefix is not None and prefix.isdigit() and self.transform is None

    def _strip_national_prefix(self, x: pl.Series, general: pl.Series) -> _Stripped:
        """`_maybe_strip_national_prefix_carrier_code`: where `x` loses the national prefix,
        or is rewritten by the transform rule where the pattern's last group took part (Japan's
        `0002...` numbers keep their zeros, Brazil's carrier code goes), unless that leaves a
        number the general pattern (`general`, of `x`) no longer matches. Only the numbers
        that start with the prefix are read further: most have none."""
        if not self.national_prefix:
            return _Stripped.nowhere(x, general)
        where = _on(x, self._prefix_test).arg_true()
        if where.len() == 0:
            return _Stripped.nowhere(x, general)
        after = (
            x.gather(where)
            .to_frame("x")
            .lazy()
            .select(self._after_prefix.alias("x"))
            .with_columns(general=self.rules.general_test)
            .collect()
        )
        strip = ~(general.gather(where) & ~after["general"])
        return _Stripped(
            where.filter(strip), after["x"].filter(strip), after["general"].filter(strip)
        )

    @cached_property
    def _prefix_test(self) -> pl.Expr:
        """Column `x` starts with the national prefix (and is not empty)."""
        assert self.national_prefix is not None
        x = pl.col("x")
        if self._literal_prefix:
            found = x.str.starts_with(self.national_prefix)
        else:
            found = x.str.contains(digits_regex(f"^(?:{self.national_prefix})"))
        return (found & (x.str.len_bytes() > 0)).fill_null(False)

    @cached_property
    def _after_prefix(self) -> pl.Expr:
        """What is left of numbers (column `x`) that start with the national prefix: the
        prefix cut off, or the transform rule applied where the pattern's last group took
        part."""
        assert self.national_prefix is not None
        x = pl.col("x")
        if self._literal_prefix:
            return x.str.slice(len(self.national_prefix))
        pattern = digits_regex(f"^(?:{self.national_prefix})")
        prefix = x.str.extract(digits_regex(f"^({self.national_prefix})"), 0)
        after = x.str.slice(prefix.str.len_bytes().fill_null(0))
        if self.transform is None:
            return after
        rewrites = x.str.extract(pattern, self.prefix_groups).is_not_null()
        return pl.when(rewrites).then(x.str.replace(pattern, self.transform)).otherwise(after)

    def covers(self, digits: pl.Series) -> pl.Series:
        """Digit strings this plan decides: long enough to be viable, and not starting like
        the international prefix (the library would read a country code after it)."""
        n = digits.str.len_bytes()
        ok = (n >= 3) & (n <= 250)
        if self.international_prefix:
            if self.international_prefix.isdigit():  # a literal (`011`): no regex
                ok = ok & ~digits.str.starts_with(self.international_prefix)
            else:
                ok = ok & ~digits.str.contains(digits_regex(f"^(?:{self.international_prefix})"))
        return ok.fill_null(False)

    def national_number(self, digits: pl.Series) -> _Read:
        """The national significant number the library parses from `digits` (null when it
        would refuse to parse them). Whether the general pattern matches is carried along
        with each candidate, so each distinct text is matched against it once."""
        code = self.calling_code
        d = pl.col("x")
        first = _frame(
            digits,
            general=self.rules.general_expr(d),
            with_code=d.str.starts_with(code).fill_null(False),
            long=self.rules.long_expr(d.str.len_bytes()),
        )
        national = _Read(digits, first["general"])
        if first["with_code"].any():
            after_code = _on(digits, d.str.slice(len(code)))
            rest = _Read(after_code, self._general(after_code))
            rest = self._strip_national_prefix(*rest).applied(rest)
            with_code = first["with_code"] & ((~national.general & rest.general) | first["long"])
            national = _Read(
                rest.text.zip_with(with_code, digits),
                rest.general.zip_with(with_code, national.general),
            )
        nsn = self._after_calling_code(national)
        return _Read(nsn.text.alias(digits.name), nsn.general)

    def abroad_e164(self, digits: pl.Series, validation: PhoneValidation) -> pl.Series:
        """Of digits that start with the calling code: `calling_code` + the national
        significant number the library keeps of the rest (`_after_calling_code`) where
        `accepts` takes it, null elsewhere. One select (`_after_code_steps`) instead of
        some fifty eager steps: a column holds few numbers of most calling codes, and each
        eager step's fixed cost was what they cost."""
        cut = pl.col("x").str.slice(len(self.calling_code))
        frame = digits.to_frame("x").lazy().with_columns(cut)
        for step in self._after_code_steps:
            frame = frame.with_columns(**step)
        one_region = self.regions == (self.rules,) and not self.rules.leading_digits
        if validation != "valid" or one_region:
            accepted = self._possible_e164 if validation != "valid" else self._valid_e164
            return frame.select(accepted).collect().to_series()
        # Several regions share the code (or one claims by leading digits): who claims a
        # number is decided step by step.
        nsn = frame.select("nsn", "nsn_general").collect()
        ok = self.is_valid(nsn["nsn"], nsn["nsn_general"])
        return nsn.select(pl.when(ok).then(self.calling_code + pl.col("nsn"))).to_series()

    @cached_property
    def _after_code_steps(self) -> tuple[dict[str, pl.Expr], ...]:
        """`_after_calling_code` of column `x` as stages of expressions (each reads the
        columns of the ones before): columns `nsn` (null where the library would refuse
        to parse it) and `nsn_general`."""
        x = pl.col("x")
        general = self.rules.general_expr(x)
        if not self.national_prefix:
            read: dict[str, pl.Expr] = {"text": x, "g": general}
            stages: tuple[dict[str, pl.Expr], ...] = (read,)
        else:
            starts = {"g": general, "p": self._prefix_test, "after": self._after_prefix}
            after_general = {"ga": self.rules.general_expr(pl.col("after"))}
            # Stripped where the prefix is there, unless the general pattern matched before
            # and not after; kept only where the length of what is left is not refused.
            strip = (
                pl.col("p")
                & ~(pl.col("g") & ~pl.col("ga"))
                & ~self.rules.refused_expr(pl.col("after").str.len_bytes())
            )
            read = {
                "text": pl.when(strip).then(pl.col("after")).otherwise(x),
                "g": pl.when(strip).then(pl.col("ga")).otherwise(pl.col("g")),
            }
            stages = (starts, after_general, read)
        n = pl.col("text").str.len_bytes()
        unviable = ((n < _MIN_NSN) | (n > _MAX_NSN)).fill_null(False)
        nsn = {
            "nsn": pl.when(~unviable).then(pl.col("text")),
            "nsn_general": pl.col("g") & ~unviable & pl.col("text").is_not_null(),
        }
        return (*stages, nsn)

    @cached_property
    def _valid_e164(self) -> pl.Expr:
        """Over the columns of `_after_code_steps`: E.164 digits where `accepts` finds the
        number valid (a plan of one region that claims by its types alone)."""
        nsn = pl.col("nsn")
        return self._e164(self.rules.valid_type_expr(nsn, pl.col("nsn_general")))

    @cached_property
    def _possible_e164(self) -> pl.Expr:
        """As `_valid_e164`, where `accepts` finds the number's length possible."""
        return self._e164(self.rules.possible_expr(pl.col("nsn").str.len_bytes()))

    def _e164(self, ok: pl.Expr) -> pl.Expr:
        nsn = pl.col("nsn")
        return pl.when(ok & nsn.is_not_null()).then(self.calling_code + nsn)

    def _after_calling_code(self, national: _Read) -> _Read:
        """`after_calling_code` of a number whose general match is known, with that of the
        number it keeps (false where none)."""
        stripped = self._strip_national_prefix(*national)
        # Where nothing was stripped the library keeps `national` as it is; elsewhere what
        # is left, unless its length is refused.
        keep = ~_on(stripped.text, self.rules.refused_test)
        kept = _Stripped(*(part.filter(keep) for part in stripped)).applied(national)
        n = kept.text.str.len_bytes()
        unviable = ((n < _MIN_NSN) | (n > _MAX_NSN)).fill_null(False)
        if not unviable.any():
            return _Read(kept.text, kept.general & kept.text.is_not_null())
        text = kept.text.clone().scatter(unviable.arg_true(), None)
        return _Read(text, kept.general & ~unviable & kept.text.is_not_null())

    def is_valid(self, nsn: pl.Series, general: pl.Series | None = None) -> pl.Series:
        """`is_valid_number`: the first region of the calling code that claims the number
        (by leading digits, or by a valid type) must find it valid. The first step reads the
        whole column as it is (a null number claims nothing); each later one only the numbers
        no earlier region claimed. A run of regions that claim by leading digits (23 of North
        America's 25) is one step, its first match deciding the region. `general`, whether
        the plan's own general pattern matches each number, spares the first step a pass."""
        valid = _false(nsn)
        open_ = nsn.is_not_null()
        for step, run in enumerate(_runs(self.regions)):
            at = open_.arg_true() if step else None
            if at is not None and at.len() == 0:
                break
            x = nsn if at is None else nsn.gather(at)
            if run[0].leading_digits is None:
                if at is None and general is not None and run[0] == self.rules:
                    frame = pl.DataFrame({"x": nsn, "general": general})
                    typed = frame.select(self.rules.valid_type_given_general_test).to_series()
                else:
                    typed = run[0].is_valid_type(x)
                claims = typed
            else:
                # Claimed by its leading digits: valid only if this region's types say so.
                claimer = _first_claimer(x, run)
                claims, typed = claimer.is_not_null(), _false(x)
                for i in claimer.drop_nulls().unique().to_list():
                    mine = (claimer == i).fill_null(False)
                    typed = typed.scatter(mine.arg_true(), run[i].is_valid_type(x.filter(mine)))
            if at is None:
                valid, open_ = valid | typed, open_ & ~claims
            else:
                valid = valid.scatter(at.filter(typed), True)
                open_ = open_.scatter(at.filter(claims), False)
        return valid

    def is_possible(self, nsn: pl.Series) -> pl.Series:
        """`is_possible_number_with_reason(...) == IS_POSSIBLE` (local-only lengths are not
        enough: Listrak needs a number it can reach from anywhere)."""
        return _on(nsn, self.rules.possible_test)

    def accepts(self, nsn: _Read, validation: PhoneValidation) -> pl.Series:
        """What the project's `phone_validation` setting accepts: valid, or merely possible."""
        if validation == "valid":
            return self.is_valid(nsn.text, nsn.general)
        return self.is_possible(nsn.text)


def _runs(regions: tuple[_Rules, ...]) -> list[tuple[_Rules, ...]]:
    """The regions in order, each that claims by a valid type alone, and each run of
    consecutive ones that claim by leading digits together."""
    runs: list[tuple[_Rules, ...]] = []
    for region in regions:
        if region.leading_digits is not None and runs and runs[-1][0].leading_digits is not None:
            runs[-1] = (*runs[-1], region)
        else:
            runs.append((region,))
    return runs


def _first_claimer(x: pl.Series, run: tuple[_Rules, ...]) -> pl.Series:
    """For each number, the index in `run` of the first region whose leading digits it
    starts with (null for none). One pass over the numbers finds those any region claims
    (most of what reaches a run is claimed by none: North America's invalid numbers); only
    they are tried region by region, in one more pass."""
    claimed, first = _claimer_tests(run)
    at = _on(x, claimed).arg_true()
    none = repeated(None, x.len(), pl.Int32)
    if at.len() == 0:
        # Not even run on no numbers: polars compiles a regex before it reads any row, and a
        # batch's phone regexes are more than polars keeps compiled.
        return none
    return none.scatter(at, _on(x.gather(at), first))


@cache
def _claimer_tests(run: tuple[_Rules, ...]) -> tuple[pl.Expr, pl.Expr]:
    """For `_first_claimer`, over column `x`: whether any region of the run claims each
    number, and the index of the first that does. Built once per run."""
    col = pl.col("x")
    either = "|".join(f"(?:{r.leading_digits})" for r in run)
    claimed = col.str.contains(digits_regex(f"^(?:{either})"))
    first: pl.Expr = pl.lit(None, dtype=pl.Int32)
    for i, region in reversed(list(enumerate(run))):
        starts = col.str.contains(digits_regex(f"^(?:{region.leading_digits})")).fill_null(False)
        first = pl.when(starts).then(pl.lit(i, dtype=pl.Int32)).otherwise(first)
    return claimed.fill_null(False), first


@cache
def region_plan(region: str) -> RegionPlan | None:
    """The fast plan for a default region, or None when the library must decide all of it."""
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    transform = None
    if meta.national_prefix_transform_rule:
        transform = _replacement(meta.national_prefix_transform_rule)
        if transform is None or not meta.national_prefix_for_parsing:
            return None
    code = meta.country_code
    if code is None:
        return None
    if phonenumbers.region_code_for_country_code(code) != region:
        return None  # the library switches to the main region's metadata: leave it to it
    regions = tuple(
        _Rules.of(m)
        for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
        if (m := PhoneMetadata.metadata_for_region(r)) is not None
    )
    plan = RegionPlan(
        calling_code=str(code),
        international_prefix=meta.international_prefix,
        national_prefix=meta.national_prefix_for_parsing,
        transform=transform,
        prefix_groups=re.compile(meta.national_prefix_for_parsing or "").groups,
        rules=_Rules.of(meta),
        regions=regions,
    )
    try:  # every pattern must compile in polars' regex engine, or no fast path
        probe = pl.Series(["2025550123"])
        plan.is_valid(plan.national_number(probe).text)
        plan.covers(probe)
    except pl.exceptions.ComputeError:
        return None
    return plan
