"""What ``jupyter-sigstore run`` costs over plain nbclient execution of the same notebook.

    .venv/bin/python benchmarks/run_overhead.py [--repeat 5] [--mib 64]

Two comparisons, each interleaved so that background load hits both sides alike. In this process:
``nbclient.NotebookClient(nb).execute()`` and writing the notebook, against ``api.prepare_run`` plus
``api.sign_run`` (imports already paid). As whole processes: ``jupyter execute NB --inplace``
(nbclient's own command) against
``jupyter-sigstore run NB --output data.bin`` (execute in a scrubbed environment with the kernel probe,
then sign the notebook, the output and a SLSA provenance with one certificate on the loopback
Sigstore instance). The notebook writes a ``--mib`` MiB data file, which ``run`` also hashes. Prints
the medians, their difference, the ratio, the CPU seconds of each process and its kernel (what the
target is judged on: background load on a shared machine moves wall times by seconds), and the hashing
time of that file alone (the target is "under one second plus hashing").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_sigstore.testing import LocalSigstore

BIN = Path(sys.executable).parent


def _notebook(mib: int) -> dict[str, object]:
    cells = [
        "import math, random\nrandom.seed(1)\nvalues = [random.random() for _ in range(100_000)]",
        "print(sum(values) / len(values))",
        f"with open('data.bin', 'wb') as out:\n    out.write(random.randbytes({mib} << 20))",
        "print(math.fsum(v * v for v in values))",
    ]
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{n}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": s,
            }
            for n, s in enumerate(cells)
        ],
    }


CPU: dict[str, list[float]] = {"plain": [], "run": []}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], side: str) -> float:
    """Wall seconds of a whole process; its CPU seconds (kernel included) go to ``CPU[side]``, a
    figure that background load on a shared machine disturbs far less than wall time."""
    cpu = _cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    CPU[side].append(_cpu() - cpu)
    if done.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd[:3])}…\n{done.stderr[-2000:]}")
    return elapsed


def _in_process(
    work: Path, mib: int, repeat: int, tc: Path, inst: LocalSigstore
) -> tuple[list[float], list[float]]:
    import nbformat
    from nbclient import NotebookClient

    from jupyter_sigstore import api
    from jupyter_sigstore.oidc.tokens import parse_token

    instance = api.Instance.select(trust_config=str(tc))
    plain: list[float] = []
    ran: list[float] = []
    for n in range(repeat):
        for side in ("plain", "run") if n % 2 == 0 else ("run", "plain"):
            folder = work / f"in-{side}{n}"
            folder.mkdir()
            path = folder / "nb.ipynb"
            path.write_text(json.dumps(_notebook(mib)))
            start = time.perf_counter()
            if side == "plain":
                nb = nbformat.read(str(path), as_version=4)
                NotebookClient(nb, resources={"metadata": {"path": str(folder)}}).execute()
                nbformat.write(nb, str(path))
                plain.append(time.perf_counter() - start)
            else:
                token = parse_token(inst.mint_token("bench@example.com", expires_in=600), "benchmark")
                options = api.RunOptions(outputs=(str(folder / "data.bin"),), instance=instance)
                api.sign_run(api.prepare_run(path, options), api.keyless_signer(token, instance))
                ran.append(time.perf_counter() - start)
    return plain, ran


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mib", type=int, default=64, help="size of the data output the notebook writes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jupyter-sigstore-run-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
    plain_times: list[float] = []
    run_times: list[float] = []
    try:
        with LocalSigstore(rekor_version=1) as inst:
            tc = inst.write_trust_config(work / "trust_config.json")
            os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
            in_plain, in_run = _in_process(work, args.mib, args.repeat, tc, inst)
            for n in range(args.repeat):
                for side in ("plain", "run") if n % 2 == 0 else ("run", "plain"):
                    folder = work / f"{side}{n}"
                    folder.mkdir()
                    (folder / "nb.ipynb").write_text(json.dumps(_notebook(args.mib)))
                    if side == "plain":
                        plain_times.append(
                            _timed([str(BIN / "jupyter-execute"), "nb.ipynb", "--inplace"], folder, env, side)
                        )
                    else:
                        token = inst.mint_token("bench@example.com", expires_in=600)
                        cmd = [str(BIN / "jupyter-sigstore"), "run", "nb.ipynb", "--output", "data.bin"]
                        cmd += ["--trust-config", str(tc), "--identity-token", token]
                        run_times.append(_timed(cmd, folder, env, side))
            data = work / "run0" / "data.bin"
            start = time.perf_counter()
            with data.open("rb") as fh:
                hashlib.file_digest(fh, "sha256")
            hashing = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    plain, ran = statistics.median(plain_times), statistics.median(run_times)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"notebook: 4 code cells writing a {args.mib} MiB output; {args.repeat} runs each, interleaved")
    a, b = statistics.median(in_plain), statistics.median(in_run)
    print(f"in process: nbclient execute + write median {a:.2f} s; prepare_run + sign_run median {b:.2f} s")
    print(f"  overhead {b - a:+.2f} s, ratio {b / a:.2f}x")
    print("whole processes:")

    def all_of(times: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in times)

    print(f"jupyter execute --inplace (nbclient): median {plain:.2f} s (all: {all_of(plain_times)})")
    print(f"jupyter-sigstore run --output:         median {ran:.2f} s (all: {all_of(run_times)})")
    print(
        f"overhead: {ran - plain:+.2f} s, ratio {ran / plain:.2f}x; hashing the output alone: {hashing:.2f} s"
    )
    cpu_plain, cpu_run = statistics.median(CPU["plain"]), statistics.median(CPU["run"])
    print(f"CPU seconds (processes and their kernels): nbclient {cpu_plain:.2f}, run {cpu_run:.2f}")
    print(f"  overhead {cpu_run - cpu_plain:+.2f} CPU s, ratio {cpu_run / cpu_plain:.2f}x")
    # CPU seconds are the judge: on a shared machine wall times swing by seconds between runs
    verdict = "met" if cpu_run - cpu_plain < 1 + hashing else "NOT met"
    print(f"target (< 1 s plus hashing, in CPU seconds): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
