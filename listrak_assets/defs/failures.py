"""How a failed step is told to a person: the reason without the stack trace, and what to do.

Shared by the command line's progress output and the run-failure alerts.
"""

from __future__ import annotations

# What to do, by a phrase of the reason; the first match wins. The reasons our own errors give
# already say what to set; these add the step after that.
_ADVICE = (
    ("refused before any write", "Nothing was sent. If the removals are intended, re-run "
     "with the run tag named above."),
    ("credentials missing", "Set the variables named above where the code location runs, "
     "then re-execute the run from the failure."),
    ("is not configured", "Set the variables named above where the code location runs, then "
     "re-execute the run from the failure."),
    ("host key", "Trust the server's host key as described above, then re-execute the run "
     "from the failure."),
    ("listrak.yaml", "Fix the setting named above, then re-execute the run from the failure."),
)  # fmt: skip
DEFAULT_ADVICE = (
    "Fix what the reason names, then re-execute the run from the failure (the run's page in "
    "the UI: Re-execute, From failure); its event log has every step's details."
)


def failure_text(data: object) -> str:
    """A failed step's reason: the description a `dg.Failure` carries, or the error's own
    message (its cause's, when Dagster wrapped it), without the stack trace."""
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return str(user.description)
    error = getattr(data, "error", None)
    if error is None:
        return "no reason given"
    while error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name:
        error = error.cause
    return str(error.message).strip()


def what_to_do(reason: str) -> str:
    lowered = reason.lower()
    return next((advice for phrase, advice in _ADVICE if phrase in lowered), DEFAULT_ADVICE)
