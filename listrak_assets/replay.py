"""`python -m listrak_assets.replay 2026-12-01`: copy the files archived that day back into
the inbox, so they are read and published again (the inbox sensor picks them up once they
have settled; `make demo` or a job from the UI reads them at once)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from listrak_assets.inbox.archive import ReplayError, day_folder, replay
from listrak_assets.settings import SettingsError, load_settings
from listrak_assets.storage import text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m listrak_assets.replay",
        description="Copy the input files archived on DATE back into the inbox.",
    )
    parser.add_argument("date", type=dt.date.fromisoformat, help="the archive day, YYYY-MM-DD")
    parser.add_argument(
        "--config", type=Path, help="the settings file (default: LISTRAK_CONFIG or listrak.yaml)"
    )
    args = parser.parse_args(argv)
    try:
        conf = load_settings(args.config)
        copied = replay(conf.archive, args.date, conf.inbox)
    except (SettingsError, ReplayError, OSError) as err:
        print(f"replay: {err}", file=sys.stderr)
        return 1
    source = text(day_folder(conf.archive, args.date))
    print(f"copied {len(copied)} file(s) from {source} to {conf.inbox}:")
    for path in copied:
        print(f"  {path.name}")
    print(
        f"The inbox sensor starts a run for them once unchanged for "
        f"{conf.inbox_settle_seconds:g} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
