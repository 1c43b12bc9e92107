"""A separate process that publishes a set of files over SFTP, for the test that kills it
mid-upload (`test_sftp_publish.py`).

    python -m listrak_assets_tests.sftp_publish ARGS_JSON

ARGS_JSON: {"config": SftpConfig fields, "folder": remote folder, "files": [[local path, remote
name], ...], "name": the name the set is rendered from}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from listrak_assets.files import DONE_SUFFIX, variants
from listrak_assets.sftp import SftpConfig
from listrak_assets.sftp.publish import publish
from listrak_assets.sftp.uploader import SftpUploader


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    config = SftpConfig(**args["config"])
    files = [(Path(local), name) for local, name in args["files"]]
    with SftpUploader(config) as uploader:
        publish(
            uploader,
            args["folder"],
            files,
            variants(args["name"]),
            marker_suffix=DONE_SUFFIX,
            markers=False,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
