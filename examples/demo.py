"""The offline quick-start demo: sign the example notebook and its outputs, verify, show tampering fail.

    python examples/demo.py [--keep DIR]

It starts the project's loopback Sigstore *test* instance (Fulcio, Rekor, OIDC on 127.0.0.1; see
jupyter_sigstore.testing), because no public Sigstore service is reachable offline. Against the real
public-good instance the same commands run without --trust-config and --identity-token: an OIDC login
happens in the browser instead.
"""

from __future__ import annotations

import argparse
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


def run(*args: str, cwd: Path, expect: int = 0, secret: str | None = None) -> str:
    shown = " ".join(shlex.quote(a) if a != secret else "$TOKEN" for a in args)
    print(f"{DIM}$ {shown}{RESET}")
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    for line in (done.stdout + done.stderr).rstrip().splitlines():
        # the stock sigstore CLI prints the whole signed statement: abbreviate it
        print(line if len(line) <= 240 else f"{line[:100]}… ({len(line)} characters)")
    mark = (
        f"{GREEN}exit {done.returncode}{RESET}"
        if done.returncode == 0
        else f"{RED}exit {done.returncode}{RESET}"
    )
    print(mark)
    if done.returncode != expect:
        raise SystemExit(f"demo failed: expected exit {expect}, got {done.returncode}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp folder)")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="jupyter-sigstore-demo-")).resolve()
    if work.exists() and args.keep:
        shutil.rmtree(work)
    shutil.copytree(
        HERE, work / "signed", ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.sigstore.json")
    )
    os.environ["XDG_CACHE_HOME"] = str(work / ".cache")  # keep sigstore's caches out of the user's home
    cli = str(BIN / "jupyter-sigstore")
    identity = "alice@example.com"

    with LocalSigstore(rekor_version=1) as inst:
        tc = inst.write_trust_config(work / "trust_config.json")
        token = inst.mint_token(identity, expires_in=600)
        signed = work / "signed"

        step("Sign the notebook and its two data outputs (one signature, one log entry)")
        outputs = ["--output", "results.csv", "--output", "figures/summary.png"]
        run(cli, "sign", "analysis.ipynb", *outputs, "--sidecar", "--trust-config", str(tc),
            "--identity-token", token, cwd=signed, secret=token)  # fmt: skip

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
        print("changed results.csv (15.3 -> 14.3) and cell 1 (random.seed)")

        step("Verify the tampered copy: it fails, naming the cell and the file")
        run(*verify, cwd=tampered, expect=1)

        step("Verify the original against someone else's identity: untrusted signer")
        run(*verify[:-4], "--cert-identity", "mallory@example.com", "--cert-oidc-issuer", inst.issuer_url,
            cwd=signed, expect=1)  # fmt: skip

    print(f"\n{GREEN}{BOLD}Demo complete.{RESET} Files are in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
