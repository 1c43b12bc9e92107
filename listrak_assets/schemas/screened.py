"""A Pandera schema whose data checks first run together as one polars `select`.

Pandera's polars backend evaluates and collects each check on its own, one after another, and
then builds its failure report; on a clean table that report is empty, yet every rule still
costs a separate pass. Here every rule of the schema (each column's checks, `nullable`,
`unique`, the table's multi-column key) is one expression in a single `select`, which polars
runs in parallel. Pandera then validates as usual, with the data rules of the columns that
passed taken out: names and dtypes are always checked, and a column with a failing rule keeps
all of its checks, so its failure cases, check numbers and messages are Pandera's own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData, PolarsFrame
from pandera.api.polars.utils import get_validation_depth
from pandera.config import ValidationDepth, get_config_context


class ColumnRule:
    """A column check as a polars expression: Pandera calls it with the frame and column name;
    the screen takes the expression itself."""

    def __init__(self, rule: Callable[[pl.Expr], pl.Expr]) -> None:
        self.rule = rule

    def expr(self, column: str) -> pl.Expr:
        return self.rule(pl.col(column))

    def __call__(self, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(self.expr(data.key))


def rule_check(rule: Callable[[pl.Expr], pl.Expr], *, name: str, error: str) -> pa.Check:
    """A vectorised Pandera check from an expression over the column (True: the value passes;
    a null value passes, as in Pandera's built-in checks)."""
    return pa.Check(ColumnRule(rule), name=name, error=error)


# Pandera's column attributes that change the data or how it is checked: such a column is left
# to Pandera whole.
_COLUMN_FEATURES = ("coerce", "regex", "drop_invalid_rows", "default", "parsers")
_SCHEMA_FEATURES = ("coerce", "add_missing_columns", "drop_invalid_rows", "parsers")
# The screen's name for the table-level key rule (no column is called that).
_KEY = "\0key"


class ScreenedSchema(pa.DataFrameSchema):
    """`pa.DataFrameSchema` that screens an eager frame's data rules in one `select` and
    leaves Pandera the columns (and key) where something fails."""

    @classmethod
    def get_backend(cls, check_obj: Any = None, check_type: type | None = None) -> Any:
        return pa.DataFrameSchema.get_backend(check_obj, check_type)

    def validate(
        self,
        check_obj: PolarsFrame,
        head: int | None = None,
        tail: int | None = None,
        sample: int | None = None,
        random_state: int | None = None,
        lazy: bool = False,
        inplace: bool = False,
    ) -> PolarsFrame:
        schema: pa.DataFrameSchema = self
        if (
            isinstance(check_obj, pl.DataFrame)
            and head is None
            and tail is None
            and sample is None
            and get_config_context().validation_enabled
            and get_validation_depth(check_obj) == ValidationDepth.SCHEMA_AND_DATA
        ):
            schema = self.screen(check_obj)
        return pa.DataFrameSchema.validate(
            schema,
            check_obj,
            head=head,
            tail=tail,
            sample=sample,
            random_state=random_state,
            lazy=lazy,
            inplace=inplace,
        )

    def screen(self, frame: pl.DataFrame) -> pa.DataFrameSchema:
        """This schema without the data rules that the screen found to hold on `frame` (the
        schema itself when it can't be screened)."""
        if any(getattr(self, f, None) for f in _SCHEMA_FEATURES):
            return self
        exprs: dict[str, pl.Expr] = {}
        for name, column in self.columns.items():
            rules = _column_rules(name, column, frame.schema)
            if rules is not None:
                exprs[name] = pl.all_horizontal(rules) if rules else pl.lit(True)
        key = _key_rule(self.unique, frame.schema)
        if key is not None:
            exprs[_KEY] = key
        if not exprs:
            return self
        try:
            passed = frame.select(**exprs).row(0, named=True)
        except pl.exceptions.PolarsError:
            return self  # Pandera reports what the screen could not evaluate
        # A column that passed keeps its name and dtype check, and nothing else to run.
        # (Shallow copies: `update_columns` deep-copies every check, 3% of a clean run.)
        columns = dict(self.columns)
        for name, column in self.columns.items():
            if passed.get(name) is True:
                columns[name] = copy.copy(column)
                columns[name].checks, columns[name].nullable, columns[name].unique = [], True, False
        narrowed = copy.copy(self)
        narrowed.columns = columns
        if passed.get(_KEY) is True:
            narrowed.unique = None
        return narrowed


def _column_rules(name: str, column: pa.Column, frame_schema: pl.Schema) -> list[pl.Expr] | None:
    """Whether each of the column's data rules holds, as Pandera decides it; None when the
    column can't be screened (absent, another dtype, a check that is not a `ColumnRule`)."""
    dtype = frame_schema.get(name)
    if dtype is None or any(getattr(column, f, None) for f in _COLUMN_FEATURES):
        return None
    if column.dtype is not None and not column.dtype.check(dtype):
        return None
    c = pl.col(name)
    rules: list[pl.Expr] = []
    for check in column.checks:
        fn = getattr(check, "_check_fn", None)
        if not isinstance(fn, ColumnRule) or check.element_wise or check.groupby is not None:
            return None
        # Pandera counts a null result as a pass when the check ignores nulls.
        rules.append(fn.expr(name).fill_null(check.ignore_na).all())
    if not column.nullable:
        present = c.is_not_null()
        if dtype.is_float():
            present = present & c.is_not_nan()
        rules.append(present.all())
    if column.unique:
        rules.append(_distinct(c))
    return rules


def _distinct(values: pl.Expr) -> pl.Expr:
    """Whether no value repeats, null counting as a value (as in Pandera's `is_duplicated`):
    a count of distinct values, a third cheaper than marking each row's duplicates, which
    only the failure report needs."""
    return values.n_unique() == values.len()


def _key_rule(unique: Any, frame_schema: pl.Schema) -> pl.Expr | None:
    """The table-level uniqueness of one set of columns (as `DataFrame.is_duplicated` of the
    present ones, like Pandera); None when there is none or it can't be screened."""
    if not unique or not all(isinstance(x, str) for x in unique):
        return None
    subset = [x for x in unique if x in frame_schema]
    if not subset:
        return None
    return _distinct(pl.struct(subset))
