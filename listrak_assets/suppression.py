"""Who has been forgotten, without saying who: salted hashes of their emails and phones.

An erasure leaves no readable trace of a person, yet a later export that brings them back
must still be dropped. Each forgotten email and phone number is kept as an HMAC-SHA256 of the
normalised value under a secret salt (`LISTRAK_ERASURE_SALT`); a value is matched by hashing
it the same way. Without the salt the list can't be matched against a guessed address, which
a plain hash of an email could be.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

SALT_ENV = "LISTRAK_ERASURE_SALT"
MIN_SALT_LENGTH = 16
_BLOCK = 64  # SHA-256's block size in bytes

Identifier = Literal["email", "phone"]


class SaltError(ValueError):
    """The salt is missing, too short or not the one the erasure ledger was written with."""


def check_salt(salt: str | None) -> str:
    """The salt, or SaltError saying how to set it: erasure refuses to run without one
    rather than keep unsalted hashes anyone could match."""
    if not salt:
        raise SaltError(
            f"{SALT_ENV} is not set: erasure and suppression need a secret salt (at least "
            f"{MIN_SALT_LENGTH} characters, e.g. `openssl rand -hex 32`), kept like a password "
            "and never changed"
        )
    if len(salt) < MIN_SALT_LENGTH:
        raise SaltError(f"{SALT_ENV} is shorter than {MIN_SALT_LENGTH} characters")
    return salt


def digest(salt: str, kind: str, value: str) -> str:
    """The salted hash of one normalised value of a kind (email, phone, person)."""
    message = f"{kind}:{value}".encode()
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()


def salt_fingerprint(salt: str) -> str:
    """A hash that tells whether a later salt is the same one, without revealing it."""
    return hmac.new(salt.encode(), b"listrak-assets salt check", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Suppression:
    """The hashes of every forgotten email and phone number."""

    salt: str
    emails: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones)

    def matches(self, kind: Identifier, values: pl.Series) -> pl.Series:
        """True where a normalised value belongs to a forgotten person (null: False). Each
        distinct value is hashed once."""
        hashes = self.emails if kind == "email" else self.phones
        if not hashes:
            return pl.Series(values.name, [False] * values.len(), dtype=pl.Boolean)
        distinct = values.drop_nulls().unique().to_list()
        hashed = zip(distinct, _hashes(self.salt, kind, distinct), strict=True)
        hits = [v for v, h in hashed if h in hashes]
        found = values.is_in(pl.Series(hits, dtype=pl.String).implode())
        return found.fill_null(False).alias(values.name)


def _hashes(salt: str, kind: str, values: list[str]) -> list[str]:
    """`digest` of many values at once. HMAC's keyed inner and outer SHA-256 states (RFC 2104)
    are computed once and copied per value: a third of the CPU time of `hmac.new` or
    `hmac.digest` per value (both set the key up again each time), same hashes."""
    key = salt.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(f"{kind}:".encode())
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    out = []
    for value in values:
        i = inner.copy()
        i.update(value.encode())
        o = outer.copy()
        o.update(i.digest())
        out.append(o.hexdigest())
    return out
