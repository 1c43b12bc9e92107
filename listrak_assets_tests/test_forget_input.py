"""The erasure input (`forget*.csv`) and suppression in cleaning: requests are normalised like
the audiences, unusable rows are rejected with a reason, and a forgotten person's rows are
rejected as `forgotten` in every table with nothing of them left readable."""

from __future__ import annotations

import polars as pl

from listrak_assets.cleaning.table import CleanOptions, clean_table
from listrak_assets.columns import SOURCE_FILE, SOURCE_ROW
from listrak_assets.erasure.ledger import Ledger, Person
from listrak_assets.schemas import TABLES
from listrak_assets.schemas.forget import FORGET
from listrak_assets.suppression import Suppression, digest
from listrak_assets_tests.conftest import Workspace

SALT = "a-test-salt-of-32-characters-...."


def _raw(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    return frame.with_columns(
        pl.lit("file.csv").alias(SOURCE_FILE),
        pl.Series(SOURCE_ROW, range(1, len(rows) + 1), dtype=pl.Int64),
    )


def test_requests_are_normalised_like_the_audiences_and_bad_rows_rejected(
    workspace: Workspace,
) -> None:
    workspace.settings(default_phone_country="GB")
    workspace.write(
        "forget_2026-12-01.csv",
        "email,phone\n"
        " Jo.Smith@Example.COM ,\n"  # email only
        ",07911 123456\n"  # a national number of the default country (GB)
        "ann@example.org,+1 (215) 888-0142\n"  # both
        ",\n"  # neither: nothing to forget by
        "not-an-email,\n"  # unreadable email: the row is rejected, never shrunk
        "bob@example.org,12\n",  # unreadable phone: rejected too, not sent as email only
    )
    result = workspace.materialize("forget")
    assert result.success
    clean = workspace.clean("forget")
    assert clean.rows() == [
        ("jo.smith@example.com", None),
        (None, "447911123456"),
        ("ann@example.org", "12158880142"),
    ]
    rejects = workspace.rejects("forget").sort("source_row")
    assert rejects.select("source_row", "column", "reason").rows() == [
        (4, "email", "missing_required"),
        (5, "email", "invalid_email"),
        (6, "phone", "invalid_phone"),
    ]
    assert set(rejects["action"]) == {"row_rejected"}


def test_a_forgotten_persons_rows_are_rejected_and_masked_in_every_kind_of_column() -> None:
    suppression = Suppression(
        SALT,
        emails=frozenset({digest(SALT, "email", "gone@example.org")}),
        phones=frozenset({digest(SALT, "phone", "12158880142")}),
    )
    raw = _raw(
        [
            {"email": "Gone@Example.org", "mobilephone": None, "birthday": "31/31/1990"},
            {"email": "kept@example.org", "mobilephone": "215-888-0142", "birthday": None},
            {"email": "also.kept@example.org", "mobilephone": "215-888-0143", "birthday": None},
        ]
    )
    # PII shown (restrict_pii False): a forgotten person's values are masked all the same.
    options = CleanOptions(restrict_pii=False, suppression=suppression)
    result = clean_table(raw, TABLES["customers"], options)
    assert result.clean["email"].to_list() == ["also.kept@example.org"]
    rejects = result.rejects
    forgotten = rejects.filter(pl.col("reason") == "forgotten")
    assert forgotten.select("source_row", "column").rows() == [(1, "email"), (2, "mobilephone")]
    # The optional phone is not merely blanked: the whole row goes.
    assert set(rejects.filter(pl.col("source_row") == 2)["action"]) == {"row_rejected"}
    # Every line of those rows, even the bad birthday's, holds only a masked value.
    assert rejects.filter(pl.col("source_row").is_in([1, 2]))["value"].to_list() == [
        "3***",
        "G***",
        "2***",
    ]
    assert result.rejected_rows == 2 and result.clean.height + 2 == raw.height


def test_without_anyone_forgotten_cleaning_is_unchanged() -> None:
    raw = _raw([{"email": "a@example.org"}, {"email": "b@example.org"}])
    plain = clean_table(raw, TABLES["email_audience"], CleanOptions())
    empty = clean_table(raw, TABLES["email_audience"], CleanOptions(suppression=Suppression(SALT)))
    assert plain.clean.equals(empty.clean) and plain.rejects.equals(empty.rejects)


def test_the_ledger_holds_no_readable_value_and_refuses_another_salt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ledger.json"
    ledger = Ledger(path)
    ledger.check_salt(SALT)
    ledger.entry(Person("gone@example.org", "12158880142"), SALT)
    ledger.save()
    text = path.read_text()
    assert "gone" not in text and "2158880142" not in text and SALT not in text
    again = Ledger.read(path)
    assert again.suppression(SALT).emails == {digest(SALT, "email", "gone@example.org")}
    try:
        again.check_salt("another-salt-of-enough-length")
    except ValueError as err:
        assert "LISTRAK_ERASURE_SALT" in str(err)
    else:
        raise AssertionError("a different salt was accepted")


def test_the_erasure_spec_is_not_a_listrak_table() -> None:
    assert FORGET.name not in TABLES
