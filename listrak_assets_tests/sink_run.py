"""A Dagster run of one file sink in a process of its own, on a test's instance, as `make demo`
runs the job (in process, tagged with this machine): for the tests that kill a run while its
sink holds the pool slot (`test_pools.py`).

    python -m listrak_assets_tests.sink_run ARGS_JSON

ARGS_JSON: {"instance_ref": serialized InstanceRef, "settings": path of listrak.yaml,
"sftp": ListrakSftp fields, "table": a table of the file sinks}.
"""

from __future__ import annotations

import json
import sys

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import deserialize_value

from listrak_assets.definitions import defs
from listrak_assets.defs.pools import host_tags
from listrak_assets.defs.resources import (
    ListrakEmailApi,
    ListrakErasure,
    ListrakPrivacyApi,
    ListrakSftp,
    ListrakSmsApi,
    ParquetIOManager,
)
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.defs.sftp_sinks import file_key


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    ref = deserialize_value(args["instance_ref"], InstanceRef)
    settings = ListrakSettings(path=args["settings"])
    with dg.DagsterInstance.from_ref(ref) as instance:
        result = dg.materialize(
            list(defs.assets or []),
            selection=[file_key(args["table"])],
            resources={
                "settings": settings,
                "io_manager": ParquetIOManager(settings=settings),
                "sftp": ListrakSftp(**args["sftp"]),
                "listrak_email": ListrakEmailApi(),  # not used by a file sink
                "listrak_sms": ListrakSmsApi(),
                "listrak_privacy": ListrakPrivacyApi(),
                "erasure": ListrakErasure(),
            },
            instance=instance,
            tags=host_tags(),
            raise_on_error=False,
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
