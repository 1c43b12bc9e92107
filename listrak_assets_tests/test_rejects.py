"""Every schema rule with a failing row, the reasons and values in the rejects tables, and
the conservation of rows, through Dagster runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from listrak_assets.cleaning.table import (
    REJECT_COLUMNS,
    ROW,
    CleanOptions,
    CleanResult,
    _duplicate_keys,
    _failure_counts,
    clean_table,
)
from listrak_assets.defs.clean import KEY_UNIQUE, SCHEMA_VALID, _check_results
from listrak_assets.defs.keys import clean_key, rejects_key
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.validation import build_schema
from listrak_assets_tests.conftest import Workspace, check_results, materialization

_PII_SHOWN = CleanOptions(restrict_pii=False)

# A birthday still in the future when the test runs: the cases are made when the tests are
# collected, which may be on the day before (a run that crosses midnight).
NEXT_WEEK = (dt.date.today() + dt.timedelta(days=7)).isoformat()

# (table, header, bad row, column, reason): one row breaking one rule, beside a valid row.
CASES = [
    ("customers", "email", "john.doe@", "email", "invalid_email"),
    ("customers", "email", "no-at-sign.example.com", "email", "invalid_email"),
    ("customers", "email", "two@@example.com", "email", "invalid_email"),
    ("customers", "email", "spaces in@example.com", "email", "invalid_email"),
    ("customers", "email", "", "email", "missing_required"),
    ("customers", "email", "a" * 60 + "@" + "b" * 40 + ".example.com", "email", "too_long"),
    ("customers", "email", "a" * 65 + "@example.com", "email", "invalid_email"),  # local > 64
    ("customers", "email", "ü@example.com", "email", "non_ascii_email"),
    ("customers", "email", '"quoted"@example.com', "email", "invalid_email"),
    ("customers", "email", "a@example.test", "email", "invalid_email"),  # special-use name
    ("customers", "mobilephone", "555-01", "mobilephone", "invalid_phone"),
    ("customers", "mobilephone", "call me", "mobilephone", "invalid_phone"),
    ("customers", "mobilephone", "(117) 555-9636", "mobilephone", "invalid_phone"),
    ("customers", "mobilephone", "+1 (000) 000-0000", "mobilephone", "invalid_phone"),
    ("customers", "mobilephone", "+999 123 456 789", "mobilephone", "invalid_phone"),
    ("customers", "mobilephone", "+12345678", "mobilephone", "invalid_phone"),
    ("customers", "birthday", "31/31/1990", "birthday", "invalid_date"),
    ("customers", "birthday", "1850-01-01", "birthday", "invalid_date"),
    ("customers", "birthday", NEXT_WEEK, "birthday", "invalid_date"),
    ("customers", "birthday", "-0001-01-01", "birthday", "invalid_date"),
    ("customers", "birthday", "0024-03-07", "birthday", "invalid_date"),
    ("customers", "gender", "Q", "gender", "invalid_choice"),
    ("customers", "registered", "maybe", "registered", "invalid_boolean"),
    ("customers", "customernumber", "1" * 21, "customernumber", "too_long"),
    ("customers", "state", "Pennsylvania", "state", "too_long"),
    ("customers", "country", "USA", "country", "too_long"),
    ("products", "price", "free", "price", "invalid_number"),
    ("products", "price", "-3.00", "price", "negative_amount"),
    ("products", "price", "", "price", "missing_required"),
    ("products", "price", "1.234,56", "price", "invalid_number"),  # `.` is the separator
    ("products", "price", "12,50", "price", "invalid_number"),
    ("products", "price", "NaN", "price", "invalid_number"),
    ("products", "price", "Infinity", "price", "invalid_number"),
    ("products", "price", "1e309", "price", "invalid_number"),
    ("products", "qoh", "-1", "qoh", "invalid_quantity"),
    ("products", "qoh", "12.5", "qoh", "invalid_number"),
    ("products", "sku", "S" * 101, "sku", "too_long"),
    ("products", "salestartdate", "soon", "salestartdate", "invalid_datetime"),
    ("orders", "dateentered", "9999-01-01T00:00:00Z", "dateentered", "invalid_datetime"),
    ("orders", "dateentered", "-0001-01-01T00:00:00Z", "dateentered", "invalid_datetime"),
    ("orders", "dateentered", "1989-12-31", "dateentered", "invalid_datetime"),
    ("orders", "status", "Lost", "status", "invalid_choice"),
    ("orders", "status", "12", "status", "invalid_choice"),
    ("orders", "merchandisediscounttype", "Bribe", "merchandisediscounttype", "invalid_choice"),
    ("orders", "dateentered", "", "dateentered", "missing_required"),
    ("order_items", "quantity", "two", "quantity", "invalid_number"),
    ("order_items", "quantity", "0", "quantity", "invalid_quantity"),
    ("order_items", "quantity", "-2", "quantity", "invalid_quantity"),
    ("order_items", "quantity", "1.5", "quantity", "invalid_number"),
    ("order_items", "sku", "", "sku", "missing_required"),
    ("sms_audience", "phone", "12345", "phone", "invalid_phone"),
    ("sms_audience", "optedout", "maybe", "optedout", "invalid_boolean"),  # never blanked
    ("email_audience", "email", "a@b", "email", "invalid_email"),
]

VALID = {
    "customers": {"email": "ok@example.com"},
    "products": {"sku": "SKU-1", "title": "Shirt", "price": "1.00"},
    "orders": {
        "ordernumber": "1",
        "dateentered": "2024-01-01",
        "email": "ok@example.com",
        "ordertotal": "1",
    },
    "order_items": {"ordernumber": "1", "sku": "SKU-1", "quantity": "1", "price": "1"},
    "sms_audience": {"phone": "7175559636"},
    "email_audience": {"email": "ok@example.com"},
}


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _file(table: str, rows: list[dict[str, str]]) -> str:
    header = sorted({k for row in rows for k in row})
    lines = [",".join(header)] + [",".join(_quote(r.get(h, "")) for h in header) for r in rows]
    return "\n".join(lines) + "\n"


def _blankable(table: str, column: str) -> bool:
    spec = TABLES[table]
    col = spec.col(column)
    return col.blankable and not col.required and column not in spec.key


@pytest.mark.parametrize(("table", "column", "value", "reject_column", "reason"), CASES)
def test_rule_rejects_the_row_with_its_reason(
    workspace: Workspace, table: str, column: str, value: str, reject_column: str, reason: str
) -> None:
    """With `invalid_optional: reject_row` every broken rule costs the row."""
    workspace.settings(
        business_user_access={"allow_limited_pii": True}, invalid_optional="reject_row"
    )
    good = dict(VALID[table])
    bad = dict(good)
    bad[column] = value
    # Keep the keys apart so that only the broken rule can reject the row.
    key = TABLES[table].key[-1]
    if column != key:
        bad[key] = "2" + good[key] if key != "email" else "other@example.com"
        if key == "phone":
            bad[key] = "7175550100"
    workspace.write(f"{table}.csv", _file(table, [good, bad]))

    result = workspace.materialize(table)
    assert result.success
    assert workspace.clean(table).height == 1
    rejects = workspace.rejects(table)
    assert rejects.select("source_file", "source_row", "column", "reason").rows() == [
        (f"{table}.csv", 2, reject_column, reason)
    ]
    assert rejects["value"][0] == value  # as written in the file, for the user to find
    assert rejects["message"][0]  # a sentence for people, not only the code
    assert rejects["action"].to_list() == ["row_rejected"]


def _distinct_key(table: str, i: int) -> str:
    """A valid key value of `table` for the i-th bad row, unlike every other row's."""
    return {
        "customers": f"row{i}@example.com",
        "email_audience": f"row{i}@example.com",
        "sms_audience": f"71755502{i:02d}",
        "orders": str(100 + i),
    }.get(table, f"SKU-{100 + i}")


@pytest.mark.parametrize("table", sorted(VALID))
def test_invalid_optional_values_are_blanked_and_their_rows_kept(
    workspace: Workspace, table: str
) -> None:
    """With the default `invalid_optional: blank`, a bad optional value costs only itself;
    a bad key, required or unblankable value still costs the row. One run per table, one
    bad row per case."""
    workspace.settings(business_user_access={"allow_limited_pii": True})
    cases = [c for c in CASES if c[0] == table]
    key = TABLES[table].key[-1]
    rows = [dict(VALID[table])]
    for i, (_, column, value, _, _) in enumerate(cases):
        bad = dict(VALID[table])
        if column != key:
            bad[key] = _distinct_key(table, i)
        bad[column] = value
        rows.append(bad)
    workspace.write(f"{table}.csv", _file(table, rows))

    assert workspace.materialize(table).success
    rejects = workspace.rejects(table)
    found = {r[0]: r[1:] for r in rejects.select("source_row", "column", "reason", "action").rows()}
    blanked = 0
    for i, (_, _, value, column, reason) in enumerate(cases):
        action = "blanked" if _blankable(table, column) else "row_rejected"
        blanked += action == "blanked"
        assert found[i + 2] == (column, reason, action), value
    assert len(found) == rejects.height == len(cases)  # one problem per bad row
    assert workspace.clean(table).height == 1 + blanked


def test_every_rule_of_every_schema_is_covered() -> None:
    """Each (column kind, reason) the schemas can raise has a case above, or a direct test
    below when cleaning makes it unreachable."""
    raised = set()
    for spec in TABLES.values():
        for column, reasons in build_schema(spec).reasons.items():
            kind = spec.col(column).kind
            raised |= {(kind, r) for r in reasons}
    covered = {(TABLES[t].col(c).kind, r) for t, _, _, c, r in CASES}
    direct = {r for _, r in raised} & {"line_break"}
    missing = {(k, r) for k, r in raised if (k, r) not in covered and r not in direct}
    assert not missing, f"schema rules without a failing-row test: {sorted(missing)}"


def test_line_break_and_key_uniqueness_rules_in_the_schema_itself() -> None:
    """Cleaning removes line breaks and duplicates before validation, so these two rules are
    exercised on the Pandera schema directly."""
    schema = build_schema(TABLES["email_audience"]).schema
    frame = pl.DataFrame(
        {
            "email": ["a@example.com", "a@example.com"],
            "firstname": ["Jo\nhn", "Ann"],
            "lastname": [None, None],
        },
        schema={"email": pl.String, "firstname": pl.String, "lastname": pl.String},
    )
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(frame, lazy=True)
    failed = set(err.value.failure_cases.select("column", "check").iter_rows())
    assert ("email", "field_uniqueness") in failed
    assert ("firstname", "no line breaks") in failed


def test_a_row_shows_every_problem_it_has(workspace: Workspace) -> None:
    workspace.write("customers.csv", "email,mobilephone,birthday,gender\nbad@,555-01,never,Q\n")
    assert workspace.materialize("customers").success
    rejects = workspace.rejects("customers")
    assert sorted(rejects.select("column", "reason").rows()) == [
        ("birthday", "invalid_date"),
        ("email", "invalid_email"),
        ("gender", "invalid_choice"),
        ("mobilephone", "invalid_phone"),
    ]
    assert set(rejects["source_row"]) == {1}


def test_rejected_personal_values_are_masked_when_pii_is_restricted(workspace: Workspace) -> None:
    workspace.settings(business_user_access={"allow_limited_pii": False})
    workspace.write("customers.csv", "email,firstname,gender\njohn.doe@,Johnny,Q\n")
    assert workspace.materialize("customers").success
    values = dict(workspace.rejects("customers").select("column", "value").iter_rows())
    assert values == {"email": "j***", "gender": "Q"}  # gender is not personal data


# --- de-duplication -----------------------------------------------------------------------


def test_newest_row_wins_by_updated_at_then_file_then_row(workspace: Workspace) -> None:
    """Under `reject_row` a broken newest row loses to the newest valid one."""
    workspace.settings(invalid_optional="reject_row")
    workspace.write(
        "customers_1.csv",
        (
            "email,firstname,updated_at\n"
            "a@example.com,A-new,2024-03-01T00:00:00Z\n"
            "A@EXAMPLE.COM ,A-old,2024-01-01\n"
            "b@example.com,B-first-file,\n"
            "c@example.com,C-valid,2024-01-01\n"
        ),
    )
    workspace.write(
        "customers_2.csv",
        (
            "email,firstname,updated_at\n"
            "b@example.com,B-second-file,\n"
            "c@example.com,C-newer,2024-05-01\n"
        ),
    )
    # The newest C row is broken (gender Q), so the older valid one is sent.
    workspace.write("customers_3.csv", "email,gender,updated_at\nc@example.com,Q,2024-06-01\n")

    result = workspace.materialize("customers")
    assert result.success
    names = dict(workspace.clean("customers").select("email", "firstname").iter_rows())
    assert names == {
        "a@example.com": "A-new",
        "b@example.com": "B-second-file",
        "c@example.com": "C-newer",
    }
    meta = materialization(result, clean_key("customers"))
    assert meta["merged_duplicates"] == 3
    assert meta["rejected_rows"] == 1


# --- conservation -------------------------------------------------------------------------


def test_conservation_holds_and_is_checked(workspace: Workspace) -> None:
    workspace.write(
        "customers.csv",
        (
            "email,gender,updated_at\n"
            "a@example.com,M,2024-01-01\n"
            "a@example.com,F,2024-02-01\n"
            "bad,M,\n"
            ",,\n"
            "b@example.com,Q,\n"
            "c@example.com,,\n"
        ),
    )
    result = workspace.materialize("customers")
    checks = check_results(result)
    conservation = checks[("clean/customers", "conservation")]
    assert conservation.passed
    meta = {k: v.value for k, v in conservation.metadata.items()}
    # b's bad gender is blanked: b is kept, and counted apart from the rejected rows.
    assert meta == {
        "raw_rows": 6,
        "clean_rows": 3,
        "rejected_rows": 2,
        "merged_duplicates": 1,
        "unaccounted": 0,
    }
    assert checks[("clean/customers", "schema_valid")].passed
    assert checks[("clean/customers", "key_unique")].passed
    by_reason = materialization(result, rejects_key("customers"))["rejects_by_reason"]
    assert by_reason == {"invalid_email": 1, "missing_required": 1}
    clean_meta = materialization(result, clean_key("customers"))
    assert clean_meta["blanked_values"] == 1
    assert clean_meta["blanked_by_column"] == {"gender": 1}
    actions = workspace.rejects("customers").select("column", "reason", "action").rows()
    assert sorted(actions) == [
        ("email", "invalid_email", "row_rejected"),
        ("email", "missing_required", "row_rejected"),
        ("gender", "invalid_choice", "blanked"),
    ]


def test_one_bad_optional_value_keeps_the_customer_and_the_rest_of_the_row(
    workspace: Workspace,
) -> None:
    workspace.write(
        "customers.csv",
        "email,birthday,mobilephone,firstname\na@example.com,31/31/1990,(717) 555-9636,Ann\n",
    )
    assert workspace.materialize("customers").success
    assert workspace.clean("customers").select("email", "birthday", "mobilephone").rows() == [
        ("a@example.com", None, "17175559636")
    ]
    assert workspace.rejects("customers").select("column", "action").rows() == [
        ("birthday", "blanked")
    ]


def test_a_row_with_a_bad_key_lists_its_optional_problems_as_rejected(
    workspace: Workspace,
) -> None:
    workspace.write("customers.csv", "email,birthday\nbad@,31/31/1990\n")
    assert workspace.materialize("customers").success
    assert workspace.clean("customers").is_empty()
    assert set(workspace.rejects("customers")["action"]) == {"row_rejected"}


# --- updated_at and opt-outs ----------------------------------------------------------------


def test_an_unreadable_updated_at_rejects_the_row_instead_of_counting_as_oldest(
    workspace: Workspace,
) -> None:
    workspace.settings(business_user_access={"allow_limited_pii": True})
    workspace.write(
        "customers.csv",
        (
            "email,firstname,updated_at\n"
            "a@example.com,Old,2024-01-01\n"
            "a@example.com,Unknown,yesterday\n"
            "b@example.com,Future,2999-01-01\n"
        ),
    )
    assert workspace.materialize("customers").success
    assert workspace.clean("customers").select("email", "firstname").rows() == [
        ("a@example.com", "Old")
    ]
    assert workspace.rejects("customers").select("column", "value", "reason", "action").rows() == [
        ("updated_at", "yesterday", "invalid_datetime", "row_rejected"),
        ("updated_at", "2999-01-01", "invalid_datetime", "row_rejected"),
    ]


def test_an_opt_out_is_never_undone_by_a_newer_row(workspace: Workspace) -> None:
    workspace.write(
        "sms_audience.csv",
        (
            "phone,optedout,firstname,updated_at\n"
            "(717) 555-9636,Y,Opted,2024-01-01\n"
            "717.555.9636,N,Newer,2024-06-01\n"
            "7175550100,N,Other,2024-01-01\n"
            "7175550100,,Other-newer,2024-02-01\n"
        ),
    )
    assert workspace.materialize("sms_audience").success
    rows = workspace.clean("sms_audience").sort("phone").select("phone", "optedout", "firstname")
    assert rows.rows() == [("17175550100", None, "Other-newer"), ("17175559636", True, "Opted")]


def test_schema_failures_report_what_blanking_and_de_duplication_could_break() -> None:
    """Pandera runs once, before de-duplication; the clean table's own failures (a required
    value left empty, a key twice, a per-row failure whose row was kept) are still counted."""
    spec = TABLES["customers"]
    clean = pl.DataFrame(
        {
            ROW: pl.Series([0, 1, 2], dtype=pl.UInt32),
            "email": ["a@example.com", "a@example.com", None],
        }
    )
    blanked = pl.DataFrame(schema={ROW: pl.UInt32, "column": pl.String})
    no_rules = pl.DataFrame(
        schema={ROW: pl.UInt32, "column": pl.String, "reason": pl.String, "stage": pl.String}
    )
    assert _failure_counts(clean, no_rules, blanked, spec) == {
        "duplicate_key": 2,
        "missing_required": 1,
    }
    unique = clean.head(1)
    assert _failure_counts(unique, no_rules, blanked, spec) == {}
    rules = pl.DataFrame(
        {ROW: [0, 5], "column": ["birthday", "birthday"], "reason": ["invalid_date"] * 2},
        schema={ROW: pl.UInt32, "column": pl.String, "reason": pl.String},
    )
    assert _failure_counts(unique, rules, blanked, spec) == {"invalid_date": 1}
    was_blanked = pl.DataFrame({ROW: [0], "column": ["birthday"]}, schema=blanked.schema)
    assert _failure_counts(unique, rules, was_blanked, spec) == {}


@pytest.mark.parametrize("table", ["customers", "order_items"])
def test_key_unique_reports_the_rows_whose_key_another_clean_row_has(table: str) -> None:
    """The key_unique check reports the duplicates the schema failures counted on the clean
    table (a key of one or of two columns), and passes when there are none."""
    spec = TABLES[table]
    required = {c: ["x"] * 3 for c in spec.required}
    keys = {c: ["k1", "k1", "k2"] for c in spec.key}
    clean = pl.DataFrame({ROW: pl.Series([0, 1, 2], dtype=pl.UInt32), **required, **keys})
    blanked = pl.DataFrame(schema={ROW: pl.UInt32, "column": pl.String})
    no_rules = pl.DataFrame(schema={ROW: pl.UInt32, "column": pl.String, "reason": pl.String})
    for frame, duplicates in ((clean, 2), (clean.tail(2), 0)):
        result = CleanResult(
            clean=frame,
            rejects=pl.DataFrame(schema=REJECT_COLUMNS),
            raw_rows=frame.height,
            merged_rows=0,
            schema_failures=_failure_counts(frame, no_rules, blanked, spec),
        )
        checks = {c.check_name: c for c in _check_results(spec, result, ())}
        assert checks[KEY_UNIQUE].passed is (duplicates == 0)
        assert checks[KEY_UNIQUE].metadata["duplicate_rows"].value == duplicates
        assert checks[SCHEMA_VALID].passed is (duplicates == 0)


def test_rejects_of_a_scanned_raw_table_hold_each_problem_value_as_read(tmp_path: Path) -> None:
    """The rejects re-read a stored raw table for the problem rows and columns alone: each
    line still holds its own raw value (`updated_at` included), and a required column the
    file did not have is reported empty."""
    raw = pl.DataFrame(
        {
            "_source_file": ["a.csv"] * 3,
            "_source_row": [1, 2, 3],
            "email": ["john.doe@", "b@example.com", "c@example.com"],
            "firstname": ["Ann", "Bob", "Cy"],
            "birthday": ["1990-01-01", "31/31/1990", "1991-02-02"],
            "_updated_at": ["2026-01-01", "2026-01-02", "not a time"],
        }
    )
    raw.write_parquet(tmp_path / "raw.parquet")
    result = clean_table(pl.scan_parquet(tmp_path / "raw.parquet"), TABLES["customers"], _PII_SHOWN)
    assert result.rejects.select("source_row", "column", "value", "reason").rows() == [
        (1, "email", "john.doe@", "invalid_email"),
        (2, "birthday", "31/31/1990", "invalid_date"),
        (3, "updated_at", "not a time", "invalid_datetime"),
    ]
    raw.drop("email").write_parquet(tmp_path / "no_email.parquet")
    result = clean_table(
        pl.scan_parquet(tmp_path / "no_email.parquet"), TABLES["customers"], _PII_SHOWN
    )
    missing = result.rejects.filter(pl.col("column") == "email")
    assert missing.select("source_row", "value", "reason").rows() == [
        (1, None, "missing_required"),
        (2, None, "missing_required"),
        (3, None, "missing_required"),
    ]


_KEY_PART = st.one_of(st.none(), st.sampled_from(["", "a", "b", "ab", "1"]))


@given(st.lists(st.tuples(_KEY_PART, _KEY_PART), max_size=40))
def test_duplicate_keys_are_counted_exactly_as_comparing_the_whole_keys(
    rows: list[tuple[str | None, str | None]],
) -> None:
    """The rows narrowed by a hash of the key, then compared, are those comparing the keys
    themselves finds: every row of a repeated key (nulls equal to nulls), of one or two
    columns."""
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String}, orient="row")
    for key in (["a"], ["a", "b"]):
        expected = int(frame.select(pl.struct(key).is_duplicated().sum()).item())
        assert _duplicate_keys(frame, key) == expected
