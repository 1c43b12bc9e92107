"""The error a user sees for a bad input file: file, line, column and what to do."""

from __future__ import annotations

import re

from listrak_assets.privacy import mask_text


class InputFileError(ValueError):
    """An input file that can't be read as a table."""

    def __init__(
        self, file: str, problem: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem
        where = file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {problem}")


# A value polars quotes in its messages: between backticks or quotes, or from an opening
# backtick to the end of the line when the value itself held a line break.
_QUOTED = re.compile(r"`[^`]*`|\"[^\"]*\"|'[^']*'|`.*$")


def library_problem(err: Exception, restrict_pii: bool) -> str:
    """The first line of a library's error, fit to show: polars quotes the cell it choked on
    (`could not parse \\`"Ann\\` ...`), so with PII restricted every quoted value is hidden, and
    email addresses and phone numbers are masked in any case."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else type(err).__name__
    if restrict_pii:
        text = _QUOTED.sub("`***`", text)
    return mask_text(text)
