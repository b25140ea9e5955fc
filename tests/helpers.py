"""What several test modules share: the project's paths and the in-process CLI runner.

Test modules import it as ``from helpers import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_sigstore.cli import main
from jupyter_sigstore.testing import LocalSigstore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"
#: Real bundles from the public-good instance, beside the project (read-only: never copied into it).
#: ``$JUPYTER_SIGSTORE_INTEROP`` points elsewhere, e.g. from a git worktree.
INTEROP = Path(os.environ.get("JUPYTER_SIGSTORE_INTEROP") or ROOT.parent / "shared" / "interop")

CliResult = tuple[int, str, str]


class CliRunner:
    """Runs ``jupyter_sigstore.cli.main(argv)`` in-process: ``code, out, err = cli("verify", nb)``.

    Output printed before the call is discarded, so each result holds only that command's output.
    """

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str | os.PathLike[str]) -> CliResult:
        self._capsys.readouterr()
        code = main([os.fspath(arg) for arg in args])
        out, err = self._capsys.readouterr()
        return code, out, err


def keyless_signer(instance: LocalSigstore, trust_config: Path, identity: str = "alice@example.com") -> Any:
    """A real keyless signer for ``identity`` on the loopback instance (through the API)."""
    from sigstore.oidc import IdentityToken

    from jupyter_sigstore import api

    token = IdentityToken(instance.mint_token(identity))
    return api.keyless_signer(token, api.Instance.select(trust_config=trust_config))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` and its bytes, to show that nothing was written."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
