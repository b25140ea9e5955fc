"""Benchmarks for verifying notebooks, each against a reference measured in the same run.

    .venv/bin/python benchmarks/notebooks.py             # everything (100 MB notebook, server at 5 and 50 MB)
    .venv/bin/python benchmarks/notebooks.py --quick     # small sizes, a smoke run (not the targets)
    .venv/bin/python benchmarks/notebooks.py --only verify --only startup

The inputs are built here: image notebooks (each figure a base64 PNG-sized string of random bytes, as
matplotlib's inline backend stores them), a CRLF twin of the big one, a tiny notebook, all signed on the
loopback Sigstore test instance. Verification itself runs offline, against that instance's trust config.

- ``verify``: the CLI's ``verify`` of the big notebook vs a process that does ``json.loads`` and
  ``sha256`` of the same file (the floor: the file must be parsed and every byte hashed); the CRLF twin;
  peak memory (VmHWM) against the file size.
- ``digest``: the canonical digest in-process (parse excluded), MB/s, vs ``sha256`` of the file's bytes.
- ``startup``: ``verify`` of a tiny notebook (signed and unsigned) vs ``python -c pass`` and vs importing
  sigstore's verifier alone; then the import profile (``-X importtime``, each module's fastest run).
- ``server``: a real ``jupyter server`` with the extension: p50 of warm ``GET /jupyter-sigstore/verify``
  vs p50 of ``GET /api/contents`` of the same notebook, and the first verify after start-up.

Every timing is the median of ``--repeat`` runs, the sides interleaved so that background load hits
both alike; CPU seconds (user + system of the process) are printed beside wall seconds, since a
shared machine stretches wall time. All files live in a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import machine, peak_rss  # noqa: E402

MB = 1_000_000
IDENTITY = "alice@example.com"
REFERENCE = (
    "import hashlib, json, sys\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    data = f.read()\n"
    "hashlib.sha256(data).hexdigest()\n"
    "json.loads(data)\n"
)


def image_notebook(size: int, seed: int = 0, figure: tuple[int, int] = (200_000, 1_500_000)) -> dict:
    """An nbformat 4.5 notebook of about ``size`` bytes: per figure a markdown cell and a code cell whose
    output is a PNG (random bytes, base64, trailing newline) with its text/plain repr and a stream."""
    rnd = random.Random(seed)
    cells: list[dict] = []
    total = n = 0
    while total < size:
        png = base64.b64encode(rnd.randbytes(rnd.randint(*figure))).decode("ascii")
        cells.append(
            {
                "cell_type": "markdown",
                "id": f"md-{n}",
                "metadata": {},
                "source": [f"## Figure {n}\n", "Notes.\n"],
            }
        )
        cells.append(
            {
                "cell_type": "code",
                "execution_count": n + 1,
                "id": f"code-{n}",
                "metadata": {"scrolled": True},
                "source": ["import matplotlib.pyplot as plt\n", f"plt.plot(range({n}))\n", "plt.show()"],
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "image/png": png + "\n",
                            "text/plain": ["<Figure size 640x480 with 1 Axes>"],
                        },
                    },
                    {"output_type": "stream", "name": "stdout", "text": ["done\n"]},
                ],
            }
        )
        total += len(png) + 400
        n += 1
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }


def write_notebook(path: Path, nb: dict) -> Path:
    """Write ``nb`` as Jupyter does (indent 1, sorted keys, UTF-8, trailing newline)."""
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def crlf_twin(path: Path, twin: Path) -> Path:
    """The same notebook with CRLF line endings (JSON whitespace only: the same parsed notebook)."""
    with open(path, "rb") as src, open(twin, "wb") as dst:
        for line in src:
            dst.write(line.replace(b"\n", b"\r\n"))
    return twin


def sign_all(ours: list[str], paths: Sequence[Path], workdir: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Sign each notebook on the loopback instance; return (trust config, issuer URL). The instance
    stops afterwards: verification needs only its trust config."""
    from jupyter_sigstore.testing import LocalSigstore

    with LocalSigstore(rekor_version=1) as inst:
        trust = inst.write_trust_config(workdir / "trust_config.json")
        for path in paths:
            token = inst.mint_token(IDENTITY)
            cmd = [*ours, "sign", str(path), "--trust-config", str(trust), "--identity-token", token]
            subprocess.run(cmd, env=env, check=True, capture_output=True)
        return trust, inst.issuer_url


def timed(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command (its exit code is not checked: verify exits 1 for an untrusted signer);
    return (wall seconds, CPU seconds of the process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise RuntimeError(
            f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[:500]}"
        )
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def interleave(
    repeat: int, sides: dict[str, Callable[[], tuple[float, float]]]
) -> dict[str, tuple[float, float]]:
    """Run the sides in turn ``repeat`` times; print every run; return each side's median (wall, cpu)."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            runs[name].append(fn())
    medians = {}
    for name, values in runs.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        medians[name] = (wall, cpu)
        shown = ", ".join(f"{w:.3f}" for w, _ in values)
        print(f"    {name:<44} median {wall:7.3f} s wall, {cpu:7.3f} s CPU   runs: {shown}")
    return medians


def ratio_line(
    label: str, ours: tuple[float, float], ref: tuple[float, float], target: str
) -> dict[str, float]:
    wall, cpu = ours[0] / ref[0], ours[1] / ref[1]
    print(f"    {label}: {wall:.2f}x wall, {cpu:.2f}x CPU   [target {target}]")
    return {"wall": wall, "cpu": cpu}


def peak_memory(cmd: Sequence[str], env: dict[str, str]) -> tuple[int, str]:
    """Peak RSS of a command in bytes, and how it was measured: GNU time's maximum resident set size
    when /usr/bin/time exists (exact), else VmHWM polled every 5 ms (can miss a short peak). Not
    getrusage from here: a child spawned by a big parent carries the parent's peak until it execs."""
    if Path("/usr/bin/time").exists():
        with tempfile.NamedTemporaryFile("r") as out:
            subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd], env=env, capture_output=True, check=False
            )
            return int(out.read().split()[-1]) * 1024, "GNU time"
    return peak_rss(cmd) * 1024, "VmHWM polled"


def bench_verify(
    ours: list[str], big: Path, twin: Path, policy: list[str], env: dict[str, str], repeat: int
) -> dict:
    size = big.stat().st_size
    print(f"\n[verify] CLI `verify` of a {size / MB:.0f} MB image notebook vs `json.loads` + `sha256` of it")
    ref = [sys.executable, "-c", REFERENCE, str(big)]
    verify = [*ours, "verify", str(big), *policy]
    verify_crlf = [*ours, "verify", str(twin), *policy]
    out = subprocess.run(verify, env=env, capture_output=True, text=True, check=False).stdout
    assert "VERIFIED" in out, out
    m = interleave(
        repeat,
        {
            "reference: json.loads + sha256 (process)": lambda: timed(ref, env),
            "jupyter-sigstore verify (LF)": lambda: timed(verify, env),
            "jupyter-sigstore verify (CRLF twin)": lambda: timed(verify_crlf, env),
        },
    )
    lf = ratio_line(
        "verify / reference",
        m["jupyter-sigstore verify (LF)"],
        m["reference: json.loads + sha256 (process)"],
        "<= 3x",
    )
    crlf = ratio_line(
        "CRLF / LF",
        m["jupyter-sigstore verify (CRLF twin)"],
        m["jupyter-sigstore verify (LF)"],
        "<= 1x (noise aside)",
    )
    rss, how = peak_memory(verify, env)
    ref_rss, _ = peak_memory(ref, env)
    print(
        f"    peak RSS ({how}): verify {rss / MB:.0f} MB = {rss / size:.2f}x the file [target <= 4x]; "
        f"reference {ref_rss / MB:.0f} MB = {ref_rss / size:.2f}x"
    )
    # Python holds text with 1, 2 or 4 bytes a character, by its widest: an em dash makes 2, an emoji 4
    for label, char in (("an em dash", "\u2014"), ("an emoji", "\U0001f4c8")):
        wide = big.with_name(f"wide-{ord(char):x}.ipynb")
        data = big.read_bytes()
        cut = data.rindex(b'"nbformat"')  # a top-level key: covered by no signature, still parsed
        wide.write_bytes(data[:cut] + f'"note": "{char}",\n '.encode() + data[cut:])
        del data
        wide_rss, _ = peak_memory([*ours, "verify", str(wide), *policy], env)
        wide_ref, _ = peak_memory([sys.executable, "-c", REFERENCE, str(wide)], env)
        print(
            f"    the same with {label} at its end: verify {wide_rss / size:.2f}x the file, "
            f"reference {wide_ref / size:.2f}x"
        )
        wide.unlink()
    return {
        "verify_wall_x": lf["wall"],
        "verify_cpu_x": lf["cpu"],
        "crlf_wall_x": crlf["wall"],
        "crlf_cpu_x": crlf["cpu"],
        "verify_rss_x": rss / size,
    }


def bench_digest(paths: Sequence[Path], repeat: int) -> dict:
    import hashlib

    from jupyter_sigstore.canonical import notebook_digest

    print("\n[digest] canonical digest in-process (parse excluded) vs sha256 of the file's bytes")
    results = {}
    for path in paths:
        size = path.stat().st_size
        data = path.read_bytes()
        nb = json.loads(data)
        ours = _in_process(repeat, lambda: notebook_digest(nb))  # noqa: B023 (called right away)
        sha = _in_process(repeat, lambda: hashlib.sha256(data).digest())  # noqa: B023
        o_w, o_c = statistics.median(v[0] for v in ours), statistics.median(v[1] for v in ours)
        s_w, s_c = statistics.median(v[0] for v in sha), statistics.median(v[1] for v in sha)
        print(
            f"    {path.name} ({size / MB:.0f} MB): canonical {size / o_w / MB:.0f} MB/s wall, "
            f"{size / o_c / MB:.0f} MB/s CPU [target >= 300 MB/s]; "
            f"sha256 {size / s_w / MB:.0f} MB/s wall, {size / s_c / MB:.0f} MB/s CPU"
        )
        results[f"digest_mbs_{path.stem}"] = size / o_c / MB
    return results


def _in_process(repeat: int, fn: Callable[[], object]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of ``repeat`` calls of ``fn``."""
    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return runs


def import_profile(cmd: Sequence[str], env: dict[str, str], runs: int) -> dict[str, int]:
    """Each module's own import time in microseconds for ``python -X importtime CMD`` (fastest run)."""
    best: dict[str, int] = {}
    for _ in range(runs):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", *cmd], env=env, capture_output=True, text=True, check=False
        ).stderr
        for line in err.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, name = line[len("import time:") :].split("|")
                best[name.strip()] = min(best.get(name.strip(), 1 << 62), int(own))
    return best


def bench_startup(
    ours: list[str], tiny: Path, unsigned: Path, policy: list[str], env: dict[str, str], repeat: int
) -> dict:
    print("\n[startup] `verify` of a tiny notebook vs `python -c pass` and vs importing sigstore's verifier")
    floor = "import sigstore.verify, sigstore.models"
    m = interleave(
        repeat,
        {
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"], env),
            f"python -c '{floor}'": lambda: timed([sys.executable, "-c", floor], env),
            "jupyter-sigstore verify tiny.ipynb (signed)": lambda: timed(
                [*ours, "verify", str(tiny), *policy], env
            ),
            "jupyter-sigstore verify unsigned.ipynb (default instance)": lambda: timed(
                [*ours, "verify", str(unsigned)], env
            ),
            "jupyter-sigstore digest tiny.ipynb": lambda: timed([*ours, "digest", str(tiny)], env),
        },
    )
    signed = m["jupyter-sigstore verify tiny.ipynb (signed)"]
    sig = m[f"python -c '{floor}'"]
    print(
        f"    signed verify / importing sigstore's verifier: {signed[0] / sig[0]:.2f}x wall, "
        f"{signed[1] / sig[1]:.2f}x CPU"
    )
    runs = max(5, repeat)
    print(f"  import profile (-X importtime, fastest of {runs} runs per module):")
    base = import_profile(["-c", floor], env, runs)
    prof = import_profile(["-m", "jupyter_sigstore", "verify", str(tiny), *policy], env, runs)
    total = sum(prof.values())
    sigstore = sum(v for k, v in prof.items() if k in base)
    own = {k: v for k, v in prof.items() if k.startswith("jupyter_sigstore")}
    rest = {k: v for k, v in prof.items() if k not in base and k not in own}
    print(f"    verify (signed): {total / 1000:.0f} ms of imports, {len(prof)} modules")
    print(
        f"      sigstore's verifier and what it imports: {sigstore / 1000:.0f} ms "
        f"({sum(k in base for k in prof)} modules)"
    )
    print(f"      jupyter_sigstore modules: {sum(own.values()) / 1000:.0f} ms ({len(own)} modules)")
    print(
        f"      other modules: {sum(rest.values()) / 1000:.0f} ms ({len(rest)} modules): "
        + ", ".join(f"{k} {v / 1000:.1f}" for k, v in sorted(rest.items(), key=lambda kv: -kv[1])[:8])
    )
    top = sorted(own.items(), key=lambda kv: -kv[1])[:6]
    print("      largest of ours: " + ", ".join(f"{k} {v / 1000:.1f}" for k, v in top))
    unsigned_prof = import_profile(["-m", "jupyter_sigstore", "verify", str(unsigned)], env, runs)
    loads_sigstore = any(k == "sigstore.models" for k in unsigned_prof)
    print(
        f"    verify (unsigned): {sum(unsigned_prof.values()) / 1000:.0f} ms of imports, "
        f"{len(unsigned_prof)} modules{', sigstore.models among them' if loads_sigstore else ', no sigstore'}"
    )
    return {
        "startup_signed_s": signed[0],
        "startup_floor_s": sig[0],
        "imports_ms": total / 1000,
        "imports_sigstore_ms": sigstore / 1000,
        "imports_own_ms": sum(own.values()) / 1000,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str) -> tuple[float, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as resp:
        body = resp.read()
    return time.perf_counter() - start, body


def bench_server(
    root: Path, names: Sequence[str], trust: Path, policy_file: Path, env: dict[str, str], n: int
) -> dict:
    print(f"\n[server] `jupyter server` with the extension: p50 of {n} warm requests each, interleaved")
    port, token = _free_port(), "benchmark-token"
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--ServerApp.jpserver_extensions=jupyter_sigstore.server=True",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        f"--Sigstore.trust_config={trust}",
        f"--Sigstore.policy_file={policy_file}",
        "--Sigstore.max_notebook_bytes=0",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    log = open(root / "server.log", "wb")  # noqa: SIM115 (closed in the finally below)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, float] = {}
    try:
        while True:
            try:
                _get(f"{base}/api/status", token)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 120:
                    log.flush()
                    tail = (root / "server.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"jupyter server did not start:\n{tail}") from None
                time.sleep(0.1)
        print(f"    server answering after {time.perf_counter() - started:.2f} s")
        answered = time.perf_counter()
        while b"verification ready" not in (root / "server.log").read_bytes():
            if time.perf_counter() - answered > 30:  # a server that does not prepare: as a user, later
                print("    no 'verification ready' in the server log within 30 s")
                break
            time.sleep(0.05)
        else:
            print(f"    server logged 'verification ready' after {time.perf_counter() - started:.2f} s")
        for name in names:
            size = (root / name).stat().st_size
            verify_url = f"{base}/jupyter-sigstore/verify?path={name}"
            contents_url = f"{base}/api/contents/{name}?type=notebook&content=1"
            first, body = _get(verify_url, token)
            report = json.loads(body)["report"]
            assert report and report["status"] == "verified", json.loads(body)["policy"]
            if name == names[0]:
                print(f"    first verify after start-up ({name}): {first * 1000:.0f} ms")
                results["server_first_ms"] = first * 1000
            for _ in range(3):
                _get(contents_url, token)
                _get(verify_url, token)
            contents, verify = [], []
            for _ in range(n):
                contents.append(_get(contents_url, token)[0])
                verify.append(_get(verify_url, token)[0])
            c50, v50 = statistics.median(contents), statistics.median(verify)
            print(
                f"    {name} ({size / MB:.1f} MB): contents GET p50 {c50 * 1000:.0f} ms, "
                f"verify p50 {v50 * 1000:.0f} ms: {v50 / c50:.2f}x [target <= 1.5x]"
            )
            results[f"server_{size // MB}mb_x"] = v50 / c50
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the targets)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (the median is kept)")
    parser.add_argument("--requests", type=int, default=20, help="warm requests per endpoint (server)")
    parser.add_argument("--only", choices=["verify", "digest", "startup", "server"], action="append")
    parser.add_argument("--workdir", help="parent folder for the temporary files (default: system temp)")
    args = parser.parse_args(argv)
    only = set(args.only or ["verify", "digest", "startup", "server"])
    big_mb, server_mb = (10, (1, 5)) if args.quick else (100, (5, 50))
    # the CLI as `python -m`: runs from a checkout (PYTHONPATH) as well as from an installed package
    ours = [sys.executable, "-m", "jupyter_sigstore"]
    import compileall

    import jupyter_sigstore

    compileall.compile_dir(str(Path(jupyter_sigstore.__file__).parent), quiet=1)
    print("machine:", machine())
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="jss-nb-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        env = dict(os.environ, XDG_CACHE_HOME=str(work / "xdg-cache"), XDG_DATA_HOME=str(work / "xdg-data"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        root = work / "root"
        root.mkdir()
        print(f"building inputs in {work} ...")
        big = write_notebook(root / "images.ipynb", image_notebook(big_mb * MB, seed=1))
        small_images = write_notebook(
            root / "small-images.ipynb", image_notebook(big_mb * MB // 5, seed=2, figure=(5_000, 30_000))
        )
        served = [
            write_notebook(root / f"nb-{mb}mb.ipynb", image_notebook(mb * MB, seed=3 + mb))
            for mb in server_mb
        ]
        tiny = write_notebook(root / "tiny.ipynb", image_notebook(1, seed=9, figure=(100, 200)))
        unsigned = write_notebook(root / "unsigned.ipynb", image_notebook(1, seed=10, figure=(100, 200)))
        trust, issuer = sign_all(ours, [big, small_images, *served, tiny], work, env)
        twin = crlf_twin(big, root / "images-crlf.ipynb")
        policy_file = work / "policy.toml"
        policy_file.write_text(
            f'[[trusted]]\nname = "author"\nidentity = "{IDENTITY}"\nissuer = "{issuer}"\n'
        )
        policy = ["--trust-config", str(trust), "--cert-identity", IDENTITY, "--cert-oidc-issuer", issuer]
        if "verify" in only:
            results |= bench_verify(ours, big, twin, policy, env, args.repeat)
        if "digest" in only:
            results |= bench_digest([big, small_images], args.repeat)
        if "startup" in only:
            results |= bench_startup(ours, tiny, unsigned, policy, env, args.repeat)
        if "server" in only:
            results |= bench_server(root, [p.name for p in served], trust, policy_file, env, args.requests)
    print("\nsummary:", json.dumps({k: round(v, 2) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
