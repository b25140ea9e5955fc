"""Forked worker processes against threads, in-process: why the CLI hashes many files in processes.

    .venv/bin/python benchmarks/workers.py            # 5,000 x 256 KiB, 25,000 x 16 KiB, 100,000 x 4 KiB
    .venv/bin/python benchmarks/workers.py --quick    # a tenth of each

``hashing.hash_files`` over every file of a folder with two forked workers (what the CLI does), with
two threads as a server or a kernel uses them (forking a process with threads is unsafe; the second
starts once a file of ``hashing.THREADS_FROM`` bytes is met), with two threads from the start, and
with one worker, the baseline; best of ``--repeat`` runs each, the three interleaved. The files are written to
a temporary folder, read once into the page cache, and deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from run import distinct_files  # benchmarks/run.py, beside this script

from jupyter_sigstore import hashing


def best_times(paths: list[str], repeat: int) -> dict[str, float]:
    # (jobs, forked, threads all from the start): "as used" starts the second thread only once a file
    # of hashing.THREADS_FROM bytes is met, which is what a server or a kernel does
    sides = {
        "2 forked workers": (2, True, False),
        "2 threads as used": (2, False, False),
        "2 threads from the start": (2, False, True),
        "1 worker": (1, False, False),
    }
    best: dict[str, float] = {}
    fork_min, threads_from = hashing.FORK_MIN_FILES, hashing.THREADS_FROM
    try:
        for _ in range(repeat):
            for label, (jobs, fork, at_once) in sides.items():
                hashing.FORK_MIN_FILES = fork_min if fork else len(paths) + 1
                hashing.THREADS_FROM = 0 if at_once else threads_from
                start = time.perf_counter()
                hashing.hash_files(paths, jobs=jobs)
                best[label] = min(best.get(label, float("inf")), time.perf_counter() - start)
    finally:
        hashing.FORK_MIN_FILES, hashing.THREADS_FROM = fork_min, threads_from
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the files (a smoke run)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per side (the best is kept)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {hashing.default_jobs()} CPUs usable"
    )
    work = Path(tempfile.mkdtemp(prefix="jss-workers-"))
    try:
        for count, size in (
            (5000 // scale, 256 << 10),
            (25_000 // scale, 16 << 10),
            (100_000 // scale, 4 << 10),
        ):
            folder = work / f"{count}x{size}"
            folder.mkdir()
            paths = [str(folder / name) for name in distinct_files(folder, "", count, size)]
            best = best_times(paths, args.repeat)
            base = best["1 worker"]
            shown = ", ".join(f"{label} {t:.3f} s ({base / t:.2f}x)" for label, t in best.items())
            print(f"{count:,} files of {size >> 10} KiB, best of {args.repeat}: {shown}")
            shutil.rmtree(work / f"{count}x{size}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
