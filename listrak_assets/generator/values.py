"""Value renderers: one column as an export writes it. Canonical text on clean rows, a
cosmetic variant on rows carrying that kind of dirt, an invalid value on rejected rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from listrak_assets.generator.dirt import DUPLICATE, carries
from listrak_assets.generator.exprs import text, variant, zfill
from listrak_assets.schemas.spec import ORDER_STATUSES


def _by_format(
    value: pl.Expr, which: pl.Expr, formats: Sequence[Callable[[pl.Expr], pl.Expr]]
) -> pl.Expr:
    """`formats[which]` applied to `value`, per row. Each format sees only its own rows (the
    rest are null), so the costly formatting is paid once per row, not once per format."""
    return pl.coalesce([fmt(pl.when(which == i).then(value)) for i, fmt in enumerate(formats)])


# Timestamp formats seen in exports; the first is Listrak's (ISO 8601, UTC `Z`).
DATETIME_FORMATS: list[Callable[[pl.Expr], pl.Expr]] = [
    lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    lambda t: t.dt.strftime("%Y-%m-%d %H:%M:%S"),
    lambda t: t.dt.strftime("%m/%d/%Y %-I:%M %p"),
    lambda t: (t - pl.duration(hours=4)).dt.strftime("%Y-%m-%dT%H:%M:%S-04:00"),
]
# Date formats seen in exports; the first is Listrak's. Slashes with four digits last are
# month first (US).
DATE_FORMATS: list[Callable[[pl.Expr], pl.Expr]] = [
    lambda d: d.dt.strftime("%Y-%m-%d"),
    lambda d: d.dt.strftime("%m/%d/%Y"),
    lambda d: d.dt.strftime("%Y/%m/%d"),
    lambda d: d.dt.strftime("%B %-d, %Y"),
    lambda d: d.dt.strftime("%Y%m%d"),
]


def datetime(col: str) -> pl.Expr:
    """A Listrak datetime column; `datetime_format` rows get another format, same instant."""
    n_messy = len(DATETIME_FORMATS) - 1
    which = pl.when(carries("datetime_format")).then(1 + pl.col("_v") % n_messy).otherwise(0)
    return _by_format(pl.col(col), which, DATETIME_FORMATS)


def updated_at() -> pl.Expr:
    """`updated_at` in a format drawn per row: it is mixed on every row of a real export."""
    return _by_format(pl.col("updated"), pl.col("_fmt"), DATETIME_FORMATS)


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
    """Phone as Listrak wants it (E.164 digits, no `+`) when clean; typed formats or a UK
    number for `phone_format`; too short or words when invalid."""
    canon = pl.concat_str(text("1"), pl.col("area"), pl.col("exch"), pl.col("line"))
    uk = pl.col("uk")
    uk_number = pl.concat_str(text("+44 "), uk.str.slice(0, 4), text(" "), uk.str.slice(4))
    messy = variant([*_us_phone_formats(), uk_number])
    invalid = variant(["555-01", "call me", "12345", "call after 5pm"])
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
    """Integer cents as `1299.00`."""
    return pl.concat_str((cents // 100).cast(pl.String), text("."), zfill(cents % 100, 2))


def _money_grouped(plain: pl.Expr) -> pl.Expr:
    """`1299.00` as `1,299.00` (thousands separators, up to 999,999,999.99)."""
    return plain.str.replace(r"^(\d{1,3})(\d{3})(\d{3})\.", "$1,$2,$3.").str.replace(
        r"^(\d{1,3})(\d{3})\.", "$1,$2."
    )


def money(col: str, *, invalid_kind: str | None = None) -> pl.Expr:
    """A decimal column: `24.99` when clean, `$1,299.00`/`$24.99` for `price_format`."""
    plain = _money_plain(pl.col(col))
    grouped = _money_grouped(plain)
    messy = variant(
        [
            pl.concat_str(text("$"), grouped),
            pl.concat_str(text("$"), plain),
            pl.concat_str(text("$ "), grouped),
        ]
    )
    expr: Then | ChainedThen = pl.when(carries("price_format")).then(messy)
    if invalid_kind:
        broken = pl.concat_str(plain, text(".00"))  # 24.99.00
        expr = expr.when(carries(invalid_kind)).then(
            variant(["12,99.x", "free", "call for price", broken])
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
