"""The suppression list's matching: the batched hashing finds exactly the values whose HMAC
(computed here by the standard library, the oracle) is in the list, for any salt length."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

from listrak_assets.suppression import Suppression, digest


def _oracle(salt: str, kind: str, value: str) -> str:
    return hmac.new(salt.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "salt",
    [
        "sixteen-chars-ok",
        "x" * 64,  # exactly one SHA-256 block
        "a-salt-longer-than-one-sha256-block-" * 3,  # hashed down first, per RFC 2104
        "sel-épicé-ünïcødé-🧂-0123456789",  # multi-byte characters
    ],
)
def test_matching_finds_exactly_the_listed_values(salt: str) -> None:
    values = [f"user{i}@example.org" for i in range(500)] + ["zoë@exämple.org", "12158880142"]
    listed = values[::37] + ["zoë@exämple.org"]
    suppression = Suppression(salt, emails=frozenset(_oracle(salt, "email", v) for v in listed))
    series = pl.Series("email", [*values, None, values[0]])  # a null and a repeat
    found = suppression.matches("email", series)
    expected = [v in listed for v in values] + [False, True]
    assert found.to_list() == expected
    # The ledger's hashes are the same function.
    assert all(digest(salt, "email", v) == _oracle(salt, "email", v) for v in listed)


def test_a_hash_matches_only_values_of_its_own_kind() -> None:
    """The kind is part of the hashed message: the same digits as an email-kind entry in the
    phone list match no phone."""
    salt = "sixteen-chars-ok"
    value = pl.Series(["12158880142"])
    wrong = Suppression(salt, phones=frozenset({_oracle(salt, "email", "12158880142")}))
    right = Suppression(salt, phones=frozenset({_oracle(salt, "phone", "12158880142")}))
    assert not wrong.matches("phone", value).any()
    assert right.matches("phone", value).all()
