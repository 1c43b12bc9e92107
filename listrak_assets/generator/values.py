"""Value renderers: one column as an export writes it. Canonical text on clean rows, a
cosmetic variant on rows carrying that kind of dirt, an invalid value on rejected rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from listrak_assets.generator.dirt import DST_NONE, DUPLICATE, carries
from listrak_assets.generator.exprs import text, variant, zfill
from listrak_assets.generator.phones import world_formats, world_invalid
from listrak_assets.generator.world import locale, wall_clock
from listrak_assets.schemas.spec import ORDER_STATUSES


def _by_format(
    value: pl.Expr, which: pl.Expr, formats: Sequence[Callable[[pl.Expr], pl.Expr]]
) -> pl.Expr:
    """`formats[which]` applied to `value`, per row. Each format sees only its own rows (the
    rest are null), so the costly formatting is paid once per row, not once per format."""
    return pl.coalesce([fmt(pl.when(which == i).then(value)) for i, fmt in enumerate(formats)])


# Timestamp formats seen in exports; the first is Listrak's (ISO 8601, UTC `Z`). Times
# without an offset are the source time zone's wall-clock time. A two-digit year is read by
# the cleaner's pivot (the latest such year up to this one): orders are from 2023 on.
DATETIME_FORMATS: list[Callable[[pl.Expr], pl.Expr]] = [
    lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    lambda t: wall_clock(t).dt.strftime("%Y-%m-%d %H:%M:%S"),
    lambda t: wall_clock(t).dt.strftime("%m/%d/%Y %-I:%M %p"),
    lambda t: (t - pl.duration(hours=4)).dt.strftime("%Y-%m-%dT%H:%M:%S-04:00"),
    lambda t: wall_clock(t).dt.strftime("%m/%d/%y %H:%M"),
]
# The year from which a birthday may be written with two digits: the cleaner's default pivot
# (this year) reads `60` as 1960 until 2059.
TWO_DIGIT_BIRTH_YEARS = 1960
# Date formats seen in exports; the first is Listrak's. Slashes with the year last are month
# first (US).
DATE_FORMATS: list[Callable[[pl.Expr], pl.Expr]] = [
    lambda d: d.dt.strftime("%Y-%m-%d"),
    lambda d: d.dt.strftime("%m/%d/%Y"),
    lambda d: d.dt.strftime("%Y/%m/%d"),
    lambda d: d.dt.strftime("%B %-d, %Y"),
    lambda d: d.dt.strftime("%Y%m%d"),
    lambda d: (
        pl.when(d.dt.year() >= TWO_DIGIT_BIRTH_YEARS)
        .then(d.dt.strftime("%m/%d/%y"))
        .otherwise(d.dt.strftime("%m/%d/%Y"))
    ),
]


def datetime(col: str) -> pl.Expr:
    """A Listrak datetime column; `datetime_format` rows get another format, same instant."""
    n_messy = len(DATETIME_FORMATS) - 1
    which = pl.when(carries("datetime_format")).then(1 + pl.col("_v") % n_messy).otherwise(0)
    return _by_format(pl.col(col), which, DATETIME_FORMATS)


def updated_at() -> pl.Expr:
    """`updated_at` in a format drawn per row: it is mixed on every row of a real export. A
    row placed at a change of UTC offset is written as the wall-clock time the export gives
    it (in a spring gap, or in an autumn overlap), without an offset."""
    which = pl.col("_fmt") % len(DATETIME_FORMATS)
    return (
        pl.when(pl.col("_dst") != DST_NONE)
        .then(pl.col("_dst_wall").dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(_by_format(pl.col("updated"), which, DATETIME_FORMATS))
    )


def date(col: str) -> pl.Expr:
    """A date column: ISO when clean, another format or an impossible date when dirty."""
    n_messy = len(DATE_FORMATS) - 1
    which = pl.when(carries("date_format")).then(1 + pl.col("_v") % n_messy).otherwise(0)
    bad = pl.col(col)
    invalid = variant(
        [
            pl.concat_str(text("31/31/"), bad.dt.strftime("%Y")),
            text("not a date"),
            bad.dt.strftime("1850-%m-%d"),  # before 1900
            bad.dt.strftime("2091-%m-%d"),  # in the future (for the next 65 years)
            bad.dt.strftime("%Y-02-30"),
        ]
    )
    return (
        pl.when(carries("invalid_date"))
        .then(invalid)
        .otherwise(_by_format(pl.col(col), which, DATE_FORMATS))
    )


def email(*, respell_duplicates: bool) -> pl.Expr:
    """E-mail from its local part and domain: lower-case when clean, re-cased and padded for
    `email_case` (and for duplicate copies when the e-mail is the key), broken when invalid."""
    local, domain = pl.col("email_local"), pl.col("email_domain")
    canon = pl.concat_str(local, text("@"), domain)
    messy = variant(
        [
            pl.concat_str(text("  "), local.str.to_uppercase(), text("@"), domain),
            pl.concat_str(canon.str.to_titlecase(), text(" ")),
            pl.concat_str(text(" "), local, text("@"), domain.str.to_uppercase(), text(" ")),
        ]
    )
    invalid = variant(
        [
            pl.concat_str(local, text("@")),
            pl.concat_str(local, text("."), domain),
            pl.concat_str(local, text("@"), domain.str.split(".").list.first()),
            pl.concat_str(local, text("@@"), domain),
            pl.concat_str(pl.col("first_slug"), text(" "), pl.col("last_slug"), text("@"), domain),
        ]
    )
    expr: Then | ChainedThen = pl.when(carries("email_case")).then(messy)
    if respell_duplicates:
        expr = expr.when(carries(DUPLICATE)).then(
            pl.concat_str(text(" "), canon.str.to_uppercase(), text("  "))
        )
    return (
        expr.when(carries("invalid_email"))
        .then(invalid)
        .when(carries("missing_required"))
        .then(None)
        .otherwise(canon)
    )


def _us_phone_formats() -> list[pl.Expr]:
    """One US number written the ways people type it; all normalise to `1` + 10 digits."""
    a, e, n = pl.col("area"), pl.col("exch"), pl.col("line")
    ext = (pl.col("_v") % 90 + 10).cast(pl.String)
    return [
        pl.concat_str(text("("), a, text(") "), e, text("-"), n),
        pl.concat_str(a, text("."), e, text("."), n),
        pl.concat_str(text("+1 "), a, text("-"), e, text("-"), n),
        pl.concat_str(text("1-"), a, text("-"), e, text("-"), n),
        pl.concat_str(a, e, n),
        pl.concat_str(a, text("-"), e, text("-"), n, text(" x"), ext),
    ]


def phone(*, respell_duplicates: bool) -> pl.Expr:
    """Phone as Listrak wants it (E.164 digits, no `+`) when clean; typed formats or the
    person's number abroad for `phone_format`; too short, words, or a number abroad with an
    exit code the US does not use when invalid."""
    canon = pl.concat_str(text("1"), pl.col("area"), pl.col("exch"), pl.col("line"))
    messy = variant([*_us_phone_formats(), *world_formats()])
    invalid = variant(["555-01", "call me", "12345", "call after 5pm", *world_invalid()])
    expr: Then | ChainedThen = pl.when(carries("phone_format")).then(messy)
    if respell_duplicates:
        expr = expr.when(carries(DUPLICATE)).then(variant(_us_phone_formats()))
    return expr.when(carries("invalid_phone")).then(invalid).otherwise(canon)


def boolean(col: str, *, invalid_kind: str | None = None) -> pl.Expr:
    """`true`/`false` when clean; Y/N, yes/no, True/FALSE, 1/0 for `boolean_format`."""
    b = pl.col(col)
    messy = (
        pl.when(b)
        .then(variant(["Y", "yes", "True", "TRUE", "1"]))
        .otherwise(variant(["N", "no", "False", "FALSE", "0"]))
    )
    expr: Then | ChainedThen = pl.when(carries("boolean_format")).then(messy)
    if invalid_kind:
        expr = expr.when(carries(invalid_kind)).then(variant(["maybe", "sometimes", "yes/no"]))
    return expr.otherwise(pl.when(b).then(text("true")).otherwise(text("false")))


def _money_plain(cents: pl.Expr) -> pl.Expr:
    """Integer cents as `1299.00` (`1299,00` with a decimal comma)."""
    return pl.concat_str(
        (cents // 100).cast(pl.String), text(locale().decimal_separator), zfill(cents % 100, 2)
    )


def _money_grouped(plain: pl.Expr, separator: str) -> pl.Expr:
    """`1299.00` as `1,299.00` (`1299,00` as `1.299,00`): thousands grouped, up to
    999,999,999.99."""
    group = "," if separator == "." else "."
    sep = "\\" + separator
    return plain.str.replace(
        rf"^(\d{{1,3}})(\d{{3}})(\d{{3}}){sep}", f"${{1}}{group}${{2}}{group}${{3}}{separator}"
    ).str.replace(rf"^(\d{{1,3}})(\d{{3}}){sep}", f"${{1}}{group}${{2}}{separator}")


def money(col: str, *, invalid_kind: str | None = None) -> pl.Expr:
    """A decimal column: `24.99` when clean, `$1,299.00`/`$24.99` for `price_format` (with a
    decimal comma: `24,99`, `$1.299,00`). Invalid amounts include the other convention's
    (`24,99` where the separator is `.`), which the cleaner must refuse, not reinterpret."""
    separator = locale().decimal_separator
    plain = _money_plain(pl.col(col))
    grouped = _money_grouped(plain, separator)
    messy = variant(
        [
            pl.concat_str(text("$"), grouped),
            pl.concat_str(text("$"), plain),
            pl.concat_str(text("$ "), grouped),
        ]
    )
    expr: Then | ChainedThen = pl.when(carries("price_format")).then(messy)
    if invalid_kind:
        broken = pl.concat_str(plain, text(separator + "00"))  # 24.99.00
        other = "," if separator == "." else "."
        # The amount in the other convention, pence and all: `24,99`, `1.299,00`.
        swapped = (
            grouped.str.replace_all(r"[.,]", "_")
            .str.replace_all("_(\\d{2})$", other + "$1")
            .str.replace_all("_", separator)
        )
        expr = expr.when(carries(invalid_kind)).then(
            variant(["12,99.x", "free", "call for price", broken, swapped])
        )
    return expr.otherwise(plain)


def status(col: str) -> pl.Expr:
    """Listrak's status number when clean; its name in some case for `status_name`."""
    name = pl.col(col).replace_strict(
        list(range(len(ORDER_STATUSES))), list(ORDER_STATUSES), return_dtype=pl.String
    )
    messy = variant([name, name.str.to_lowercase(), name.str.to_uppercase()])
    return pl.when(carries("status_name")).then(messy).otherwise(pl.col(col).cast(pl.String))


def too_long_text(col: str, tail: str, *, when: pl.Expr | None = None) -> pl.Expr:
    """A free-text column, padded past its CUT limit on `too_long_text` rows."""
    cond = carries("too_long_text") if when is None else carries("too_long_text") & when
    return pl.when(cond).then(pl.concat_str(pl.col(col), text(tail))).otherwise(pl.col(col))
