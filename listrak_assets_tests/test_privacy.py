"""The one masking rule, wherever personal data can surface: table columns (rejects,
previews) and free text (Listrak's messages, failure descriptions)."""

from __future__ import annotations

import polars as pl
import pytest

from listrak_assets.listrak.errors import ListrakApiError
from listrak_assets.privacy import mask, mask_text, mask_value


def test_a_column_keeps_each_values_first_character_and_its_nulls() -> None:
    frame = pl.DataFrame({"v": ["john.doe@example.com", "12125550101", None, "é", ""]})
    assert frame.select(mask(pl.col("v")))["v"].to_list() == ["j***", "1***", None, "é***", "***"]


def test_a_column_of_numbers_is_masked_as_text() -> None:
    frame = pl.DataFrame({"v": [12125550101, None]})
    assert frame.select(mask(pl.col("v")))["v"].to_list() == ["1***", None]


def test_column_and_text_follow_the_same_rule() -> None:
    values = ["ann", "12125550101", "Zoë"]
    masked = pl.DataFrame({"v": values}).select(mask(pl.col("v")))["v"].to_list()
    assert masked == [mask_value(v) for v in values] == ["a***", "1***", "Z***"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("contact gone@example.com is unsubscribed", "contact g***@***"),
        ("<Ann.Lee+news@mail.example.co.uk>", "<A***@***>"),
        ("'a@b', 'c@d'", "'a***@***', 'c***@***'"),
        ("POST /sms/v1/ShortCode/1/Contact/12125550101/PhoneList/7", "Contact/1***/PhoneList/7"),
        ("+4915112345678 opted out", "+4***"),
    ],
)
def test_text_hides_email_addresses_and_phone_numbers(text: str, masked: str) -> None:
    out = mask_text(text)
    assert masked in out
    assert "example" not in out and "555" not in out and "1234" not in out


@pytest.mark.parametrize(
    "text",
    [
        "list 1234567 has no field group 'Attributes'",  # ids shorter than any phone number
        "import 42 (listrak-assets_email-audience_abc_on_001.csv) ended with status 'Failed'",
        "no SMS sender code '12345'",
        "",
    ],
)
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert mask_text(text) == text


def test_listrak_messages_are_masked_where_the_error_is_made() -> None:
    err = ListrakApiError(
        400, "ERROR_PHONE_NUMBER_SUSPENDED", "12125550101 (ann@example.com) opted out", "POST", "/x"
    )
    assert err.listrak_message == "1*** (a***@***) opted out"
    assert "12125550101" not in str(err) and "ann@example.com" not in str(err)
