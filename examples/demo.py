"""The offline quick-start demo: sign the example notebook and its outputs, verify, show tampering fail;
then run a notebook (execute and sign with its provenance) and reproduce it.

    python examples/demo.py [--keep DIR]

It starts the project's loopback Sigstore *test* instance (Fulcio, Rekor, OIDC on 127.0.0.1; see
jupyter_sigstore.testing), because no public Sigstore service is reachable offline. Against the real
public-good instance the same commands run without --trust-config and --identity-token: an OIDC login
happens in the browser instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_sigstore.testing import LocalSigstore

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
BOLD, GREEN, RED, DIM, RESET = (
    ("\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


def step(title: str) -> None:
    print(f"\n{BOLD}== {title}{RESET}")


_cwd: list[Path] = []


def run(*args: str, cwd: Path, expect: int = 0) -> str:
    if _cwd != [cwd]:  # show where each command runs, so it can be pasted as it is
        print(f"{DIM}$ cd {shlex.quote(str(cwd))}{RESET}")
        _cwd[:] = [cwd]
    shown = " ".join(shlex.quote(Path(a).name if a == args[0] else a) for a in args)
    print(f"{DIM}$ {shown}{RESET}")
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    for line in (done.stdout + done.stderr).rstrip().splitlines():
        print(_summarised(line))
    mark = (
        f"{GREEN}exit {done.returncode}{RESET}"
        if done.returncode == 0
        else f"{RED}exit {done.returncode}{RESET}"
    )
    print(mark)
    if done.returncode != expect:
        raise SystemExit(f"demo failed: expected exit {expect}, got {done.returncode}")
    return done.stdout


def _summarised(line: str) -> str:
    """The stock sigstore CLI prints the whole signed in-toto statement on one line: name what it
    holds instead of cutting it off."""
    if len(line) <= 240:
        return line
    try:
        statement = json.loads(line)
        subjects = [s.get("name") for s in statement.get("subject", [])]
        kind = statement.get("predicateType")
        return f"(the signed in-toto statement, {kind}: subjects {', '.join(subjects)})"
    except (ValueError, AttributeError, TypeError):
        return f"{line[:100]}… ({len(line)} characters)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp folder)")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="jupyter-sigstore-demo-")).resolve()
    if args.keep and work.exists() and (not work.is_dir() or any(work.iterdir())):
        raise SystemExit(
            f"--keep {args.keep}: that folder exists and is not empty; name a new or empty folder"
        )
    shutil.copytree(
        HERE, work / "signed", ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.sigstore.json")
    )
    os.environ["XDG_CACHE_HOME"] = str(work / ".cache")  # keep sigstore's caches out of the user's home
    cli = str(BIN / "jupyter-sigstore")
    identity = "alice@example.com"

    with LocalSigstore(rekor_version=1) as inst:
        tc = inst.write_trust_config(work / "trust_config.json")
        # as in CI: the identity token comes from the environment, never the command line
        os.environ["SIGSTORE_ID_TOKEN"] = inst.mint_token(identity, expires_in=600)
        print(f"{DIM}(SIGSTORE_ID_TOKEN holds a token for {identity} from the test issuer){RESET}")
        signed = work / "signed"

        step("Sign the notebook and its two data outputs (one signature, one log entry)")
        outputs = ["--output", "results.csv", "--output", "figures/summary.png"]
        run(cli, "sign", "analysis.ipynb", *outputs, "--sidecar", "--trust-config", str(tc),
            cwd=signed)  # fmt: skip

        verify = [cli, "verify", "analysis.ipynb", "--trust-config", str(tc),
                  "--cert-identity", identity, "--cert-oidc-issuer", inst.issuer_url]  # fmt: skip
        step("Verify it (offline, identity policy, every digest recomputed)")
        run(*verify, cwd=signed)

        step("The stock `sigstore` CLI verifies each output from the sidecar bundle")
        run(str(BIN / "sigstore"), "--trust-config", str(tc), "verify", "identity", "--bundle",
            "analysis.ipynb.sigstore.json", "--cert-identity", identity, "--cert-oidc-issuer",
            inst.issuer_url, "results.csv", cwd=signed)  # fmt: skip

        step("Tamper with a copy: edit one number in results.csv and one line of code")
        tampered = work / "tampered"
        shutil.copytree(signed, tampered)
        csv = tampered / "results.csv"
        csv.write_text(csv.read_text().replace("15.3", "14.3"))
        nb = tampered / "analysis.ipynb"
        nb.write_text(nb.read_text().replace("random.seed(20261125)", "random.seed(1)"))
        print("changed results.csv (15.3 -> 14.3) and cell 2 (random.seed)")

        step("Verify the tampered copy: it fails, naming the cell and the file")
        run(*verify, cwd=tampered, expect=1)

        step("Verify the original against someone else's identity: untrusted signer")
        run(*verify[:-4], "--cert-identity", "mallory@example.com", "--cert-oidc-issuer", inst.issuer_url,
            cwd=signed, expect=1)  # fmt: skip

        sim = work / "simulation"
        sim.mkdir()
        for name in ("simulation.ipynb", "reproduce-rules.toml"):
            shutil.copy(HERE / name, sim / name)
        step("Run a notebook: execute it in a fresh kernel, then sign it, its output and how it was made")
        run(cli, "run", "simulation.ipynb", "-p", "walkers", "200", "--trust-config", str(tc),
            cwd=sim)  # fmt: skip
        trust = ["--trust-config", str(tc), "--cert-identity", identity]
        trust += ["--cert-oidc-issuer", inst.issuer_url]
        run(cli, "verify", "simulation.ipynb", *trust, cwd=sim)

        step("The stock `sigstore` CLI checks the executed notebook's bytes against its SLSA provenance")
        run(str(BIN / "sigstore"), "--trust-config", str(tc), "verify", "identity", "--bundle",
            "simulation.ipynb.provenance.sigstore.json", "--cert-identity", identity, "--cert-oidc-issuer",
            inst.issuer_url, "simulation.ipynb", cwd=sim)  # fmt: skip

        step("Reproduce it: verify, re-execute in a scratch copy, compare (its run log differs: FAILED)")
        run(cli, "reproduce", "simulation.ipynb", *trust, cwd=sim, expect=1)

        step("Reproduce with the rules that say what may differ (WARNED), signed as the CI identity")
        os.environ["SIGSTORE_ID_TOKEN"] = inst.mint_token("ci@example.com", expires_in=600)
        print(f"{DIM}(SIGSTORE_ID_TOKEN now holds a token for ci@example.com){RESET}")
        run(cli, "reproduce", "simulation.ipynb", "--rules", "reproduce-rules.toml", *trust, "--sign",
            cwd=sim)  # fmt: skip
        run(cli, "verify", "simulation.ipynb", *trust, cwd=sim)

    print(f"\n{GREEN}{BOLD}Demo complete.{RESET} Files are in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
