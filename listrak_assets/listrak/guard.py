"""The removal guard: a send that would empty or gut an audience is refused before its first
write. Pure: counts and limits in, a verdict out.

A truncated export, a header-only file or a wrong file of the right size all look like a
valid audience to the sink, and mirroring it would turn off (or unsubscribe) everyone who is
not in it. So a send is measured against the members of the last successful send
(`previous`): net shrink catches truncated files, the leaver share and count catch a wrong
file of the right size. Defaults follow the deletion thresholds of other sync tools (AWS's
connector deletion protection: 15%; Microsoft Entra's accidental-deletion threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from listrak_assets.listrak.errors import ListrakError
from listrak_assets.settings import RemovalLimits

# The run tag that lifts the guard for one run: `true` for every channel, or a
# comma-separated list of channels (`email`, `sms`).
OVERRIDE_TAG = "listrak/allow_removals"


class RemovalRefused(ListrakError):
    """The send would remove more of the audience than its guard allows."""


@dataclass(frozen=True)
class Removal:
    """What a send would do to the audience, counted."""

    previous: int | None  # members of the last successful send; None: a first send
    audience: int  # members after this send
    leavers: int  # members of `previous` this send removes

    @property
    def shrink_share(self) -> float:
        """Net shrink as a share of `previous`: `(previous - audience) / previous`."""
        if not self.previous:
            return 0.0
        return max(self.previous - self.audience, 0) / self.previous

    @property
    def leaver_share(self) -> float:
        return self.leavers / self.previous if self.previous else 0.0

    def as_metadata(self) -> dict[str, Any]:
        return {
            "previous_members": self.previous if self.previous is not None else -1,
            "audience_members": self.audience,
            "members_to_remove": self.leavers,
            "shrink_share": round(self.shrink_share, 4),
            "leaver_share": round(self.leaver_share, 4),
        }


@dataclass(frozen=True)
class Verdict:
    """Allowed when `problems` is empty; otherwise `message` says why and how to override."""

    removal: Removal
    problems: tuple[str, ...]
    message: str

    @property
    def allowed(self) -> bool:
        return not self.problems


def _share(value: float) -> str:
    return f"{value:.1%}"


def override_hint(channel: str) -> str:
    """How to lift the guard once and for good; part of every refusal."""
    return (
        f"If this is intended, run once with the run tag {OVERRIDE_TAG}=true (or "
        f"{OVERRIDE_TAG}={channel} for this channel only; in the UI: Materialize, then "
        f"'Add tags'), or change the limits for good under `{channel}.guard:` in listrak.yaml "
        "(max_shrink_share, max_leaver_share, max_leavers)."
    )


def judge(channel: str, removal: Removal, limits: RemovalLimits) -> Verdict:
    """Allow or refuse a send of `channel` (`email` or `sms`). A first send (no previous
    members) is refused only when its audience is empty."""
    key = f"{channel}.guard"
    problems: list[str] = []
    if removal.audience == 0:
        problems.append("the new audience is empty")
    if removal.previous:
        if removal.shrink_share > limits.max_shrink_share:
            problems.append(
                f"the audience shrank by {_share(removal.shrink_share)}, more than "
                f"{key}.max_shrink_share ({_share(limits.max_shrink_share)})"
            )
        if removal.leaver_share > limits.max_leaver_share:
            problems.append(
                f"{_share(removal.leaver_share)} of the previous members would leave, more "
                f"than {key}.max_leaver_share ({_share(limits.max_leaver_share)})"
            )
    if limits.max_leavers is not None and removal.leavers > limits.max_leavers:
        problems.append(
            f"{removal.leavers:,} members would leave, more than {key}.max_leavers "
            f"({limits.max_leavers:,})"
        )
    if not problems:
        return Verdict(removal, (), "")
    previous = "none (first send)" if removal.previous is None else f"{removal.previous:,}"
    message = (
        f"{channel} audience send refused before any write: it would remove "
        f"{removal.leavers:,} members (previous members: {previous}; new audience: "
        f"{removal.audience:,}): {'; '.join(problems)}. Check the input file first. "
        + override_hint(channel)
    )
    return Verdict(removal, tuple(problems), message)


def missing_remedy(channel: str, table: str) -> str:
    """What to do when an audience's input files are absent (they are never read as an
    empty audience)."""
    return (
        f"if this destination has no {channel} audience, set `{channel}.enabled: false` in "
        f"listrak.yaml and reload the code location; to empty the audience on purpose, drop a "
        f"header-only {table}.csv and run once with the run tag {OVERRIDE_TAG}={channel}."
    )


def overridden_for(tag_value: str | None, channel: str) -> bool:
    """Whether the override tag's value lifts the guard of `channel`."""
    if not tag_value:
        return False
    words = {w.strip().lower() for w in tag_value.split(",")}
    return "true" in words or channel in words
