"""Nothing is lost (issue 11, part D), each tried as the loss it prevents."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_sigstore.cli import main
from jupyter_sigstore.testing import LocalSigstore

ROOT = Path(__file__).resolve().parent.parent
ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main(list(argv))
        out, err = capsys.readouterr()
        return rc, out, err

    return invoke


def _identities(notebook: Path) -> list[str]:
    from jupyter_sigstore.bundles import claimed_signer

    block = json.loads(notebook.read_text())["metadata"]["sigstore"]
    return [claimed_signer(entry["bundle"])[0] for entry in block["signatures"]]  # type: ignore[index]


def test_signing_someone_elses_notebook_keeps_their_signature(
    example: Path, trust_config: Path, token: Callable[..., str], run: Callable[..., tuple[int, str, str]]
) -> None:
    notebook = example / "analysis.ipynb"
    base = (
        "sign",
        str(notebook),
        "--trust-config",
        str(trust_config),
        "--output",
        str(example / "results.csv"),
    )
    assert run(*base, "--identity-token", token(ALICE))[0] == 0
    rc, out, _ = run(*base, "--identity-token", token(BOB))
    assert rc == 0 and "kept 1 earlier signature" in out
    assert _identities(notebook) == [ALICE, BOB]  # bob did not drop alice's signature
    rc, out, _ = run(*base, "--identity-token", token(BOB))
    assert rc == 0 and "replaced earlier signature(s) by bob@example.com" in out
    assert _identities(notebook) == [ALICE, BOB]  # bob's own earlier signature is replaced
    rc, out, _ = run(*base, "--identity-token", token(BOB), "--replace")
    assert rc == 0 and "alice@example.com" in out
    assert _identities(notebook) == [BOB]  # only when asked


def test_a_resigned_notebook_verifies_with_the_earlier_signature_as_history(
    example: Path,
    trust_config: Path,
    token: Callable[..., str],
    sigstore_instance: LocalSigstore,
    run: Callable[..., tuple[int, str, str]],
) -> None:
    notebook = example / "analysis.ipynb"
    sign = ("sign", str(notebook), "--trust-config", str(trust_config))
    assert run(*sign, "--identity-token", token(ALICE))[0] == 0
    nb = json.loads(notebook.read_text())
    nb["cells"][0]["source"] = "# Revised analysis\n"
    notebook.write_text(json.dumps(nb))
    assert run(*sign, "--identity-token", token(BOB))[0] == 0
    rc, out, _ = run(
        "verify", str(notebook), "--trust-config", str(trust_config), "--json",
        "--cert-identity", BOB, "--cert-oidc-issuer", sigstore_instance.issuer_url,
    )  # fmt: skip
    report = json.loads(out)
    assert rc == 0 and report["status"] == "verified"
    assert [s["covers_current"] for s in report["signatures"]] == [False, True]
    assert "1 earlier signature cover earlier versions" in report["summary"]


def test_signing_through_a_symlink_signs_the_real_notebook(
    example: Path, trust_config: Path, token: Callable[..., str], run: Callable[..., tuple[int, str, str]]
) -> None:
    link = example.parent / "link.ipynb"
    link.symlink_to(example / "analysis.ipynb")
    rc, _, err = run("sign", str(link), "--trust-config", str(trust_config), "--identity-token", token())
    assert rc == 0, err
    assert link.is_symlink()  # the link is still a link ...
    assert (
        "sigstore" in json.loads((example / "analysis.ipynb").read_text())["metadata"]
    )  # ... to a signed file


def test_sidecars_are_readable_by_others(
    example: Path, trust_config: Path, token: Callable[..., str], run: Callable[..., tuple[int, str, str]]
) -> None:
    old = os.umask(0o022)
    try:
        rc, _, err = run(
            "sign", str(example / "analysis.ipynb"), "--trust-config", str(trust_config),
            "--identity-token", token(), "--sidecar",
        )  # fmt: skip
    finally:
        os.umask(old)
    assert rc == 0, err
    mode = stat.S_IMODE((example / "analysis.ipynb.sigstore.json").stat().st_mode)
    assert mode == 0o644  # a signature meant to be shared, not a private file


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "precious.txt").write_text("do not delete")
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "not empty" in done.stderr
    assert (keep / "precious.txt").read_text() == "do not delete"
