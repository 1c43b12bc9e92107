"""Publishing a set of files (a table's file, or its split parts) so that Listrak's importer never
sees old and new files side by side.

Every new file is first uploaded under its temporary name; nothing visible changes while the
upload runs, so a failed or killed run leaves the previous set as it was. Then:

- one file replacing the file of the same name (the usual daily re-run): it is renamed over the
  old one in one step, so there is no moment without a file;
- anything else (split parts, or a file taking another shape: other parts, another
  compression): the previous set is removed first, markers before data, and then the new files
  are renamed in. The folder goes from the old set to no set to the new set, never a mix: a
  re-run that now makes 2 parts never leaves the old part 3 beside the new parts 1 and 2.

Then each file's marker (if asked), and last, what earlier failed runs left under temporary
names. No Dagster inside.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from listrak_assets.sftp.config import UploadResult
from listrak_assets.sftp.uploader import SftpUploader


@dataclass(frozen=True)
class Published:
    uploads: list[UploadResult]  # in the order of the files given
    removed: list[str]  # names of the previous set that the new one does not have


def publish(
    uploader: SftpUploader,
    folder: str,
    files: Sequence[tuple[Path, str]],
    pattern: re.Pattern[str],
    *,
    marker_suffix: str,
    markers: bool,
) -> Published:
    """Put `files` ((local path, remote name) pairs) in `folder` in place of every file whose
    name matches `pattern` (the previous set, in any shape), each followed by an empty marker
    `NAME + marker_suffix` when `markers` is true."""
    names = [name for _, name in files]
    keep = set(names) | ({name + marker_suffix for name in names} if markers else set())
    staged = [uploader.stage(local, posixpath.join(folder, name)) for local, name in files]

    previous = [name for name in uploader.listdir(folder) if pattern.fullmatch(name)]
    old_markers = [n for n in previous if n.endswith(marker_suffix)]
    old_files = [n for n in previous if n not in old_markers]
    if len(names) == 1 and set(old_files) <= set(names):
        # One file over itself: an atomic rename; only markers no longer wanted go first.
        take_down = [n for n in old_markers if n not in keep]
    else:
        # Markers first: none may vouch for a file that is about to go.
        take_down = old_markers + old_files
    for name in take_down:
        uploader.remove(posixpath.join(folder, name))

    uploads = [uploader.commit(job) for job in staged]
    for upload in uploads if markers else []:
        uploader.put_marker(upload.remote_path + marker_suffix)
    leftovers = uploader.remove_stale(folder, pattern, keep)
    removed = sorted({n for n in take_down if n not in keep} | set(leftovers))
    return Published(uploads, removed)
