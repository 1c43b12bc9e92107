"""Typed errors for everything Listrak (or the road to it) can refuse.

Each message says what to do about it. None carries a secret, and Listrak's own messages are
masked (email addresses, phone numbers) before they are quoted, since they end up in run logs.
"""

from __future__ import annotations

from listrak_assets.privacy import mask_text

ALLOWLIST_HINT = (
    "check the client id/secret and that this machine's IP is on the integration's allowlist"
)


class ListrakError(Exception):
    """Anything that stopped a Listrak operation."""


class ListrakConfigError(ListrakError):
    """The client is missing a setting or a credential (the message names the variable)."""


class ListrakAuthError(ListrakError):
    """Listrak refused the credentials or the token: wrong id/secret, blocked IP, paused
    integration, or an integration without access to the area."""

    def __init__(self, integration: str, detail: str) -> None:
        self.integration = integration
        super().__init__(f"Listrak {integration} API: {detail}; {ALLOWLIST_HINT}")


class ListrakApiError(ListrakError):
    """Listrak answered with its error envelope `{status, error, message}`."""

    def __init__(self, status: int, code: str | None, message: str, method: str, path: str) -> None:
        self.status = status
        self.code = code
        self.listrak_message = mask_text(message)
        self.method = method
        self.path = path
        what = f"{code}: {self.listrak_message}" if code else self.listrak_message
        super().__init__(f"Listrak answered {status} to {method} {path}: {what}")


class ListrakNotFound(ListrakApiError):
    """404 `ERROR_UNABLE_TO_LOCATE_RESOURCE`: an id that Listrak doesn't know."""


class ListrakUnavailable(ListrakError):
    """429s, 5xx answers, timeouts or dropped connections outlasted every retry."""

    def __init__(self, method: str, path: str, attempts: int, cause: str) -> None:
        self.method = method
        self.path = path
        self.attempts = attempts
        super().__init__(
            f"Listrak did not answer {method} {path} after {attempts} attempts (last: {cause}); "
            "try again later, or raise the retry settings if this keeps happening"
        )


class OutcomeUnknown(ListrakUnavailable):
    """A request that creates something was sent but its answer was lost: it may or may not
    have been applied, so it is not blindly repeated (the caller looks first)."""

    def __init__(self, method: str, path: str, attempts: int, cause: str) -> None:
        ListrakError.__init__(
            self,
            f"Listrak's answer to {method} {path} was lost {attempts} time(s) (last: {cause}), "
            "so whether it was applied is unknown; it was looked up rather than sent again. "
            "Run again: the next run finds what was applied and sends only the rest",
        )
        self.method = method
        self.path = path
        self.attempts = attempts
        self.cause = cause


class ListNotFound(ListrakError):
    """The configured list name is not a list of the account. Lists are never created."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        names = ", ".join(repr(n) for n in sorted(available)) or "(none)"
        super().__init__(
            f"invalid list name {name!r}: no Listrak email list has that exact name. "
            f"Lists this integration can see: {names}. Fix `list_name` in the settings; "
            "lists are never created automatically"
        )


class FieldConflict(ListrakError):
    """A profile field exists under the wanted name but can't be used as it is."""


class UnmatchedColumns(ListrakError):
    """Audience columns have no profile field and the policy is `fail`."""

    def __init__(self, columns: list[str], group: str, fields: list[str]) -> None:
        self.columns = columns
        existing = ", ".join(sorted(fields)) or "(none)"
        super().__init__(
            f"audience columns {', '.join(columns)} have no profile field in group {group!r} "
            f"(fields there: {existing}). Create the fields in Listrak, rename the columns, "
            "or set `unmatched_columns` to `warn` (drop them) or `create`"
        )


class ImportFailed(ListrakError):
    """A list import ended in a failed state."""

    def __init__(self, import_id: str, file_name: str, status: str) -> None:
        self.import_id = import_id
        self.file_name = file_name
        self.status = status
        super().__init__(
            f"Listrak list import {import_id} ({file_name}) ended with status {status!r}. "
            "Nothing after it was sent and the membership state was not advanced, so the next "
            "run sends everything again; see the import in Listrak (Contacts > Import History)"
        )


class ImportTimedOut(ListrakError):
    """A list import was still running when the poll timeout ran out."""

    def __init__(
        self,
        import_id: str,
        file_name: str,
        status: str,
        seconds: float,
        unknown: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.import_id = import_id
        self.status = status
        words = ""
        if unknown:
            listed = ", ".join(repr(w) for w in sorted(unknown))
            words = (
                f" Its status words ({listed}) are unknown to this pipeline and Listrak gave no "
                "end date, so it could not tell whether the import finished: check the import "
                "in Listrak, and report the word so it can be recognised."
            )
        super().__init__(
            f"Listrak list import {import_id} ({file_name}) was still {status!r} after "
            f"{seconds:.0f} s; raise `email.poll_timeout_seconds` or check the import in Listrak. "
            "The membership state was not advanced, so the next run sends everything again." + words
        )
