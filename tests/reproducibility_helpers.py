"""Helpers for the run / reproduce / headless tests: small notebooks, and the CLI run in-process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_sigstore.cli import main

ALICE = "alice@example.com"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def make_notebook(path: Path, cells: Sequence[str | tuple[str, list[str]]], kernel: str = "python3") -> Path:
    """A notebook of code cells (``source`` or ``(source, tags)``) with a python kernelspec."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {**KERNELSPEC, "name": kernel}})
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        new = nbformat.v4.new_code_cell(source)
        if tags:
            new.metadata["tags"] = tags
        nb.cells.append(new)
    nbformat.write(nb, str(path))
    return path


class Cli:
    """``jupyter-sigstore`` run in-process in ``cwd`` against the loopback instance."""

    def __init__(self, capsys: pytest.CaptureFixture[str], cwd: Path, trust_config: Path, issuer: str):
        self.capsys, self.cwd, self.trust_config, self.issuer = capsys, cwd, trust_config, issuer

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        rc = main(list(args))
        out, err = self.capsys.readouterr()
        return rc, out, err

    def run(self, notebook: str, token: str, *extra: str) -> tuple[int, str, str]:
        return self(
            "run", notebook, "--trust-config", str(self.trust_config), "--identity-token", token, *extra
        )

    def trust(self, identity: str = ALICE) -> list[str]:
        return [
            "--trust-config",
            str(self.trust_config),
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            self.issuer,
        ]

    def reproduce(self, notebook: str, *extra: str, identity: str = ALICE) -> tuple[int, dict[str, Any], str]:
        rc, out, err = self("reproduce", notebook, *self.trust(identity), "--json", *extra)
        return rc, (json.loads(out) if out.strip() else {}), err

    def verify(self, notebook: str, *extra: str, identity: str = ALICE) -> dict[str, Any]:
        rc, out, err = self("verify", notebook, *self.trust(identity), "--json", *extra)
        report: dict[str, Any] = json.loads(out)
        return report


def statement_of(bundle: dict[str, Any]) -> dict[str, Any]:
    import base64

    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    value: dict[str, Any] = json.loads(payload)
    return value


def entries(notebook: Path) -> list[dict[str, Any]]:
    """The bundles stored in ``metadata.sigstore.signatures``."""
    nb = json.loads(notebook.read_text())
    return [e["bundle"] for e in nb["metadata"]["sigstore"]["signatures"]]
