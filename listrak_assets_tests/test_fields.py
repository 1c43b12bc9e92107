"""The one field-name matcher of both channels: how audience columns find Listrak profile
fields, and what the `unmatched_columns` policy does with those that find none."""

from __future__ import annotations

import pytest

from listrak_assets.listrak.errors import ListrakConfigError
from listrak_assets.listrak.fields import (
    Policy,
    ProfileField,
    fields_by_name,
    match_fields,
    same_name,
    values_body,
)


def field(field_id: int, name: str) -> ProfileField:
    return ProfileField(field_id, name, "Text", 50)


def refuse(unmatched: list[str]) -> Exception:
    return ListrakConfigError(f"no field for {', '.join(unmatched)}")


def test_names_compare_without_case_or_surrounding_spaces() -> None:
    assert same_name(" First Name ", "first name")
    assert same_name("STRASSE", "strasse")
    assert not same_name("first name", "firstname")


def test_among_names_that_differ_only_in_case_the_oldest_field_wins() -> None:
    fields = [field(9, "Tier"), field(3, "TIER"), field(5, "tier ")]
    assert fields_by_name(fields) == {"tier": field(3, "TIER")}


def test_columns_are_matched_in_their_own_order() -> None:
    fields = [field(1, "LastName"), field(2, "FirstName"), field(3, "Unused")]
    match = match_fields(["firstname", "shoe", " LASTNAME", "tier"], fields, "warn", refuse)
    assert match.mapped == {"firstname": field(2, "FirstName"), " LASTNAME": field(1, "LastName")}
    assert list(match.mapped) == ["firstname", " LASTNAME"]
    assert match.unmatched == ["shoe", "tier"]


@pytest.mark.parametrize("policy", ["warn", "create"])
def test_warn_and_create_leave_the_unmatched_to_the_caller(policy: Policy) -> None:
    match = match_fields(["a", "b"], [field(1, "A")], policy, refuse)
    assert (list(match.mapped), match.unmatched) == (["a"], ["b"])


def test_fail_refuses_with_every_unmatched_column() -> None:
    with pytest.raises(ListrakConfigError, match="no field for b, c"):
        match_fields(["a", "b", "c"], [field(1, "A")], "fail", refuse)


def test_fail_with_every_column_matched_passes() -> None:
    match = match_fields(["a"], [field(1, "A")], "fail", refuse)
    assert match.unmatched == []


def test_both_apis_field_listings_read_the_same() -> None:
    email = {
        "segmentationFieldId": 7,
        "segmentationFieldName": "Tier",
        "dataType": "Text",
        "maxLength": 20,
        "position": 2,
    }
    sms = {"segmentationFieldId": "8", "segmentationFieldName": "Shoe", "dataType": "Text"}
    assert ProfileField.of(email) == ProfileField(7, "Tier", "Text", 20, 2)
    assert ProfileField.of(sms) == ProfileField(8, "Shoe", "Text", None, 0)


def test_profile_values_are_sent_as_listrak_takes_them() -> None:
    assert values_body({3: "gold", 1: ""}) == [
        {"segmentationFieldId": 3, "value": "gold"},
        {"segmentationFieldId": 1, "value": ""},
    ]
