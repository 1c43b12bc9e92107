"""Phones, judged by libphonenumber: real-world cases, properties on any text, and the
vectorised path held to the library's answer on generated numbers.

The library (`phonenumbers`) is the oracle: the fast path may only ever say what the library
says, and the normaliser's output is always Listrak's E.164 form or rejected with a reason.
"""

from __future__ import annotations

import gc
import random
import weakref
from dataclasses import replace

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length

from listrak_assets.cleaning.phone_rules import _first_claimer, _on, _Rules, region_plan
from listrak_assets.cleaning.phones import fast_e164, library_e164, normalise_phone
from listrak_assets.formats import E164_PATTERN, PhoneValidation

# Default countries the tests run under: single-region plans, a shared calling code (US:
# 25 regions), a complex international prefix (AU), national prefix rewrite rules (BR, JP)
# and a region the fast path leaves to the library (CA: not its calling code's main region).
REGIONS = ["US", "GB", "DE", "FR", "AU", "IT", "IN", "NZ", "RU", "CA", "BR", "JP", "MX", "SE"]


def _phone(texts: list[str | None], region: str = "US", validation: str = "valid") -> list:
    return normalise_phone(
        pl.Series("phone", texts, dtype=pl.String), region, validation
    ).value.to_list()  # type: ignore[arg-type]


# --- real-world cases ---------------------------------------------------------------------

# (as written, default country, expected E.164 digits or None for rejected)
CASES = [
    ("+44 (0)20 7946 0958", "US", "442079460958"),  # the trunk 0 in brackets is dropped
    ("+44 (0)20 7946 0958", "GB", "442079460958"),
    ("0011 44 20 7946 0958", "AU", "442079460958"),  # Australia's exit code
    ("011 44 20 7946 0958", "US", "442079460958"),  # North America's exit code
    ("0044 20 7946 0958", "GB", "442079460958"),  # Europe's exit code
    ("0044 20 7946 0958", "US", None),  # 00 is not an exit code from the US
    ("020 7946 0958", "GB", "442079460958"),
    ("(717) 555-9636", "US", "17175559636"),
    ("1-717-555-9636", "US", "17175559636"),
    ("17175559636", "US", "17175559636"),  # Listrak's own form reads back as itself
    ("717-555-9636 x12", "US", "17175559636"),  # the extension is not part of the number
    ("0412 345 678", "AU", "61412345678"),
    ("030 123456", "DE", "4930123456"),
    ("06 12 34 56 78", "FR", "33612345678"),
    ("+1 (000) 000-0000", "US", None),  # no such area code
    ("+999 123 456 789", "US", None),  # no such country code
    ("+12345678", "US", None),  # too short for North America
    ("(117) 555-9636", "US", None),  # area codes never start with 1
    ("555-01", "US", None),
    ("call me", "US", None),
    ("１７１７５５５９６３６", "US", "17175559636"),  # full-width digits, as some forms send
    ("+81 (0)90-1234-5678", "US", "819012345678"),  # Japan's trunk 0 in brackets
    ("090-1234-5678", "JP", "819012345678"),
    ("0037 68 0120 123 456", "JP", "81120123456"),  # carrier prefix 0037680, toll-free 120
    ("(11) 96123-4567", "BR", "5511961234567"),
    ("0 15 11 96123-4567", "BR", "5511961234567"),  # a carrier code chosen for the call
]


@pytest.mark.parametrize(("text", "region", "expected"), CASES)
def test_real_world_numbers(text: str, region: str, expected: str | None) -> None:
    assert _phone([text], region) == [expected]
    assert (library_e164(text, region) or None) == expected


def test_a_rejected_number_has_a_reason_and_an_empty_one_has_none() -> None:
    judged = normalise_phone(pl.Series(["+12345678", None, "7175559636"]), "US")
    assert judged.reason.to_list() == ["invalid_phone", None, None]


def test_possible_accepts_unallocated_numbers_of_a_possible_length() -> None:
    # 555-0100 style numbers of a made-up area code are possible, not valid.
    assert _phone(["+1 (199) 555-0100"], "US", "valid") == [None]
    assert _phone(["+1 (199) 555-0100"], "US", "possible") == ["11995550100"]
    # Too short stays rejected, and so does a local-only length (no area code).
    assert _phone(["+12345678", "555-0100"], "US", "possible") == [None, None]


def test_every_distinct_text_is_judged_once() -> None:
    texts = ["(717) 555-9636"] * 1000 + ["+44 20 7946 0958"] * 1000
    assert set(_phone(texts)) == {"17175559636", "442079460958"}


@pytest.mark.parametrize("repeats", [1, 3])
def test_a_column_is_let_go_as_soon_as_it_is_judged(repeats: int) -> None:
    """Text the library can't parse raises inside it, and the library keeps that exception
    where its own traceback reaches it: a reference cycle through every caller's frame. The
    column (a million rows in a real export) must not wait for the cycle collector."""
    texts = ["+999 123 456 789", "call me", "+1", "(717) 555-9636", "+44 20 7946 0958"]
    text = pl.Series("phone", [f"{t} {i}" for i in range(50) for t in texts] * repeats)
    alive = weakref.ref(text)
    enabled = gc.isenabled()
    gc.disable()  # only reference counting frees it
    try:
        judged = normalise_phone(text, "US")
        assert judged.reason.drop_nulls().len() > 0  # the library refused some of them
        del text, judged
        assert alive() is None
    finally:
        if enabled:
            gc.enable()


# --- properties -----------------------------------------------------------------------------


def _formats(number: phonenumbers.PhoneNumber) -> list[str]:
    return [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:],
        phonenumbers.national_significant_number(number),
    ]


@st.composite
def phone_like(draw: st.DrawFn) -> str:
    """Text that looks like a phone number: a real example number of some region and type,
    with digits changed, added or dropped, written in one of the usual ways."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
        )
    )
    example = phonenumbers.example_number_for_type(region, kind)
    text = draw(st.sampled_from(_formats(example)))
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    chars = list(text)
    for _ in range(draw(st.integers(0, 3))):
        chars[draw(st.sampled_from(digits))] = draw(st.sampled_from("0123456789"))
    text = "".join(chars)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "0", "1", "00", " ", "-", "9"])) + text[cut:]
    return text


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(st.none() | st.text(max_size=40), max_size=12), region=st.sampled_from(REGIONS)
)
def test_never_raises_on_any_text(texts: list[str | None], region: str) -> None:
    judged = normalise_phone(pl.Series("p", texts, dtype=pl.String), region)
    for text, value, reason in zip(texts, judged.value, judged.reason, strict=True):
        assert (reason is not None) == (text is not None and value is None)


@settings(max_examples=120, deadline=None)
@given(text=phone_like(), region=st.sampled_from(REGIONS))
def test_output_is_listrak_e164_and_stable_under_any_default_country(
    text: str, region: str
) -> None:
    [value] = _phone([text], region)
    if value is None:
        return
    assert pl.Series([value]).str.contains(E164_PATTERN)[0]
    for other in REGIONS:
        assert _phone(["+" + value], other) == [value], other


@settings(max_examples=80, deadline=None)
@given(
    texts=st.lists(st.none() | phone_like(), min_size=1, max_size=12),
    region=st.sampled_from(REGIONS),
)
def test_each_row_gets_the_library_answer_whether_the_column_repeats_or_not(
    texts: list[str | None], region: str
) -> None:
    """A mostly distinct column is judged row by row, one with many repeats once per distinct
    text and joined back: either way each row gets what the library says of it alone."""
    library = [None if t is None else (library_e164(t, region) or None) for t in texts]
    library = [
        v if v is None or pl.Series([v]).str.contains(E164_PATTERN)[0] else None for v in library
    ]
    distinct_texts = list(dict.fromkeys(texts))
    expected = dict(zip(texts, library, strict=True))
    assert _phone(distinct_texts, region) == [expected[t] for t in distinct_texts]
    repeated = texts * 3
    assert _phone(repeated, region) == library * 3


# --- the fast path against the library --------------------------------------------------------


def _disagreements(texts: list[str], region: str) -> list[tuple[str, str, str]]:
    distinct = pl.Series("t", texts).unique()
    fast = fast_e164(distinct, region)
    out = []
    for text, said in zip(distinct, fast, strict=True):
        if said is None:
            continue  # left to the library
        library = library_e164(text, region) or ""
        if said != library:
            out.append((text, said, library))
    return out


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(phone_like(), min_size=1, max_size=20), region=st.sampled_from(REGIONS))
def test_fast_path_says_what_the_library_says(texts: list[str], region: str) -> None:
    assert _disagreements(texts, region) == []


@pytest.mark.parametrize("region", REGIONS)
def test_fast_path_agrees_on_a_corpus_of_generated_numbers(region: str) -> None:
    """Thousands of numbers per region, most of them plain national numbers (the fast path's
    own case), valid and not: zero disagreements."""
    rng = random.Random(region)
    texts = []
    for _ in range(3000):
        kind = rng.choice(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
        )
        example = phonenumbers.example_number_for_type(rng.choice(REGIONS + [region] * 6), kind)
        text = rng.choice(_formats(example))
        chars = [
            rng.choice("0123456789") if c.isdigit() and rng.random() < 0.3 else c for c in text
        ]
        texts.append("".join(chars))
    assert _disagreements(texts, region) == []
    plan = region_plan(region)
    if region == "CA":
        assert plan is None  # left to the library on purpose
    else:
        assert plan is not None
        assert fast_e164(pl.Series(texts), region).null_count() < len(texts) / 2


def test_the_fast_path_reads_international_numbers_under_any_default_region() -> None:
    """`+` numbers (13% of the distinct phones of a generated export, once all left to the
    library) are read by their calling code's region, whatever the default region."""
    texts = ["+44 20 7946 0958", "+1 505-551-2628", "+33 (0)6 05 42 29 10", "+49 151 62478782"]
    for region in ("US", "DE", "GB"):
        fast = fast_e164(pl.Series(texts), region).to_list()
        assert None not in fast, (region, fast)
        assert fast == [library_e164(t, region) for t in texts], region


@st.composite
def dialled_like(draw: st.DrawFn) -> str:
    """`phone_like` as people dial it: the `+` written as some region's exit code (`011`,
    `00`, `0011`, or one that isn't), or an extension after the number (`x12`, or one the
    library does not set apart)."""
    text = draw(phone_like())
    if text.startswith("+") and draw(st.booleans()):
        text = draw(st.sampled_from(["011 ", "011", "00", "0011 ", "010 ", "0"])) + text[1:]
    if draw(st.booleans()):
        text += draw(
            st.sampled_from([" x12", "x5", " X 123", "  x123456789", " x1234567890", " ext. 7"])
        )
    return text


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(dialled_like(), min_size=1, max_size=20), region=st.sampled_from(REGIONS))
def test_fast_path_reads_exit_codes_and_extensions_as_the_library_does(
    texts: list[str], region: str
) -> None:
    assert _disagreements(texts, region) == []


def test_the_fast_path_reads_exit_codes_and_drops_extensions() -> None:
    """Exit codes and extensions (two thirds of what a generated export left to the
    library) are read without it, as the library reads them."""
    cases = {
        "US": [
            "011 44 20 7946 0958",
            "717-555-9636 x12",
            "+44 20 7946 0958 x9",
            "011 1 717 555 9636",
        ],
        "GB": ["00 49 151 62478782", "020 7946 0958 x123456789"],
        "AU": ["0011 44 20 7946 0958", "0412 345 678 X 5"],
    }
    for region, texts in cases.items():
        fast = fast_e164(pl.Series(texts), region).to_list()
        assert None not in fast, (region, fast)
        assert fast == [library_e164(t, region) for t in texts], region
    # Left to the library: an exit code followed by 0, and more digits than `x` takes.
    left = fast_e164(pl.Series(["011 0 20 7946 0958", "717-555-9636 x1234567890"]), "US")
    assert left.to_list() == [None, None]


# --- national prefix rewrite rules and calling codes no region has -----------------------------

# The parts of Japanese and Brazilian numbers the national prefix rules act on: the trunk
# prefix (JP `0`, BR `0` or `90`), JP's `003768` carrier prefix (with its optional `0`),
# BR's carrier codes, and JP's `0002...`-style numbers that the transform keeps whole.
_PREFIXES = {
    "JP": ["", "0", "00", "003768", "0037680", "0003768", "010"],
    "BR": ["", "0", "90", "0 15 ", "0 21 ", "90 41 ", "0 99 ", "0 77 ", "00"],
}
_JP_WHOLE = ["0002", "0005", "0006", "0009", "0003", "0001"]  # 000[2569] + 4-6 digits


@st.composite
def rewritten_like(draw: st.DrawFn) -> str:
    """A Japanese or Brazilian number (an example of any type, digits changed), with the
    national prefixes the transform rules read, written nationally or after `+81`/`+55`,
    with spaces, dashes, brackets or `(0)`; or JP's `000[2569]` shape; or a calling code no
    region has (`+999`, `+0`, `+28`)."""
    region = draw(st.sampled_from(["JP", "BR"]))
    kind = draw(st.sampled_from(list(phonenumbers.PhoneNumberType.values())))
    example = phonenumbers.example_number_for_type(region, kind) or (
        phonenumbers.example_number(region)
    )
    nsn = list(phonenumbers.national_significant_number(example))
    for _ in range(draw(st.integers(0, 3))):
        nsn[draw(st.integers(0, len(nsn) - 1))] = draw(st.sampled_from("0123456789"))
    if draw(st.booleans()):
        nsn = nsn[: draw(st.integers(1, len(nsn)))] + list(draw(st.text("0123456789", max_size=2)))
    digits = "".join(nsn)
    shape = draw(st.sampled_from(["national", "plus", "trunk", "whole", "nowhere"]))
    if shape == "whole" and region == "JP":
        digits = draw(st.sampled_from(_JP_WHOLE)) + draw(
            st.text("0123456789", min_size=3, max_size=7)
        )
    elif shape == "nowhere":
        code = draw(st.sampled_from(["999", "0", "28", "80", "42", "99 9"]))
        return f"+{code} {digits}"
    prefix = draw(st.sampled_from(_PREFIXES[region]))
    cut = draw(st.integers(0, len(digits)))
    sep = draw(st.sampled_from(["", " ", "-", ".", ") ", "/"]))
    body = digits[:cut] + sep + digits[cut:]
    if draw(st.booleans()):
        body = f"({body[:2]}) {body[2:]}"
    calling_code = "81" if region == "JP" else "55"
    if shape == "plus":
        return f"+{calling_code} {prefix}{body}"
    if shape == "trunk":
        return f"+{calling_code} ({prefix or '0'}){body}"
    return prefix + body


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(rewritten_like(), min_size=1, max_size=20),
    region=st.sampled_from(["JP", "BR", "US", "GB", "AU"]),
)
def test_fast_path_reads_national_prefix_rewrites_as_the_library_does(
    texts: list[str], region: str
) -> None:
    assert _disagreements(texts, region) == []


@pytest.mark.parametrize("region", ["JP", "BR"])
def test_the_rewrite_rules_are_held_to_the_library_on_a_corpus(region: str) -> None:
    """A few thousand numbers with the prefixes the rules read, under their own region and
    from the US: zero disagreements, and every number the library accepts is decided by the
    fast path (what it leaves are `+` numbers and exit codes the library rejects)."""
    rng = random.Random(f"rewrite-{region}")
    texts = []
    for _ in range(3000):
        example = phonenumbers.example_number_for_type(
            region,
            rng.choice(
                [
                    phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE,
                    phonenumbers.PhoneNumberType.TOLL_FREE,
                ]
            ),
        )
        nsn = "".join(
            rng.choice("0123456789") if rng.random() < 0.2 else c
            for c in phonenumbers.national_significant_number(example)
        )
        if region == "JP" and rng.random() < 0.1:
            nsn = rng.choice(_JP_WHOLE) + str(rng.randrange(10 ** rng.randint(3, 7)))
        prefix = rng.choice(_PREFIXES[region])
        texts.append(rng.choice([prefix + nsn, f"+{example.country_code} {prefix}{nsn}"]))
    for default in (region, "US"):
        assert _disagreements(texts, default) == [], default
        fast = fast_e164(pl.Series(texts), default)
        accepted = [t for t, said in zip(texts, fast, strict=True) if said is None]
        accepted = [t for t in accepted if library_e164(t, default)]
        assert accepted == [], default
        assert fast.null_count() < len(texts) / 2, default


def test_japanese_numbers_abroad_are_read_without_the_library() -> None:
    """Japanese mobiles as a US export writes them (a tenth of the numbers abroad, and once
    most of what the library was left): `+81`, `+81 (0)`, `011 81`, dashes. Each is decided
    by the fast path, as the library decides it (`011` is an exit code only from the US)."""
    texts = [
        "+81 901 2345678",
        "+81 (0)901 2345678",
        "011 81 901 2345678",
        "+81-901-2345678",
        "+819012345678",
        "+81 (0)3-1234-5678",
        "+81 120-123-456",
    ]
    for region in ("US", "JP", "GB"):
        fast = fast_e164(pl.Series(texts), region).to_list()
        assert None not in fast, (region, fast)
        assert fast == [library_e164(t, region) or "" for t in texts], region


def test_a_calling_code_no_region_has_is_rejected_without_the_library() -> None:
    """`+999` is no calling code: the library refuses the number unless, read again without
    the `+`, it starts with the default region's exit code (`+011 44 ...` from the US)."""
    texts = ["+999 123 456 789", "+999 901 2345678", "+0 20 7946 0958", "+28 1234 5678"]
    for region in ("US", "GB", "JP", "BR"):
        fast = fast_e164(pl.Series(texts), region).to_list()
        assert fast == [""] * len(texts), region
        assert [library_e164(t, region) for t in texts] == [None] * len(texts)
    # Read again from the US, `011` is its exit code: left to the library, which finds the
    # number; `0044` is not (Europe's exit code), and is rejected here.
    rescued = ["+011 44 20 7946 0958", "+0044 20 7946 0958"]
    assert fast_e164(pl.Series(rescued), "US").to_list() == [None, ""]
    assert [library_e164(t, "US") for t in rescued] == ["442079460958", None]
    assert fast_e164(pl.Series(rescued), "GB").to_list() == ["", None]
    assert [library_e164(t, "GB") for t in rescued] == [None, "442079460958"]


def test_a_run_of_regions_with_leading_digits_is_claimed_in_the_librarys_order() -> None:
    """North America's regions after the US claim a number by its leading digits (Antigua
    `268`, ...): all of a run are tried in one pass, and the first in the library's order
    that matches wins, as in `region_code_for_number`, even where a later one matches too."""
    plan = region_plan("US")
    assert plan is not None
    run = tuple(r for r in plan.regions if r.leading_digits is not None)[:3]
    overlapping = (*run, replace(run[0], leading_digits="2"), replace(run[1], leading_digits="26"))
    numbers = pl.Series(["2684601234", "2644612345", "2601234567", "2001234567", "9001234567"])
    assert _first_claimer(numbers, run).to_list() == [0, 1, None, None, None]
    assert _first_claimer(numbers, overlapping).to_list() == [0, 1, 3, 3, None]
    assert _first_claimer(numbers, overlapping[::-1]).to_list() == [0, 0, 0, 1, None]
    # The library says the same of the regions themselves.
    assert [phonenumbers.region_code_for_number(phonenumbers.parse("+1" + n)) for n in numbers] == [
        "AG", "AI", None, None, None,
    ]  # fmt: skip


# --- the shortcuts of the fast path --------------------------------------------------------


@pytest.mark.parametrize("region", ["US", "DE", "JP", "AU"])
def test_texts_of_digits_alone_are_read_as_the_library_reads_them(region: str) -> None:
    """Most texts of an export are digits alone (`17175559636`): the fast path reads them
    without its regexes for separators, `+` and extensions. Next to them, texts one character
    off that shape (which the regexes must still read), and the 250 characters the library
    reads at most."""
    rng = random.Random(f"digits-{region}")
    texts = ["1" * 250, "1" * 251, "17175559636" + "0" * 239, "17175559636" + "0" * 240]
    for _ in range(1500):
        example = phonenumbers.example_number_for_type(
            rng.choice(REGIONS), phonenumbers.PhoneNumberType.MOBILE
        )
        digits = rng.choice(_formats(example)[3:])  # E.164 without `+`, or national
        digits = "".join(rng.choice("0123456789") if rng.random() < 0.2 else c for c in digits)
        digits = rng.choice(["", "", "0", "1", "00", "011", "0011", "8"]) + digits
        texts.append(digits[: rng.randint(1, len(digits))] if rng.random() < 0.2 else digits)
        cut = rng.randint(0, len(digits))
        odd = rng.choice(["+", " ", "-", "x1", " x12", "\uff11", "a", "/", "."])
        texts.append(digits[:cut] + odd + digits[cut:])
    assert _disagreements(texts, region) == []


# National prefixes of digits alone (`1`, `0`, `8`), cut without a regex: written once or
# twice, after the calling code, or where cutting one leaves no number the library takes.
# Indonesia's `0` before `0218...` stays: cut, the rest no longer matches the region's
# general pattern (seen with `possible`, which asks for a possible length alone).
_PREFIXED = {
    ("US", "valid"): ["1 717 555 9636", "11 717 555 9636", "117175559636", "1 (1) 717 555 9636"],
    ("DE", "valid"): ["030 123456", "0301 23456", "49 030 123456", "4930123456", "0301", "030"],
    ("RU", "valid"): ["8 912 345 67 89", "78 912 345 67 89", "88123456789", "7 8 812 345 67 89"],
    ("GB", "valid"): ["020 7946 0958", "440 20 7946 0958", "44 020 7946 0958", "0207 946 095"],
    ("ID", "possible"): ["00218350123", "0 0218 350 123", "62 0 0218350123", "021 8350 123"],
}


@pytest.mark.parametrize(("region", "validation"), sorted(_PREFIXED))
def test_a_national_prefix_of_digits_alone_is_cut_as_the_library_cuts_it(
    region: str, validation: PhoneValidation
) -> None:
    texts = _PREFIXED[region, validation]
    fast = fast_e164(pl.Series(texts), region, validation).to_list()
    assert None not in fast, fast
    assert fast == [library_e164(t, region, validation) or "" for t in texts]


def test_length_tests_say_what_the_library_says_of_each_length() -> None:
    """Whether a number's length is possible, too long, or refused (too short, local only,
    invalid) is tested on its length alone, for every region the library knows."""
    lengths = pl.Series(list(range(25)), dtype=pl.UInt32)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = PhoneMetadata.metadata_for_region(region)
        assert meta is not None
        rules = _Rules.of(meta)
        said = [_test_number_length("5" * n, meta) for n in range(25)]
        possible = [r == ValidationResult.IS_POSSIBLE for r in said]
        long = [r == ValidationResult.TOO_LONG for r in said]
        assert _on(lengths, rules.possible_expr(pl.col("x"))).to_list() == possible, region
        assert _on(lengths, rules.long_expr(pl.col("x"))).to_list() == long, region
        refused = [not (p or g) for p, g in zip(possible, long, strict=True)]
        assert _on(lengths, rules.refused_expr(pl.col("x"))).to_list() == refused, region
