"""Local erasure of one input file: only the forgotten person's records go, every other byte
stays (header, quoting, line ends, encoding, BOM)."""

from __future__ import annotations

from pathlib import Path

from listrak_assets.erasure.scrub import Erasure, Matcher, scrub_inputs
from listrak_assets.suppression import Suppression, digest

SALT = "erasure-test-salt-0123456789abcdef"
EMAIL = "forget.me@example.org"


def test_an_input_file_keeps_its_bytes_but_for_the_removed_records(tmp_path: Path) -> None:
    """BOM, CRLF line ends, quoting and a quoted line break survive; only the person's
    record (two physical lines here) goes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    kept = '\ufeffEmail,Note\r\n"a@example.org","x, y"\r\n"b@example.org","two\r\nlines"\r\n'
    gone = '"Forget.Me@Example.org ","also\r\nhers"\r\n'
    path = inbox / "email_audience.csv"
    path.write_bytes((kept + gone + 'c@example.org,"z"\r\n').encode("utf-8"))
    other = tmp_path / "archive"
    other.mkdir()
    latin = other / "customers.txt"
    latin.write_bytes(
        "email;name\nforget.me@example.org;Zoë\nz@example.org;Chloé\n".encode("latin-1")
    )
    matcher = Matcher(Suppression(SALT, emails=frozenset({digest(SALT, "email", EMAIL)})))
    erasure = Erasure()
    scrub_inputs(inbox, matcher, erasure, by_origin=False, encoding="utf-8", delimiter=",")
    assert path.read_bytes() == (kept + 'c@example.org,"z"\r\n').encode("utf-8")
    scrub_inputs(other, matcher, Erasure(), by_origin=False, encoding="latin-1", delimiter=";")
    assert latin.read_bytes() == "email;name\nz@example.org;Chloé\n".encode("latin-1")
    assert erasure.removed == {"inbox/email_audience.csv": 1}
