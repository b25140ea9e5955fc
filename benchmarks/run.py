"""Benchmarks for hashing and signing data outputs, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py            # the full set (2 GiB file, 5,000 files, signing
                                                  # 1,000 outputs, verifying 5,000, 100,000 small
                                                  # files, 20,000 cells, sign and verify of 100,000
                                                  # outputs)
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, for a smoke run

Prints the machine, every timing (best of --repeat runs, runs of the two sides interleaved so that
background load hits both alike) and the ratios the targets in docs/performance.md are stated in.
All files live in a temporary folder that is removed at the end. Whole processes are timed, so
interpreter start-up and imports are included. model_signing's hashing is measured when
``model_signing`` imports in this interpreter or in the one given by --model-signing-python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MiB = 1 << 20
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {
            "cell_type": "code",
            "id": "write-outputs",
            "metadata": {},
            "execution_count": 1,
            "source": "write_partitions('outputs/')",
            "outputs": [],
        }
    ],
}


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"benchmarks: `{name}` not found (install the project into this interpreter's environment)")
    return found


def run(cmd: Sequence[str], **kwargs: object) -> tuple[float, str]:
    """Run a command to completion; return (wall seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[:500]}"
        )
    return elapsed, proc.stdout.decode("utf-8", "surrogateescape")


def peak_rss(cmd: Sequence[str], **kwargs: Any) -> int:
    """Run a command and return its peak resident set size in KiB.

    Read from /proc/PID/status (VmHWM) while it runs: unlike getrusage's ru_maxrss it is not inflated
    by the parent's memory, which a forked child carries until its exec.
    """
    peak = 0
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=devnull, **kwargs)
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.005)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode})")
    return peak


def run_interleaved(repeat: int, sides: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Interleave the sides ``repeat`` times; print and return every side's wall times."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            times[name].append(fn())
    for name, values in times.items():
        print(f"    {name:<34} best {min(values):8.3f} s   runs: {', '.join(f'{v:.3f}' for v in values)}")
    return times


def best_of(repeat: int, sides: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Interleave the sides ``repeat`` times; return each side's best wall time."""
    return {name: min(values) for name, values in run_interleaved(repeat, sides).items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    sha = ""
    try:
        if " sha_ni" in Path("/proc/cpuinfo").read_text():
            sha = ", SHA-NI"
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    except (ValueError, OSError):
        mem = 0.0
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    try:
        load = " load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return (
        f"{cpu}{sha}; {len(os.sched_getaffinity(0))} CPUs usable; {mem:.0f} GiB RAM; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; {openssl};{load}"
    )


def make_file(path: Path, size: int) -> None:
    block = os.urandom(64 * MiB)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)


def warm(paths: Sequence[Path]) -> None:
    """Read the files once so every contender starts from the page cache."""
    buf = bytearray(MiB)
    for p in paths:
        with open(p, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def parse_openssl(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        head, _, digest = line.rpartition("= ")
        out[head[head.index("(") + 1 : -1]] = digest.strip()
    return out


def parse_ours(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        out[name] = digest.removeprefix("sha256:")
    return out


def bench_big_file(workdir: Path, size: int, repeat: int, ours: str) -> dict[str, float]:
    print(f"\n[1] one {size / (1 << 30):.2f} GiB file: `jupyter-sigstore digest` vs `openssl dgst -sha256`")
    big = workdir / "big.bin"
    make_file(big, size)
    warm([big])
    _, ssl_out = run(["openssl", "dgst", "-sha256", str(big)])
    _, our_out = run([ours, "digest", str(big)])
    assert parse_openssl(ssl_out)[str(big)] == parse_ours(our_out)[str(big)], "digests differ"
    times = best_of(
        repeat,
        {
            "openssl dgst -sha256": lambda: run(["openssl", "dgst", "-sha256", str(big)])[0],
            "jupyter-sigstore digest": lambda: run([ours, "digest", str(big)])[0],
        },
    )
    rss = peak_rss([ours, "digest", str(big)])
    ssl_rss = peak_rss(["openssl", "dgst", "-sha256", str(big)])
    ratio = times["openssl dgst -sha256"] / times["jupyter-sigstore digest"]
    gbs = size / times["jupyter-sigstore digest"] / 1e9
    print(f"    throughput ratio (ours/openssl): {ratio:.2f}x   [target >= 0.9x]   ours {gbs:.2f} GB/s")
    print(
        f"    peak RSS while hashing: ours {rss / 1024:.1f} MiB, openssl {ssl_rss / 1024:.1f} MiB"
        "   [target < 150 MB]"
    )
    big.unlink()
    return {"big_ratio": ratio, "big_rss_mib": rss / 1024, "big_gbs": gbs}


MS_SCRIPT = r"""
import sys, time
from pathlib import Path
from model_signing import hashing
t = time.perf_counter()
cfg = hashing.Config().use_file_serialization(hashing_algorithm="sha256", allow_symlinks=False)
manifest = cfg.hash(Path(sys.argv[1]))
print(len(list(manifest.resource_descriptors())))
"""


def _model_signing_python(explicit: str | None) -> str | None:
    candidates = [explicit] if explicit else [sys.executable]
    for py in candidates:
        if (
            py
            and subprocess.run([py, "-c", "import model_signing.hashing"], capture_output=True).returncode
            == 0
        ):
            return py
    return None


def bench_many_files(
    workdir: Path, count: int, size: int, repeat: int, ours: str, ms_python: str | None
) -> dict[str, float]:
    print(f"\n[2] {count:,} files of {size // 1024} KiB: `jupyter-sigstore digest DIR` vs one serial openssl")
    folder = workdir / "many"
    folder.mkdir()
    paths = [folder / name for name in distinct_files(folder, "", count, size)]
    ssl_cmd = ["openssl", "dgst", "-sha256", *map(str, paths)]
    our_cmd = [ours, "digest", str(folder)]
    ssl_digests = parse_openssl(run(ssl_cmd)[1])
    our_digests = parse_ours(run(our_cmd)[1])
    assert ssl_digests == our_digests, "digests differ from openssl's"
    half = len(paths) // 2
    halves = [["openssl", "dgst", "-sha256", *map(str, part)] for part in (paths[:half], paths[half:])]

    def two_openssl() -> float:
        # How much parallelism the machine offers right now: two openssl processes, half the files each.
        start = time.perf_counter()
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for cmd in halves]
        if any(p.wait() for p in procs):
            raise RuntimeError("openssl failed")
        return time.perf_counter() - start

    sides: dict[str, Callable[[], float]] = {
        "openssl dgst -sha256 (serial)": lambda: run(ssl_cmd)[0],
        "jupyter-sigstore digest": lambda: run(our_cmd)[0],
        "jupyter-sigstore digest --jobs 1": lambda: run([*our_cmd, "--jobs", "1"])[0],
        "2 x openssl in parallel (reference)": two_openssl,
    }
    if ms_python:
        ms_cmd = [ms_python, "-c", MS_SCRIPT, str(folder)]
        assert run(ms_cmd)[1].strip() == str(count)
        sides["model_signing hashing (sha256)"] = lambda: run(ms_cmd)[0]
    runs = run_interleaved(repeat, sides)
    times = {name: min(values) for name, values in runs.items()}
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {"many_ratio_openssl": times["openssl dgst -sha256 (serial)"] / times["jupyter-sigstore digest"]}
    result["many_threads_speedup"] = (
        times["jupyter-sigstore digest --jobs 1"] / times["jupyter-sigstore digest"]
    )
    result["machine_parallel_ceiling"] = (
        times["openssl dgst -sha256 (serial)"] / times["2 x openssl in parallel (reference)"]
    )
    result["many_ratio_openssl_median"] = (
        medians["openssl dgst -sha256 (serial)"] / medians["jupyter-sigstore digest"]
    )
    print(
        f"    ratio vs serial openssl: {result['many_ratio_openssl']:.2f}x   [target >= 1.6x on 2 cores]"
        f"   (ratio of the medians: {result['many_ratio_openssl_median']:.2f}x)"
    )
    print(
        f"    our threads vs --jobs 1: {result['many_threads_speedup']:.2f}x; what the machine gave two "
        f"openssl processes at once: {result['machine_parallel_ceiling']:.2f}x (1.0x = no spare core)"
    )
    if ms_python:
        result["many_ratio_model_signing"] = (
            times["model_signing hashing (sha256)"] / times["jupyter-sigstore digest"]
        )
        print(f"    ratio vs model_signing:  {result['many_ratio_model_signing']:.2f}x   [target > 1x]")
    else:
        print(
            "    model_signing: not importable here "
            "(pip install model-signing pyopenssl, or pass --model-signing-python)"
        )
    shutil.rmtree(folder)
    return result


def bench_signing(workdir: Path, count: int, repeat: int, ours: str) -> dict[str, float]:
    print(f"\n[3] signing {count:,} outputs against the loopback Sigstore instance: ours vs `sigstore sign`")
    from jupyter_sigstore.testing import LocalSigstore

    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / "xdg-cache"), XDG_DATA_HOME=str(workdir / "xdg-data"))
    project = workdir / "project"
    outputs = project / "outputs"
    outputs.mkdir(parents=True)
    for i in range(count):
        (outputs / f"part-{i:04d}.csv").write_text(f"partition,{i}\n" * 64)
    notebook = project / "analysis.ipynb"
    sigstore_cli = _tool("sigstore")
    with LocalSigstore(rekor_version=1) as inst:
        trust = inst.write_trust_config(workdir / "trust_config.json")
        files = sorted(str(p) for p in outputs.iterdir())

        def ours_once() -> float:
            notebook.write_text(json.dumps(NOTEBOOK))
            before = len(inst.rekor_v1_log.bodies)
            cmd = [
                ours,
                "sign",
                str(notebook),
                "--output",
                "outputs",
                "--trust-config",
                str(trust),
                "--identity-token",
                inst.mint_token("alice@example.com"),
            ]
            elapsed = run(cmd, cwd=project, env=env)[0]
            assert len(inst.rekor_v1_log.bodies) - before == 1
            return elapsed

        def theirs_once() -> float:
            for p in outputs.glob("*.sigstore.json"):
                p.unlink()
            before = len(inst.rekor_v1_log.bodies)
            cmd = [
                sigstore_cli,
                "--trust-config",
                str(trust),
                "sign",
                "--identity-token",
                inst.mint_token("alice@example.com"),
                *files,
            ]
            elapsed = run(cmd, cwd=project, env=env)[0]
            assert len(inst.rekor_v1_log.bodies) - before == count
            return elapsed

        times = best_of(repeat, {"jupyter-sigstore sign": ours_once, "sigstore sign": theirs_once})
    ratio = times["sigstore sign"] / times["jupyter-sigstore sign"]
    print(f"    speed-up: {ratio:.1f}x   [target >= 10x]; log entries: 1 vs {count:,}")
    shutil.rmtree(project)
    return {"sign_ratio": ratio}


def bench_verify(workdir: Path, count: int, size: int, repeat: int, ours: str) -> dict[str, float]:
    print(
        f"\n[4] verifying a notebook with {count:,} outputs of {size // 1024} KiB: "
        "`verify` vs `digest` on the same files, and vs `verify` of a notebook without outputs"
    )
    from jupyter_sigstore.testing import LocalSigstore

    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / "xdg-cache"), XDG_DATA_HOME=str(workdir / "xdg-data"))
    project = workdir / "verify-project"
    outputs = project / "outputs"
    outputs.mkdir(parents=True)
    block = os.urandom(size)
    for i in range(count):
        (outputs / f"part-{i:05d}.bin").write_bytes(block[i % 251 :] + block[: i % 251])
    warm(sorted(outputs.iterdir()))
    with LocalSigstore(rekor_version=1) as inst:
        trust = str(inst.write_trust_config(workdir / "verify_trust_config.json"))
        for name, specs in (("with-outputs.ipynb", ["--output", "outputs"]), ("plain.ipynb", [])):
            (project / name).write_text(json.dumps(NOTEBOOK))
            token = inst.mint_token("alice@example.com")
            run(
                [ours, "sign", name, *specs, "--trust-config", trust, "--identity-token", token],
                cwd=project,
                env=env,
            )
        policy = [
            "--trust-config",
            trust,
            "--cert-identity",
            "alice@example.com",
            "--cert-oidc-issuer",
            inst.issuer_url,
        ]
        times = best_of(
            repeat,
            {
                "jupyter-sigstore verify (outputs)": lambda: run(
                    [ours, "verify", "with-outputs.ipynb", *policy], cwd=project, env=env
                )[0],
                "jupyter-sigstore digest outputs": lambda: run([ours, "digest", "outputs"], cwd=project)[0],
                "jupyter-sigstore verify, 0 outputs": lambda: run(
                    [ours, "verify", "plain.ipynb", *policy], cwd=project, env=env
                )[0],
            },
        )
    extra = times["jupyter-sigstore verify (outputs)"] - times["jupyter-sigstore verify, 0 outputs"]
    digest = times["jupyter-sigstore digest outputs"]
    print(
        f"    the outputs added {extra:.3f} s to verify; digest of the same files took {digest:.3f} s "
        f"(ratio {extra / digest:.2f}; 1.0 = checking outputs costs what hashing them does)"
    )
    shutil.rmtree(project)
    return {"verify_outputs_s": extra, "verify_outputs_vs_digest": extra / digest}


def distinct_files(folder: Path, prefix: str, count: int, size: int = 4096) -> list[str]:
    """Write ``count`` distinct files of ``size`` bytes named ``prefix + part-NNNNNN.bin`` under
    ``folder``, read them into the page cache, and return their names."""
    block = os.urandom(size)
    names = []
    for i in range(count):
        name = f"{prefix}part-{i:06d}.bin"
        (folder / name).write_bytes(block[i % 251 :] + block[: i % 251])
        names.append(name)
    warm([folder / n for n in names])
    return names


def xargs_room() -> int:
    """The most bytes of arguments xargs may put on one command line here (at most 4 MiB)."""
    room = os.sysconf("SC_ARG_MAX") - sum(len(k) + len(v) + 2 for k, v in os.environ.items()) - 4096
    return min(room, 4 << 20)


def bench_small_files(workdir: Path, count: int, repeat: int, ours: str) -> dict[str, float]:
    print(
        f"\n[5] {count:,} files of 4 KiB: `jupyter-sigstore digest DIR` vs one serial "
        "`openssl dgst -sha256` (fed by xargs)"
    )
    folder = workdir / "small"
    folder.mkdir()
    names = distinct_files(folder, "", count)
    listing = "\0".join(names).encode()
    # One openssl for as many names as a command line holds (all 100,000 here), one after another.
    ssl_cmd = ["xargs", "-0", "-s", str(xargs_room()), "openssl", "dgst", "-sha256"]
    our_cmd = [ours, "digest", "."]
    assert parse_openssl(run(ssl_cmd, cwd=folder, input=listing)[1]) == parse_ours(
        run(our_cmd, cwd=folder)[1]
    ), "digests differ from openssl's"
    cpu: dict[str, list[float]] = {"openssl": [], "ours": []}

    def timed(side: str, cmd: list[str], **kwargs: object) -> float:
        # CPU seconds (user + system, of the command and its workers) beside the wall time: on a
        # busy machine the wall time of a parallel program says less than usual
        import resource

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = run(cmd, cwd=folder, **kwargs)[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[side].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return elapsed

    runs = run_interleaved(
        repeat,
        {
            "openssl dgst -sha256 (serial)": lambda: timed("openssl", ssl_cmd, input=listing),
            "jupyter-sigstore digest": lambda: timed("ours", our_cmd),
        },
    )
    medians = {name: statistics.median(values) for name, values in runs.items()}
    ratio = medians["openssl dgst -sha256 (serial)"] / medians["jupyter-sigstore digest"]
    print(
        f"    medians: openssl {medians['openssl dgst -sha256 (serial)']:.3f} s, "
        f"ours {medians['jupyter-sigstore digest']:.3f} s; ratio (openssl/ours): {ratio:.2f}x   "
        "[target >= 1.0x]"
    )
    print(
        f"    CPU medians (user + system): openssl {statistics.median(cpu['openssl']):.3f} s, "
        f"ours {statistics.median(cpu['ours']):.3f} s"
    )
    shutil.rmtree(folder)
    return {"small_ratio_openssl_median": ratio}


def bench_many_outputs(workdir: Path, count: int, repeat: int, ours: str) -> dict[str, float]:
    print(
        f"\n[7] sign and verify a notebook with {count:,} outputs of 4 KiB (whole processes, loopback "
        "Sigstore instance) vs `xargs -P2 openssl dgst -sha256` over the same files"
    )
    from jupyter_sigstore.testing import LocalSigstore

    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / "xdg-cache"), XDG_DATA_HOME=str(workdir / "xdg-data"))
    project = workdir / "outputs-project"
    (project / "outputs").mkdir(parents=True)
    names = distinct_files(project, "outputs/", count)
    listing = "\0".join(names).encode()
    half = (count + 1) // 2  # two openssl processes, one per core
    ssl_cmd = [
        "xargs",
        "-0",
        "-P2",
        "-n",
        str(half),
        "-s",
        str(xargs_room()),
        "openssl",
        "dgst",
        "-sha256",
    ]
    notebook, plain = project / "analysis.ipynb", project / "plain.ipynb"
    empty = json.dumps(NOTEBOOK, indent=1) + "\n"
    with LocalSigstore(rekor_version=1) as inst:
        trust = str(inst.write_trust_config(workdir / "outputs_trust_config.json"))

        def sign_cmd(path: Path, specs: list[str]) -> list[str]:
            token = inst.mint_token("alice@example.com")
            return [ours, "sign", path.name, *specs, "--trust-config", trust, "--identity-token", token]

        def sign_once() -> float:
            notebook.write_text(empty)
            return run(sign_cmd(notebook, ["--output", "outputs"]), cwd=project, env=env)[0]

        policy = ["--trust-config", trust, "--cert-identity", "alice@example.com"]
        policy += ["--cert-oidc-issuer", inst.issuer_url]
        verify_cmd = [ours, "verify", notebook.name, *policy]

        def verify_once() -> float:
            return run(verify_cmd, cwd=project, env=env)[0]

        plain.write_text(empty)
        run(sign_cmd(plain, []), cwd=project, env=env)
        plain_cmd = [ours, "verify", plain.name, *policy]
        times = best_of(
            repeat,
            {
                "xargs -P2 openssl dgst -sha256": lambda: run(ssl_cmd, cwd=project, input=listing)[0],
                "jupyter-sigstore sign": sign_once,
                "jupyter-sigstore verify": verify_once,
                "jupyter-sigstore verify, 0 outputs": lambda: run(plain_cmd, cwd=project, env=env)[0],
            },
        )
        assert "VERIFIED" in run(verify_cmd, cwd=project, env=env)[1]
        signed_size = notebook.stat().st_size
        manifest = project / "analysis.ipynb.outputs.sha256"
        growth = signed_size - len(empty.encode())
        manifest_size = manifest.stat().st_size if manifest.exists() else 0
        # peak RSS: with the outputs, and of the same commands over a notebook with no outputs
        notebook.write_text(empty)
        rss_sign = peak_rss(sign_cmd(notebook, ["--output", "outputs"]), cwd=project, env=env)
        rss_verify = peak_rss(verify_cmd, cwd=project, env=env)
        base_verify = peak_rss(plain_cmd, cwd=project, env=env)
        plain.write_text(empty)
        base_sign = peak_rss(sign_cmd(plain, []), cwd=project, env=env)
    ssl = times["xargs -P2 openssl dgst -sha256"]
    sign_ratio = times["jupyter-sigstore sign"] / ssl
    verify_ratio = times["jupyter-sigstore verify"] / ssl
    per_sign = (rss_sign - base_sign) * 1024 / count
    per_verify = (rss_verify - base_verify) * 1024 / count
    print(f"    sign / openssl: {sign_ratio:.2f}x; verify / openssl: {verify_ratio:.2f}x   [target <= 3x]")
    fixed = times["jupyter-sigstore verify, 0 outputs"]
    print(
        f"    verify without outputs takes {fixed:.3f} s (start-up, trusted root, signature and log checks): "
        f"the outputs add {times['jupyter-sigstore verify'] - fixed:.3f} s"
    )
    print(
        f"    the signature grew the notebook by {growth:,} bytes [target <= 1 MiB]; "
        f"manifest beside it: {manifest_size:,} bytes"
    )
    print(
        f"    peak RSS: sign {rss_sign / 1024:.1f} MiB (no outputs: {base_sign / 1024:.1f} MiB), verify "
        f"{rss_verify / 1024:.1f} MiB (no outputs: {base_verify / 1024:.1f} MiB); per output: sign "
        f"{per_sign:.0f} B, verify {per_verify:.0f} B   [target <= 1 KB]"
    )
    shutil.rmtree(project)
    return {
        "outputs_sign_vs_openssl": sign_ratio,
        "outputs_verify_vs_openssl": verify_ratio,
        "outputs_notebook_growth_bytes": float(growth),
        "outputs_sign_rss_per_output_bytes": per_sign,
        "outputs_verify_rss_per_output_bytes": per_verify,
    }


def _nbformat_json(nb: object) -> str:
    """The notebook as Jupyter writes it (so that reading it back finds its style at once)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _cells_notebook(sources: Sequence[str]) -> dict[str, object]:
    cells = [
        {
            "cell_type": "code",
            "id": f"c{k}",
            "metadata": {},
            "execution_count": None,
            "source": src,
            "outputs": [],
        }
        for k, src in enumerate(sources)
    ]
    return {**NOTEBOOK, "cells": cells}


def bench_cells(workdir: Path, count: int, repeat: int, ours: str) -> dict[str, float]:
    print(f"\n[6] verifying {count:,} identical cells vs {count:,} distinct ones (the cell alignment)")
    from jupyter_sigstore.celldiff import align
    from jupyter_sigstore.testing import LocalSigstore

    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / "xdg-cache"), XDG_DATA_HOME=str(workdir / "xdg-data"))
    project = workdir / "cells-project"
    project.mkdir()
    kinds = {"identical": ["x = 1"] * count, "distinct": [f"x = {k}" for k in range(count)]}
    with LocalSigstore(rekor_version=1) as inst:
        trust = str(inst.write_trust_config(workdir / "cells_trust_config.json"))
        for kind, sources in kinds.items():
            (project / f"{kind}.ipynb").write_text(_nbformat_json(_cells_notebook(sources)))
            token = inst.mint_token("alice@example.com")
            run(
                [ours, "sign", f"{kind}.ipynb", "--trust-config", trust, "--identity-token", token],
                cwd=project,
                env=env,
            )
            # the same notebook after an edit at each end, which leaves no common first or last cell
            signed = json.loads((project / f"{kind}.ipynb").read_text())
            signed["cells"] = _cells_notebook(["y = 0", *sources[:-1], "z = 0"])["cells"]
            (project / f"{kind}-edited.ipynb").write_text(_nbformat_json(signed))
        policy = [
            "--trust-config",
            trust,
            "--cert-identity",
            "alice@example.com",
            "--cert-oidc-issuer",
            inst.issuer_url,
        ]

        def verify(name: str, expect: int) -> Callable[[], float]:
            def once() -> float:
                start = time.perf_counter()
                proc = subprocess.run(
                    [ours, "verify", name, *policy], cwd=project, env=env, capture_output=True
                )
                elapsed = time.perf_counter() - start
                if proc.returncode != expect:
                    raise RuntimeError(f"verify {name} exited {proc.returncode}: {proc.stdout[:300]!r}")
                return elapsed

            return once

        runs = run_interleaved(
            repeat,
            {
                f"verify {kind}{edit}": verify(f"{kind}{edit}.ipynb", 1 if edit else 0)
                for kind in kinds
                for edit in ("", "-edited")
            },
        )
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "cells_identical_vs_distinct": medians["verify identical"] / medians["verify distinct"],
        "cells_edited_identical_vs_distinct": medians["verify identical-edited"]
        / medians["verify distinct-edited"],
    }
    unchanged, edited = result["cells_identical_vs_distinct"], result["cells_edited_identical_vs_distinct"]
    print(
        f"    ratio of the medians, identical/distinct: unchanged {unchanged:.2f}x, edited {edited:.2f}x"
        "   [target <= 1.2x]"
    )
    for kind, sources in kinds.items():
        digests = [str(hash(s)) for s in sources]
        start = time.perf_counter()
        align(digests, ["y", *digests[:-1], "z"])
        print(f"    alignment alone, {kind} edited: {1000 * (time.perf_counter() - start):.1f} ms")
    shutil.rmtree(project)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the targets)")
    parser.add_argument("--big-gib", type=float, help="size of the single big file (default 2)")
    parser.add_argument("--files", type=int, help="number of 256 KiB files (default 5000)")
    parser.add_argument("--sign-outputs", type=int, help="outputs to sign (default 1000)")
    parser.add_argument("--small-files", type=int, help="number of 4 KiB files (default 100000)")
    parser.add_argument("--cells", type=int, help="cells in the alignment notebooks (default 20000)")
    parser.add_argument("--outputs", type=int, help="4 KiB outputs to sign and verify (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (best is kept)")
    parser.add_argument(
        "--only",
        choices=["big", "many", "sign", "verify", "small", "cells", "outputs"],
        action="append",
        help="run only these",
    )
    parser.add_argument("--model-signing-python", metavar="PYTHON", help="an interpreter with model_signing")
    parser.add_argument("--workdir", help="parent folder for the temporary files (default: system temp)")
    args = parser.parse_args(argv)
    big = args.big_gib if args.big_gib is not None else (0.25 if args.quick else 2.0)
    files = args.files or (500 if args.quick else 5000)
    sign_outputs = args.sign_outputs or (100 if args.quick else 1000)
    small_files = args.small_files or (5000 if args.quick else 100_000)
    cells = args.cells or (2000 if args.quick else 20_000)
    many_outputs = args.outputs or (5000 if args.quick else 100_000)
    only = set(args.only or ["big", "many", "sign", "verify", "small", "cells", "outputs"])
    ours = _tool("jupyter-sigstore")
    # Measure the package as installed packages run: with bytecode. (pip compiles .pyc files on
    # install; an editable checkout under PYTHONDONTWRITEBYTECODE=1 would recompile at every start.)
    import compileall

    import jupyter_sigstore

    compileall.compile_dir(str(Path(jupyter_sigstore.__file__).parent), quiet=1)
    print("machine:", machine())
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="jss-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        if "big" in only:
            results |= bench_big_file(workdir, int(big * (1 << 30)), args.repeat, ours)
        if "many" in only:
            ms = _model_signing_python(args.model_signing_python)
            results |= bench_many_files(workdir, files, 256 * 1024, args.repeat, ours, ms)
        if "sign" in only:
            results |= bench_signing(workdir, sign_outputs, args.repeat, ours)
        if "verify" in only:
            results |= bench_verify(workdir, files, 256 * 1024, args.repeat, ours)
        if "small" in only:
            results |= bench_small_files(workdir, small_files, args.repeat, ours)
        if "cells" in only:
            results |= bench_cells(workdir, cells, args.repeat, ours)
        if "outputs" in only:
            results |= bench_many_outputs(workdir, many_outputs, args.repeat, ours)
    print("\nsummary:", json.dumps({k: round(v, 2) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
