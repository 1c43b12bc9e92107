"""How names compare: Listrak's profile fields, and input headers against Listrak's columns.

Two rules, kept side by side so that the reader and the sinks never disagree about which
column is which. Listrak compares profile-field names without regard to case or surrounding
spaces (`name_key`), so `first name` and `firstname` are two different fields there. Listrak's
own file columns are lower case without separators (`firstname`, `zipcode`), and exports spell
them every way (`First Name`, `first_name`, `First-Name`): a header finds one of Listrak's
columns by `column_key`, which also ignores spaces, underscores, hyphens and invisible
formatting characters. A header that finds none keeps its name, and the sinks match it to a
profile field by `name_key`.
"""

from __future__ import annotations

import re
import unicodedata

# Spaces of any kind, underscores and hyphens: what exports put between the words of a name.
_SEPARATORS = re.compile(r"[\s_\-]+")


def name_key(name: str) -> str:
    """The form under which Listrak compares profile-field names."""
    return name.strip().casefold()


def column_key(name: str) -> str:
    """The form under which a header matches one of Listrak's column names: compatibility
    forms folded (full-width letters), invisible characters (zero-width space, BOM, direction
    marks) dropped, then case, spaces, underscores and hyphens ignored."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return _SEPARATORS.sub("", text).casefold()
