"""Files a notebook displays from outside itself (issue 16.2), tried as the attack: a markdown image or an
HTML output shows a file read from disk; replacing that file must not leave the notebook "verified"
without a word."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_sigstore.cli import main
from jupyter_sigstore.testing import LocalSigstore

ALICE = "alice@example.com"
PNG = bytes.fromhex("89504e470d0a1a0a") + b"fake image"


def _nb(*cells: dict[str, Any]) -> dict[str, Any]:
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": source}


def _html_output(html: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": "c1",
        "execution_count": 1,
        "metadata": {},
        "source": "show()",
        "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"text/html": html}}],
    }


class Project:
    def __init__(self, folder: Path, trust_config: Path, issuer: str, capsys: pytest.CaptureFixture[str]):
        self.folder, self.trust_config, self.issuer, self.capsys = folder, trust_config, issuer, capsys

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        rc = main(list(argv))
        out, err = self.capsys.readouterr()
        return rc, out, err

    def sign(self, token: str, *extra: str) -> None:
        rc, _, err = self.run(
            "sign", str(self.folder / "nb.ipynb"), "--trust-config", str(self.trust_config),
            "--identity-token", token, *extra,
        )  # fmt: skip
        assert rc == 0, err

    def verify(self, *extra: str) -> tuple[int, dict[str, Any]]:
        rc, out, err = self.run(
            "verify", str(self.folder / "nb.ipynb"), "--trust-config", str(self.trust_config),
            "--cert-identity", ALICE, "--cert-oidc-issuer", self.issuer, "--json", *extra,
        )  # fmt: skip
        return rc, json.loads(out)


@pytest.fixture
def project(
    tmp_path: Path, trust_config: Path, sigstore_instance: LocalSigstore, capsys: pytest.CaptureFixture[str]
) -> Project:
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "acc.png").write_bytes(PNG)
    nb = _nb(_markdown("# Accuracy\n\n![accuracy](figs/acc.png)\n"), _html_output('<img src="figs/acc.png">'))
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return Project(tmp_path, trust_config, sigstore_instance.issuer_url, capsys)


def test_displayed_files_are_signed_by_default_and_a_swap_is_caught(
    project: Project, token: Callable[..., str]
) -> None:
    project.sign(token(ALICE))
    rc, report = project.verify()
    assert rc == 0 and report["status"] == "verified", report["summary"]
    assert [o["path"] for o in report["outputs"]] == ["figs/acc.png"]
    assert {d["status"] for d in report["displayed"]} == {"signed"}
    (project.folder / "figs" / "acc.png").write_bytes(PNG + b" edited")  # the attack
    rc, report = project.verify()
    assert rc == 1 and report["status"] == "modified"
    assert {(d["cell"], d["status"]) for d in report["displayed"]} == {(0, "modified"), (1, "modified")}


def test_an_unsigned_displayed_file_is_not_verified_silently(
    project: Project, token: Callable[..., str]
) -> None:
    project.sign(token(ALICE), "--no-displayed-files")
    rc, report = project.verify()
    assert rc == 1 and report["status"] == "modified"
    assert report["summary"].startswith("cell 1 shows figs/acc.png, which is not signed")
    assert report["displayed"] == [
        {"cell": 0, "path": "figs/acc.png", "status": "unsigned"},
        {"cell": 1, "path": "figs/acc.png", "status": "unsigned"},
    ]
    rc, out, _ = project.run(
        "verify", str(project.folder / "nb.ipynb"), "--trust-config", str(project.trust_config),
        "--cert-identity", ALICE, "--cert-oidc-issuer", project.issuer,
    )  # fmt: skip
    assert "cell 2 shows figs/acc.png: not signed" in out


def test_a_policy_may_only_warn(project: Project, token: Callable[..., str]) -> None:
    project.sign(token(ALICE), "--no-displayed-files")
    policy = project.folder / "policy.toml"
    policy.write_text(
        f'[[trusted]]\nname = "alice"\nidentity = "{ALICE}"\nissuer = "{project.issuer}"\n'
        '[policy]\nunsigned_displayed_files = "warn"\n'
    )
    rc, out, _ = project.run(
        "verify", str(project.folder / "nb.ipynb"), "--trust-config", str(project.trust_config),
        "--policy", str(policy), "--json",
    )  # fmt: skip
    report = json.loads(out)
    assert rc == 0 and report["status"] == "verified"
    assert any("not signed" in w and "only warns" in w for w in report["warnings"])


def test_remote_and_outside_references(
    tmp_path: Path, trust_config: Path, sigstore_instance: LocalSigstore, capsys: pytest.CaptureFixture[str],
    token: Callable[..., str],
) -> None:  # fmt: skip
    folder = tmp_path / "work"
    folder.mkdir()
    (tmp_path / "outside.png").write_bytes(PNG)
    nb = _nb(_markdown("![remote](https://example.org/logo.png)\n"))
    (folder / "nb.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    project = Project(folder, trust_config, sigstore_instance.issuer_url, capsys)
    project.sign(token(ALICE))
    rc, report = project.verify()
    assert rc == 0 and report["status"] == "verified"  # a remote URL is reported, never fetched
    assert report["displayed"] == [{"cell": 0, "path": "https://example.org/logo.png", "status": "remote"}]
    nb["cells"].append(_markdown("![up](../outside.png)\n"))
    (folder / "nb.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    project.sign(token(ALICE))  # it cannot be signed from inside the folder: it is reported instead
    rc, report = project.verify()
    assert rc == 1 and report["status"] == "modified"
    assert {"cell": 1, "path": "../outside.png", "status": "outside"} in report["displayed"]
