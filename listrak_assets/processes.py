"""Whether a process of this machine still exists: how a killed writer or run is told apart
from a live one."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True unless no process `pid` exists on this machine (another user's counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
