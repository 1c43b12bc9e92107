"""Cleans one table: normalise every column, reject what can't be fixed, de-duplicate on the
key (newest row wins), and validate against the Listrak schema.

Conservation holds by construction and is checked: every raw row is either in `clean`, in
`rejects` with `action: row_rejected` (one line per problem, so a row may appear more than
once) or counted in `merged_rows`.

An invalid value in an optional column costs only that value when `invalid_optional` is
`blank` (the default): it is set to null, the row is kept, and one rejects line with `action:
blanked` says what was blanked. An invalid key or required value, or one in a column that is
not blankable (an opt-out flag), rejects the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import pandera.polars as pa
import polars as pl

from listrak_assets.cleaning.booleans import boolean_expr
from listrak_assets.cleaning.choices import choice_expr, status_expr
from listrak_assets.cleaning.dates import DateRules, date_expr, datetime_expr
from listrak_assets.cleaning.emails import normalise_email, written_email
from listrak_assets.cleaning.judged import JudgedExpr, Stage, judge_expr
from listrak_assets.cleaning.numbers import decimal_expr, integer_expr
from listrak_assets.cleaning.phones import normalise_phone
from listrak_assets.cleaning.text import clean_text_expr, cut_expr
from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW, UPDATED_AT
from listrak_assets.formats import (
    DateOrder,
    DecimalSeparator,
    InvalidOptional,
    PhoneValidation,
    TwoDigitYears,
)
from listrak_assets.privacy import mask
from listrak_assets.schemas.reasons import REASONS
from listrak_assets.schemas.spec import (
    DEFAULT_RANGES,
    Col,
    DateRange,
    Kind,
    Overflow,
    Span,
    TableSpec,
)
from listrak_assets.schemas.validation import build_schema
from listrak_assets.suppression import Identifier, Suppression

ROW = "_row"
# A raw table, read (tests, other callers) or scanned from where the raw step stored it.
Raw = pl.DataFrame | pl.LazyFrame
_WHY = "__why__"  # prefix of the per-column reason columns
_ORDER = "__order"  # the parsed `updated_at`
_HASH = "__hash"  # a 64-bit hash of the key
# The name rejects give the bookkeeping `updated_at` column.
UPDATED_AT_COLUMN = "updated_at"

BLANKED = "blanked"
ROW_REJECTED = "row_rejected"
FORGOTTEN = "forgotten"
DUPLICATE_KEY = "duplicate_key"  # the reason of a key held by more than one clean row
_IDENTIFIERS: dict[Kind, Identifier] = {Kind.EMAIL: "email", Kind.PHONE: "phone"}

REJECT_COLUMNS = pl.Schema(
    {
        "source_file": pl.String(),
        "source_row": pl.Int64(),
        "column": pl.String(),
        "value": pl.String(),
        "reason": pl.String(),
        "message": pl.String(),
        "stage": pl.String(),
        "action": pl.String(),
    }
)

REJECT_DESCRIPTIONS: dict[str, str] = {
    "source_file": "input file the row came from",
    "source_row": "record number in that file, 1 for the first row after the header",
    "column": "the Listrak column with the problem",
    "value": "the value as written in the file (masked when PII is restricted)",
    "reason": "stable reason code, e.g. invalid_email",
    "message": "the reason in words",
    "stage": "normalise (value could not be parsed), validate (broke a schema rule) or "
    "suppress (a forgotten person: every value of the row is masked)",
    "action": "row_rejected (the row was not sent) or blanked (the value was sent empty and "
    "the row kept)",
}


@dataclass(frozen=True)
class CleanOptions:
    default_phone_country: str = "US"
    phone_validation: PhoneValidation = "valid"
    date_order: DateOrder = "MDY"
    two_digit_years: TwoDigitYears = "pivot"
    pivot_year: int | None = None  # None: the run's year
    date_ranges: Mapping[Span, DateRange] = field(default_factory=lambda: DEFAULT_RANGES)
    source_timezone: str = "UTC"
    decimal_separator: DecimalSeparator = "."
    invalid_optional: InvalidOptional = "blank"
    restrict_pii: bool = True
    today: dt.date | None = None
    # Forgotten people: rows naming one of their emails or phones are rejected.
    suppression: Suppression | None = None

    @property
    def day(self) -> dt.date:
        return self.today or dt.date.today()

    @property
    def date_rules(self) -> DateRules:
        return DateRules(self.date_order, self.two_digit_years, self.pivot_year or self.day.year)


@dataclass(frozen=True)
class CleanResult:
    clean: pl.DataFrame
    rejects: pl.DataFrame
    raw_rows: int
    merged_rows: int
    # Rows of `clean` that still fail the full schema: always empty unless cleaning has a bug;
    # the blocking `schema_valid` check reports it.
    schema_failures: dict[str, int] = field(default_factory=dict)

    @cached_property
    def rejected_rows(self) -> int:
        rejected = self.rejects.filter(pl.col("action") == ROW_REJECTED)
        return int(rejected.select(pl.struct("source_file", "source_row").n_unique()).item())

    @cached_property
    def blanked(self) -> dict[str, int]:
        """Values blanked in kept rows, by column."""
        blanked = self.rejects.filter(pl.col("action") == BLANKED)
        return dict(blanked.group_by("column").len().sort("column").iter_rows())

    @property
    def blanked_values(self) -> int:
        return sum(self.blanked.values())

    @property
    def duplicate_keys(self) -> int:
        """Rows of `clean` whose key another row has too (0 unless cleaning has a bug): counted
        once, with the schema failures, rather than by another pass over the table."""
        return self.schema_failures.get(DUPLICATE_KEY, 0)


def _timestamp_bounds(span: Span | None, options: CleanOptions) -> tuple[dt.datetime, dt.datetime]:
    earliest, latest = options.date_ranges[span or Span.EVENTS].bounds(options.day)
    return (
        dt.datetime.combine(earliest, dt.time(), dt.UTC),
        dt.datetime.combine(latest, dt.time.max, dt.UTC),
    )


def normalise(col: Col, text: pl.Expr, options: CleanOptions) -> JudgedExpr:
    """The typed, Listrak-formatted value of one column from its clean text, with the reason
    wherever a written value has none (email and phone: see `_by_library`)."""
    scratch = f"{_SCRATCH}{col.name}__"
    match col.kind:
        case Kind.DATE:
            earliest, latest = options.date_ranges[col.span or Span.BIRTHDAYS].bounds(options.day)
            return date_expr(text, options.date_rules, earliest, latest, scratch=scratch)
        case Kind.DATETIME:
            earliest_t, latest_t = _timestamp_bounds(col.span, options)
            return datetime_expr(
                text,
                options.date_rules,
                options.source_timezone,
                earliest_t,
                latest_t,
                scratch=scratch,
            )
        case Kind.BOOLEAN:
            return judge_expr(text, boolean_expr(text), "invalid_boolean")
        case Kind.DECIMAL:
            return decimal_expr(text, options.decimal_separator, scratch=scratch)
        case Kind.INTEGER:
            return integer_expr(text, options.decimal_separator, scratch=scratch)
        case Kind.STATUS:
            return judge_expr(text, status_expr(text, col.choices), "invalid_choice")
        case Kind.CHOICE:
            return _unjudged(choice_expr(text, col.choices, col.spellings))
        case Kind.EMAIL | Kind.PHONE:
            raise ValueError(f"{col.name}: {col.kind} values are judged by `_by_library`")
        case _:
            if col.max_len is not None and col.overflow is Overflow.CUT:
                return _unjudged(cut_expr(text, col.max_len))
            return _unjudged(text)


def _unjudged(value: pl.Expr) -> JudgedExpr:
    """A value that can't fail (free text): no reasons."""
    return JudgedExpr(value, pl.lit(None, pl.String))


_LIBRARY_KINDS = (Kind.EMAIL, Kind.PHONE)
_JUDGED_DTYPE = pl.Struct({"value": pl.String, "reason": pl.String})


def _by_library(
    col: Col, options: CleanOptions, written: bool = False
) -> Callable[[pl.Series], pl.Series]:
    """Email and phone columns, judged with their reference library once per distinct value
    of each slice of the table (see `_normalised`): value and reason as one struct. A
    `written` email column is given as written, not its clean text (see `_written_emails`).

    A value repeated in two slices is judged twice, to the same answer; nearly all are
    distinct. A phone column's judge has a fixed cost per call (regexes compiled again, some
    hundred small steps), so its step is not marked elementwise: polars gives it a slice
    whole."""

    def judged(text: pl.Series) -> pl.Series:
        if col.kind is Kind.EMAIL:
            found = written_email(text) if written else normalise_email(text)
        else:
            found = normalise_phone(text, options.default_phone_country, options.phone_validation)
        both = pl.DataFrame(
            {"value": found.value, "reason": found.reason},
            schema={"value": pl.String, "reason": pl.String},
        )
        return both.to_struct(text.name)

    return judged


_TEXT = "__text__"  # prefix of the clean text of each column (as written: `_written_emails`)
_SCRATCH = "__step__"  # prefix of the intermediate columns of each column's normaliser
_JUDGED = "__judged__"  # prefix of the library's (value, reason) of email and phone columns


# Rows normalised at a time (see `_normalised`).
SLICE_ROWS = 1 << 19


def _normalised(
    raw: Raw, spec: TableSpec, options: CleanOptions, slice_rows: int = SLICE_ROWS
) -> pl.DataFrame:
    """Typed columns, plus one reason column per column (why a written value has no value)
    and the parsed `updated_at`: one lazy plan, collected a slice of `slice_rows` rows at a
    time with the in-memory engine.

    Every step but a phone column's is elementwise, and a phone column's judges each
    distinct value on its own, so a slice gives the rows what the whole table would (a
    test holds the two equal). Slices keep the intermediate columns of a slice only, as the
    streaming engine's batches did (the in-memory engine over the whole table held them all:
    0.35 GB more at 1M orders); unlike the streaming engine, the in-memory one evaluates a
    slice's columns side by side, the Python steps (`map_batches`) included, where the
    streaming engine ran them on about one core (the six tables' normalise at 1M customers
    on two cores: 4.5 s streamed, 3.4 s in slices). Each slice is copied into one chunk per
    column: columns chunked unlike each other made a later plan over the table copy all of
    it (0.24 GB)."""
    lazy = raw.lazy()
    height = lazy.select(pl.len()).collect().item()
    parts = [
        _normalise_plan(lazy.slice(start, slice_rows), spec, options, offset=start)
        .collect(engine="in-memory")
        .rechunk()
        for start in range(0, max(height, 1), slice_rows)
    ]
    return pl.concat(parts, rechunk=False)


def _written_emails(spec: TableSpec, present: set[str]) -> set[str]:
    """Email columns judged from their text as written: `written_email` cleans the text of
    the few addresses not already in Listrak's form only, where cleaning every text first
    cost as much as judging it. A column with a fallback is judged from its clean text (the
    fallback fills in where that is empty)."""
    return {
        c.name
        for c in spec.columns
        if c.kind is Kind.EMAIL and c.name in present and c.name not in spec.fallbacks
    }


def _normalise_plan(
    raw: Raw, spec: TableSpec, options: CleanOptions, offset: int = 0
) -> pl.LazyFrame:
    """The plan of `_normalised`, its rows numbered from `offset`. Each column's clean text
    is computed once and shared by its value and its reason (an email column's text as
    written, see `_written_emails`)."""
    present = set(raw.collect_schema().names())
    written = _written_emails(spec, present)
    texts = {
        c: (
            pl.col(c).cast(pl.String)
            if c in written
            else clean_text_expr(pl.col(c))
            if c in present
            else pl.lit(None, pl.String)
        )
        for c in spec.column_names
    }
    for target, source in spec.fallbacks.items():
        if source in present:
            texts[target] = texts[target].fill_null(clean_text_expr(pl.col(source)))
    if UPDATED_AT in present:
        texts[UPDATED_AT] = clean_text_expr(pl.col(UPDATED_AT))
    extras = extra_columns(raw, spec)
    plan = (
        raw.lazy()
        .with_row_index(ROW, offset=offset)
        .select(
            ROW,
            *(text.alias(_TEXT + c) for c, text in texts.items()),
            *(clean_text_expr(pl.col(c)).alias(_TEXT + c) for c in extras),
        )
    )
    values: list[pl.Expr] = []
    reasons: list[pl.Expr] = []
    # The library's columns are judged in the first stage, beside the other columns' first
    # steps: in a stage of their own, one core idled while the other judged the slowest
    # (0.25 s of the six tables' 3.6 s at 1M customers).
    stages: list[Stage] = [
        {
            _JUDGED + c.name: pl.col(_TEXT + c.name).map_batches(
                _by_library(c, options, written=c.name in written),
                return_dtype=_JUDGED_DTYPE,
                is_elementwise=c.kind is Kind.EMAIL,
            )
            for c in spec.columns
            if c.kind in _LIBRARY_KINDS
        }
    ]

    def staged(judged: JudgedExpr) -> JudgedExpr:
        for i, stage in enumerate(judged.stages):
            if i == len(stages):
                stages.append({})
            stages[i].update(stage)
        return judged

    if UPDATED_AT in present:
        # Parsed once: it orders duplicates, and a value that is not a time is a reject.
        earliest, latest = _timestamp_bounds(Span.EVENTS, options)
        order = staged(
            datetime_expr(
                pl.col(_TEXT + UPDATED_AT),
                options.date_rules,
                options.source_timezone,
                earliest,
                latest,
                scratch=_SCRATCH + _ORDER,
            )
        )
        values.append(order.value.alias(_ORDER))
        reasons.append(order.reason.alias(_WHY + UPDATED_AT_COLUMN))
    else:
        values.append(pl.lit(None, pl.Datetime("us", "UTC")).alias(_ORDER))
    for col in spec.columns:
        if col.kind in _LIBRARY_KINDS:
            found = pl.col(_JUDGED + col.name).struct
            judged = JudgedExpr(found.field("value"), found.field("reason"))
        else:
            judged = staged(normalise(col, pl.col(_TEXT + col.name), options))
        values.append(judged.value.alias(col.name))
        reasons.append(judged.reason.alias(_WHY + col.name))
    for stage in stages:
        plan = plan.with_columns(**stage)
    cut = [cut_expr(pl.col(_TEXT + c), spec.extra_max_len).alias(c) for c in extras]
    return plan.select(ROW, *values, *cut, *reasons)


def extra_columns(frame: Raw, spec: TableSpec) -> list[str]:
    """Columns outside the spec that ride along (audience attributes)."""
    if not spec.keep_extra_columns:
        return []
    names = set(spec.column_names)
    return [c for c in frame.collect_schema().names() if c not in names and not c.startswith("_")]


def _schema_failures(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, reasons: dict[str, list[str]]
) -> pl.DataFrame:
    """(row position, column, reason) for every failing value; empty when the frame is valid."""
    empty = pl.DataFrame(schema={"index": pl.Int64, "column": pl.String, "reason": pl.String})
    try:
        schema.validate(frame, lazy=True)
        return empty
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    if cases.filter(pl.col("index").is_null()).height:
        # A wrong dtype or a missing column is a defect of the cleaning code, not of the data.
        raise RuntimeError(
            f"cleaned {schema.name} does not have the schema's shape: "
            f"{cases.filter(pl.col('index').is_null()).to_dicts()}"
        )
    by_check = [
        {"column": c, "check_number": i, "by_number": r}
        for c, rs in reasons.items()
        for i, r in enumerate(rs)
    ]
    lookup = pl.DataFrame(
        by_check, schema={"column": pl.String, "check_number": pl.Int32, "by_number": pl.String}
    )
    cases = cases.join(lookup, on=["column", "check_number"], how="left")
    reason = (
        pl.when(pl.col("check") == "not_nullable")
        .then(pl.lit("missing_required"))
        .when(pl.col("check").str.contains("uniqueness|unique"))
        .then(pl.lit(DUPLICATE_KEY))
        .otherwise(pl.col("by_number"))
    )
    found: pl.DataFrame = cases.select(
        pl.col("index").cast(pl.Int64), pl.col("column").fill_null("(key)"), reason.alias("reason")
    ).unique()
    return found


def _rejects(
    raw: Raw, problems: pl.DataFrame, spec: TableSpec, options: CleanOptions
) -> pl.DataFrame:
    """One line per problem with the raw value as it was in the file (masked if PII); a
    scanned raw table is read again for the problem rows and the columns with a problem
    alone (a Parquet file decodes only the columns asked for)."""
    if problems.is_empty():
        return pl.DataFrame(schema=REJECT_COLUMNS)
    named = set(problems["column"].unique())
    wanted = [
        c
        for c in raw.collect_schema().names()
        if c not in (SOURCE_FILE, SOURCE_ROW)
        and (UPDATED_AT_COLUMN if c == UPDATED_AT else c) in named
    ]
    rows = (
        raw.lazy()
        .select(SOURCE_FILE, SOURCE_ROW, *wanted)
        .with_row_index(ROW)
        .filter(pl.col(ROW).is_in(problems[ROW].implode()))
        .collect()
    )
    if UPDATED_AT in rows.columns:
        rows = rows.rename({UPDATED_AT: UPDATED_AT_COLUMN})
    value_cols = [c for c in rows.columns if c not in (ROW, SOURCE_FILE, SOURCE_ROW)]
    values = (
        rows.unpivot(index=ROW, on=value_cols, variable_name="column", value_name="value")
        if value_cols
        # unpivot takes every other column when given none
        else pl.DataFrame(schema={ROW: rows.schema[ROW], "column": pl.String, "value": pl.String})
    )
    where = rows.select(
        ROW, pl.col(SOURCE_FILE).alias("source_file"), pl.col(SOURCE_ROW).alias("source_row")
    )
    pii = [c.name for c in spec.columns if c.pii] + extra_columns(raw, spec)
    value = pl.col("value")
    if options.restrict_pii:
        value = pl.when(pl.col("column").is_in(pii)).then(mask(value)).otherwise(value)
    # Nothing of a forgotten person is kept readable, whatever the PII setting.
    forgotten = problems.filter(pl.col("reason") == FORGOTTEN)[ROW].implode()
    value = pl.when(pl.col(ROW).is_in(forgotten)).then(mask(pl.col("value"))).otherwise(value)
    out = (
        problems.join(values, on=[ROW, "column"], how="left")
        .join(where, on=ROW, how="left")
        .with_columns(
            value.alias("value"),
            pl.col("reason").replace_strict(REASONS, return_dtype=pl.String).alias("message"),
        )
    )
    return out.sort(ROW, "column").select(list(REJECT_COLUMNS)).cast(REJECT_COLUMNS)


def _normalise_problems(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The frame without its reason columns, and one problem per value that did not
    normalise. Each reason column is filtered on its own (few values have a reason), instead
    of unpivoting every value of every column first."""
    whys = [c for c in frame.columns if c.startswith(_WHY)]
    found = [
        frame.lazy()
        .filter(pl.col(why).is_not_null())
        .select(
            ROW,
            pl.lit(why.removeprefix(_WHY)).alias("column"),
            pl.col(why).alias("reason"),
            pl.lit("normalise").alias("stage"),
        )
        for why in whys
    ]
    problems = pl.concat([_no_problems().lazy(), *found]).collect()
    return frame.drop(whys), problems


def _rule_problems(frame: pl.DataFrame, spec: TableSpec, options: CleanOptions) -> pl.DataFrame:
    """One problem per value that breaks a per-row rule of the schema.

    Run before de-duplication, so that it picks the newest *valid* row for each key. All
    rows are validated, so a row shows every problem it has; a value that failed to parse is
    null here and its own reason already stands.
    """
    rules = build_schema(spec, unique_key=False, today=options.day, ranges=options.date_ranges)
    failures = _schema_failures(frame, rules.schema, rules.reasons)
    return failures.select(
        frame[ROW].gather(failures["index"]).alias(ROW),
        "column",
        "reason",
        pl.lit("validate").alias("stage"),
    )


def _actions(problems: pl.DataFrame, spec: TableSpec, options: CleanOptions) -> pl.DataFrame:
    """Each problem with its action: `blanked` when only blankable optional values of the row
    are wrong and the policy blanks them, `row_rejected` otherwise (for every line of the
    row, so that a rejected row shows all its problems)."""
    blankable = [
        c.name
        for c in spec.columns
        if options.invalid_optional == "blank"
        and c.blankable
        and not c.required
        and c.name not in spec.key
    ]
    keeps_row = pl.col("column").is_in(blankable) & (pl.col("reason") != FORGOTTEN)
    return problems.with_columns(
        pl.when(keeps_row.all().over(ROW))
        .then(pl.lit(BLANKED))
        .otherwise(pl.lit(ROW_REJECTED))
        .alias("action")
    )


def _missing_any(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """A `missing_required` problem for each row where none of `spec.any_required` has a
    value (a value that did not parse is null here and keeps its own reason)."""
    names = list(spec.any_required)
    if not names:
        return _no_problems()
    empty = frame.filter(pl.all_horizontal(pl.col(c).is_null() for c in names))
    return empty.select(
        ROW,
        pl.lit(names[0]).alias("column"),
        pl.lit("missing_required").alias("reason"),
        pl.lit("validate").alias("stage"),
    )


def _forgotten(frame: pl.DataFrame, spec: TableSpec, options: CleanOptions) -> pl.DataFrame:
    """A `forgotten` problem for each email or phone value of a forgotten person."""
    suppression = options.suppression
    if not suppression:
        return _no_problems()
    found = [
        frame.filter(suppression.matches(_IDENTIFIERS[c.kind], frame[c.name])).select(
            ROW,
            pl.lit(c.name).alias("column"),
            pl.lit(FORGOTTEN).alias("reason"),
            pl.lit("suppress").alias("stage"),
        )
        for c in spec.columns
        if c.kind in _IDENTIFIERS
    ]
    return pl.concat([_no_problems(), *found])


def _no_problems() -> pl.DataFrame:
    return pl.DataFrame(
        schema={ROW: pl.UInt32, "column": pl.String, "reason": pl.String, "stage": pl.String}
    )


def _blank(frame: pl.DataFrame, blanked: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the blanked values set to null (the other columns are shared, not copied)."""
    if blanked.is_empty():
        return frame
    return frame.with_columns(
        pl.when(pl.col(ROW).is_in(blanked.filter(pl.col("column") == name)[ROW].implode()))
        .then(None)
        .otherwise(pl.col(name))
        .alias(name)
        for name in blanked["column"].unique()
    )


def _merged(frame: pl.LazyFrame, spec: TableSpec) -> pl.Series:
    """Row numbers of the rows a row of the same key wins over; the winner is the one updated
    last (a row without a time counts as oldest), and of equals the one read last. A true in
    a sticky column (an opt-out) anywhere among the key's rows wins over newer rows.

    Most keys are held by one row, and a row whose key's 64-bit hash no other row has is
    alone with its key (equal keys hash equally). So the hashes are sorted to find the rows
    that share one, and only those are grouped by the key itself: a group-by over every key
    of the table held its hash table beside the table, the largest allocation of a clean
    step."""
    hashes = frame.select(ROW, pl.struct(spec.key).hash().alias(_HASH)).collect()
    shared = hashes[ROW].filter(_shares_hash(hashes[_HASH]))
    if shared.is_empty():
        return shared
    sticky = [pl.col(c).fill_null(False) for c in spec.sticky_true]
    winner = pl.col(ROW).sort_by(*sticky, _ORDER, ROW, nulls_last=False).last()
    among = frame.filter(pl.col(ROW).is_in(shared.implode()))
    winners = among.group_by(list(spec.key)).agg(winner).collect()[ROW]
    return shared.filter(~shared.is_in(winners.implode()))


def _taken(frame: pl.DataFrame, keep: pl.Series) -> pl.DataFrame:
    """The rows of `frame` where `keep` is true, in their order. The columns are moved out of
    `frame` (left empty) one at a time and each is let go once filtered, so the table is not
    held twice, as a filter of the whole frame does until it is done."""
    kept: list[pl.DataFrame] = []
    for name in frame.columns:
        kept.append(frame.select(name).filter(keep))
        frame.drop_in_place(name)
    return pl.concat(kept, how="horizontal")


def _shares_hash(hashes: pl.Series) -> pl.Series:
    """Whether another value of `hashes` equals each: found among the sorted hashes (8 bytes
    a row) rather than by `is_duplicated`, whose hash table of every value was the largest
    allocation left in a clean step."""
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    return hashes.is_in(repeated.implode())


def _duplicate_keys(frame: pl.DataFrame, key: Sequence[str]) -> int:
    """Rows whose key another row has. The rows are first narrowed to those whose key's
    64-bit hash another row has (a column of 8 bytes a row; comparing the keys themselves
    held an encoded copy of every key), then counted exactly among them: equal keys hash
    equally, so no duplicate is missed."""
    if frame.is_empty():
        return 0
    candidates = _shares_hash(frame.select(key).hash_rows())
    if not candidates.any():
        return 0
    among = frame.filter(candidates)
    return int(among.select(pl.struct(key).is_duplicated().sum()).item())


def _failure_counts(
    clean: pl.DataFrame, rule_problems: pl.DataFrame, blanked: pl.DataFrame, spec: TableSpec
) -> dict[str, int]:
    """Values of the clean table that break the full schema, by reason.

    The per-row rules were validated by Pandera once, on every row before de-duplication
    (`rule_problems`); a failure still stands where its row is in `clean` and its value was
    not blanked. What blanking and de-duplication could break is checked on `clean` itself:
    a required value left empty, a key that is not unique.
    """
    standing = rule_problems.join(blanked, on=[ROW, "column"], how="anti").filter(
        pl.col(ROW).is_in(clean[ROW].implode())
    )
    counts: dict[str, int] = dict(standing.group_by("reason").len().iter_rows())
    empty = sum(clean[c].null_count() for c in spec.required)
    duplicates = _duplicate_keys(clean, spec.key)
    for reason, n in (("missing_required", empty), (DUPLICATE_KEY, duplicates)):
        if n:
            counts[reason] = counts.get(reason, 0) + n
    return counts


def clean_table(raw: Raw, spec: TableSpec, options: CleanOptions) -> CleanResult:
    """Normalise, reject or blank, de-duplicate and validate one raw table. A scanned raw
    table (`pl.LazyFrame`) is read whole only while it is normalised, and again for the
    rejected rows: it is not held beside the cleaned copy."""
    frame, unparsed = _normalise_problems(_normalised(raw, spec, options))
    raw_rows = frame.height  # one normalised row per raw row
    rules = _rule_problems(frame, spec, options)
    # A forgotten person's value is reported as such even where it breaks another rule.
    problems = pl.concat(
        [_forgotten(frame, spec, options), unparsed, rules, _missing_any(frame, spec)]
    ).unique(subset=[ROW, "column"], keep="first", maintain_order=True)
    problems = _actions(problems, spec, options)
    rejected = problems.filter(pl.col("action") == ROW_REJECTED)
    blanked = problems.filter(pl.col("action") == BLANKED)
    # Every rejected row is a row of `frame`, so the valid rows are counted, not copied.
    valid_rows = frame.height - rejected[ROW].n_unique()
    # Blank, then drop the rejected rows and those a row of their key wins over (kept in the
    # order they were read): `frame` is moved into `newest` a column at a time.
    frame = _blank(frame, blanked)
    valid = frame.lazy().filter(~pl.col(ROW).is_in(rejected[ROW].implode()))
    dropped = pl.concat([rejected[ROW], _merged(valid, spec)])
    del valid
    newest = _taken(frame, ~frame[ROW].is_in(dropped.implode()))
    del frame
    clean = newest.select(*spec.column_names, *extra_columns(raw, spec))
    failures = _failure_counts(newest, rules, blanked.select(ROW, "column"), spec)
    del newest
    return CleanResult(
        clean=clean,
        rejects=_rejects(raw, problems, spec, options),
        raw_rows=raw_rows,
        merged_rows=valid_rows - clean.height,
        schema_failures=failures,
    )
