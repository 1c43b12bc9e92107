"""The error a user sees for a bad input file: file, line, column and what to do."""

from __future__ import annotations


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
