"""`python -m bench.stages STAGE ARGS_JSON OUT_JSON`: one measured stage, run in a process of
its own by `bench.measure.run_stage`; it writes what it measured to OUT_JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import audiences, reruns, sftp, tables, validation

STAGES: dict[str, Callable[..., dict[str, Any]]] = {
    "generate": tables.generate_set,
    "floor": tables.floor,
    "pipeline": tables.pipeline,
    "validation": validation.compare,
    "email": audiences.email,
    "sms": audiences.sms,
    "sftp": sftp.compare,
    "reruns": reruns.reruns,
}


def main(argv: list[str]) -> int:
    stage, args, out = argv
    result = STAGES[stage](**json.loads(args))
    Path(out).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
