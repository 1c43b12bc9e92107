"""Upload throughput: the project's SFTP uploader against OpenSSH's `sftp -c
aes128-gcm@openssh.com` (the uploader's cipher), same random file, same local OpenSSH sshd
(the one the tests start), alternating round by round; single rounds vary by about 30%
(disk write-back), so the ratio is of the medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from listrak_assets.sftp import SftpConfig
from listrak_assets.sftp.uploader import SftpUploader
from listrak_assets_tests.sshd import Sshd, make_user_keys, run_sshd

CHUNK = 8 << 20
OPENSSH_CIPHER = "aes128-gcm@openssh.com"


def _write_random(path: Path, size: int) -> None:
    """Incompressible bytes, so no layer can make the test easy."""
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            out.write(block)
            left -= len(block)


def _openssh(sshd: Sshd, key: Path, source: Path, target: str) -> float:
    batch = source.with_suffix(".batch")
    batch.write_text(f"put {source} {target}\n")
    command = ["sftp", "-F", "/dev/null", "-q", "-b", str(batch), "-i", str(key), "-P"]
    command += [str(sshd.port), "-o", f"UserKnownHostsFile={sshd.known_hosts}"]
    command += ["-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]
    command += ["-c", OPENSSH_CIPHER]
    started = time.perf_counter()
    subprocess.run([*command, f"{sshd.username}@{sshd.host}"], check=True, capture_output=True)
    return time.perf_counter() - started


def _ours(config: SftpConfig, source: Path, target: str) -> tuple[float, str]:
    started = time.perf_counter()
    with SftpUploader(config) as uploader:
        uploader.upload(source, target)
        cipher = uploader.cipher or "?"
    return time.perf_counter() - started, cipher


def compare(size_mb: int, rounds: int) -> dict[str, Any]:
    """`rounds` alternating rounds (which goes first alternates too); medians and ratio."""
    size = size_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="sftp-bench-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        source = folder / "upload.bin"
        _write_random(source, size)
        keys = make_user_keys(folder)
        with run_sshd(keys) as sshd:
            config = SftpConfig(
                host=sshd.host,
                port=sshd.port,
                username=sshd.username,
                private_key=str(keys.plain),
                known_hosts=sshd.known_hosts,
            )
            theirs: list[float] = []
            ours: list[float] = []
            cipher = ""
            for round_ in range(rounds):
                for name in ("openssh.bin", "ours.bin"):
                    (sshd.root / name).unlink(missing_ok=True)
                order = ("openssh", "ours") if round_ % 2 == 0 else ("ours", "openssh")
                for who in order:
                    os.sync()  # each upload starts with no dirty pages left by the one before
                    if who == "openssh":
                        theirs.append(
                            _openssh(sshd, keys.plain, source, str(sshd.root / "openssh.bin"))
                        )
                    else:
                        seconds, cipher = _ours(config, source, str(sshd.root / "ours.bin"))
                        ours.append(seconds)
                if (sshd.root / "ours.bin").stat().st_size != size:
                    raise RuntimeError("the uploader's copy has the wrong size")
    base, mine = statistics.median(theirs), statistics.median(ours)
    return {
        "size_mb": size_mb,
        "rounds": rounds,
        "uploader_cipher": cipher,
        "openssh_seconds": theirs,
        "uploader_seconds": ours,
        "openssh_mb_s": size / base / 1e6,
        "uploader_mb_s": size / mine / 1e6,
        "ratio": base / mine,
    }
