"""Upload throughput: our SFTP uploader against OpenSSH's `sftp` client, in one run, same file,
same local sshd (the one the tests start).

    python benchmarks/sftp_upload.py --size-mb 500 --repeat 3 [--profile]

Each round uploads the file once with `sftp -b` (OpenSSH's defaults, no user config) and once
with the uploader, both logging in with the same key and counting their connection set-up,
and prints both throughputs and their ratio (median of the rounds). `--profile` adds one
profiled upload and prints where the uploading thread spends its time. Not a test: timings
depend on the machine, the ratio much less so.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from listrak_assets.sftp import SftpConfig, SftpUploader
from listrak_assets_tests.sshd import Sshd, make_user_keys, run_sshd

CHUNK = 8 << 20


def _write_random(path: Path, size: int) -> None:
    """Incompressible bytes, so no layer can make the test easy."""
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            out.write(block)
            left -= len(block)


def _openssh(sshd: Sshd, key: Path, source: Path, target: str, cipher: str | None) -> float:
    batch = source.with_suffix(".batch")
    batch.write_text(f"put {source} {target}\n")
    command = ["sftp", "-F", "/dev/null", "-q", "-b", str(batch), "-i", str(key), "-P"]
    command += [str(sshd.port), "-o", f"UserKnownHostsFile={sshd.known_hosts}"]
    command += ["-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]
    command += ["-c", cipher] if cipher else []
    started = time.perf_counter()
    subprocess.run([*command, f"{sshd.username}@{sshd.host}"], check=True, capture_output=True)
    return time.perf_counter() - started


def _ours(config: SftpConfig, source: Path, target: str) -> tuple[float, str]:
    started = time.perf_counter()
    with SftpUploader(config) as uploader:
        uploader.upload(source, target)
        cipher = uploader.cipher or "?"
    return time.perf_counter() - started, cipher


def _profile(config: SftpConfig, source: Path, target: str) -> None:
    profile = cProfile.Profile()
    profile.enable()
    _ours(config, source, target)
    profile.disable()
    print("\nWhere the uploading thread spends its time (cProfile, top 15 by own time; the")
    print("transport's reader thread is not in it):\n")
    pstats.Stats(profile).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    size = args.size_mb * 1_000_000

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
            print(f"{args.size_mb} MB to OpenSSH sshd on {sshd.host}:{sshd.port}\n")
            theirs, ours, same_cipher = [], [], []
            cipher = ""
            for round_ in range(1, args.repeat + 1):
                for name in ("openssh.bin", "gcm.bin", "ours.bin"):
                    (sshd.root / name).unlink(missing_ok=True)
                # Each upload starts with no dirty pages left by the one before.
                os.sync()
                t_theirs = _openssh(sshd, keys.plain, source, str(sshd.root / "openssh.bin"), None)
                os.sync()
                t_ours, cipher = _ours(config, source, str(sshd.root / "ours.bin"))
                os.sync()
                t_same = _openssh(sshd, keys.plain, source, str(sshd.root / "gcm.bin"), cipher)
                theirs.append(t_theirs)
                ours.append(t_ours)
                same_cipher.append(t_same)
                assert (sshd.root / "ours.bin").stat().st_size == size
                print(
                    f"round {round_}: OpenSSH sftp {t_theirs:.2f} s, uploader {t_ours:.2f} s "
                    f"({cipher}), OpenSSH sftp -c {cipher} {t_same:.2f} s"
                )
            base, mine, same = (statistics.median(x) for x in (theirs, ours, same_cipher))
            print(
                f"\nOpenSSH sftp, defaults:       {size / base / 1e6:7.1f} MB/s ({base:.2f} s)\n"
                f"uploader:                     {size / mine / 1e6:7.1f} MB/s ({mine:.2f} s)\n"
                f"OpenSSH sftp -c {cipher}: {size / same / 1e6:7.1f} MB/s ({same:.2f} s)\n"
                f"\nratio uploader / OpenSSH defaults: {base / mine:.2f}x (target >= 0.9x)\n"
                f"ratio uploader / OpenSSH, same cipher: {same / mine:.2f}x"
            )
            if args.profile:
                _profile(config, source, str(sshd.root / "ours.bin"))


if __name__ == "__main__":
    main()
