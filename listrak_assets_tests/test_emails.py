"""Emails, judged by email-validator: real-world cases, properties on any text, and the
vectorised path held to the library's answer on generated addresses."""

from __future__ import annotations

import email_validator
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listrak_assets.cleaning.emails import (
    checked_email,
    fast_email,
    library_email,
    normalise_email,
    written_email,
)
from listrak_assets.cleaning.table import _WHY, CleanOptions, _normalise_plan
from listrak_assets.cleaning.text import clean_text
from listrak_assets.formats import EMAIL_PATTERN
from listrak_assets.schemas.spec import Col, Kind, TableSpec


def _email(texts: list[str | None]) -> tuple[list, list]:
    judged = normalise_email(pl.Series("email", texts, dtype=pl.String))
    return judged.value.to_list(), judged.reason.to_list()


# (as written, what Listrak receives or None, reason)
CASES = [
    ("  John.Doe@Example.COM ", "john.doe@example.com", None),
    ("MAILTO:Sales@Shop.Example.org", "sales@shop.example.org", None),
    ("<zoe.muller@example.de>", "zoe.muller@example.de", None),
    ("Zoë@example.de", None, "non_ascii_email"),  # Listrak's form is ASCII before the @
    ("info@Bücher.example", "info@xn--bcher-kva.example", None),  # IDN domain in punycode
    ("info@xn--bcher-kva.example", "info@xn--bcher-kva.example", None),
    ("user@例え.jp", "user@xn--r8jz45g.jp", None),
    ("a" * 64 + "@example.com", "a" * 64 + "@example.com", None),
    ("a" * 65 + "@example.com", None, "invalid_email"),  # local part over 64
    ('"john doe"@example.com', None, "invalid_email"),  # quoted local parts are refused
    ("john..doe@example.com", None, "invalid_email"),
    ("john.doe@example", None, "invalid_email"),
    ("john@localhost", None, "invalid_email"),
    ("john@example.test", None, "invalid_email"),  # special-use name
    ("john@-example.com", None, "invalid_email"),
    ("john@ab--cd.com", None, "invalid_email"),  # reserved IDNA form
    ("john.doe@", None, "invalid_email"),
    ("<>", None, "invalid_email"),
    (None, None, None),
]


@pytest.mark.parametrize(("text", "expected", "reason"), CASES)
def test_real_world_addresses(text: str | None, expected: str | None, reason: str | None) -> None:
    assert _email([text]) == ([expected], [reason])


# --- properties -----------------------------------------------------------------------------

_ATOM = st.text(alphabet="abcXYZ019!#$%&'*+/=?^_`{|}~-éü", min_size=1, max_size=12)
_LABEL = st.text(alphabet="abcxyz09-ü", min_size=1, max_size=12)


@st.composite
def email_like(draw: st.DrawFn) -> str:
    """Text shaped like an address: dotted atoms, an @, labels and a top-level domain that
    may be special-use, numeric, punycode or too long, in any case and padding."""
    local = ".".join(draw(st.lists(_ATOM, min_size=1, max_size=4)))
    if draw(st.integers(0, 9)) == 0:
        local = local * 8  # past 64 characters
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    tld = draw(
        st.sampled_from(["com", "de", "io", "test", "localhost", "c", "123", "xn--p1ai", "COM"])
    )
    text = f"{local}@{'.'.join([*labels, tld])}"
    return draw(st.sampled_from(["{}", " {} ", "<{}>", "mailto:{}", "{}."])).format(text)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.none() | st.text(max_size=40) | email_like(), max_size=12))
def test_never_raises_and_every_missing_value_has_a_reason(texts: list[str | None]) -> None:
    values, reasons = _email(texts)
    for text, value, reason in zip(texts, values, reasons, strict=True):
        assert (reason is not None) == (text is not None and value is None)


@settings(max_examples=150, deadline=None)
@given(text=email_like())
def test_output_is_listrak_form_and_stable(text: str) -> None:
    [value], _ = _email([text])
    if value is None:
        return
    assert pl.Series([value]).str.contains(EMAIL_PATTERN)[0]
    assert value == value.lower() and value.isascii()
    assert len(value.split("@")[0]) <= 64
    assert _email([value]) == ([value], [None])


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(email_like() | st.text(max_size=40), min_size=1, max_size=20))
def test_fast_path_says_what_the_library_says(texts: list[str]) -> None:
    fast = fast_email(pl.Series(texts))
    prepared = pl.Series(texts).str.replace(r"^(?i)mailto:", "").str.strip_chars("<> ")
    for text, value, reason in zip(prepared, fast.value, fast.reason, strict=True):
        if value is not None or reason is not None:
            assert library_email(text) == (value, reason), text


# Text that is ASCII but not an address Listrak takes, in the shapes real files have.
_NOT_LISTRAK = st.sampled_from(
    [
        "{}@@{}",
        "{}@",
        "@{}",
        "{}.{}",
        "{} {}@{}",
        "{}@{}.",
        "{}..{}@{}",
        "{}@{}..com",
        "{}@[127.0.0.1]",
        '"{}"@{}',
        "{} <{}@{}>",
        "{}@{}.c",
        "{}@{}.123",
        "{}@{}_x.com",
        "{}@-{}.com",
        "{}@{}-.com",
        "{}@" + "x" * 64 + ".com",
        "{}\t{}@{}",
    ]
)


_JUNK = "abcXYZ019.!#$%&'*+/=?^_`{|}~-@\\\" "


@settings(max_examples=150, deadline=None)
@given(
    shape=_NOT_LISTRAK,
    parts=st.lists(st.text(alphabet=_JUNK, max_size=8), min_size=3, max_size=3),
)
def test_fast_path_refuses_only_what_the_library_refuses(shape: str, parts: list[str]) -> None:
    text = shape.format(*parts)
    fast = fast_email(pl.Series([text]))
    prepared = pl.Series([text]).str.replace(r"^(?i)mailto:", "").str.strip_chars("<> ")[0]
    if fast.reason[0] is not None:
        assert library_email(prepared) == (None, "invalid_email"), text


def test_fast_path_decides_the_common_cases() -> None:
    common = pl.Series(
        ["jane.doe42@example.com", "  Bob@Shop.Example.org ", "Mailto:<A@Example.com>"]
    )
    assert fast_email(common).value.to_list() == [
        "jane.doe42@example.com",
        "bob@shop.example.org",
        "a@example.com",
    ]
    junk = pl.Series(["jane.doe@@example.com", "jane.doe@", "jane.doe.example.com", "j d@x.com"])
    assert fast_email(junk).reason.to_list() == ["invalid_email"] * 4


def test_fast_path_leaves_what_it_cannot_be_sure_of() -> None:
    unsure = pl.Series(
        [
            "zoë@example.de",  # not ASCII
            "\u212a@example.com",  # Kelvin sign: lower-cases to ASCII `k`
            "info@xn--bcher-kva.example",  # punycode
            "john@example.test",  # special-use
            "a" * 65 + "@example.com",  # local part too long
        ]
    )
    fast = fast_email(unsure)
    assert fast.value.to_list() == [None] * 5
    assert fast.reason.to_list() == [None] * 5


# --- the plain path (one regex) against the tests it stands for ----------------------------


def _same_as_checked(texts: list[str]) -> None:
    series = pl.Series(texts, dtype=pl.String)
    fast, checked = fast_email(series), checked_email(series)
    assert list(zip(texts, fast.value, fast.reason, strict=True)) == list(
        zip(texts, checked.value, checked.reason, strict=True)
    )


def _near_special_names() -> list[str]:
    """Each special-use name, in upper case too, its prefixes, and every name one letter
    longer or one letter changed (from the letters the names share)."""
    tlds: set[str] = set()
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        tlds |= {name, name.upper(), name.title()}
        for i in range(len(name) + 1):
            tlds.add(name[:i])
            for letter in "aehilnopstz":
                tlds |= {name[:i] + letter + name[i:], name[:i] + letter + name[i + 1 :]}
    return sorted(tlds)


def test_plain_path_knows_special_use_names_from_near_misses() -> None:
    texts = [f"jane@example.{tld}" for tld in _near_special_names()]
    _same_as_checked(texts)
    fast = fast_email(pl.Series(texts))
    for text, value, reason in zip(texts, fast.value, fast.reason, strict=True):
        if value is not None or reason is not None:
            assert library_email(text) == (value, reason), text


# Around the plain path's length limit: a local part or a domain label at or over its own.
_LONG_LOCAL = [f"{'a' * n}@e.co" for n in range(60, 67)]
_LONG_LABEL = [f"a@{'b' * n}.co" for n in range(60, 67)] + [f"ab@{'b' * 63}.co"]


@pytest.mark.parametrize("text", _LONG_LOCAL + _LONG_LABEL)
def test_plain_path_at_the_length_limits(text: str) -> None:
    _same_as_checked([text, text.upper()])
    [value], [reason] = _email([text])
    assert (value, reason) == library_email(text)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(
        email_like().map(str.title) | email_like() | st.text(max_size=40), min_size=1, max_size=20
    )
)
def test_plain_path_says_what_the_separate_tests_say(texts: list[str]) -> None:
    _same_as_checked(texts)


# --- text as written: the lower-case plain path and clean text for the rest -----------------


def _library_on_written(texts: list[str | None]) -> list[tuple[str | None, str | None]]:
    """What the library says of each text's clean text (prepared as `normalise_email` does)."""
    clean = clean_text(pl.Series(texts, dtype=pl.String))
    prepared = clean.str.replace(r"^(?i)mailto:", "").str.strip_chars("<> ")
    return [
        (None, None) if c is None else library_email(p)
        for c, p in zip(clean, prepared, strict=True)
    ]


def _same_as_library_on_written(texts: list[str | None]) -> None:
    written = written_email(pl.Series("email", texts, dtype=pl.String))
    assert written.value.name == written.reason.name == "email"
    assert list(zip(texts, written.value, written.reason, strict=True)) == [
        (t, *found) for t, found in zip(texts, _library_on_written(texts), strict=True)
    ]


# Padding that clean text removes (or turns into one space inside), around and in addresses.
_WRITTEN = st.sampled_from(["{}", " {} ", "\t{}\r\n", "{}\x00", "\u00a0{}", "{}  x", " ", ""])


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.none()
        | st.text(max_size=40)
        | st.tuples(_WRITTEN, email_like().map(str.lower) | email_like()).map(
            lambda pair: pair[0].format(pair[1])
        ),
        min_size=1,
        max_size=20,
    )
)
def test_written_email_says_what_the_library_says_of_the_clean_text(
    texts: list[str | None],
) -> None:
    _same_as_library_on_written(texts)


def test_written_email_at_the_edges_of_the_lower_case_path() -> None:
    """Addresses the lower-case path takes or must leave: at the length limits, in upper
    case, padded, special-use, one character off a plain address, and the shapes its regex
    refuses in lower case (`--` in the domain for one: the IDNA rules decide those)."""
    near = ["jane@example.com", "jane.doe@mail.example.org"]
    texts: list[str | None] = [
        *_LONG_LOCAL,
        *_LONG_LABEL,
        *(t.upper() for t in _LONG_LOCAL + _LONG_LABEL),
        *(f"jane@example.{tld}" for tld in _near_special_names()),
        *(f"{pad}{t}{end}" for t in near for pad in ["", " ", "\t"] for end in ["", " ", "\n"]),
        *(t[:i] + c + t[i:] for t in near for i in range(len(t) + 1) for c in " A.-@\x7fé"),
        *(f"jane@{domain}" for domain in ["ab--cd.com", "xn--bcher-kva.example", "a-.com"]),
        *(f"jane@{domain}" for domain in ["-a.com", "a.c", "a.123", "a..com", "a.com."]),
        *(f"{local}@example.com" for local in ["a..b", ".a", "a.", "a@b", '"a"', "a b"]),
        "Jane@example.com",
        "jane@Example.com",
        "jane@example.Com",
        "mailto:jane@example.com",
        "<jane@example.com>",
        None,
        "",
        "  ",
    ]
    _same_as_library_on_written(texts)


def test_written_email_is_normalise_email_of_the_clean_text() -> None:
    texts = [" John.Doe@Example.COM\t", "zoë@example.de", "a\nb@example.com", None, " ", "x@y.com"]
    series = pl.Series("email", texts)
    written, reference = written_email(series), normalise_email(clean_text(series))
    assert written.value.to_list() == reference.value.to_list()
    assert written.reason.to_list() == reference.reason.to_list()


_WRITTEN_TEXTS = [
    " Jane@Example.COM ",
    "jane@example.com",
    "  ",
    None,
    "a\tb@x.com",
    "j@example.test",
]


@pytest.mark.parametrize("fallback", [False, True])
def test_the_table_plan_judges_an_email_column_as_its_clean_text(fallback: bool) -> None:
    """An email column is judged from its text as written, or from its clean text where a
    fallback fills it in (a blank address is empty, so the fallback's is used)."""
    spec = TableSpec(
        name="t",
        columns=(Col("email", Kind.EMAIL), Col("backup", Kind.EMAIL)),
        key=("email",),
        description="",
        fallbacks={"email": "backup"} if fallback else {},
    )
    backups = [None, None, "Backup@Example.com", "b@example.com", None, None]
    raw = pl.DataFrame(
        {"email": _WRITTEN_TEXTS, "backup": backups},
        schema_overrides={"email": pl.String, "backup": pl.String},
    )
    found = _normalise_plan(raw, spec, CleanOptions()).collect(engine="streaming")
    texts = clean_text(raw["email"])
    if fallback:
        texts = texts.fill_null(clean_text(raw["backup"]))
    expected = normalise_email(texts)
    assert found["email"].to_list() == expected.value.to_list()
    assert found[_WHY + "email"].to_list() == expected.reason.to_list()
